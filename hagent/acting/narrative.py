"""The plan as the agent carried it out, told from its own observations: the input of the plan
decoder and the reference its texts are checked against.

A `Narrator` follows an episode step by step and notes the moments that make up the plan's
story: the start, each room entered, each door opened, each object picked up or dropped, the
end. `narrative(encode)` then gives, for the decoder, one feature row per moment (level 0's and
level 1's representations of the state it led to, where it is, what it acted on), per
guardrail in force and per goal stage; and, for the verifier, the plan's own facts in the
description language (`decoder.facts`). Everything is read from observations, the agent's
memory and the instruction; the world's symbolic view is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from minigrid.core.constants import (
    COLOR_NAMES,
    COLOR_TO_IDX,
    IDX_TO_COLOR,
    IDX_TO_OBJECT,
    OBJECT_TO_IDX,
)

from decoder.facts import Fact, Facts
from decoder.model import PlanFeatures
from hagent.acting.grounding import Memory, agent_pose, stages
from hagent.language import (
    FORBIDDABLE_ACTIONS,
    KINDS,
    LOCATIONS,
    ROOM_POSITIONS,
    AvoidHazard,
    AvoidRegion,
    ForbidAction,
    Guardrail,
    Task,
)
from hagent.acting.waypoints import opened, place, position_name, region_cells, rooms
from hagent.worlds import DROP, PICKUP, TOGGLE
from levels.abstract import AbstractLevel
from levels.level import Level

MOMENTS = ("start", "enter", "open", "pickup", "drop", "end")
VERBS = ("goto", "pickup", "open", "drop_next", "none")
_DOOR, _LAVA, _EMPTY = OBJECT_TO_IDX["door"], OBJECT_TO_IDX["lava"], OBJECT_TO_IDX["empty"]
_OPEN = 0
FORBIDDEN_STEPS = {"open": ("open",), "toggle": ("open",), "pickup": ("pickup",), "drop": ("drop",)}
"""The step facts each forbiddable action would produce (a guardrail on it is kept without them)."""


Encode = Callable[[list[dict]], tuple[torch.Tensor, torch.Tensor | None]]
"""Observations -> level 0's states `[N, D0]` and level 1's `[N, D1]` (None without level 1)."""


def encoder(level: Level, abstract: tuple[AbstractLevel, ...] = ()) -> Encode:
    """The `Encode` of a trained stack."""

    @torch.no_grad()
    def encode(observations: list[dict]) -> tuple[torch.Tensor, torch.Tensor | None]:
        images = torch.as_tensor(np.stack([o["image"] for o in observations]))
        headings = torch.as_tensor([int(o["direction"]) for o in observations])
        carried = torch.as_tensor(np.stack([np.asarray(o["carried"], dtype=np.uint8) for o in observations]))
        s0 = level.encode(images, headings, carried)
        return s0, (abstract[0].encode(s0) if abstract else None)

    return encode


class Moment(NamedTuple):
    """One moment of the plan's story."""

    kind: str  # one of MOMENTS
    obs: dict  # the observation it led to
    room: int  # index into the scene's rooms (-1: none)
    thing: np.ndarray  # [3] code of the door or object acted on (empty code otherwise)


class Narrative(NamedTuple):
    """The decoder's input and the verifier's reference for one plan."""

    features: PlanFeatures
    facts: Facts
    moments: tuple[Moment, ...]


def one_hot(index: int | None, size: int) -> np.ndarray:
    """A float vector with a 1 at `index` (all zeros for None)."""
    v = np.zeros(size, dtype=np.float32)
    if index is not None:
        v[index] = 1.0
    return v


class Narrator:
    """Follows one episode from the agent's observations and tells its plan's story."""

    def __init__(self, task: Task, first_obs: dict):
        self.task = task
        self.memory = Memory(first_obs)
        scene = self.memory.scene()
        self.size = scene.shape[:2]
        self.rooms = [r for r in rooms(scene) if len(r) > 1]
        self.index = np.full(self.size, -1, dtype=np.int64)
        for i, r in enumerate(self.rooms):
            for c in r:
                self.index[c] = i
        self.names = [position_name(r, *self.size) for r in self.rooms]
        self.lava = {tuple(c) for c in np.argwhere(scene[..., 0] == _LAVA)}
        cell = agent_pose(first_obs).cell
        self.room = int(self.index[cell])
        self.visited = {cell}
        self.moments = [Moment("start", first_obs, self.room, _empty())]

    def observe(self, prev: dict, action: int, obs: dict) -> None:
        """Fold in one executed step."""
        before, after = agent_pose(prev), agent_pose(obs)
        self.memory.update(prev, action, obs)
        self.visited.add(after.cell)
        front = before.front
        held_before, held_after = np.asarray(prev["carried"]), np.asarray(obs["carried"])
        if action == TOGGLE and prev["image"][front][0] == _DOOR and prev["image"][front][2] != _OPEN and obs["image"][front][2] == _OPEN:
            self.moments.append(Moment("open", obs, self.room, np.asarray(obs["image"][front]).copy()))
        if action == PICKUP and held_before[0] == _EMPTY and held_after[0] != _EMPTY:
            self.moments.append(Moment("pickup", obs, self.room, held_after.copy()))
        if action == DROP and held_before[0] != _EMPTY and held_after[0] == _EMPTY:
            self.moments.append(Moment("drop", obs, self.room, held_before.copy()))
        room = int(self.index[after.cell])
        if room >= 0 and room != self.room:
            self.room = room
            self.moments.append(Moment("enter", obs, room, _empty()))

    def imagine(self, cells: tuple[tuple[int, int], ...], goal_obs: dict) -> None:
        """Tell a plan not yet carried out: the agent walks the route's waypoints `cells` in order,
        opening each closed door on it, and ends in the goal observation `goal_obs`."""
        scene = self.memory.scene()
        held = self.memory.held
        for cell in (*cells, agent_pose(goal_obs).cell):
            if scene[cell][0] == _DOOR:
                if scene[cell][2] != _OPEN:
                    door = np.array((_DOOR, scene[cell][1], _OPEN), dtype=np.uint8)
                    self.moments.append(Moment("open", _imagined(scene, cell, held), self.room, door))
                continue
            self.visited.add(cell)
            room = int(self.index[cell])
            if room >= 0 and room != self.room:
                self.room = room
                self.moments.append(Moment("enter", _imagined(scene, cell, held), room, _empty()))

    def narrative(self, encode: Encode, last_obs: dict, guardrails: tuple[Guardrail, ...]) -> Narrative:
        """The story so far, ending at `last_obs`, under `guardrails`; `encode` maps observations
        to level 0's and level 1's representations."""
        moments = (*self.moments, Moment("end", last_obs, self.room, _empty()))
        s0, s1 = encode([m.obs for m in moments])
        events = np.stack([self._event_row(m, s0[i], None if s1 is None else s1[i]) for i, m in enumerate(moments)])
        guards = [self._guard_row(g) for g in guardrails]
        guard_rows = np.stack(guards) if guards else np.zeros((0, GUARD_DIM), dtype=np.float32)
        features = PlanFeatures(events, guard_rows, np.stack(self._goal_rows()))
        return Narrative(features, self.facts(guardrails), moments)

    def facts(self, guardrails: tuple[Guardrail, ...]) -> Facts:
        """The plan's facts: goal stages, the steps observed, the guardrails kept."""
        steps = []
        for m in self.moments:
            match m.kind:
                case "enter":
                    steps.append(Fact("enter", self.names[m.room]))
                case "open":
                    steps.append(Fact("open", IDX_TO_COLOR[int(m.thing[1])]))
                case "pickup" | "drop":
                    steps.append(Fact(m.kind, _object_text(m.thing)))
        guards = [guard_fact(g) for g in guardrails if self._kept(g)]
        goals = [] if self.task.goal is None else [Fact("goal", s.describe()) for s in stages(self.task.goal)]
        return Facts(tuple(goals), tuple(steps), tuple(dict.fromkeys(guards)))

    # -- features ----------------------------------------------------------------------------
    def _event_row(self, m: Moment, s0: torch.Tensor, s1: torch.Tensor | None) -> np.ndarray:
        w, h = self.size
        cell = agent_pose(m.obs).cell
        centre = np.mean(list(self.rooms[m.room]), axis=0) / (w, h) if m.room >= 0 else np.zeros(2)
        return np.concatenate([
            one_hot(MOMENTS.index(m.kind), len(MOMENTS)),
            s0.float().numpy(), (s1.float().numpy() if s1 is not None else np.zeros(0, dtype=np.float32)),
            np.asarray([cell[0] / w, cell[1] / h], dtype=np.float32), centre.astype(np.float32),
            _thing_row(m.thing),
        ]).astype(np.float32)

    def _kept(self, g: Guardrail) -> bool:
        """Whether the plan so far keeps `g` and saying so is news: lava is mentioned only when
        there is lava."""
        match g:
            case AvoidHazard():
                return bool(self.lava) and not (self.lava & self.visited)
            case AvoidRegion(region):
                return not (region_cells(self.memory.scene(), region, self.memory) & self.visited)
            case ForbidAction(action):
                return not any(m.kind in FORBIDDEN_STEPS[action] for m in self.moments)
        return False

    def _guard_row(self, g: Guardrail) -> np.ndarray:
        kind = {AvoidHazard: 0, AvoidRegion: 1, ForbidAction: 2}[type(g)]
        action, color, position, inside = None, None, None, _empty()
        centre = np.zeros(2, dtype=np.float32)
        if isinstance(g, ForbidAction):
            action = FORBIDDABLE_ACTIONS.index(g.action)
        if isinstance(g, AvoidRegion):
            r = g.region
            color = None if r.color is None else COLOR_NAMES.index(r.color)
            position = None if r.position is None else ROOM_POSITIONS.index(r.position)
            if r.contains is not None:
                inside = _ref_code(r.contains.kind, r.contains.color)
            cells = region_cells(self.memory.scene(), r, self.memory)
            if cells:
                centre = (np.mean(list(cells), axis=0) / self.size).astype(np.float32)
        return np.concatenate([
            one_hot(kind, 3), one_hot(action, len(FORBIDDABLE_ACTIONS)), one_hot(color, len(COLOR_NAMES)),
            one_hot(position, len(ROOM_POSITIONS)), _thing_row(inside), centre, [float(self._kept(g))],
        ]).astype(np.float32)

    def _goal_rows(self) -> list[np.ndarray]:
        if self.task.goal is None:
            return [_goal_row("none", None, None, None)]
        return [_goal_row(s.verb, s.ref.kind, s.ref.color, s.ref.location) for s in stages(self.task.goal)]


def _goal_row(verb: str, kind: str | None, color: str | None, location: str | None) -> np.ndarray:
    return np.concatenate([
        one_hot(VERBS.index(verb), len(VERBS)),
        one_hot(None if kind is None else KINDS.index(kind), len(KINDS)),
        one_hot(None if color is None else COLOR_NAMES.index(color), len(COLOR_NAMES)),
        one_hot(None if location is None else LOCATIONS.index(location), len(LOCATIONS)),
    ]).astype(np.float32)


def _thing_row(code: np.ndarray) -> np.ndarray:
    """Object kind, colour and state of a grid code, one-hot each."""
    return np.concatenate([one_hot(int(code[0]), len(IDX_TO_OBJECT)), one_hot(int(code[1]), len(COLOR_NAMES)), one_hot(int(code[2]), 3)])


def _imagined(scene: np.ndarray, cell: tuple[int, int], held: np.ndarray) -> dict:
    """The observation of the agent imagined at `cell` (doors on the way shown open)."""
    return {"image": place(opened(scene), cell, 0), "direction": 0, "carried": held.copy()}


def _empty() -> np.ndarray:
    return np.array((_EMPTY, 0, 0), dtype=np.uint8)


def _ref_code(kind: str | None, color: str | None) -> np.ndarray:
    return np.array((OBJECT_TO_IDX.get(kind or "empty", _EMPTY), COLOR_TO_IDX.get(color or "red", 0), 0), dtype=np.uint8)


def _object_text(code: np.ndarray) -> str:
    return f"the {IDX_TO_COLOR[int(code[1])]} {IDX_TO_OBJECT[int(code[0])]}"


def guard_fact(g: Guardrail) -> Fact:
    """The fact a description states for keeping guardrail `g`."""
    match g:
        case AvoidHazard(hazard):
            return Fact("avoid", hazard)
        case AvoidRegion(region):
            return Fact("stay_out", region.describe())
        case ForbidAction(action):
            return Fact("forbid", action)
    raise TypeError(f"not a guardrail: {g!r}")


GUARD_DIM = 3 + len(FORBIDDABLE_ACTIONS) + len(COLOR_NAMES) + len(ROOM_POSITIONS) + len(IDX_TO_OBJECT) + len(COLOR_NAMES) + 3 + 2 + 1
