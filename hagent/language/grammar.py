"""The language front end: English instructions become a `Task` (goal tree + guardrails).

    >>> from hagent.language import parse
    >>> parse("pick up the blue key, avoid lava").describe()
    'pick up the blue key, avoid lava'

The goal language is BabyAI's (go to / pick up / open / put next to, joined by
"and", ", then" and "after you"), widened with common paraphrases. Guardrails
(avoid lava, stay out of a room, don't open doors, ...) attach to the goal with
commas, "and", "while", "but" or ";". Anything the grammar can't ground raises
`ParseError` naming the words it didn't understand: the parser never guesses.

The grammar is a small table of rules over whole words (no regular expressions),
so parsing is linear-ish in the length of the text, which is capped anyway.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol

from hagent.language.rules import (
    CLAUSE_OPENERS,
    CLAUSE_RULES,
    CONNECTOR_WORDS,
    LEADING_OK,
    OBJECT,
    PUNCTUATION,
    SEQUENCE_WORDS,
    TAKES_YOU,
    TRAILING_OK,
    UNSUPPORTED,
    VOCABULARY,
    Noted,
    Reject,
    RouteHint,
    Steps,
    Words,
    match_part,
    match_rule,
    open_object,
    pick_up_object,
)
from hagent.language.task import (
    ACTION_TYPES,
    GUARDRAIL_TYPES,
    MAX_TEXT_LENGTH,
    Action,
    Both,
    Goal,
    GoTo,
    Guardrail,
    ObjectRef,
    Open,
    ParseError,
    PickUp,
    PutNext,
    Sequence,
    Task,
    UnclearError,
    all_of,
    in_order,
)

# ------------------------------------------------------------------------- parse


def _check_characters(text: str) -> None:
    """Reject control and invisible characters, which no instruction needs."""
    for position, ch in enumerate(text):
        if ch in "\t\n\r":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ParseError(
                f"the instruction contains a control or invisible character ({ch!r} at position {position})",
                refused=True,
            )


def _tokenize(text: str) -> Words:
    """Lower-case words (letters, digits, apostrophes); every other visible character is its own token."""
    # Hyphens join position words ("top-left", "north-east"), which the grammar spells apart.
    lowered = text.lower().replace("\u2019", "'").replace("-", " ")
    tokens: list[str] = []
    word: list[str] = []
    for ch in lowered:
        if ch.isalnum() or ch == "'":
            word.append(ch)
            continue
        if word:
            tokens.append("".join(word))
            word = []
        if not ch.isspace():
            tokens.append(ch)  # punctuation joins clauses; anything else is reported as unknown
    if word:
        tokens.append("".join(word))
    return tuple(tokens)


def _check_vocabulary(tokens: Words) -> None:
    """Name every word the grammar doesn't know, before trying to understand the structure."""
    unknown = tuple(dict.fromkeys(t for t in tokens if t not in VOCABULARY and t not in PUNCTUATION))
    if not unknown:
        return
    quoted = ", ".join(f'"{w}"' for w in unknown)
    notes = list(dict.fromkeys(UNSUPPORTED[w] for w in unknown if w in UNSUPPORTED))
    reason = f"can't understand {quoted}" + "".join(f"; {n}" for n in notes)
    raise ParseError(reason, unknown, refused=bool(notes))


class _Link(Enum):
    """How two neighbouring goals are joined."""

    AND = "and"
    THEN = "then"  # in the order written: ", then", "before"
    AFTER = "after"  # in reverse: "after you", ", but first"
    NONE = "none"  # only punctuation or attaching words: not a goal join


def _split(tokens: Words) -> tuple[list[Words], list[Words]]:
    """Clauses and the connector runs around them (one more run than clauses; runs may be empty)."""
    clauses: list[Words] = []
    runs: list[Words] = []
    run: list[str] = []
    clause: list[str] = []
    for tok in tokens:
        joins = tok in CONNECTOR_WORDS or (tok == "you" and not clause and bool(run) and run[-1] in TAKES_YOU)
        if tok in CLAUSE_OPENERS:
            if clause:
                clauses.append(tuple(clause))
                clause = []
            run.append(tok)  # ...and, below, the first word of the next clause
        if joins:
            if clause:
                clauses.append(tuple(clause))
                clause = []
            run.append(tok)
        else:
            if not clause:
                runs.append(tuple(run))
                run = []
            clause.append(tok)
    if clause:
        clauses.append(tuple(clause))
    runs.append(tuple(run))
    return clauses, runs


def _quote(words: Words) -> str:
    return '"' + " ".join(words) + '"'


def _parse_clause(clause: Words) -> Action | Guardrail:
    """The single goal action or guardrail that `clause` says, or ParseError."""
    found: list[Any] = []
    rejects: list[tuple[str, int]] = []
    for rule in CLAUSE_RULES:
        for values, end in match_rule(rule.parts, clause, 0, rejects):
            if end != len(clause):
                continue
            try:
                node = rule.build(*values)
            except Reject as reject:
                rejects.append((str(reject), end))
                continue
            if node not in found:
                found.append(node)
    reasons = [reason for reason, end in rejects if end == len(clause)]
    if len(found) == 1:
        return found[0]
    if found:
        readings = " or ".join(f'"{n.describe()}"' for n in found)
        raise ParseError(f"{_quote(clause)} is ambiguous: it could mean {readings}")
    if reasons:
        raise ParseError(reasons[0], refused=True)
    if any(end == len(clause) for _, end in match_part(OBJECT, clause, 0)):
        raise ParseError(f'{_quote(clause)} needs a verb, e.g. "go to {" ".join(clause)}"')
    raise ParseError(f"can't make sense of {_quote(clause)}{_hint(clause)}")


def _hint(clause: Words) -> str:
    """Examples of the rules whose opening parts the clause matches furthest, if any."""
    best: tuple[int, int] = (0, 0)  # (parts matched, words matched)
    examples: list[str] = []
    for rule in CLAUSE_RULES:
        if not rule.example:
            continue
        for k in range(1, len(rule.parts)):
            ends = [end for _, end in match_rule(rule.parts[:k], clause, 0)]
            if not ends:
                break
            reach = (k, max(ends))
            if reach > best:
                best, examples = reach, []
            if reach == best and rule.example not in examples:
                examples.append(rule.example)
    if not examples:
        return ""
    return " (expected something like " + " or ".join(f'"{e}"' for e in examples[:3]) + ")"


def _link(words: set[str], between: tuple[Words, Words]) -> _Link:
    """Classify the connector words found between two goals."""
    kinds = set()
    if "then" in words or "before" in words:
        kinds.add(_Link.THEN)
    if "after" in words or "first" in words:
        kinds.add(_Link.AFTER)
    if len(kinds) > 1:
        raise ParseError(f"the order between {_quote(between[0])} and {_quote(between[1])} is unclear")
    if kinds:
        return kinds.pop()
    if "and" in words or "also" in words:
        return _Link.AND
    return _Link.NONE


def _lists_in_order(links: list[_Link], between: list[set[str]]) -> list[_Link]:
    """Goals listed with commas are done in the order written: "A, B and C" is A, then B, then
    C (the "and" that closes a comma list is part of the list)."""
    out = list(links)
    for k, (link, words) in enumerate(zip(links, between, strict=True)):
        if link is _Link.NONE and "," in words:
            out[k] = _Link.THEN
            if k + 1 < len(links) and links[k + 1] is _Link.AND and between[k + 1] <= {",", "and", "please"}:
                out[k + 1] = _Link.THEN
    return out


def _compose(nodes: list[Action | Guardrail], clauses: list[Words], runs: list[Words]) -> Goal | None:
    """Join the goal clauses by the connectors between them; guardrail clauses only attach."""
    goal_at = [k for k, node in enumerate(nodes) if isinstance(node, ACTION_TYPES)]
    if not goal_at:
        used = {w for run in runs for w in run} & SEQUENCE_WORDS
        if used:
            raise ParseError(f'"{sorted(used)[0]}" orders goals, but there is no goal here, only guardrails')
        return None

    def words(lo: int, hi: int) -> set[str]:
        # Connector runs lo..hi inclusive; guardrails between goals are transparent.
        return {w for run in runs[lo : hi + 1] for w in run}

    prefix, suffix = words(0, goal_at[0]), words(goal_at[-1] + 1, len(runs) - 1)
    if suffix & SEQUENCE_WORDS:
        raise ParseError(f'"{sorted(suffix & SEQUENCE_WORDS)[0]}" at the end has no goal to order')
    if "then" in prefix:
        raise ParseError(f'"then" before {_quote(clauses[goal_at[0]])} has no goal before it')
    lead = prefix & {"before", "after"}
    if len(lead) > 1:
        raise ParseError('an instruction can\'t start with both "before" and "after"')

    goals = [nodes[k] for k in goal_at]
    links = [
        _link(words(a + 1, b), (clauses[a], clauses[b])) for a, b in zip(goal_at, goal_at[1:], strict=False)
    ]

    if lead:
        # "before you B, A" / "after you B, A": the first comma ends the subordinate part.
        if _Link.NONE not in links:
            raise ParseError(f'after "{lead.pop()} ..." put a comma before the main instruction')
        cut = links.index(_Link.NONE)
        if any(link is not _Link.AND for k, link in enumerate(links) if k != cut):
            raise ParseError(f'the order of steps around "{next(iter(lead))}" is unclear')
        sub, main = all_of(*goals[: cut + 1]), all_of(*goals[cut + 1 :])
        return Sequence(main, sub) if "before" in lead else Sequence(sub, main)

    links = _lists_in_order(links, [words(a + 1, b) for a, b in zip(goal_at, goal_at[1:], strict=False)])
    for (a, b), link in zip(zip(goal_at, goal_at[1:], strict=False), links, strict=True):
        if link is _Link.NONE:
            raise ParseError(
                f'join {_quote(clauses[a])} and {_quote(clauses[b])} with "and" (any order) '
                'or ", then" (in order)'
            )
    if _Link.THEN in links and _Link.AFTER in links:
        raise ParseError('mixing "then"/"before" with "after" makes the order unclear; use one of them')

    steps: list[list[Action]] = [[goals[0]]]
    for goal, link in zip(goals[1:], links, strict=True):
        if link is _Link.AND:
            steps[-1].append(goal)
        else:
            steps.append([goal])
    if _Link.AFTER in links:
        steps.reverse()
    return in_order(*(all_of(*step) for step in steps))


def parse(text: str) -> Task:
    """Turn an English instruction into a Task; raise ParseError for anything ungrounded.

    Non-str input raises TypeError. Text longer than MAX_TEXT_LENGTH is refused
    before any work is done on it.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise ParseError(f"the instruction is too long ({len(text)} characters; the limit is {MAX_TEXT_LENGTH})", refused=True)
    _check_characters(text)
    tokens = _tokenize(text)
    if not any(t not in PUNCTUATION for t in tokens):
        raise ParseError("the instruction is empty", refused=True)
    _check_vocabulary(tokens)

    clauses, runs = _split(tokens)
    if not clauses:
        raise ParseError("the instruction has no goal or guardrail, only joining words")
    dangling = [w for w in runs[0] if w not in LEADING_OK]
    if dangling:
        raise ParseError(f'"{dangling[0]}" at the start has nothing before it')
    dangling = [w for w in runs[-1] if w not in TRAILING_OK]
    if dangling or ("," in runs[-1] and "please" not in runs[-1]):
        raise ParseError(f'"{(dangling or [","])[0]}" at the end has nothing after it')
    for before, run, after in zip(clauses[:-1], runs[1:-1], clauses[1:], strict=True):
        if set(run) <= {"please"}:
            raise ParseError(f'put a comma, "and" or "then" between {_quote(before)} and {_quote(after)}')

    nodes, clauses, runs, notes = _read_clauses(clauses, runs)
    if all(isinstance(n, RouteHint) for n in nodes):
        raise ParseError('finding the opening is a way to somewhere, not a goal: say where to go, e.g. '
                         '"find the opening and get to the green goal square"', refused=True)
    goal = _compose(nodes, clauses, runs)
    guardrails = tuple(dict.fromkeys(n for n in nodes if isinstance(n, GUARDRAIL_TYPES)))
    return Task(goal, guardrails, text, notes)


# A clause that is only an object takes the verb of the goal before it ("open the red door,
# then the blue door"); these are the verbs that take one object.
_ELLIPSIS_VERBS: dict[type, Callable[[ObjectRef], Action]] = {GoTo: GoTo, PickUp: pick_up_object, Open: open_object}


def _read_clauses(
    clauses: list[Words], runs: list[Words]
) -> tuple[list[Any], list[Words], list[Words], tuple[str, ...]]:
    """Each clause's node, with several-step clauses spread into one node per step (joined by
    "then"), plus the notes on what was read loosely. Returns (nodes, clauses, runs, notes)."""
    nodes: list[Any] = []
    out_clauses: list[Words] = []
    out_runs: list[Words] = [runs[0]]
    notes: list[str] = []
    for clause, run_after in zip(clauses, runs[1:], strict=True):
        try:
            node = _parse_clause(clause)
        except ParseError:
            node = _ellipsis(clause, nodes)
            if node is None:
                raise
        if isinstance(node, Noted):
            notes.append(node.note)
            node = node.node
        steps = node.actions if isinstance(node, Steps) else (node,)
        for k, step in enumerate(steps):
            if k:
                out_runs.append(("then",))
            nodes.append(step)
            out_clauses.append(clause)
        out_runs.append(run_after)
    return nodes, out_clauses, out_runs, tuple(dict.fromkeys(notes))


def _ellipsis(clause: Words, before: list[Any]) -> Action | None:
    """The goal an object-only clause means after a one-object goal, or None."""
    if not before or type(before[-1]) not in _ELLIPSIS_VERBS:
        return None
    objects = [value for value, end in match_part(OBJECT, clause, 0) if end == len(clause)]
    if len(objects) != 1:
        return None
    try:
        return _ELLIPSIS_VERBS[type(before[-1])](objects[0])
    except Reject as reject:
        raise ParseError(str(reject), refused=True) from None


# ------------------------------------------------------------- the normalizer


class Reading(Protocol):
    """A normalizer's reading of a text (`hagent.language.normalizer.Reading`)."""

    task: Task | None
    canonical: str
    confidence: float


class Reader(Protocol):
    """What `understand` needs of a normalizer (`hagent.language.normalizer.Normalizer`)."""

    @property
    def threshold(self) -> float: ...

    def read(self, text: str) -> Reading: ...


class LexicalReader(Protocol):
    """What `understand` needs of a lexical reader (`hagent.language.lexical.read`)."""

    def __call__(self, text: str) -> Any: ...


def _lexical_read(text: str) -> Any:
    from hagent.language.lexical import read

    return read(text)


def understand(text: str, reader: Reader | None = None, lexical: LexicalReader | None = _lexical_read) -> Task:
    """Grammar first, the lexical reader second, the normalizer third.

    `parse(text)`; when the grammar doesn't take the text (and didn't refuse its meaning on
    purpose), the lexical reader's reading (`hagent.language.lexical`; None skips it) when it is
    sure, sets a goal and names exactly the colours the text says. A text whose every word the
    lexical reader knows and none of which asks for an action ("can you see the ball") is not an
    instruction, and no model is asked. Else the normalizer's reading: one below its threshold,
    naming what the text doesn't (`Reading.unnamed`), leaving out a colour it says
    (`Reading.unread`) or setting no goal raises `UnclearError` (say what was understood, act on
    nothing); no reading at all re-raises the grammar's `ParseError`. The task returned says what
    was read (`read_as`), by which reader (`read_by`) and how surely (`confidence`)."""
    from hagent.language.checks import unnamed, unread

    try:
        return parse(text)
    except ParseError as err:
        if err.refused:
            raise
        if lexical is not None:
            found = lexical(text)
            if found.asks_nothing:
                raise ParseError(f"{text!r} asks for nothing I can do: I know every word of it, and none says "
                                 "go to, pick up, open or put something", refused=True) from None
            task = found.task
            if found.sure and task is not None and not unnamed(text, task) and not unread(text, task):
                return Task(task.goal, task.guardrails, text, read_as=task.describe(), read_by="lexical")
        if reader is None:
            raise
        reading = reader.read(text)
        if reading.task is None:
            raise
        unnamed_, unread_ = tuple(getattr(reading, "unnamed", ())), tuple(getattr(reading, "unread", ()))
        goalless = reading.task.goal is None
        if reading.confidence < reader.threshold or unnamed_ or unread_ or goalless:
            raise UnclearError(reading.canonical, reading.confidence, reader.threshold, unnamed_, unread_, goalless) from None
        task = reading.task
        return Task(task.goal, task.guardrails, text, task.notes, read_as=reading.canonical, confidence=reading.confidence,
                    read_by="normalizer")


# ------------------------------------------------------------------ BabyAI bridge


def goal_from_babyai(instr: Any) -> Goal:
    """Convert a BabyAI verifier instruction (minigrid.envs.babyai.core.verifier) into our tree.

    Used to score the parser against BabyAI's own missions; AfterInstr(a, b)
    ("a after you b") becomes Sequence(b, a).
    """
    from minigrid.envs.babyai.core.verifier import (
        AfterInstr,
        AndInstr,
        BeforeInstr,
        GoToInstr,
        ObjDesc,
        OpenInstr,
        PickupInstr,
        PutNextInstr,
    )

    def obj(desc: ObjDesc) -> ObjectRef:
        return ObjectRef(desc.type, desc.color, desc.loc)

    match instr:
        case GoToInstr():
            return GoTo(obj(instr.desc))
        case PickupInstr():
            return PickUp(obj(instr.desc))
        case OpenInstr():
            return Open(obj(instr.desc))
        case PutNextInstr():
            return PutNext(obj(instr.desc_move), obj(instr.desc_fixed))
        # The node constructors check the nesting: BabyAI joins only actions with "and",
        # and only actions or "and"s in sequences, which is exactly our canonical shape.
        case AndInstr():
            return Both(goal_from_babyai(instr.instr_a), goal_from_babyai(instr.instr_b))  # type: ignore[arg-type]
        case BeforeInstr():
            return Sequence(goal_from_babyai(instr.instr_a), goal_from_babyai(instr.instr_b))  # type: ignore[arg-type]
        case AfterInstr():
            return Sequence(goal_from_babyai(instr.instr_b), goal_from_babyai(instr.instr_a))  # type: ignore[arg-type]
    raise TypeError(f"not a BabyAI instruction: {type(instr).__name__}")
