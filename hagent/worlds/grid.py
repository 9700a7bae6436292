"""Worlds: fully observed gymnasium environments built from a spec string.

`make_world("rooms:3x3", seed=0)` returns a `World`, a `gymnasium.Env` whose observation is
`{"image": uint8 [W, H, 3], "direction": int, "carried": uint8 [3], "mission": str}`;
`image[x, y]` holds minigrid's (object, colour, state) code for the cell, with the agent's own
cell marked as (agent, red, heading), as in minigrid's FullyObsWrapper; `carried` is the code of
the object in the agent's hands (minigrid's "empty" code when they are free): an agent knows
what it holds, though the grid can't show it.

A world also exposes a symbolic view (`World.symbolic()`) and its own judgement of success and
violations (`World.judge()`). Per DESIGN.md ("no peeking") these are for training labels and
scoring only; the agent's planning code never reads them.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid-* and BabyAI-* environment ids)
import numpy as np
from gymnasium import spaces
from minigrid.core.constants import COLOR_TO_IDX, IDX_TO_COLOR, OBJECT_TO_IDX
from minigrid.envs.babyai.core.roomgrid_level import RoomGridLevel
from minigrid.envs.babyai.core.verifier import (
    AndInstr,
    BeforeInstr,
    GoToInstr,
    ObjDesc,
    OpenInstr,
    PickupInstr,
    PutNextInstr,
)
from minigrid.minigrid_env import MiniGridEnv

from hagent.worlds.judgement import Judgement
from hagent.worlds.rooms import RoomsEnv
from hagent.worlds.spec import STEP_KEYS, WorldSpec

# Minigrid's action ids, named once for the whole project.
LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE, DONE = range(7)
ACTION_NAMES = ("left", "right", "forward", "pickup", "drop", "toggle", "done")

_EMPTY_CODE = np.array([OBJECT_TO_IDX["empty"], 0, 0], dtype=np.uint8)
_AGENT = OBJECT_TO_IDX["agent"]
_RED = COLOR_TO_IDX["red"]


EVENT_KINDS = ("opened", "closed", "picked_up", "dropped", "entered")


class Event(NamedTuple):
    """Something a step changed: `Event("opened", "red", "door")`, `Event("entered", "", "lava")`."""

    kind: str
    color: str
    obj: str

    def __str__(self) -> str:
        what = f"{self.color} {self.obj}".strip()
        return f"{self.kind.replace('_', ' ')} {what}"

    @property
    def flag(self) -> int:
        """This event's bit in a per-step event mask."""
        return 1 << EVENT_KINDS.index(self.kind)


class Moved(NamedTuple):
    """One step as the world saw it: the agent's cell after it and what it changed."""

    cell: tuple[int, int]
    events: tuple[Event, ...]


class AgentLabels(NamedTuple):
    """Cheap per-step labels for training heads: read from the world, never by the planner."""

    agent: tuple[int, int]
    heading: int
    room: tuple[int, int] | None
    carrying: tuple[str, str] | None  # (kind, colour)
    on_lava: bool


@dataclass(frozen=True)
class ObjectInfo:
    """An object in the symbolic view."""

    kind: str
    color: str
    cell: tuple[int, int] | None  # None when carried


@dataclass(frozen=True)
class DoorInfo:
    """A door in the symbolic view."""

    color: str
    cell: tuple[int, int]
    is_open: bool
    is_locked: bool


@dataclass(frozen=True)
class SymbolicState:
    """The world's own symbolic description of a state: for labels and scoring only."""

    agent: tuple[int, int]
    heading: int  # 0 east, 1 south, 2 west, 3 north
    room: tuple[int, int] | None  # (col, row) for room worlds
    carrying: ObjectInfo | None
    objects: tuple[ObjectInfo, ...]
    doors: tuple[DoorInfo, ...]
    lava: tuple[tuple[int, int], ...]


class World(gym.Wrapper):
    """A fully observed minigrid world with a symbolic view and its own judgement.

    Stray `print`s from BabyAI's level generator are kept off stdout. Each `step`'s info carries
    `events`: what changed (doors opened or closed, objects picked up or dropped, lava entered).
    Its reward-free data is collected by `hagent.collect` with the grid explorer.
    """

    step_keys = STEP_KEYS
    """The per-step arrays of this world's data."""

    def __init__(self, env: MiniGridEnv, spec: WorldSpec, seed: int | None = None):
        super().__init__(env)
        self.world_spec = spec
        self._first_seed = seed
        base: MiniGridEnv = env.unwrapped
        self._base = base
        # Only the agent changes a RoomGrid level, and only in the cell it faces, so the grid's
        # code can be patched cell by cell; other minigrid envs (moving obstacles) are re-encoded.
        self._incremental = isinstance(base, RoomGridLevel)
        self._code: np.ndarray | None = None
        self._success = False
        self._violations: list[str] = []
        self._forbidden_cells: dict[tuple[int, int], str] = {}  # cell -> the region guardrail it breaks
        self._forbidden_events: dict[tuple[str, str], str] = {}  # (verb, kind) event -> the action guardrail
        self._log: list[Moved] = []
        self._fresh = False  # reset, and no step since
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (base.width, base.height, 3), dtype=np.uint8),
                "direction": spaces.Discrete(4),
                "carried": spaces.Box(0, 255, (3,), dtype=np.uint8),
                "mission": base.observation_space["mission"],
            }
        )
        self.action_space = base.action_space

    # -- gymnasium interface -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is None and self._first_seed is not None:
            seed, self._first_seed = self._first_seed, None  # make_world(spec, seed).reset() is seeded
        with contextlib.redirect_stdout(io.StringIO()):
            _, info = self.env.reset(seed=seed, options=options)
        self._first_seed = None
        self._code = self._base.grid.encode()
        self._success = False
        self._violations = []
        self._forbidden_cells, self._forbidden_events = {}, {}
        self._log = [Moved(self._cell(), ())]
        self._fresh = True
        return self._observe(), info

    @property
    def fresh(self) -> bool:
        """Whether the world was reset and has not stepped since: an agent's `run` then plays
        this episode instead of resetting to the next one (`hagent.acting.sealed.resets`)."""
        return self._fresh

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        self._fresh = False
        base = self._base
        front = tuple(int(v) for v in base.front_pos)
        before_cell = base.grid.get(*front)
        door_was_open = before_cell.is_open if before_cell is not None and before_cell.type == "door" else None
        carried_before = base.carrying
        _, reward, terminated, truncated, info = self.env.step(action)
        action = int(action)

        events: list[Event] = []
        if self._incremental:
            if action in (PICKUP, DROP, TOGGLE):
                cell = base.grid.get(*front)
                self._code[front] = _EMPTY_CODE if cell is None else cell.encode()
        else:
            self._code = base.grid.encode()
        if door_was_open is not None and action == TOGGLE and before_cell.is_open != door_was_open:
            events.append(Event("opened" if before_cell.is_open else "closed", before_cell.color, "door"))
        if base.carrying is not carried_before:
            if carried_before is not None:
                events.append(Event("dropped", carried_before.color, carried_before.type))
            if base.carrying is not None:
                events.append(Event("picked_up", base.carrying.color, base.carrying.type))
        here = base.grid.get(*base.agent_pos)
        if here is not None and here.type == "lava":
            events.append(Event("entered", "", "lava"))
            self._violations.append("entered lava")
        cell = (int(base.agent_pos[0]), int(base.agent_pos[1]))
        if cell in self._forbidden_cells:
            self._violations.append(f"entered {self._forbidden_cells[cell]}")
        for e in events:
            broken = self._forbidden_events.get((e.kind, e.obj)) or self._forbidden_events.get((e.kind, "*"))
            if broken:
                self._violations.append(f"{e.kind} {e} ({broken})")
        if terminated and reward > 0:
            self._success = True
        info = dict(info, events=tuple(events))
        self._log.append(Moved(cell, tuple(events)))
        return self._observe(), reward, terminated, truncated, info

    def render(self) -> Any:
        return self.env.render()

    # -- observation ---------------------------------------------------------------------
    def observe(self) -> dict:
        """The current observation, as `reset` and `step` return it."""
        return self._observe()

    def _observe(self) -> dict:
        base = self._base
        image = self._code.copy()
        x, y = base.agent_pos
        image[x, y] = (_AGENT, _RED, base.agent_dir)
        carried = _EMPTY_CODE.copy() if base.carrying is None else np.asarray(base.carrying.encode(), dtype=np.uint8)
        return {"image": image, "direction": int(base.agent_dir), "carried": carried, "mission": base.mission}

    # -- labels and scoring (never for planning) -----------------------------------------
    def symbolic(self) -> SymbolicState:
        """The symbolic view of the current state. Labels and scoring only: planners never call it."""
        base = self._base
        objects, doors, lava = [], [], []
        grid = base.grid
        for y in range(grid.height):
            for x in range(grid.width):
                c = grid.get(x, y)
                if c is None or c.type in ("wall", "floor", "goal"):
                    continue
                if c.type == "door":
                    doors.append(DoorInfo(c.color, (x, y), bool(c.is_open), bool(c.is_locked)))
                elif c.type == "lava":
                    lava.append((x, y))
                else:
                    objects.append(ObjectInfo(c.type, c.color, (x, y)))
        carrying = base.carrying
        ax, ay = (int(v) for v in base.agent_pos)
        return SymbolicState(
            agent=(ax, ay),
            heading=int(base.agent_dir),
            room=self.room_of((ax, ay)),
            carrying=None if carrying is None else ObjectInfo(carrying.type, carrying.color, None),
            objects=tuple(objects),
            doors=tuple(doors),
            lava=tuple(lava),
        )

    def agent_labels(self) -> AgentLabels:
        """The agent's own labels (cell, heading, room, carried object, on lava). Labels only."""
        base = self._base
        cell = (int(base.agent_pos[0]), int(base.agent_pos[1]))
        here = base.grid.get(*cell)
        carrying = base.carrying
        return AgentLabels(
            agent=cell,
            heading=int(base.agent_dir),
            room=self.room_of(cell),
            carrying=None if carrying is None else (carrying.type, carrying.color),
            on_lava=here is not None and here.type == "lava",
        )

    def _cell(self) -> tuple[int, int]:
        return (int(self._base.agent_pos[0]), int(self._base.agent_pos[1]))

    def log(self) -> tuple[Moved, ...]:
        """Where the agent was after each step since reset (the reset first) and what each step
        changed. Labels and scoring only."""
        return tuple(self._log)

    def room_name(self, cell: tuple[int, int]) -> str | None:
        """The place ("top-left", "centre", ...) of the room whose floor holds `cell`, named as
        room guardrails and plan descriptions name rooms; None for a doorway, a wall or a world
        without rooms. Labels and scoring only."""
        from hagent.worlds.regions import place

        base = self._base
        if not isinstance(base, RoomGridLevel):
            return None
        step = base.room_size - 1
        if cell[0] % step == 0 or cell[1] % step == 0:
            return None
        col, row = self.room_of(cell)
        x0, y0 = col * step, row * step
        floor = [(x, y) for x in range(x0 + 1, x0 + step) for y in range(y0 + 1, y0 + step)]
        return place(set(floor), base.width, base.height)

    def room_of(self, cell: tuple[int, int]) -> tuple[int, int] | None:
        """(col, row) of the room holding `cell` in room worlds, else None."""
        base = self._base
        if not isinstance(base, RoomGridLevel):
            return None
        step = base.room_size - 1
        return (min(cell[0] // step, base.num_cols - 1), min(cell[1] // step, base.num_rows - 1))

    def instruct(self, goal: Any, text: str) -> bool:
        """Make the world judge `goal` (a `hagent.language` goal tree) instead of its own mission,
        from now on, with a fresh time limit and no violations counted yet; returns False when this
        world can only judge its own mission; `ValueError` when this world can't judge this goal (a
        goal square in a world without one). Call after reset, or mid-episode for a follow-up."""
        base = self._base
        if not isinstance(base, RoomGridLevel):
            return False
        base.instrs = _babyai_instr(goal)
        base.instrs.reset_verifier(base)
        base.mission = base.surface = text
        if not base.fixed_max_steps:  # BabyAI's time limit follows the instruction's length
            base.max_steps = base.num_navs_needed(base.instrs) * base.room_size**2 * base.num_rows * base.num_cols
        base.step_count = 0  # a new instruction gets the whole time limit, also mid-episode
        self._success = False
        self._violations = []
        self._log = [Moved(self._cell(), ())]
        return True

    def watch(self, guardrails: Any) -> None:
        """Count breaches of these `hagent.language` guardrails (region and action guardrails; lava
        is always counted) as violations in `judge()`, from now on, in place of any watched
        before. Call after reset (or `instruct`). Scoring only."""
        from hagent.language import AvoidRegion, ForbidAction
        from hagent.worlds.regions import region_cells

        grid, base = self._base.grid.encode(), self._base
        agent = (int(base.agent_pos[0]), int(base.agent_pos[1]))
        self._forbidden_cells, self._forbidden_events = {}, {}  # these guardrails replace earlier ones
        for g in guardrails:
            match g:
                case AvoidRegion(region):
                    for cell in region_cells(grid, region, agent, int(base.agent_dir)):
                        self._forbidden_cells[cell] = region.describe()
                case ForbidAction(action):
                    events = {"open": [("opened", "door")], "toggle": [("opened", "*"), ("closed", "*")],
                              "pickup": [("picked_up", "*")], "drop": [("dropped", "*")]}[action]
                    for key in events:
                        self._forbidden_events[key] = g.describe()

    def judge(self) -> Judgement:
        """Whether the mission succeeded and which violations happened this episode. Scoring only."""
        return Judgement(success=self._success, violations=tuple(self._violations))


class _AllOf(AndInstr):
    """BabyAI's "a and b" for any two instructions. minigrid's `AndInstr` takes two single
    actions only, so "a and b and c" (nested to the right) would fail its assertion; its
    verification works for any parts, which this class keeps."""

    def __init__(self, instr_a: Any, instr_b: Any):  # noqa: D107 -- skips AndInstr's type asserts on purpose
        self.instr_a, self.instr_b, self.strict = instr_a, instr_b, False


class _InOrder(BeforeInstr):
    """BabyAI's "a, then b" for any two instructions (minigrid's `BeforeInstr` refuses a
    sequence as its second part, so three or more steps in order would fail its assertion)."""

    def __init__(self, instr_a: Any, instr_b: Any):  # noqa: D107 -- skips SeqInstr's type asserts on purpose
        self.instr_a, self.instr_b, self.strict = instr_a, instr_b, False


def _babyai_instr(goal: Any) -> Any:
    """BabyAI's verifier object for a `hagent.language` goal tree (the inverse of
    `goal_from_babyai`), for compositions of any depth."""
    from hagent.language import Both, GoTo, Open, PickUp, PutNext, Sequence

    def desc(ref: Any) -> ObjDesc:
        if ref.kind == "goal":  # BabyAI's levels have no goal squares, and its verifier no word for one
            raise ValueError("this world has no goal square: name an object or a door in it instead")
        return ObjDesc(ref.kind, ref.color, ref.location)

    match goal:
        case GoTo(obj):
            return GoToInstr(desc(obj))
        case PickUp(obj):
            return PickupInstr(desc(obj))
        case Open(obj):
            return OpenInstr(desc(obj))
        case PutNext(move, fixed):
            return PutNextInstr(desc(move), desc(fixed))
        case Both(a, b):
            return _AllOf(_babyai_instr(a), _babyai_instr(b))
        case Sequence(first, second):
            return _InOrder(_babyai_instr(first), _babyai_instr(second))
    raise TypeError(f"not a goal: {goal!r}")


def make_grid_world(parsed: WorldSpec, seed: int | None = None, render_mode: str | None = None) -> World:
    """A grid world (`rooms:`, `babyai:` or `minigrid:`) from its parsed spec; the first `reset()` uses `seed`."""
    if parsed.family == "rooms":
        env = RoomsEnv(parsed.rooms, render_mode=render_mode)
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            env = gym.make(parsed.env_id, render_mode=render_mode).unwrapped
        env.spec = None  # the World, not gym's registry, is how this env is rebuilt
    return World(env, parsed, seed=seed)


def color_name(index: int) -> str:
    """Minigrid colour name for a colour index."""
    return IDX_TO_COLOR[int(index)]
