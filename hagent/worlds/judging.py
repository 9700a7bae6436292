"""Whether a world can judge an instruction at all: how scenario files pick their seeds by a rule
("the first n seeds at which the world has what the instruction names"), decided by the world's
own scoring code and the grammar, never by running an agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hagent.worlds import make_world
from hagent.worlds.spec import parse_spec

if TYPE_CHECKING:
    from hagent.language import Goal, ObjectRef


def judges(spec: str, seed: int, instruction: str | None) -> bool:
    """Whether the world `make_world(spec, seed)` can judge `instruction` (None: its own mission,
    which every world can): it accepts it (`instruct`), has every object the goal names, at least
    one of each outside the rooms the instruction says to stay out of, and doesn't start the agent
    in one of those. Decided by the world (its own scoring code) and the grammar, never by an agent;
    `ParseError` when the grammar can't read `instruction`."""
    if instruction is None:
        return True
    from hagent.language import AvoidRegion, parse
    from hagent.worlds.regions import holds, region_cells, rooms

    family = parse_spec(spec).family
    if family in ("gym", "ogbench"):
        return False  # its goal is the env's own (desired_goal or reset's info["goal"]), never text
    world = make_world(spec, seed=seed)
    obs, _ = world.reset()
    if family == "point":
        try:
            return world.instruct(instruction)
        except ValueError:  # names no place of this world
            return False
    task = parse(instruction)
    if task.goal is None:
        return False
    try:
        if not world.instruct(task.goal, instruction):
            return False  # a world that can only judge its own mission
    except ValueError:
        return False
    grid, state = obs["image"], world.symbolic()  # grid: [W, H, 3], the world's cells (scoring only)
    forbidden: set[tuple[int, int]] = set()
    for g in task.guardrails:
        if isinstance(g, AvoidRegion):
            forbidden |= region_cells(grid, g.region, state.agent, state.heading)
    if state.agent in forbidden:
        return False
    allowed = {(x, y) for x in range(grid.shape[0]) for y in range(grid.shape[1])} - forbidden
    start_room = next((r for r in rooms(grid) if state.agent in r), set())
    return all(holds(grid, allowed, ref, state.agent, state.heading, start_room) for ref in goal_objects(task.goal))


def goal_objects(goal: Goal) -> list[ObjectRef]:
    """Every object a goal tree names."""
    from hagent.language import Both, GoTo, Open, PickUp, PutNext, Sequence

    match goal:
        case GoTo(obj) | PickUp(obj) | Open(obj):
            return [obj]
        case PutNext(move, fixed):
            return [move, fixed]
        case Both(a, b):
            return goal_objects(a) + goal_objects(b)
        case Sequence(first, second):
            return goal_objects(first) + goal_objects(second)
    raise TypeError(f"not a goal: {goal!r}")
