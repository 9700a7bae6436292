"""The language front end: phrasings map to trees, the rest is refused with a reason, and
canonical English round-trips. BabyAI's own missions are checked on a few seeds per level
(benchmarks/parser_coverage.py runs the same comparison on thousands)."""

from __future__ import annotations

import contextlib
import io
import pickle
import time

import gymnasium as gym
import minigrid  # noqa: F401  (registers the BabyAI-* env ids)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from minigrid.core.constants import COLOR_NAMES
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

from hagent.language import (
    COLORS,
    FORBIDDABLE_ACTIONS,
    KINDS,
    LOCATIONS,
    MAX_TEXT_LENGTH,
    ROOM_POSITIONS,
    VOCABULARY,
    AvoidHazard,
    AvoidRegion,
    Both,
    ForbidAction,
    GoTo,
    ObjectRef,
    Open,
    ParseError,
    PickUp,
    PutNext,
    RegionRef,
    Sequence,
    Task,
    all_of,
    goal_from_babyai,
    in_order,
    parse,
)

# Short names keep the tables below readable.
O = ObjectRef
RED_BALL, BLUE_KEY, GREEN_BOX, GREY_DOOR = O("ball", "red"), O("key", "blue"), O("box", "green"), O("door", "grey")
LAVA = AvoidHazard("lava")
NO_OPEN, NO_PICKUP, NO_DROP, NO_TOGGLE = (ForbidAction(a) for a in ("open", "pickup", "drop", "toggle"))


def goal(g: object) -> Task:
    return Task(g, ())  # type: ignore[arg-type]


# --------------------------------------------------------------------- phrasings

PHRASINGS: list[tuple[str, Task]] = [
    # BabyAI's canonical surfaces.
    ("go to the red ball", goal(GoTo(RED_BALL))),
    ("go to a grey box", goal(GoTo(O("box", "grey")))),
    ("go to the door", goal(GoTo(O("door")))),
    ("go to the object", goal(GoTo(O(None)))),
    ("go to a purple object", goal(GoTo(O(None, "purple")))),
    ("pick up the blue key", goal(PickUp(BLUE_KEY))),
    ("pick up a ball", goal(PickUp(O("ball")))),
    ("open the grey door", goal(Open(GREY_DOOR))),
    ("open a door on your left", goal(Open(O("door", None, "left")))),
    ("put the red ball next to the green box", goal(PutNext(RED_BALL, GREEN_BOX))),
    ("put a ball next to the purple key in front of you", goal(PutNext(O("ball"), O("key", "purple", "front")))),
    ("pick up the yellow key behind you", goal(PickUp(O("key", "yellow", "behind")))),
    ("go to the box on your right", goal(GoTo(O("box", None, "right")))),
    ("go to the red ball and open the grey door", goal(Both(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("go to the red ball, then open the grey door", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("go to the red ball after you open the grey door", goal(Sequence(Open(GREY_DOOR), GoTo(RED_BALL)))),
    (
        "put the red box next to a grey door and open a purple door after you pick up a key and go to the yellow box",
        goal(
            Sequence(
                Both(PickUp(O("key")), GoTo(O("box", "yellow"))),
                Both(PutNext(O("box", "red"), GREY_DOOR), Open(O("door", "purple"))),
            )
        ),
    ),
    (
        "pick up a ball and go to the red ball, then open the grey door and go to the blue key",
        goal(Sequence(Both(PickUp(O("ball")), GoTo(RED_BALL)), Both(Open(GREY_DOOR), GoTo(BLUE_KEY)))),
    ),
    # Go-to paraphrases.
    *(
        (f"{verb} the red ball", goal(GoTo(RED_BALL)))
        for verb in ("walk to", "head to", "go over to", "move to", "navigate to", "approach", "reach", "get to")
    ),
    # Pick-up paraphrases.
    *(
        (f"{verb} the blue key", goal(PickUp(BLUE_KEY)))
        for verb in ("grab", "fetch", "get", "take", "bring me", "collect")
    ),
    ("pick the blue key up", goal(PickUp(BLUE_KEY))),
    # Put-next paraphrases.
    *(
        (f"{verb} the red ball {prep} the green box", goal(PutNext(RED_BALL, GREEN_BOX)))
        for verb in ("place", "set", "move", "drop", "put")
        for prep in ("beside", "by", "near", "next to")
    ),
    # Sequencing paraphrases.
    ("first go to the red ball then open the grey door", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("go to the red ball and then open the grey door", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("go to the red ball, and then open the grey door", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("go to the red ball before you open the grey door", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("before you open the grey door, go to the red ball", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("after you open the grey door, go to the red ball", goal(Sequence(Open(GREY_DOOR), GoTo(RED_BALL)))),
    ("go to the red ball, but first open the grey door", goal(Sequence(Open(GREY_DOOR), GoTo(RED_BALL)))),
    (
        "go to the red ball, then pick up the blue key, then open the grey door",
        goal(in_order(GoTo(RED_BALL), PickUp(BLUE_KEY), Open(GREY_DOOR))),
    ),
    (
        "go to the red ball and pick up the blue key and open the grey door",
        goal(all_of(GoTo(RED_BALL), PickUp(BLUE_KEY), Open(GREY_DOOR))),
    ),
    # Surface noise.
    ("  Go   TO the RED ball.  ", goal(GoTo(RED_BALL))),
    ("go to the red ball!", goal(GoTo(RED_BALL))),
    ("go to the red ball please", goal(GoTo(RED_BALL))),
    ("please go to the red ball, please.", goal(GoTo(RED_BALL))),
    ("go to the gray ball", goal(GoTo(O("ball", "grey")))),
    ("go to the red sphere", goal(GoTo(RED_BALL))),
    ("go to the red thing", goal(GoTo(O(None, "red")))),
    ("go to an object", goal(GoTo(O(None)))),
    ("go to the red ball.\nThen open the grey door.", goal(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)))),
    ("don\u2019t open any doors", Task(None, (NO_OPEN,))),
    # Guardrails alone.
    *(
        (text, Task(None, (LAVA,)))
        for text in (
            "avoid lava",
            "stay away from the lava",
            "don't step in lava",
            "do not step on the lava",
            "keep clear of lava",
            "never walk into lava",
            "steer clear of lava",
            "don't touch the lava",
        )
    ),
    ("stay out of the blue room", Task(None, (AvoidRegion(RegionRef(color="blue")),))),
    ("don't enter the blue room", Task(None, (AvoidRegion(RegionRef(color="blue")),))),
    (
        "don't enter the room with the red ball",
        Task(None, (AvoidRegion(RegionRef(contains=RED_BALL)),)),
    ),
    (
        "keep out of the room containing a red ball",
        Task(None, (AvoidRegion(RegionRef(contains=RED_BALL)),)),
    ),
    ("avoid the top-left room", Task(None, (AvoidRegion(RegionRef(position="top-left")),))),
    ("avoid the north-east room", Task(None, (AvoidRegion(RegionRef(position="top-right")),))),
    ("avoid the northeast room", Task(None, (AvoidRegion(RegionRef(position="top-right")),))),
    ("stay out of the bottom room", Task(None, (AvoidRegion(RegionRef(position="bottom")),))),
    ("never go into the middle room", Task(None, (AvoidRegion(RegionRef(position="centre")),))),
    ("stay out of the room in the lower left corner", Task(None, (AvoidRegion(RegionRef(position="bottom-left")),))),
    (
        "stay out of the grey west room with the red ball",
        Task(None, (AvoidRegion(RegionRef("grey", "left", RED_BALL)),)),
    ),
    *(
        (text, Task(None, (NO_OPEN,)))
        for text in ("don't open any doors", "do not open doors", "never open a door", "keep the doors closed")
    ),
    *(
        (text, Task(None, (NO_PICKUP,)))
        for text in ("do not pick anything up", "don't pick up anything", "never pick up any objects")
    ),
    *((text, Task(None, (NO_DROP,))) for text in ("never drop anything", "don't put anything down")),
    ("don't toggle anything", Task(None, (NO_TOGGLE,))),
    ("avoid lava and don't open any doors", Task(None, (LAVA, NO_OPEN))),
    ("avoid lava; stay away from lava", Task(None, (LAVA,))),  # repeats are kept once
    # Guardrails attached to goals.
    ("go to the red ball, avoid lava", Task(GoTo(RED_BALL), (LAVA,))),
    ("pick up the blue key and don't open any doors", Task(PickUp(BLUE_KEY), (NO_OPEN,))),
    ("avoid lava while you go to the green box", Task(GoTo(GREEN_BOX), (LAVA,))),
    ("go to the green box while avoiding lava", Task(GoTo(GREEN_BOX), (LAVA,))),
    ("go to the green box without stepping in lava", Task(GoTo(GREEN_BOX), (LAVA,))),
    ("go to the green box but don't open any doors", Task(GoTo(GREEN_BOX), (NO_OPEN,))),
    ("go to the green box; never drop anything", Task(GoTo(GREEN_BOX), (NO_DROP,))),
    ("go to the green box. Avoid lava.", Task(GoTo(GREEN_BOX), (LAVA,))),
    (
        "go to the red ball, avoid lava, then pick up the blue key",
        Task(Sequence(GoTo(RED_BALL), PickUp(BLUE_KEY)), (LAVA,)),
    ),
    (
        "go to the red ball and avoid lava and pick up the blue key",
        Task(Both(GoTo(RED_BALL), PickUp(BLUE_KEY)), (LAVA,)),
    ),
    (
        "stay out of the blue room and go to the red ball and open the grey door, without picking anything up",
        Task(Both(GoTo(RED_BALL), Open(GREY_DOOR)), (AvoidRegion(RegionRef(color="blue")), NO_PICKUP)),
    ),
    (
        "avoid lava, and first go to the red ball, then open the grey door",
        Task(Sequence(GoTo(RED_BALL), Open(GREY_DOOR)), (LAVA,)),
    ),
    # Comma lists are in the order written; an object alone takes the verb before it.
    ("go to the red ball, pick up the blue key", Task(Sequence(GoTo(RED_BALL), PickUp(BLUE_KEY)))),
    (
        "go to the red ball, open the grey door and pick up the blue key",
        Task(in_order(GoTo(RED_BALL), Open(GREY_DOOR), PickUp(BLUE_KEY))),
    ),
    (
        "go to the red ball and the green box, then the blue key",
        Task(Sequence(Both(GoTo(RED_BALL), GoTo(GREEN_BOX)), GoTo(BLUE_KEY))),
    ),
    # The missions of minigrid's own environments (benchmarks/parser_coverage.py --registered).
    ("find the opening and get to the green goal square", Task(GoTo(ObjectRef("goal", "green")))),
    ("traverse the rooms to get to the goal", Task(GoTo(ObjectRef("goal")))),
    (
        "use the key to open the door and then get to the goal",
        Task(in_order(PickUp(ObjectRef("key")), Open(ObjectRef("door")), GoTo(ObjectRef("goal")))),
    ),
    ("you must fetch a blue key", Task(PickUp(BLUE_KEY))),
    ("go fetch a blue key", Task(PickUp(BLUE_KEY))),
    ("go get a blue key", Task(PickUp(BLUE_KEY))),
    ("open the red door then the grey door", Task(Sequence(Open(ObjectRef("door", "red")), Open(GREY_DOOR)))),
    (
        "get the blue key from the red room, unlock the grey door and go to the goal",
        Task(in_order(PickUp(BLUE_KEY), Open(GREY_DOOR), GoTo(ObjectRef("goal")))),
    ),
    ("head for the grey box", Task(GoTo(ObjectRef("box", "grey")))),
    ("find the green box", Task(GoTo(GREEN_BOX))),
]


def test_a_qualifier_read_loosely_is_noted() -> None:
    task = parse("get the blue key from the red room, then go to the goal")
    assert task.goal == Sequence(PickUp(BLUE_KEY), GoTo(ObjectRef("goal")))
    assert len(task.notes) == 1 and '"from the red room"' in task.notes[0]
    assert parse("pick up the blue key").notes == ()


@pytest.mark.parametrize(("text", "expected"), PHRASINGS, ids=[t for t, _ in PHRASINGS])
def test_phrasing_parses_to_tree(text: str, expected: Task) -> None:
    task = parse(text)
    assert task == expected
    assert task.text == text


# -------------------------------------------------------------------- rejections

UNKNOWN: list[tuple[str, tuple[str, ...]]] = [
    ("fly to the moon", ("fly", "moon")),
    ("go to the red unicorn", ("unicorn",)),
    ("GO TO THE MOON", ("moon",)),
    ("lock the red door", ("lock",)),
    ("go to the matching object at the end of the hallway", ("matching", "end", "hallway")),
    ("open the locked door", ("locked",)),
    ("avoid water", ("water",)),
    ("go to the balls", ("balls",)),
    ("go to the red ball, avoid sharks and sharks", ("sharks",)),
    ("go to the red ball?", ("?",)),
    ("go to the café", ("café",)),
    ("go to box 3", ("3",)),
]


@pytest.mark.parametrize(("text", "unknown"), UNKNOWN, ids=[t for t, _ in UNKNOWN])
def test_unknown_words_are_named(text: str, unknown: tuple[str, ...]) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.unknown_words == unknown
    for word in unknown:
        assert f'"{word}"' in str(info.value)
    assert "I understand" in str(info.value)  # the grammar summary comes with every refusal


def test_locking_is_refused_with_a_reason() -> None:
    with pytest.raises(ParseError, match="not locked"):
        parse("lock the blue door")


def test_the_memory_mission_is_refused_with_a_reason() -> None:
    with pytest.raises(ParseError, match="matches an object seen earlier"):
        parse("go to the matching object at the end of the hallway")


def test_unlock_is_open_because_minigrid_opens_a_locked_door_with_its_key() -> None:
    assert parse("unlock the blue door") == parse("open the blue door")


REFUSED: list[tuple[str, str]] = [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("...", "empty"),
    ("open the red ball", "only doors can be opened"),
    ("open the red object", "only doors can be opened"),
    ("pick up the grey door", "can't be picked up"),
    ("put the door next to the red ball", "doors can't be moved"),
    ("go to the red", 'expected something like "go to the red ball"'),
    ("the red ball", "needs a verb"),
    ("put the red ball next to the box, then the key", "needs a verb"),
    ("find the opening", "not a goal"),
    ("use the red door to open the blue door", "can't open a door"),
    ("go to the red ball while you pick up the blue key", 'with "and"'),
    ("go to the red ball please pick up the blue key", "put a comma"),
    ("go to the red ball and", '"and" at the end'),
    ("go to the red ball, then", '"then" at the end'),
    ("and go to the red ball", '"and" at the start'),
    ("avoid lava, then go to the red ball", '"then"'),
    ("avoid lava after you", '"after" at the end'),
    ("go to the red ball, then open the grey door after you pick up a key", "mixing"),
    ("avoid the red ball", "not from objects"),
    ("go to the blue room", "rooms can't be goals"),
    ("don't open the red door", "only all doors"),
    ("don't pick up the blue key", "only all pickups"),
    ("stay out of the room", "which room"),
    ("stay out of the top room in the left corner", "two positions"),
    ("go to the red ball\x00", "control or invisible character"),
    ("go to the \x1b[31mred ball", "control or invisible character"),
    ("go to the red\u200bball", "control or invisible character"),
    ("go " * 700, "too long"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED, ids=[repr(t[:40]) for t, _ in REFUSED])
def test_refusals_say_why(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert reason in info.value.reason
    assert info.value.unknown_words == ()


@pytest.mark.parametrize("value", [None, 3, b"go to the red ball", ["go to the red ball"]])
def test_non_string_input_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        parse(value)  # type: ignore[arg-type]


def test_huge_and_hostile_inputs_are_refused_quickly() -> None:
    hostile = [
        "a" * 1_000_000,
        "go to the red ball and " * 50_000,
        "\x00" * 1_000_000,
        "go to the red ball and " * 86,  # just under the length cap: a long, valid conjunction
        ("the " * 500)[:MAX_TEXT_LENGTH],
        (", and then " * 200)[:MAX_TEXT_LENGTH],
        ("don't " * 400)[:MAX_TEXT_LENGTH],
    ]
    for text in hostile:
        start = time.perf_counter()
        try:
            parse(text)
        except ParseError:
            pass
        assert time.perf_counter() - start < 1.0, repr(text[:40])
    long_goal = parse("go to the red ball and " * 86 + "open the grey door").goal
    assert long_goal == all_of(*[GoTo(RED_BALL)] * 86, Open(GREY_DOOR))


def test_parse_error_survives_pickling() -> None:
    with pytest.raises(ParseError) as info:
        parse("fly to the moon")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.reason, copy.unknown_words, str(copy)) == (
        info.value.reason,
        info.value.unknown_words,
        str(info.value),
    )


# -------------------------------------------------------------------------- tree


def test_colours_match_minigrid() -> None:
    assert set(COLORS) == set(COLOR_NAMES)


def test_nodes_validate_their_fields() -> None:
    with pytest.raises(ValueError):
        ObjectRef("unicorn")
    with pytest.raises(ValueError):
        ObjectRef("ball", "gray")  # the parser normalises synonyms; the tree holds canonical names
    with pytest.raises(ValueError):
        Open(RED_BALL)
    with pytest.raises(ValueError):
        PickUp(GREY_DOOR)
    with pytest.raises(ValueError):
        PutNext(GREY_DOOR, RED_BALL)
    with pytest.raises(ValueError):
        RegionRef()
    with pytest.raises(ValueError):
        RegionRef(position="upstairs")
    with pytest.raises(ValueError):
        ForbidAction("fly")
    with pytest.raises(ValueError):
        AvoidHazard("water")
    with pytest.raises(ValueError):
        Task(None, ())
    # Nesting is canonical (right-nested chains), so every tree has exactly one rendering.
    with pytest.raises(TypeError):
        Both(Both(GoTo(RED_BALL), GoTo(BLUE_KEY)), GoTo(GREEN_BOX))
    with pytest.raises(TypeError):
        Both(GoTo(RED_BALL), Sequence(GoTo(BLUE_KEY), GoTo(GREEN_BOX)))
    with pytest.raises(TypeError):
        Sequence(Sequence(GoTo(RED_BALL), GoTo(BLUE_KEY)), GoTo(GREEN_BOX))
    with pytest.raises(TypeError):
        Task(GoTo(RED_BALL), (GoTo(BLUE_KEY),))  # type: ignore[arg-type]


def test_tasks_are_hashable_and_ignore_text_in_equality() -> None:
    a = parse("go to the red ball, avoid lava")
    b = parse("walk to a red ball while avoiding the lava")
    assert a == b and hash(a) == hash(b) and a.text != b.text
    assert len({a, b}) == 1
    assert Task(GoTo(RED_BALL), [LAVA]).guardrails == (LAVA,)  # type: ignore[arg-type]


def test_describe_renders_canonical_english() -> None:
    task = Task(
        Sequence(Both(GoTo(O("ball", "red", "left")), Open(GREY_DOOR)), PutNext(O(None), O("key", None, "front"))),
        (LAVA, AvoidRegion(RegionRef("blue", "top-left", RED_BALL)), NO_PICKUP),
    )
    assert task.describe() == (
        "go to the red ball on your left and open the grey door, "
        "then put the object next to the key in front of you, "
        "avoid lava, stay out of the blue top-left room with the red ball, don't pick anything up"
    )
    assert parse(task.describe()) == task


ROUND_TRIP = [task for _, task in PHRASINGS] + [
    Task(None, (AvoidRegion(RegionRef(position=p)),)) for p in ROOM_POSITIONS
] + [Task(None, (ForbidAction(a),)) for a in FORBIDDABLE_ACTIONS]


@pytest.mark.parametrize("task", ROUND_TRIP, ids=[t.describe() for t in ROUND_TRIP])
def test_describe_round_trips(task: Task) -> None:
    assert parse(task.describe()) == task


# --------------------------------------------------------------------- properties



def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


objects = st.builds(
    ObjectRef,
    kind=maybe(st.sampled_from(KINDS)),
    color=maybe(st.sampled_from(COLORS)),
    location=maybe(st.sampled_from(LOCATIONS)),
)
movables = objects.filter(lambda o: o.kind != "door")
doors = objects.map(lambda o: ObjectRef("door", o.color, o.location))
actions = st.one_of(
    st.builds(GoTo, objects),
    st.builds(PickUp, movables),
    st.builds(Open, doors),
    st.builds(PutNext, movables, objects),
)
goals = st.lists(st.lists(actions, min_size=1, max_size=3).map(lambda a: all_of(*a)), min_size=1, max_size=3).map(
    lambda steps: in_order(*steps)
)
regions = (
    st.tuples(maybe(st.sampled_from(COLORS)), maybe(st.sampled_from(ROOM_POSITIONS)), maybe(objects))
    .filter(any)  # a region needs at least one of the three
    .map(lambda t: RegionRef(*t))
)
guardrails = st.one_of(
    st.just(AvoidHazard("lava")),
    st.builds(AvoidRegion, regions),
    st.builds(ForbidAction, st.sampled_from(FORBIDDABLE_ACTIONS)),
)
tasks = st.tuples(maybe(goals), st.lists(guardrails, unique=True, max_size=3)).filter(
    lambda t: t[0] is not None or t[1]
).map(lambda t: Task(t[0], tuple(t[1])))

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@FAST
@given(tasks)
def test_canonical_rendering_parses_back(task: Task) -> None:
    assert parse(task.describe()) == task


# A random paraphraser: the same tree said in other words must parse to the same tree.
GOTO_VERBS = ("go to", "walk to", "head to", "go over to", "move to", "navigate to", "approach", "reach", "get to")
PICKUP_VERBS = ("pick up", "grab", "fetch", "get", "take", "bring me", "collect")
PUT_VERBS = ("put", "place", "set", "move", "drop")
NEXT_TO = ("next to", "beside", "by", "near")
LOC_TEXT = {"front": "in front of you", "behind": "behind you", "left": "on your left", "right": "on your right"}


def say_object(draw: st.DrawFn, obj: ObjectRef) -> str:
    article = draw(st.sampled_from(("the", "a", "")))
    color = {"grey": draw(st.sampled_from(("grey", "gray")))}.get(obj.color or "", obj.color or "")
    kind = obj.kind or draw(st.sampled_from(("object", "thing")))
    return " ".join(w for w in (article, color, kind, LOC_TEXT.get(obj.location or "", "")) if w)


def say_action(draw: st.DrawFn, action: object) -> str:
    match action:
        case GoTo(obj):
            return f"{draw(st.sampled_from(GOTO_VERBS))} {say_object(draw, obj)}"
        case PickUp(obj):
            if draw(st.booleans()):
                return f"pick {say_object(draw, obj)} up"
            return f"{draw(st.sampled_from(PICKUP_VERBS))} {say_object(draw, obj)}"
        case Open(obj):
            return f"open {say_object(draw, obj)}"
        case PutNext(move, fixed):
            verb, prep = draw(st.sampled_from(PUT_VERBS)), draw(st.sampled_from(NEXT_TO))
            return f"{verb} {say_object(draw, move)} {prep} {say_object(draw, fixed)}"
    raise AssertionError(action)


def say_goal(draw: st.DrawFn, g: object, top: bool = True) -> str:
    """Say `g`; the two-step forms ("A before you B", "after you A, B", "first A") only at the top,
    since nesting them inside a longer sequence is exactly what the parser refuses as unclear."""
    match g:
        case Both(a, b):
            return f"{say_action(draw, a)}{draw(st.sampled_from((' and ', ', and ')))}{say_goal(draw, b, False)}"
        case Sequence(first, second) if isinstance(second, Sequence) or not top:
            joiner = draw(st.sampled_from((", then ", " then ", " and then ", ", and then ")))
            return f"{say_goal(draw, first, False)}{joiner}{say_goal(draw, second, False)}"
        case Sequence(first, second):
            a, b = say_goal(draw, first, False), say_goal(draw, second, False)
            forms = (f"{a}, then {b}", f"first {a}, and then {b}", f"first {a} then {b}", f"{a} before you {b}",
                     f"{b} after you {a}", f"before you {b}, {a}", f"after you {a}, {b}", f"{b}, but first {a}")
            return draw(st.sampled_from(forms))
    return say_action(draw, g)


@st.composite
def paraphrased(draw: st.DrawFn) -> tuple[str, Task]:
    g = draw(goals)
    text = say_goal(draw, g)
    words = text.split()
    # Random capitals and spacing must not matter.
    text = draw(st.sampled_from((" ", "  ", "\n"))).join(
        w.upper() if draw(st.booleans()) and draw(st.booleans()) else w for w in words
    )
    guard = draw(st.sampled_from(("", ", avoid lava", " while avoiding lava", " and don't open any doors")))
    end = draw(st.sampled_from(("", ".", "!", " please", ", please.")))
    expected = {
        "": (),
        ", avoid lava": (LAVA,),
        " while avoiding lava": (LAVA,),
        " and don't open any doors": (NO_OPEN,),
    }[guard]
    return text + guard + end, Task(g, expected)


@FAST
@given(paraphrased())
def test_paraphrases_parse_to_the_same_tree(case: tuple[str, Task]) -> None:
    text, expected = case
    assert parse(text) == expected


WORDS_AND_MARKS = sorted(VOCABULARY) + list(",;.!") + ["unicorn", "?", "\x00", "-", "'"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid instruction with a few words deleted, inserted or replaced: near misses."""
    words = draw(paraphrased())[0].split()
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(words)))
        match draw(st.sampled_from(("delete", "insert", "replace"))):
            case "delete":
                del words[k : k + 1]
            case "insert":
                words.insert(k, draw(st.sampled_from(WORDS_AND_MARKS)))
            case _:
                words[k : k + 1] = [draw(st.sampled_from(WORDS_AND_MARKS))]
    return " ".join(words)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(st.sampled_from(WORDS_AND_MARKS), max_size=40).map(" ".join),
        mutated(),
    )
)
def test_any_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        task = parse(text)
    except ParseError as error:
        assert error.reason
        assert all(w not in VOCABULARY for w in error.unknown_words)
    else:
        assert isinstance(task, Task)
        assert parse(task.describe()) == task  # whatever is accepted has a canonical rendering


# ---------------------------------------------------------------------- BabyAI


def test_goal_from_babyai_orders_sequences() -> None:
    go, op = GoToInstr(ObjDesc("ball", "red")), OpenInstr(ObjDesc("door", "grey", "left"))
    pick, put = PickupInstr(ObjDesc("key", None, "front")), PutNextInstr(ObjDesc("box"), ObjDesc(None, "blue"))
    grey_left = O("door", "grey", "left")
    assert goal_from_babyai(BeforeInstr(go, op)) == Sequence(GoTo(RED_BALL), Open(grey_left))
    assert goal_from_babyai(AfterInstr(go, op)) == Sequence(Open(grey_left), GoTo(RED_BALL))
    both = Both(PickUp(O("key", None, "front")), PutNext(O("box"), O(None, "blue")))
    assert goal_from_babyai(AndInstr(pick, put)) == both
    with pytest.raises(TypeError):
        goal_from_babyai("go to the red ball")


LEVELS = ("GoToLocal", "GoTo", "PickupLoc", "PutNextLocal", "Open", "GoToSeq", "Synth", "BossLevel")


@pytest.mark.parametrize("level", LEVELS)
def test_babyai_missions_parse_to_their_own_instructions(level: str) -> None:
    env = gym.make(f"BabyAI-{level}-v0")
    for seed in range(30):
        with contextlib.redirect_stdout(io.StringIO()):  # the generator prints its rejections
            env.reset(seed=seed)
        mission = env.unwrapped.mission
        assert parse(mission).goal == goal_from_babyai(env.unwrapped.instrs), (seed, mission)
    env.close()


def test_the_shipped_lexicon_is_wordnets_with_its_licence_and_rebuilds_from_it() -> None:
    """`hagent/language/lexicon.json` (issue #33's prior knowledge of English): every concept of
    the grammar has words, each with the WordNet sense it came from; the licence travels with
    it; and where WordNet is installed, `scripts/build_lexicon.py --check` rebuilds the same table."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    table = json.loads((root / "hagent" / "language" / "lexicon.json").read_text(encoding="utf-8"))
    assert "Princeton University" in table["licence"] and "WordNet 3.0" in table["source"]
    concepts = table["concepts"]
    assert {"go to", "pick up", "open", "put", "ball", "box", "key", "door", "red", "green", "blue", "purple", "yellow", "grey"} <= set(concepts)
    for concept, rows in concepts.items():
        assert rows and all(r["synset"][0] in "nvasr" and r["count"] >= 0 for r in rows), concept
    words = [r["words"] for rows in concepts.values() for r in rows]
    assert len(words) == len(set(words))  # a word in two concepts is dropped from both
    assert "travel" in [r["words"] for r in concepts["go to"]] and "crimson" in [r["words"] for r in concepts["red"]]
    if not Path("/usr/share/wordnet/data.verb").exists():
        pytest.skip("WordNet isn't installed here (apt-get install wordnet-base): the rebuild check needs it")
    done = subprocess.run([sys.executable, str(root / "scripts" / "build_lexicon.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
