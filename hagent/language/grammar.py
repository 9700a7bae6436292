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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, TypeAlias

# Mirrors minigrid.core.constants.COLOR_NAMES (a test checks they agree); kept
# literal so that parsing text never has to import minigrid/gymnasium.
COLORS: tuple[str, ...] = ("red", "green", "blue", "purple", "yellow", "grey")
KINDS: tuple[str, ...] = ("ball", "box", "key", "door", "goal")
LOCATIONS: tuple[str, ...] = ("front", "behind", "left", "right")
HAZARDS: tuple[str, ...] = ("lava",)
FORBIDDABLE_ACTIONS: tuple[str, ...] = ("open", "pickup", "drop", "toggle")
# Rooms by place in the room grid: a vertical part (top/bottom) and a horizontal
# part (left/right), either of which may be the middle; "centre" is both middles.
ROOM_POSITIONS: tuple[str, ...] = (
    "top-left", "top", "top-right",
    "left", "centre", "right",
    "bottom-left", "bottom", "bottom-right",
)  # fmt: skip
MAX_TEXT_LENGTH = 2000

GRAMMAR_SUMMARY = (
    "I understand:\n"
    "  goals: go to X, pick up X, open <door>, put X next to Y "
    '(also "walk to", "grab", "place X beside Y", ...), joined with "and", '
    '", then", "after you" or "before"\n'
    "  objects X: [the/a] [" + "/".join(COLORS) + "] " + "/".join(KINDS) + "/object "
    "[in front of you / behind you / on your left / on your right]\n"
    "  guardrails: avoid lava; stay out of the <colour> room / the top-left room / "
    "the room with X; don't open any doors; don't pick anything up; "
    "don't drop anything; don't toggle anything"
)


class ParseError(ValueError):
    """An instruction the grammar can't ground; `unknown_words` lists the words it didn't know.

    `refused` marks text whose words were understood but whose meaning is refused on purpose
    (doors can't be picked up, rooms can't be goals, empty or overlong text): `understand`
    never hands such text to the normalizer to guess at."""

    def __init__(self, reason: str, unknown_words: tuple[str, ...] = (), refused: bool = False):
        self.reason = reason
        self.unknown_words = tuple(unknown_words)
        self.refused = refused
        super().__init__(f"{reason}\n{GRAMMAR_SUMMARY}")

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduce would re-create us from the formatted message alone.
        return (type(self), (self.reason, self.unknown_words, self.refused))


class UnclearError(ParseError):
    """The grammar didn't take the text, and the normalizer's reading of it is not sure enough to
    act on: too unlikely, or naming something (`unnamed`) the text doesn't mention."""

    def __init__(self, reading: str, confidence: float, threshold: float, unnamed: tuple[str, ...] = ()):
        self.reading, self.confidence, self.threshold, self.unnamed = reading, confidence, threshold, tuple(unnamed)
        if unnamed:
            why = "but you didn't mention " + ", ".join(f'"{w}"' for w in unnamed)
        else:
            why = f"but only with confidence {confidence:.2f} (I act at {threshold:.2f} or more)"
        super().__init__(
            f'I\'m not sure what you mean. My best reading is "{reading}", {why}; if that is what you mean, say it that way'
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reading, self.confidence, self.threshold, self.unnamed))


# --------------------------------------------------------------------------- tree

_LOCATION_TEXT = {
    "front": "in front of you",
    "behind": "behind you",
    "left": "on your left",
    "right": "on your right",
}


@dataclass(frozen=True)
class ObjectRef:
    """A description of a set of objects, like BabyAI's ObjDesc (which carries no article).

    `kind` None means "object"; `location` is relative to where the agent starts.
    """

    kind: str | None = None
    color: str | None = None
    location: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (None, *KINDS):
            raise ValueError(f"kind must be one of {KINDS} or None, not {self.kind!r}")
        if self.color not in (None, *COLORS):
            raise ValueError(f"color must be one of {COLORS} or None, not {self.color!r}")
        if self.location not in (None, *LOCATIONS):
            raise ValueError(f"location must be one of {LOCATIONS} or None, not {self.location!r}")

    def describe(self) -> str:
        """Canonical English, e.g. "the red ball on your left"."""
        words = ["the", *([self.color] if self.color else []), self.kind or "object"]
        if self.location:
            words.append(_LOCATION_TEXT[self.location])
        return " ".join(words)


@dataclass(frozen=True)
class GoTo:
    """Go next to (and face) an object matching `obj`."""

    obj: ObjectRef

    def describe(self) -> str:
        """Canonical English, e.g. "go to the red ball"."""
        return f"go to {self.obj.describe()}"


@dataclass(frozen=True)
class PickUp:
    """Pick up an object matching `obj` (never a door)."""

    obj: ObjectRef

    def __post_init__(self) -> None:
        if self.obj.kind == "door":
            raise ValueError("doors can't be picked up")

    def describe(self) -> str:
        """Canonical English, e.g. "pick up the blue key"."""
        return f"pick up {self.obj.describe()}"


@dataclass(frozen=True)
class Open:
    """Open a door matching `obj`."""

    obj: ObjectRef

    def __post_init__(self) -> None:
        if self.obj.kind != "door":
            raise ValueError(f"only doors can be opened, not {self.obj.describe()!r}")

    def describe(self) -> str:
        """Canonical English, e.g. "open the grey door"."""
        return f"open {self.obj.describe()}"


@dataclass(frozen=True)
class PutNext:
    """Put an object matching `move` (never a door) next to one matching `fixed`."""

    move: ObjectRef
    fixed: ObjectRef

    def __post_init__(self) -> None:
        if self.move.kind == "door":
            raise ValueError("doors can't be moved")

    def describe(self) -> str:
        """Canonical English, e.g. "put the red ball next to the blue box"."""
        return f"put {self.move.describe()} next to {self.fixed.describe()}"


Action: TypeAlias = GoTo | PickUp | Open | PutNext
_ACTION_TYPES = (GoTo, PickUp, Open, PutNext)


@dataclass(frozen=True)
class Both:
    """Do `a` and `b` in either order, like BabyAI's AndInstr.

    Longer conjunctions nest to the right (`Both(a, Both(b, c))`), so `a` is always
    a single action; this keeps `describe()` unambiguous ("A and B and C").
    """

    a: Action
    b: Action | Both

    def __post_init__(self) -> None:
        if not isinstance(self.a, _ACTION_TYPES):
            raise TypeError(f"Both.a must be an action, not {type(self.a).__name__}")
        if not isinstance(self.b, (*_ACTION_TYPES, Both)):
            raise TypeError(f"Both.b must be an action or Both, not {type(self.b).__name__}")

    def describe(self) -> str:
        """Canonical English, e.g. "go to the red ball and open the blue door"."""
        return f"{self.a.describe()} and {self.b.describe()}"


@dataclass(frozen=True)
class Sequence:
    """Do `first`, then `second` (BabyAI's BeforeInstr; AfterInstr with the order swapped).

    Longer sequences nest to the right, so `first` is never itself a Sequence.
    """

    first: Action | Both
    second: Goal

    def __post_init__(self) -> None:
        if not isinstance(self.first, (*_ACTION_TYPES, Both)):
            raise TypeError(f"Sequence.first must be an action or Both, not {type(self.first).__name__}")
        if not isinstance(self.second, (*_ACTION_TYPES, Both, Sequence)):
            raise TypeError(f"Sequence.second must be a goal, not {type(self.second).__name__}")

    def describe(self) -> str:
        """Canonical English, e.g. "open the red door, then go to the ball"."""
        return f"{self.first.describe()}, then {self.second.describe()}"


Goal: TypeAlias = GoTo | PickUp | Open | PutNext | Both | Sequence


def all_of(*actions: Action) -> Action | Both:
    """Conjoin one or more actions in canonical (right-nested) form."""
    if not actions:
        raise ValueError("all_of needs at least one action")
    goal: Action | Both = actions[-1]
    for action in reversed(actions[:-1]):
        goal = Both(action, goal)
    return goal


def in_order(*steps: Action | Both) -> Goal:
    """Sequence one or more steps in canonical (right-nested) form."""
    if not steps:
        raise ValueError("in_order needs at least one step")
    goal: Goal = steps[-1]
    for step in reversed(steps[:-1]):
        goal = Sequence(step, goal)
    return goal


@dataclass(frozen=True)
class AvoidHazard:
    """Never step on a hazard cell (lava)."""

    hazard: str = "lava"

    def __post_init__(self) -> None:
        if self.hazard not in HAZARDS:
            raise ValueError(f"hazard must be one of {HAZARDS}, not {self.hazard!r}")

    def describe(self) -> str:
        """Canonical English: "avoid lava"."""
        return f"avoid {self.hazard}"


@dataclass(frozen=True)
class RegionRef:
    """A room, named by its colour, its place in the room grid (ROOM_POSITIONS), and/or an object in it."""

    color: str | None = None
    position: str | None = None
    contains: ObjectRef | None = None

    def __post_init__(self) -> None:
        if self.color not in (None, *COLORS):
            raise ValueError(f"color must be one of {COLORS} or None, not {self.color!r}")
        if self.position not in (None, *ROOM_POSITIONS):
            raise ValueError(f"position must be one of {ROOM_POSITIONS} or None, not {self.position!r}")
        if self.color is None and self.position is None and self.contains is None:
            raise ValueError("a region needs a colour, a position or an object it contains")

    def describe(self) -> str:
        """Canonical English, e.g. "the blue room", "the top-left room with the red ball"."""
        words = ["the", *filter(None, [self.color, self.position]), "room"]
        if self.contains is not None:
            words += ["with", self.contains.describe()]
        return " ".join(words)


@dataclass(frozen=True)
class AvoidRegion:
    """Never enter the room described by `region`."""

    region: RegionRef

    def describe(self) -> str:
        """Canonical English, e.g. "stay out of the blue room"."""
        return f"stay out of {self.region.describe()}"


_FORBID_TEXT = {
    "open": "don't open any doors",
    "pickup": "don't pick anything up",
    "drop": "don't drop anything",
    "toggle": "don't toggle anything",
}


@dataclass(frozen=True)
class ForbidAction:
    """Never take one of the world's actions (open, pickup, drop, toggle)."""

    action: str

    def __post_init__(self) -> None:
        if self.action not in FORBIDDABLE_ACTIONS:
            raise ValueError(f"action must be one of {FORBIDDABLE_ACTIONS}, not {self.action!r}")

    def describe(self) -> str:
        """Canonical English, e.g. "don't open any doors"."""
        return _FORBID_TEXT[self.action]


Guardrail: TypeAlias = AvoidHazard | AvoidRegion | ForbidAction
_GUARDRAIL_TYPES = (AvoidHazard, AvoidRegion, ForbidAction)


@dataclass(frozen=True)
class Task:
    """What an instruction asks: a goal (None for guardrails only) and the guardrails to respect.

    `text` records the instruction it came from, `notes` what was read loosely and `read_as` the
    normalizer's reading (when the grammar needed it); none takes part in equality.
    """

    goal: Goal | None
    guardrails: tuple[Guardrail, ...] = ()
    text: str = field(default="", compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)
    """What the parser read loosely (a qualifier it could only take as a hint), said back to the user."""
    read_as: str = field(default="", compare=False)
    """The canonical text the normalizer read `text` as, when the grammar alone didn't take it."""
    confidence: float = field(default=1.0, compare=False)
    """How sure that reading was (1.0 for the grammar's own parse)."""

    def __post_init__(self) -> None:
        # A tuple keeps the task hashable even if a caller passes a list.
        object.__setattr__(self, "guardrails", tuple(self.guardrails))
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.goal is not None and not isinstance(self.goal, (*_ACTION_TYPES, Both, Sequence)):
            raise TypeError(f"goal must be a goal node or None, not {type(self.goal).__name__}")
        for guardrail in self.guardrails:
            if not isinstance(guardrail, _GUARDRAIL_TYPES):
                raise TypeError(f"not a guardrail: {guardrail!r}")
        if self.goal is None and not self.guardrails:
            raise ValueError("a task needs a goal or at least one guardrail")

    def describe(self) -> str:
        """Canonical English that `parse` maps back to an equal Task."""
        parts = [] if self.goal is None else [self.goal.describe()]
        return ", ".join(parts + [g.describe() for g in self.guardrails])


def same_task(a: Task | None, b: Task | None) -> bool:
    """Whether two tasks ask the same thing: equal goals, and the same guardrails in any order."""
    if a is None or b is None:
        return a is b
    return a.goal == b.goal and set(a.guardrails) == set(b.guardrails)


# ------------------------------------------------------------------------ grammar
#
# A clause is matched against rules. A rule is a sequence of parts: literal
# phrases (which give no value), tables (phrase -> value) and symbols (sub-rules
# that give a built value). Matching enumerates every way to match, so the
# caller keeps only those that consume the whole clause; the grammar is nearly
# deterministic, so there are only ever a handful.

_Words = tuple[str, ...]


class _Reject(Exception):
    """Raised by a rule's builder when the words match but the meaning is invalid."""


@dataclass(frozen=True)
class _Phrases:
    """Literal alternatives; `()` among them makes the part optional."""

    options: tuple[_Words, ...]


@dataclass(frozen=True)
class _Table:
    """Alternatives that each give a value; `()` among them makes the part optional."""

    entries: tuple[tuple[_Words, Any], ...]


@dataclass(frozen=True)
class _Rule:
    """A sequence of parts and the function that builds a node from the parts' values."""

    parts: tuple[_Phrases | _Table | _Symbol, ...]
    build: Callable[..., Any]
    example: str = ""  # shown as a hint when a clause starts like this rule but goes astray


@dataclass(frozen=True)
class _Symbol:
    """A named set of rules usable as a part of other rules."""

    name: str
    rules: tuple[_Rule, ...]


def _phrases(*options: str) -> _Phrases:
    """Literal alternatives written as strings; "" means the part may be absent."""
    return _Phrases(tuple(tuple(o.split()) for o in options))


def _table(entries: dict[str, Any]) -> _Table:
    """A phrase -> value table written with string keys; "" means the part may be absent."""
    return _Table(tuple((tuple(k.split()), v) for k, v in entries.items()))


_LITERAL = object()  # the value of a literal part, dropped from the builder's arguments


def _match_part(
    part: _Phrases | _Table | _Symbol, toks: _Words, i: int, rejects: list[tuple[str, int]] | None = None
) -> Iterator[tuple[Any, int]]:
    """Every (value, end) for `part` matched at toks[i:]; sub-rule refusals go to `rejects` as (reason, end)."""
    if isinstance(part, _Phrases):
        for phrase in part.options:
            if toks[i : i + len(phrase)] == phrase:
                yield _LITERAL, i + len(phrase)
    elif isinstance(part, _Table):
        for phrase, value in part.entries:
            if toks[i : i + len(phrase)] == phrase:
                yield value, i + len(phrase)
    else:
        for rule in part.rules:
            for values, end in _match(rule.parts, toks, i, rejects):
                try:
                    yield rule.build(*values), end
                except _Reject as reject:
                    # Kept, not raised: another reading may still succeed, and the
                    # clause reports a refusal only if it spans to the clause's end.
                    if rejects is not None:
                        rejects.append((str(reject), end))


def _match(
    parts: tuple[Any, ...], toks: _Words, i: int, rejects: list[tuple[str, int]] | None = None
) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Every (values, end) for the sequence `parts` matched at toks[i:]."""
    if not parts:
        yield (), i
        return
    for value, j in _match_part(parts[0], toks, i, rejects):
        for values, end in _match(parts[1:], toks, j, rejects):
            yield (values if value is _LITERAL else (value, *values)), end


# Objects ------------------------------------------------------------------------

_ARTICLE = _phrases("", "the", "a", "an")
_COLOR = _table({"": None, **{c: c for c in COLORS}, "gray": "grey"})
_KIND = _table({"ball": "ball", "sphere": "ball", "box": "box", "key": "key", "door": "door",
                "goal square": "goal", "goal": "goal", "goal cell": "goal", "goal tile": "goal",
                "object": None, "thing": None})  # fmt: skip
_LOCATION = _table({
    "": None,
    "in front of you": "front", "ahead of you": "front",
    "behind you": "behind",
    "on your left": "left", "to your left": "left",
    "on your right": "right", "to your right": "right",
})  # fmt: skip


def _object(color: str | None, kind: str | None, location: str | None) -> ObjectRef:
    return ObjectRef(kind, color, location)


_OBJECT = _Symbol("object", (_Rule((_ARTICLE, _COLOR, _KIND, _LOCATION), _object),))

# Goals --------------------------------------------------------------------------

_GOTO_VERB = _phrases(
    "go to", "go over to", "go up to", "go towards", "walk to", "walk over to", "walk up to",
    "walk towards", "head to", "head over to", "head towards", "move to", "move over to",
    "navigate to", "approach", "reach", "get to", "get over to", "run to", "proceed to",
    "find", "go find", "head for", "make for", "make your way to",
)  # fmt: skip
_PICKUP_VERB = _phrases(
    "pick up", "grab", "fetch", "fetch me", "get", "get me", "take", "collect", "bring me",
    "go get", "go and get", "go fetch", "go and fetch", "go grab", "go and grab", "go pick up", "go and pick up",
)  # fmt: skip
_OPEN_VERB = _phrases("open", "unlock")  # minigrid opens a locked door when the agent toggles it holding its key
# Lead-ins that say the goal is required ("you must fetch a purple key"); they change nothing.
_MODAL = _phrases("", "you must", "you need to", "you have to", "you should")
# Ways there that every route to the goal takes anyway ("traverse the rooms to get to the goal").
_ROUTE = _phrases("traverse the rooms to", "traverse the maze to", "go through the rooms to",
                  "cross the rooms to", "cross the maze to")  # fmt: skip
_PUT_VERB = _phrases("put", "place", "set", "move", "drop")
_NEXT_TO = _phrases("next to", "right next to", "beside", "by", "near", "close to", "adjacent to", "alongside")


def _pick_up(obj: ObjectRef) -> PickUp:
    if obj.kind == "door":
        raise _Reject(f'doors can\'t be picked up ("{obj.describe()}"); try "open {obj.describe()}"')
    return PickUp(obj)


def _open(obj: ObjectRef) -> Open:
    if obj.kind != "door":
        raise _Reject(f'only doors can be opened, and "{obj.describe()}" is not a door')
    return Open(obj)


def _put_next(move: ObjectRef, fixed: ObjectRef) -> PutNext:
    if move.kind == "door":
        raise _Reject(f'doors can\'t be moved ("{move.describe()}")')
    return PutNext(move, fixed)


def _refuse(reason: str) -> Callable[..., Any]:
    """A builder for phrases that are well formed but mean something we don't support."""

    def build(*_: Any) -> Any:
        raise _Reject(reason)

    return build



# Guardrails ---------------------------------------------------------------------

_NEGATION = _phrases(
    "don't", "dont", "do not", "don't ever", "do not ever", "never", "must not", "mustn't",
    "should not", "shouldn't", "you must not", "you mustn't", "you should not", "you shouldn't",
    "you must never", "you should never",
)  # fmt: skip
# Gerund forms follow these ("without opening any doors", "avoid stepping in lava").
_GERUND_INTRO = _phrases("without", "avoid", "avoiding")
# Positive verbs of keeping away; the gerunds let them follow "while".
_KEEP_AWAY = _phrases(
    "avoid", "avoiding", "stay away from", "staying away from", "keep away from",
    "keeping away from", "keep clear of", "keeping clear of", "stay clear of", "staying clear of",
    "steer clear of", "steering clear of", "stay out of", "staying out of", "keep out of",
    "keeping out of", "stay off", "staying off", "keep off", "keeping off",
)  # fmt: skip
_MOVE_VERB = _phrases("step", "walk", "go", "move", "tread", "wander", "fall", "run", "set foot")
_MOVING = _phrases("stepping", "walking", "going", "moving", "treading", "wandering", "falling",
                   "running", "setting foot")  # fmt: skip
_INTO_LAVA = _phrases("", "in", "into", "on", "onto", "through", "across", "over", "near")
_INTO_ROOM = _phrases("in", "into", "inside", "through")

_LAVA = _Symbol("lava", (
    _Rule((_phrases("", "the", "any"), _table({"lava": "lava"}),
           _phrases("", "tiles", "squares", "cells")), lambda hazard: hazard),
))  # fmt: skip

_VERTICAL = {"top": "top", "upper": "top", "north": "top", "northern": "top",
             "bottom": "bottom", "lower": "bottom", "south": "bottom", "southern": "bottom"}  # fmt: skip
_HORIZONTAL = {"left": "left", "west": "left", "western": "left",
               "right": "right", "east": "right", "eastern": "right"}  # fmt: skip
_MIDDLE = ("centre", "center", "middle", "central")
_COMPASS = {"northeast": "top-right", "northwest": "top-left",
            "southeast": "bottom-right", "southwest": "bottom-left"}  # fmt: skip


def _position_table() -> _Table:
    """Every one- and two-word way to name a room's place, mapped to a ROOM_POSITIONS name."""
    single: dict[str, str] = {**_VERTICAL, **_HORIZONTAL, **{m: "centre" for m in _MIDDLE}, **_COMPASS}
    pairs: dict[str, str] = {}
    for v_word, v in _VERTICAL.items():
        for h_word, h in _HORIZONTAL.items():
            pairs[f"{v_word} {h_word}"] = f"{v}-{h}"
            pairs[f"{h_word} {v_word}"] = f"{v}-{h}"
        for m in _MIDDLE:
            pairs[f"{v_word} {m}"] = pairs[f"{m} {v_word}"] = v
    for h_word, h in _HORIZONTAL.items():
        for m in _MIDDLE:
            pairs[f"{h_word} {m}"] = pairs[f"{m} {h_word}"] = h
    return _table({**single, **pairs})


_POSITION = _position_table()
_OPTIONAL_POSITION = _Table((((), None), *_POSITION.entries))
_PLACED = _Symbol("placed", (
    _Rule((_phrases("in the", "at the", "on the"), _POSITION, _phrases("", "corner", "side")),
          lambda position: position),
))  # fmt: skip
_CONTAINING = _Symbol("containing", (
    _Rule((_phrases("with", "containing", "that has", "that contains", "which has",
                    "which contains", "holding", "that holds"), _OBJECT, _phrases("", "in it")),
          lambda obj: obj),
))  # fmt: skip


def _region(color: str | None, position: str | None, placed: Any, contains: Any) -> RegionRef:
    # `placed` ("the room in the top left") and `contains` are optional symbols, given as lists.
    if position is not None and placed:
        raise _Reject("a room can't have two positions")
    position = position or (placed[0] if placed else None)
    contained = contains[0] if contains else None
    if color is None and position is None and contained is None:
        raise _Reject('which room? Say e.g. "the blue room" or "the room with the red ball"')
    return RegionRef(color, position, contained)


def _optional(symbol: _Symbol) -> _Symbol:
    """`symbol` or nothing; the value is a list holding zero or one match."""
    return _Symbol(f"optional {symbol.name}", (
        _Rule((), lambda: []),
        # `_b=r.build` binds each rule's builder now, not the loop's last one.
        *(_Rule(r.parts, lambda *v, _b=r.build: [_b(*v)]) for r in symbol.rules),
    ))  # fmt: skip


_REGION = _Symbol("region", (
    _Rule((_phrases("the", "a"), _COLOR, _OPTIONAL_POSITION, _phrases("room"), _optional(_PLACED),
           _optional(_CONTAINING)), _region),
))  # fmt: skip

# Goal rules (after the region symbol: "get the key from the red room" names a room) -------

@dataclass(frozen=True)
class _Steps:
    """A clause that says several actions in order ("use the key to open the door")."""

    actions: tuple[Action, ...]


@dataclass(frozen=True)
class _Noted:
    """A clause's node and what the parser read loosely in it (it becomes one of `Task.notes`)."""

    node: Any
    note: str


@dataclass(frozen=True)
class _RouteHint:
    """A clause that names the way, not a goal ("find the opening"): any route to the goal takes it."""

    text: str


def _use_to_open(key: ObjectRef, door: ObjectRef) -> _Steps:
    if key.kind == "door":
        raise _Reject(f'a door can\'t open a door ("{key.describe()}")')
    return _Steps((_pick_up(key), _open(door)))


def _pick_up_from(obj: ObjectRef, region: RegionRef) -> _Noted:
    # An object reference names no room; the room is taken as where to look, which is all the
    # missions that say it (LockedRoom's "get the X key from the Y room") need.
    note = f'I took "from {region.describe()}" only as where {obj.describe()} is: I pick up {obj.describe()} wherever I see it'
    return _Noted(_pick_up(obj), note)


_GOAL_RULES = (
    _Rule((_MODAL, _GOTO_VERB, _OBJECT), GoTo, "go to the red ball"),
    _Rule((_ROUTE, _GOTO_VERB, _OBJECT), GoTo, "traverse the rooms to get to the goal"),
    _Rule((_MODAL, _PICKUP_VERB, _OBJECT), _pick_up, "pick up the blue key"),
    _Rule((_MODAL, _PICKUP_VERB, _OBJECT, _phrases("from", "in", "out of"), _REGION), _pick_up_from,
          "get the blue key from the red room"),
    _Rule((_MODAL, _phrases("pick"), _OBJECT, _phrases("up")), _pick_up, "pick the blue key up"),
    _Rule((_MODAL, _OPEN_VERB, _OBJECT), _open, "open the red door"),
    _Rule((_MODAL, _PUT_VERB, _OBJECT, _NEXT_TO, _OBJECT), _put_next, "put the red ball next to the blue box"),
    _Rule((_MODAL, _phrases("use"), _OBJECT, _phrases("to"), _OPEN_VERB, _OBJECT), _use_to_open,
          "use the key to open the door"),
    _Rule((_phrases("find", "look for", "locate"), _phrases("the", "an", "a"),
           _phrases("opening", "gap", "way through", "passage")),
          lambda: _RouteHint("find the opening"), "find the opening"),
)

_ANY_DOOR = _phrases("any door", "any doors", "doors", "a door", "the doors", "any of the doors", "a single door")
_ANY_THING = _phrases("anything", "any object", "any objects", "objects", "things", "any thing",
                      "any things", "any item", "any items", "items", "a single thing")  # fmt: skip
_OPENABLE = _Phrases(_ANY_DOOR.options + _ANY_THING.options)


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


_OPEN = _constant(ForbidAction("open"))
_PICKUP = _constant(ForbidAction("pickup"))
_DROP = _constant(ForbidAction("drop"))
_TOGGLE = _constant(ForbidAction("toggle"))

_GUARD_RULES = (
    # Hazards.
    _Rule((_KEEP_AWAY, _LAVA), AvoidHazard, "avoid lava"),
    _Rule((_NEGATION, _MOVE_VERB, _INTO_LAVA, _LAVA), AvoidHazard, "don't step in lava"),
    _Rule((_NEGATION, _phrases("touch", "enter", "cross"), _LAVA), AvoidHazard, "don't touch lava"),
    _Rule((_GERUND_INTRO, _MOVING, _INTO_LAVA, _LAVA), AvoidHazard, "without stepping in lava"),
    _Rule((_GERUND_INTRO, _phrases("touching", "entering", "crossing"), _LAVA), AvoidHazard,
          "without touching lava"),
    # Regions.
    _Rule((_KEEP_AWAY, _REGION), AvoidRegion, "stay out of the blue room"),
    _Rule((_NEGATION, _phrases("enter"), _REGION), AvoidRegion, "don't enter the blue room"),
    _Rule((_NEGATION, _MOVE_VERB, _INTO_ROOM, _REGION), AvoidRegion, "don't go into the blue room"),
    _Rule((_GERUND_INTRO, _phrases("entering"), _REGION), AvoidRegion, "without entering the blue room"),
    _Rule((_GERUND_INTRO, _MOVING, _INTO_ROOM, _REGION), AvoidRegion, "without going into the blue room"),
    # Actions.
    _Rule((_NEGATION, _phrases("open"), _OPENABLE), _OPEN, "don't open any doors"),
    _Rule((_GERUND_INTRO, _phrases("opening"), _OPENABLE), _OPEN, "without opening any doors"),
    _Rule((_phrases("keep", "leave"), _phrases("doors", "the doors", "all doors", "all the doors"),
           _phrases("closed", "shut")), _OPEN, "keep the doors closed"),
    _Rule((_NEGATION, _phrases("pick up", "grab", "take", "collect", "lift"), _ANY_THING), _PICKUP,
          "don't pick up anything"),
    _Rule((_NEGATION, _phrases("pick"), _ANY_THING, _phrases("up")), _PICKUP, "don't pick anything up"),
    _Rule((_GERUND_INTRO, _phrases("picking up", "grabbing", "taking", "collecting", "lifting"), _ANY_THING),
          _PICKUP, "without picking up anything"),
    _Rule((_GERUND_INTRO, _phrases("picking"), _ANY_THING, _phrases("up")), _PICKUP,
          "without picking anything up"),
    _Rule((_NEGATION, _phrases("drop", "put down"), _ANY_THING), _DROP, "don't drop anything"),
    _Rule((_NEGATION, _phrases("put"), _ANY_THING, _phrases("down")), _DROP, "don't put anything down"),
    _Rule((_GERUND_INTRO, _phrases("dropping", "putting down"), _ANY_THING), _DROP, "without dropping anything"),
    _Rule((_GERUND_INTRO, _phrases("putting"), _ANY_THING, _phrases("down")), _DROP,
          "without putting anything down"),
    _Rule((_NEGATION, _phrases("toggle"), _OPENABLE), _TOGGLE, "don't toggle anything"),
    _Rule((_GERUND_INTRO, _phrases("toggling"), _OPENABLE), _TOGGLE, "without toggling anything"),
)

# Well-formed requests we can't represent: matched only to say why, never to guess.
_REFUSAL_RULES = (
    _Rule((_KEEP_AWAY, _OBJECT), _refuse("guardrails keep away from lava or from rooms, not from objects")),
    _Rule((_GOTO_VERB, _REGION), _refuse("rooms can't be goals yet; name an object in the room instead")),
    _Rule((_NEGATION, _phrases("open", "toggle"), _OBJECT),
          _refuse('only all doors can be forbidden, as in "don\'t open any doors"')),
    _Rule((_NEGATION, _phrases("pick up", "grab", "take", "collect", "lift"), _OBJECT),
          _refuse('only all pickups can be forbidden, as in "don\'t pick anything up"')),
    _Rule((_NEGATION, _phrases("pick"), _OBJECT, _phrases("up")),
          _refuse('only all pickups can be forbidden, as in "don\'t pick anything up"')),
    _Rule((_NEGATION, _phrases("drop"), _OBJECT),
          _refuse('only all drops can be forbidden, as in "don\'t drop anything"')),
    _Rule((_NEGATION, _GOTO_VERB, _OBJECT),
          _refuse("objects can't be forbidden; guardrails cover lava, rooms and the open/pickup/drop/toggle actions")),
)

_CLAUSE_RULES = _GOAL_RULES + _GUARD_RULES + _REFUSAL_RULES

# Clause boundaries ----------------------------------------------------------------

_PUNCTUATION = frozenset(",;.!")
# Words that join clauses; they never occur inside a clause of this grammar.
_CONNECTOR_WORDS = frozenset({*_PUNCTUATION, "and", "then", "while", "but", "after", "before", "first",
                              "also", "please"})  # fmt: skip
# "after you pick up the key": this "you" belongs to the connector, not the clause.
_TAKES_YOU = frozenset({"after", "before", "while"})
# These open a guardrail clause and also end the clause before them ("go to the box
# without stepping in lava"), so they count as both connector and clause word.
_CLAUSE_OPENERS = frozenset({"without", "avoiding"})
_LEADING_OK = frozenset({"first", "before", "after", "while", "you", "please", *_CLAUSE_OPENERS})
_TRAILING_OK = frozenset({".", "!", ";", ",", "please"})
_SEQUENCE_WORDS = frozenset({"then", "after", "before", "first"})

_UNSUPPORTED = {
    "lock": "doors can be opened (a locked one with its key) but not locked",
    "locked": 'doors are named by colour, not by whether they are locked; say "open the red door"',
    "matching": ('"the matching object" is the one that matches an object seen earlier, and I plan from '
                 "what I see now, so I can't tell which one it is"),
}


def _vocabulary() -> frozenset[str]:
    """Every word some rule can consume."""
    words: set[str] = set(_CONNECTOR_WORDS) | {"you"}
    seen: set[int] = set()

    def walk(part: Any) -> None:
        if isinstance(part, _Phrases):
            words.update(w for phrase in part.options for w in phrase)
        elif isinstance(part, _Table):
            words.update(w for phrase, _ in part.entries for w in phrase)
        elif id(part) not in seen:
            seen.add(id(part))
            for rule in part.rules:
                for sub in rule.parts:
                    walk(sub)

    for rule in _CLAUSE_RULES:
        for part in rule.parts:
            walk(part)
    return frozenset(words - _PUNCTUATION)


VOCABULARY: frozenset[str] = _vocabulary()


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


def _tokenize(text: str) -> _Words:
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


def _check_vocabulary(tokens: _Words) -> None:
    """Name every word the grammar doesn't know, before trying to understand the structure."""
    unknown = tuple(dict.fromkeys(t for t in tokens if t not in VOCABULARY and t not in _PUNCTUATION))
    if not unknown:
        return
    quoted = ", ".join(f'"{w}"' for w in unknown)
    notes = list(dict.fromkeys(_UNSUPPORTED[w] for w in unknown if w in _UNSUPPORTED))
    reason = f"can't understand {quoted}" + "".join(f"; {n}" for n in notes)
    raise ParseError(reason, unknown, refused=bool(notes))


class _Link(Enum):
    """How two neighbouring goals are joined."""

    AND = "and"
    THEN = "then"  # in the order written: ", then", "before"
    AFTER = "after"  # in reverse: "after you", ", but first"
    NONE = "none"  # only punctuation or attaching words: not a goal join


def _split(tokens: _Words) -> tuple[list[_Words], list[_Words]]:
    """Clauses and the connector runs around them (one more run than clauses; runs may be empty)."""
    clauses: list[_Words] = []
    runs: list[_Words] = []
    run: list[str] = []
    clause: list[str] = []
    for tok in tokens:
        joins = tok in _CONNECTOR_WORDS or (tok == "you" and not clause and bool(run) and run[-1] in _TAKES_YOU)
        if tok in _CLAUSE_OPENERS:
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


def _quote(words: _Words) -> str:
    return '"' + " ".join(words) + '"'


def _parse_clause(clause: _Words) -> Action | Guardrail:
    """The single goal action or guardrail that `clause` says, or ParseError."""
    found: list[Any] = []
    rejects: list[tuple[str, int]] = []
    for rule in _CLAUSE_RULES:
        for values, end in _match(rule.parts, clause, 0, rejects):
            if end != len(clause):
                continue
            try:
                node = rule.build(*values)
            except _Reject as reject:
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
    if any(end == len(clause) for _, end in _match_part(_OBJECT, clause, 0)):
        raise ParseError(f'{_quote(clause)} needs a verb, e.g. "go to {" ".join(clause)}"')
    raise ParseError(f"can't make sense of {_quote(clause)}{_hint(clause)}")


def _hint(clause: _Words) -> str:
    """Examples of the rules whose opening parts the clause matches furthest, if any."""
    best: tuple[int, int] = (0, 0)  # (parts matched, words matched)
    examples: list[str] = []
    for rule in _CLAUSE_RULES:
        if not rule.example:
            continue
        for k in range(1, len(rule.parts)):
            ends = [end for _, end in _match(rule.parts[:k], clause, 0)]
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


def _link(words: set[str], between: tuple[_Words, _Words]) -> _Link:
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


def _compose(nodes: list[Action | Guardrail], clauses: list[_Words], runs: list[_Words]) -> Goal | None:
    """Join the goal clauses by the connectors between them; guardrail clauses only attach."""
    goal_at = [k for k, node in enumerate(nodes) if isinstance(node, _ACTION_TYPES)]
    if not goal_at:
        used = {w for run in runs for w in run} & _SEQUENCE_WORDS
        if used:
            raise ParseError(f'"{sorted(used)[0]}" orders goals, but there is no goal here, only guardrails')
        return None

    def words(lo: int, hi: int) -> set[str]:
        # Connector runs lo..hi inclusive; guardrails between goals are transparent.
        return {w for run in runs[lo : hi + 1] for w in run}

    prefix, suffix = words(0, goal_at[0]), words(goal_at[-1] + 1, len(runs) - 1)
    if suffix & _SEQUENCE_WORDS:
        raise ParseError(f'"{sorted(suffix & _SEQUENCE_WORDS)[0]}" at the end has no goal to order')
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
    if not any(t not in _PUNCTUATION for t in tokens):
        raise ParseError("the instruction is empty", refused=True)
    _check_vocabulary(tokens)

    clauses, runs = _split(tokens)
    if not clauses:
        raise ParseError("the instruction has no goal or guardrail, only joining words")
    dangling = [w for w in runs[0] if w not in _LEADING_OK]
    if dangling:
        raise ParseError(f'"{dangling[0]}" at the start has nothing before it')
    dangling = [w for w in runs[-1] if w not in _TRAILING_OK]
    if dangling or ("," in runs[-1] and "please" not in runs[-1]):
        raise ParseError(f'"{(dangling or [","])[0]}" at the end has nothing after it')
    for before, run, after in zip(clauses[:-1], runs[1:-1], clauses[1:], strict=True):
        if set(run) <= {"please"}:
            raise ParseError(f'put a comma, "and" or "then" between {_quote(before)} and {_quote(after)}')

    nodes, clauses, runs, notes = _read_clauses(clauses, runs)
    if all(isinstance(n, _RouteHint) for n in nodes):
        raise ParseError('finding the opening is a way to somewhere, not a goal: say where to go, e.g. '
                         '"find the opening and get to the green goal square"', refused=True)
    goal = _compose(nodes, clauses, runs)
    guardrails = tuple(dict.fromkeys(n for n in nodes if isinstance(n, _GUARDRAIL_TYPES)))
    return Task(goal, guardrails, text, notes)


# A clause that is only an object takes the verb of the goal before it ("open the red door,
# then the blue door"); these are the verbs that take one object.
_ELLIPSIS_VERBS: dict[type, Callable[[ObjectRef], Action]] = {GoTo: GoTo, PickUp: _pick_up, Open: _open}


def _read_clauses(
    clauses: list[_Words], runs: list[_Words]
) -> tuple[list[Any], list[_Words], list[_Words], tuple[str, ...]]:
    """Each clause's node, with several-step clauses spread into one node per step (joined by
    "then"), plus the notes on what was read loosely. Returns (nodes, clauses, runs, notes)."""
    nodes: list[Any] = []
    out_clauses: list[_Words] = []
    out_runs: list[_Words] = [runs[0]]
    notes: list[str] = []
    for clause, run_after in zip(clauses, runs[1:], strict=True):
        try:
            node = _parse_clause(clause)
        except ParseError:
            node = _ellipsis(clause, nodes)
            if node is None:
                raise
        if isinstance(node, _Noted):
            notes.append(node.note)
            node = node.node
        steps = node.actions if isinstance(node, _Steps) else (node,)
        for k, step in enumerate(steps):
            if k:
                out_runs.append(("then",))
            nodes.append(step)
            out_clauses.append(clause)
        out_runs.append(run_after)
    return nodes, out_clauses, out_runs, tuple(dict.fromkeys(notes))


def _ellipsis(clause: _Words, before: list[Any]) -> Action | None:
    """The goal an object-only clause means after a one-object goal, or None."""
    if not before or type(before[-1]) not in _ELLIPSIS_VERBS:
        return None
    objects = [value for value, end in _match_part(_OBJECT, clause, 0) if end == len(clause)]
    if len(objects) != 1:
        return None
    try:
        return _ELLIPSIS_VERBS[type(before[-1])](objects[0])
    except _Reject as reject:
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


def understand(text: str, reader: Reader | None = None) -> Task:
    """Grammar first, normalizer second: `parse(text)`, and only when the grammar doesn't take
    the text (and didn't refuse its meaning on purpose) the normalizer's reading. A reading
    below the normalizer's threshold, or one naming what the text doesn't (`Reading.unnamed`),
    raises `UnclearError` (say what was understood, act on nothing); no reading at all
    re-raises the grammar's `ParseError`. The task returned says
    what the normalizer read (`read_as`, `confidence`)."""
    try:
        return parse(text)
    except ParseError as err:
        if reader is None or err.refused:
            raise
        reading = reader.read(text)
        if reading.task is None:
            raise
        unnamed = tuple(getattr(reading, "unnamed", ()))
        if reading.confidence < reader.threshold or unnamed:
            raise UnclearError(reading.canonical, reading.confidence, reader.threshold, unnamed) from None
        task = reading.task
        return Task(task.goal, task.guardrails, text, task.notes, read_as=reading.canonical, confidence=reading.confidence)


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
