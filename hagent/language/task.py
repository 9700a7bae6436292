"""What an instruction means: a `Task` (a goal tree of BabyAI's verbs, and guardrails), the
errors that say why a text isn't one, and the words the language knows (colours, kinds, rooms).

    >>> from hagent.language import GoTo, ObjectRef, Task
    >>> Task(GoTo(ObjectRef("red", "ball"))).describe()
    'go to the red ball'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

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
    act on: too unlikely, naming something (`unnamed`) the text doesn't mention, leaving out a
    colour it says (`unread`), or setting guardrails and no goal (`goalless`: what the grammar
    doesn't take and the model reads as a rule alone is more often a refusal, "walk through lava",
    than a rule)."""

    def __init__(
        self, reading: str, confidence: float, threshold: float, unnamed: tuple[str, ...] = (), unread: tuple[str, ...] = (),
        goalless: bool = False,
    ):
        self.reading, self.confidence, self.threshold = reading, confidence, threshold
        self.unnamed, self.unread, self.goalless = tuple(unnamed), tuple(unread), goalless
        if goalless:
            why = "but that sets no goal, only guardrails"
        elif unnamed:
            why = "but you didn't mention " + ", ".join(f'"{w}"' for w in unnamed)
        elif unread:
            why = "but it leaves out " + ", ".join(f'"{w}"' for w in unread)
        else:
            why = f"but only with confidence {confidence:.2f} (I act at {threshold:.2f} or more)"
        super().__init__(
            f'I\'m not sure what you mean. My best reading is "{reading}", {why}; if that is what you mean, say it that way'
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reading, self.confidence, self.threshold, self.unnamed, self.unread, self.goalless))


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
ACTION_TYPES = (GoTo, PickUp, Open, PutNext)


@dataclass(frozen=True)
class Both:
    """Do `a` and `b` in either order, like BabyAI's AndInstr.

    Longer conjunctions nest to the right (`Both(a, Both(b, c))`), so `a` is always
    a single action; this keeps `describe()` unambiguous ("A and B and C").
    """

    a: Action
    b: Action | Both

    def __post_init__(self) -> None:
        if not isinstance(self.a, ACTION_TYPES):
            raise TypeError(f"Both.a must be an action, not {type(self.a).__name__}")
        if not isinstance(self.b, (*ACTION_TYPES, Both)):
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
        if not isinstance(self.first, (*ACTION_TYPES, Both)):
            raise TypeError(f"Sequence.first must be an action or Both, not {type(self.first).__name__}")
        if not isinstance(self.second, (*ACTION_TYPES, Both, Sequence)):
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
GUARDRAIL_TYPES = (AvoidHazard, AvoidRegion, ForbidAction)


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
    """How sure that reading was (1.0 for the grammar's own parse and the lexical reader's)."""
    read_by: str = field(default="", compare=False)
    """Which reader gave `read_as`: "lexical" (`hagent.language.lexical`) or "normalizer"."""

    def __post_init__(self) -> None:
        # A tuple keeps the task hashable even if a caller passes a list.
        object.__setattr__(self, "guardrails", tuple(self.guardrails))
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.goal is not None and not isinstance(self.goal, (*ACTION_TYPES, Both, Sequence)):
            raise TypeError(f"goal must be a goal node or None, not {type(self.goal).__name__}")
        for guardrail in self.guardrails:
            if not isinstance(guardrail, GUARDRAIL_TYPES):
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
