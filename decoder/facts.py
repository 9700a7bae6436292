"""What a plan description may say: facts, the phrasings that state them, and the reader that
parses a text's claims back so they can be checked.

A description states three sorts of fact:

* goals, the task's stages as the agent means them ("go to the red ball");
* steps, in order: rooms entered, doors opened, objects picked up or dropped;
* guardrails kept: "I'll keep clear of the lava", "I'll stay out of the top-left room",
  "I won't open any doors".

`render(facts, rng)` writes them as English in varied phrasings (training targets, and the plain
template that verification falls back to); `read_claims(text)` parses any such text back into
facts, or returns None when a part of the text says something outside this language; and
`check(claims, facts)` lists the claims that the facts do not bear out (a step claimed out of
order counts as false). The same three functions score texts against an executed episode.

    >>> f = Facts(goals=(Fact("goal", "go to the red ball"),), steps=(Fact("open", "green"), Fact("enter", "right")), guards=(Fact("avoid", "lava"),))
    >>> text = render(f)
    >>> text
    "I'll open the green door, then go into the right room, then go to the red ball. I'll keep clear of the lava."
    >>> check(read_claims(text), f)
    ()
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

STEP_KINDS = ("enter", "open", "pickup", "drop")
GUARD_KINDS = ("avoid", "stay_out", "forbid")


class Fact(NamedTuple):
    """One statable fact: `kind` names its sort, `what` its argument.

    goal: a stage in canonical English ("go to the red ball"); enter: a room's place ("top-left");
    open: a door's colour; pickup/drop: an object ("the grey box"); avoid: a hazard ("lava");
    stay_out: a region ("the top-left room"); forbid: an action ("open").
    """

    kind: str
    what: str


class Facts(NamedTuple):
    """The facts of one plan (or one executed episode)."""

    goals: tuple[Fact, ...]
    steps: tuple[Fact, ...]  # in the order they happen
    guards: tuple[Fact, ...]

    def key(self) -> tuple[Fact, ...]:
        """The facts a complete description states: every goal, each step once (first time; a
        step that achieves a goal is the goal), every guardrail kept."""
        return (*self.goals, *_route(self), *self.guards)


# -- phrasings ---------------------------------------------------------------------------------

_OPENERS = ("I'll ", "I will ", "I'm going to ", "My plan: ", "First I'll ")
_STEP_TEXT = {
    "enter": ("go into the {} room", "head into the {} room", "cross into the {} room", "go through to the {} room"),
    "open": ("open the {} door", "open up the {} door"),
    "pickup": ("pick up {}", "take {}", "grab {}"),
    "drop": ("drop {}", "put down {}", "set down {}"),
}
_GOAL_TEXT = {
    "go to ": ("go to {}", "head for {}", "make my way to {}", "walk over to {}"),
    "pick up ": ("pick up {}", "take {}", "grab {}"),
    "open ": ("open {}", "open up {}"),
    "drop it next to ": ("drop it next to {}", "put it down next to {}", "set it down beside {}"),
}
_GUARD_TEXT = {
    "avoid": ("I'll keep clear of the {}.", "I'll stay away from the {}.", "I won't step into the {}.", "I'll steer around the {}."),
    "stay_out": ("I'll stay out of {}.", "I won't enter {}.", "I'll keep out of {}."),
    "forbid": {
        "open": ("I won't open any doors.", "I'll leave the doors closed."),
        "pickup": ("I won't pick anything up.", "I'll pick nothing up."),
        "drop": ("I won't drop anything.", "I'll drop nothing."),
        "toggle": ("I won't toggle anything.", "I'll toggle nothing."),
    },
}


def _pick(options: tuple[str, ...], rng: random.Random | None) -> str:
    return options[0] if rng is None else rng.choice(options)


def _route(facts: Facts) -> list[Fact]:
    """The steps a description walks through: each once, in order of first occurrence, minus
    those that are a goal's own achievement (picking up the object the goal says to pick up)."""
    achieved = {_as_step(g) for g in facts.goals} - {None}
    out: list[Fact] = []
    for s in facts.steps:
        if s not in out and s not in achieved:
            out.append(s)
    return out


def _as_step(goal: Fact) -> Fact | None:
    """The step fact a goal's achievement produces ("pick up the red ball" -> pickup of it)."""
    if goal.what.startswith("pick up "):
        return Fact("pickup", goal.what.removeprefix("pick up "))
    m = re.fullmatch(r"open the ([a-z]+) door", goal.what)
    return Fact("open", m.group(1)) if m else None


def render(facts: Facts, rng: random.Random | None = None, max_steps: int = 8) -> str:
    """English for `facts`: the route and goals in one sentence, then one per guardrail. With an
    `rng`, phrasings vary; without, the first (plain) phrasing of each is used."""
    clauses = []
    for s in _route(facts)[:max_steps]:
        clauses.append(_pick(_STEP_TEXT[s.kind], rng).format(s.what))
    for g in facts.goals:
        verb = next(v for v in _GOAL_TEXT if g.what.startswith(v))
        clauses.append(_pick(_GOAL_TEXT[verb], rng).format(g.what.removeprefix(verb)))
    sentences = []
    if clauses:
        sentences.append(_pick(_OPENERS, rng) + ", then ".join(clauses) + ".")
    for g in facts.guards:
        options = _GUARD_TEXT[g.kind]
        sentences.append(_pick(options[g.what], rng) if g.kind == "forbid" else _pick(options, rng).format(g.what))
    return " ".join(sentences)


# -- reading claims back -----------------------------------------------------------------------

_OBJECT = r"the (?:[a-z]+ )?(?:ball|box|key|door|object|goal)(?: on your left| on your right| in front of you| behind you)?"
_WORD = r"[a-z]+(?:-[a-z]+)?"
_CLAUSE_SPLIT = re.compile(r",? then |, and |, ")
_OPENER = re.compile(r"^(?:i'll |i will |i'm going to |my plan: |first i'll )")


def _clause_patterns() -> list[tuple[re.Pattern, str, str]]:
    """(pattern, kind, template) for every phrasing; `template` rebuilds the fact's `what`."""
    table = []
    for kind, options in _STEP_TEXT.items():
        arg = _WORD if kind in ("enter", "open") else _OBJECT
        for text in options:
            table.append((re.compile(re.escape(text).replace(r"\{\}", f"({arg})") + "$"), kind, "{}"))
    for verb, options in _GOAL_TEXT.items():
        for text in options:
            table.append((re.compile(re.escape(text).replace(r"\{\}", f"({_OBJECT})") + "$"), "goal", verb + "{}"))
    return table


def _guard_patterns() -> list[tuple[re.Pattern, Fact | str]]:
    table: list[tuple[re.Pattern, Fact | str]] = []
    for text in _GUARD_TEXT["avoid"]:
        table.append((re.compile(re.escape(text.lower().rstrip(".")).replace(r"\{\}", f"({_WORD})") + "$"), "avoid"))
    for text in _GUARD_TEXT["stay_out"]:
        region = rf"(the (?:{_WORD} )*room(?: with {_OBJECT})?)"
        table.append((re.compile(re.escape(text.lower().rstrip(".")).replace(r"\{\}", region) + "$"), "stay_out"))
    for action, options in _GUARD_TEXT["forbid"].items():
        for text in options:
            table.append((re.compile(re.escape(text.lower().rstrip(".")) + "$"), Fact("forbid", action)))
    return table


_CLAUSES = _clause_patterns()
_GUARDS = _guard_patterns()


def read_claims(text: str) -> list[Fact] | None:
    """The facts `text` claims, in the order it states them; None when any part of it is not
    in the description language (such a text can't be checked, so it can't be trusted)."""
    claims: list[Fact] = []
    sentences = [s.strip() for s in re.split(r"\.(?:\s+|$)", " ".join(text.lower().split())) if s.strip()]
    if not sentences:
        return None
    for sentence in sentences:
        guard = _read_guard(sentence)
        if guard is not None:
            claims.append(guard)
            continue
        body = _OPENER.sub("", sentence, count=1)
        if body == sentence:
            return None
        for clause in _CLAUSE_SPLIT.split(body):
            clause = clause.removeprefix("then ").strip()
            fact = _read_clause(clause)
            if fact is None:
                return None
            claims.append(fact)
    return claims


def _read_guard(sentence: str) -> Fact | None:
    for pattern, kind in _GUARDS:
        m = pattern.match(sentence)
        if m:
            return kind if isinstance(kind, Fact) else Fact(kind, m.group(1))
    return None


def _read_clause(clause: str) -> Fact | None:
    for pattern, kind, template in _CLAUSES:
        m = pattern.match(clause)
        if m:
            return Fact(kind, template.format(m.group(1)))
    return None


def check(claims: list[Fact] | None, facts: Facts) -> tuple[Fact, ...]:
    """The claims `facts` do not bear out: a goal that isn't one, a step that doesn't happen (or
    happens only before the previous claimed step), a guardrail not kept. `claims` None (an
    unreadable text) is one false claim."""
    if claims is None:
        return (Fact("unreadable", ""),)
    goals = {g.what for g in facts.goals}
    false, at = [], 0
    for c in claims:
        if c.kind == "goal" or (c.kind in ("pickup", "open") and _goal_text(c) in goals):
            if (c.what if c.kind == "goal" else _goal_text(c)) not in goals:
                false.append(c)
        elif c.kind in STEP_KINDS:
            try:
                at = facts.steps.index(c, at) + 1
            except ValueError:
                false.append(c)
        elif c not in facts.guards:
            false.append(c)
    return tuple(false)


def _goal_text(step: Fact) -> str:
    return f"pick up {step.what}" if step.kind == "pickup" else f"open the {step.what} door"


def stated(claims: list[Fact] | None, facts: Facts) -> float:
    """Completeness: the share of `facts.key()` that `claims` states (1.0 when there is none). A
    goal is stated by a step that achieves it, too ("pick up the yellow key" states "pick up the key")."""
    key = facts.key()
    if not key:
        return 1.0
    said = set(claims or ())
    said |= {Fact("goal", _goal_text(c)) for c in said if c.kind in ("pickup", "open")}
    return sum(
        1 for f in key
        if f in said or (f.kind == "pickup" and Fact("goal", _goal_text(f)) in said) or any(covers(c, f) for c in said)
    ) / len(key)


def covers(step: Fact, goal: Fact) -> bool:
    """Whether doing `step` achieves `goal`, which names the same thing less precisely: picking up
    the yellow key achieves "pick up the key", opening the yellow door "open the door"."""
    if goal.kind != "goal":
        return False
    if step.kind == "pickup" and goal.what.startswith("pick up "):
        general, specific = goal.what.removeprefix("pick up ").split(), step.what.split()
        return general == specific or (len(general) == 2 and len(specific) == 3 and general[1] == specific[2])
    if step.kind == "open":
        m = re.fullmatch(r"open the (?:([a-z]+) )?door", goal.what)
        return m is not None and m.group(1) in (None, step.what)
    return False


def drop_restated(text: str, facts: Facts) -> str:
    """`text` without the clauses that restate one of `facts`' goals less precisely than a step
    it already claimed: "I'll pick up the yellow key, then open the yellow door, then go into the
    centre room, then pick up the key, then open the door, then go to the goal." keeps its first
    three clauses and the last. Each claimed step stands for one goal at most; every claim left
    is one `text` made; a text outside the description language is returned as it is."""
    if read_claims(text) is None:
        return text
    goals = {g.what for g in facts.goals}
    out = []
    for sentence in re.split(r"(?<=\.)\s+", " ".join(text.split())):
        body = sentence.rstrip(".")
        opener = _OPENER.match(body.lower())
        if opener is None:
            out.append(sentence)
            continue
        kept, steps = [], []  # steps claimed so far that no restatement has used yet
        for clause in (c.strip() for c in _CLAUSE_SPLIT.split(body[opener.end():])):
            clause = clause[5:] if clause.lower().startswith("then ") else clause
            fact = _read_clause(clause.lower())
            goal = None if fact is None else fact.what if fact.kind == "goal" else (
                _goal_text(fact) if fact.kind in ("pickup", "open") else None)
            if goal in goals:
                by = next((c for c in steps if _goal_text(c) != goal and covers(c, Fact("goal", goal))), None)
                if by is not None:
                    steps.remove(by)
                    continue
            elif fact is not None and fact.kind in ("pickup", "open"):
                steps.append(fact)
            kept.append(clause)
        out.append(body[: opener.end()] + ", then ".join(kept) + ".")
    return " ".join(out)
