"""The grammar's rules: whole-word phrase tables and symbols that build `Task` parts
(`hagent.language.task`), matched clause by clause by `hagent.language.grammar`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hagent.language.task import (
    COLORS,
    Action,
    AvoidHazard,
    AvoidRegion,
    ForbidAction,
    GoTo,
    ObjectRef,
    Open,
    PickUp,
    PutNext,
    RegionRef,
)

# ------------------------------------------------------------------------ grammar
#
# A clause is matched against rules. A rule is a sequence of parts: literal
# phrases (which give no value), tables (phrase -> value) and symbols (sub-rules
# that give a built value). Matching enumerates every way to match, so the
# caller keeps only those that consume the whole clause; the grammar is nearly
# deterministic, so there are only ever a handful.

Words = tuple[str, ...]


class Reject(Exception):
    """Raised by a rule's builder when the words match but the meaning is invalid."""


@dataclass(frozen=True)
class _Phrases:
    """Literal alternatives; `()` among them makes the part optional."""

    options: tuple[Words, ...]


@dataclass(frozen=True)
class _Table:
    """Alternatives that each give a value; `()` among them makes the part optional."""

    entries: tuple[tuple[Words, Any], ...]


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


def match_part(
    part: _Phrases | _Table | _Symbol, toks: Words, i: int, rejects: list[tuple[str, int]] | None = None
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
            for values, end in match_rule(rule.parts, toks, i, rejects):
                try:
                    yield rule.build(*values), end
                except Reject as reject:
                    # Kept, not raised: another reading may still succeed, and the
                    # clause reports a refusal only if it spans to the clause's end.
                    if rejects is not None:
                        rejects.append((str(reject), end))


def match_rule(
    parts: tuple[Any, ...], toks: Words, i: int, rejects: list[tuple[str, int]] | None = None
) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Every (values, end) for the sequence `parts` matched at toks[i:]."""
    if not parts:
        yield (), i
        return
    for value, j in match_part(parts[0], toks, i, rejects):
        for values, end in match_rule(parts[1:], toks, j, rejects):
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


OBJECT = _Symbol("object", (_Rule((_ARTICLE, _COLOR, _KIND, _LOCATION), _object),))

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


def pick_up_object(obj: ObjectRef) -> PickUp:
    if obj.kind == "door":
        raise Reject(f'doors can\'t be picked up ("{obj.describe()}"); try "open {obj.describe()}"')
    return PickUp(obj)


def open_object(obj: ObjectRef) -> Open:
    if obj.kind != "door":
        raise Reject(f'only doors can be opened, and "{obj.describe()}" is not a door')
    return Open(obj)


def _put_next(move: ObjectRef, fixed: ObjectRef) -> PutNext:
    if move.kind == "door":
        raise Reject(f'doors can\'t be moved ("{move.describe()}")')
    return PutNext(move, fixed)


def _refuse(reason: str) -> Callable[..., Any]:
    """A builder for phrases that are well formed but mean something we don't support."""

    def build(*_: Any) -> Any:
        raise Reject(reason)

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

VERTICAL = {"top": "top", "upper": "top", "north": "top", "northern": "top",
             "bottom": "bottom", "lower": "bottom", "south": "bottom", "southern": "bottom"}  # fmt: skip
HORIZONTAL = {"left": "left", "west": "left", "western": "left",
               "right": "right", "east": "right", "eastern": "right"}  # fmt: skip
MIDDLE = ("centre", "center", "middle", "central")
COMPASS = {"northeast": "top-right", "northwest": "top-left",
            "southeast": "bottom-right", "southwest": "bottom-left"}  # fmt: skip


def _position_table() -> _Table:
    """Every one- and two-word way to name a room's place, mapped to a ROOM_POSITIONS name."""
    single: dict[str, str] = {**VERTICAL, **HORIZONTAL, **{m: "centre" for m in MIDDLE}, **COMPASS}
    pairs: dict[str, str] = {}
    for v_word, v in VERTICAL.items():
        for h_word, h in HORIZONTAL.items():
            pairs[f"{v_word} {h_word}"] = f"{v}-{h}"
            pairs[f"{h_word} {v_word}"] = f"{v}-{h}"
        for m in MIDDLE:
            pairs[f"{v_word} {m}"] = pairs[f"{m} {v_word}"] = v
    for h_word, h in HORIZONTAL.items():
        for m in MIDDLE:
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
                    "which contains", "holding", "that holds"), OBJECT, _phrases("", "in it")),
          lambda obj: obj),
))  # fmt: skip


def _region(color: str | None, position: str | None, placed: Any, contains: Any) -> RegionRef:
    # `placed` ("the room in the top left") and `contains` are optional symbols, given as lists.
    if position is not None and placed:
        raise Reject("a room can't have two positions")
    position = position or (placed[0] if placed else None)
    contained = contains[0] if contains else None
    if color is None and position is None and contained is None:
        raise Reject('which room? Say e.g. "the blue room" or "the room with the red ball"')
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
class Steps:
    """A clause that says several actions in order ("use the key to open the door")."""

    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Noted:
    """A clause's node and what the parser read loosely in it (it becomes one of `Task.notes`)."""

    node: Any
    note: str


@dataclass(frozen=True)
class RouteHint:
    """A clause that names the way, not a goal ("find the opening"): any route to the goal takes it."""

    text: str


def _use_to_open(key: ObjectRef, door: ObjectRef) -> Steps:
    if key.kind == "door":
        raise Reject(f'a door can\'t open a door ("{key.describe()}")')
    return Steps((pick_up_object(key), open_object(door)))


def _pick_up_from(obj: ObjectRef, region: RegionRef) -> Noted:
    # An object reference names no room; the room is taken as where to look, which is all the
    # missions that say it (LockedRoom's "get the X key from the Y room") need.
    note = f'I took "from {region.describe()}" only as where {obj.describe()} is: I pick up {obj.describe()} wherever I see it'
    return Noted(pick_up_object(obj), note)


_GOAL_RULES = (
    _Rule((_MODAL, _GOTO_VERB, OBJECT), GoTo, "go to the red ball"),
    _Rule((_ROUTE, _GOTO_VERB, OBJECT), GoTo, "traverse the rooms to get to the goal"),
    _Rule((_MODAL, _PICKUP_VERB, OBJECT), pick_up_object, "pick up the blue key"),
    _Rule((_MODAL, _PICKUP_VERB, OBJECT, _phrases("from", "in", "out of"), _REGION), _pick_up_from,
          "get the blue key from the red room"),
    _Rule((_MODAL, _phrases("pick"), OBJECT, _phrases("up")), pick_up_object, "pick the blue key up"),
    _Rule((_MODAL, _OPEN_VERB, OBJECT), open_object, "open the red door"),
    _Rule((_MODAL, _PUT_VERB, OBJECT, _NEXT_TO, OBJECT), _put_next, "put the red ball next to the blue box"),
    _Rule((_MODAL, _phrases("use"), OBJECT, _phrases("to"), _OPEN_VERB, OBJECT), _use_to_open,
          "use the key to open the door"),
    _Rule((_phrases("find", "look for", "locate"), _phrases("the", "an", "a"),
           _phrases("opening", "gap", "way through", "passage")),
          lambda: RouteHint("find the opening"), "find the opening"),
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
    _Rule((_KEEP_AWAY, OBJECT), _refuse("guardrails keep away from lava or from rooms, not from objects")),
    _Rule((_GOTO_VERB, _REGION), _refuse("rooms can't be goals yet; name an object in the room instead")),
    _Rule((_NEGATION, _phrases("open", "toggle"), OBJECT),
          _refuse('only all doors can be forbidden, as in "don\'t open any doors"')),
    _Rule((_NEGATION, _phrases("pick up", "grab", "take", "collect", "lift"), OBJECT),
          _refuse('only all pickups can be forbidden, as in "don\'t pick anything up"')),
    _Rule((_NEGATION, _phrases("pick"), OBJECT, _phrases("up")),
          _refuse('only all pickups can be forbidden, as in "don\'t pick anything up"')),
    _Rule((_NEGATION, _phrases("drop"), OBJECT),
          _refuse('only all drops can be forbidden, as in "don\'t drop anything"')),
    _Rule((_NEGATION, _GOTO_VERB, OBJECT),
          _refuse("objects can't be forbidden; guardrails cover lava, rooms and the open/pickup/drop/toggle actions")),
)

CLAUSE_RULES = _GOAL_RULES + _GUARD_RULES + _REFUSAL_RULES

# Clause boundaries ----------------------------------------------------------------

PUNCTUATION = frozenset(",;.!")
# Words that join clauses; they never occur inside a clause of this grammar.
CONNECTOR_WORDS = frozenset({*PUNCTUATION, "and", "then", "while", "but", "after", "before", "first",
                              "also", "please"})  # fmt: skip
# "after you pick up the key": this "you" belongs to the connector, not the clause.
TAKES_YOU = frozenset({"after", "before", "while"})
# These open a guardrail clause and also end the clause before them ("go to the box
# without stepping in lava"), so they count as both connector and clause word.
CLAUSE_OPENERS = frozenset({"without", "avoiding"})
LEADING_OK = frozenset({"first", "before", "after", "while", "you", "please", *CLAUSE_OPENERS})
TRAILING_OK = frozenset({".", "!", ";", ",", "please"})
SEQUENCE_WORDS = frozenset({"then", "after", "before", "first"})

UNSUPPORTED = {
    "lock": "doors can be opened (a locked one with its key) but not locked",
    "locked": 'doors are named by colour, not by whether they are locked; say "open the red door"',
    "matching": ('"the matching object" is the one that matches an object seen earlier, and I plan from '
                 "what I see now, so I can't tell which one it is"),
}


def _vocabulary() -> frozenset[str]:
    """Every word some rule can consume."""
    words: set[str] = set(CONNECTOR_WORDS) | {"you"}
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

    for rule in CLAUSE_RULES:
        for part in rule.parts:
            walk(part)
    return frozenset(words - PUNCTUATION)


VOCABULARY: frozenset[str] = _vocabulary()
