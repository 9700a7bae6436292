"""Grounding a parsed goal in what the agent sees: which cells it means and what "done" looks like.

Everything here reads the observation (the fully observed grid codes, the heading and the object
in hand) and the agent's own memory of earlier observations, never the world's symbolic view. A goal tree becomes
an ordered list of `Stage`s; each stage yields goal observations (the grid as it will look
when the stage is done) for the task cost, and a check that it is done.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

from hagent.language import Both, GoTo, Goal, ObjectRef, Open, PickUp, PutNext, Sequence
from hagent.worlds import DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE
from levels.level import Level

DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid headings: east, south, west, north
_AGENT = OBJECT_TO_IDX["agent"]
_EMPTY = OBJECT_TO_IDX["empty"]
_WALL = OBJECT_TO_IDX["wall"]
_DOOR = OBJECT_TO_IDX["door"]
_LAVA = OBJECT_TO_IDX["lava"]
_PASSABLE = {OBJECT_TO_IDX[k] for k in ("empty", "floor", "goal")}
_DOOR_OPEN = 0


@dataclass(frozen=True)
class Pose:
    """Where the agent is and which way it faces."""

    cell: tuple[int, int]
    heading: int

    @property
    def front(self) -> tuple[int, int]:
        """The cell the agent faces."""
        dx, dy = DIRS[self.heading]
        return (self.cell[0] + dx, self.cell[1] + dy)


@dataclass(frozen=True)
class Stage:
    """One primitive step of a goal: `verb` in goto, pickup, open, drop_next; `ref` what it acts on."""

    verb: str
    ref: ObjectRef

    @property
    def actions(self) -> tuple[int, ...]:
        """The world actions this stage may use: moving, opening doors on the way, and the one
        interaction the stage is about (picking up for pickup, dropping for drop_next)."""
        moving = (LEFT, RIGHT, FORWARD, TOGGLE)
        match self.verb:
            case "pickup":
                return (*moving, PICKUP, DROP)  # dropping frees the hands of a wrong object
            case "drop_next":
                return (*moving, DROP)
        return moving

    def describe(self) -> str:
        """Plain English for logs and the UI."""
        match self.verb:
            case "goto":
                return f"go to {self.ref.describe()}"
            case "pickup":
                return f"pick up {self.ref.describe()}"
            case "open":
                return f"open {self.ref.describe()}"
            case _:
                return f"drop it next to {self.ref.describe()}"


def stages(goal: Goal) -> list[Stage]:
    """Flatten a goal tree into the ordered primitive stages the agent will pursue."""
    match goal:
        case GoTo(obj):
            return [Stage("goto", obj)]
        case PickUp(obj):
            return [Stage("pickup", obj)]
        case Open(obj):
            return [Stage("open", obj)]
        case PutNext(move, fixed):
            return [Stage("pickup", move), Stage("drop_next", fixed)]
        case Both(a, b):
            return stages(a) + stages(b)
        case Sequence(first, second):
            return stages(first) + stages(second)
    raise TypeError(f"not a goal: {goal!r}")


def agent_pose(obs: dict) -> Pose:
    """The agent's cell (from its mark in the grid) and heading."""
    xs, ys = np.nonzero(obs["image"][..., 0] == _AGENT)
    return Pose((int(xs[0]), int(ys[0])), int(obs["direction"]))


def room_cells(image: np.ndarray, start: tuple[int, int]) -> set[tuple[int, int]]:
    """Cells of the room holding `start`: flood fill that stops at walls and doors."""
    w, h = image.shape[:2]
    seen, queue = {start}, deque([start])
    while queue:
        x, y = queue.popleft()
        for dx, dy in DIRS:
            n = (x + dx, y + dy)
            if 0 <= n[0] < w and 0 <= n[1] < h and n not in seen and image[n][0] not in (_WALL, _DOOR):
                seen.add(n)
                queue.append(n)
    return seen


def matching_cells(image: np.ndarray, ref: ObjectRef, origin: Pose, origin_room: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cells holding an object that `ref` describes; location words are relative to `origin`,
    the pose at the start of the episode, and (as in BabyAI) only cover the starting room."""
    kinds = [OBJECT_TO_IDX[ref.kind]] if ref.kind else [OBJECT_TO_IDX[k] for k in ("ball", "box", "key", "door")]
    mask = np.isin(image[..., 0], kinds)
    if ref.color:
        mask &= image[..., 1] == COLOR_TO_IDX[ref.color]
    cells = [(int(x), int(y)) for x, y in zip(*np.nonzero(mask))]
    if ref.location is None:
        return cells
    d1 = DIRS[origin.heading]
    d2 = (-d1[1], d1[0])
    out = []
    for cell in cells:
        if cell not in origin_room:
            continue
        v = (cell[0] - origin.cell[0], cell[1] - origin.cell[1])
        along, across = v[0] * d1[0] + v[1] * d1[1], v[0] * d2[0] + v[1] * d2[1]
        ok = {"front": along > 0, "behind": along < 0, "left": across < 0, "right": across > 0}[ref.location]
        if ok:
            out.append(cell)
    return out


class Memory:
    """What the agent remembers of the grid: the code under its own cell (hidden by its mark),
    the object in hand, and the pose at the start of the episode."""

    def __init__(self, first_obs: dict):
        self.origin = agent_pose(first_obs)
        self.origin_room = room_cells(first_obs["image"], self.origin.cell)
        self.background = first_obs["image"].copy()
        self.background[self.origin.cell] = (_EMPTY, 0, 0)  # agents start on empty floor
        self.held = _held(first_obs)
        self.pose = self.origin

    @property
    def carrying(self) -> np.ndarray | None:
        """The code of the object in hand, or None."""
        return None if self.held[0] == _EMPTY else self.held

    def update(self, prev_obs: dict, action: int, obs: dict) -> None:
        """Fold in one step: what the agent did and what it now sees."""
        pose = agent_pose(obs)
        image = obs["image"]
        mask = np.ones(image.shape[:2], dtype=bool)
        mask[pose.cell] = False
        self.background[mask] = image[mask]
        self.held = _held(obs)
        self.pose = pose

    def scene(self) -> np.ndarray:
        """The grid without the agent's mark: `[W, H, 3]`."""
        return self.background


def _held(obs: dict) -> np.ndarray:
    """The observed code of the object in hand (minigrid's empty code when none)."""
    if "carried" in obs:
        return np.asarray(obs["carried"], dtype=np.uint8).copy()
    return np.array((_EMPTY, 0, 0), dtype=np.uint8)


@dataclass(frozen=True)
class Grounded:
    """A stage grounded in the current scene: the cells it refers to and its goal observations."""

    stage: Stage
    cells: tuple[tuple[int, int], ...]
    goal_images: np.ndarray  # [G, W, H, 3]
    goal_headings: np.ndarray  # [G]
    goal_carried: np.ndarray  # [G, 3] the object in hand once the stage is done


def ground(stage: Stage, memory: Memory) -> Grounded:
    """Goal observations of `stage` in the remembered scene (empty when nothing matches)."""
    scene = memory.scene()
    cells = matching_cells(scene, stage.ref, memory.origin, memory.origin_room)
    images, headings, held = [], [], []
    w, h = scene.shape[:2]
    nothing = np.array((_EMPTY, 0, 0), dtype=np.uint8)

    def standable(c: tuple[int, int]) -> bool:
        return 0 <= c[0] < w and 0 <= c[1] < h and (
            scene[c][0] in _PASSABLE or (scene[c][0] == _DOOR and scene[c][2] == _DOOR_OPEN)
        )

    def add(target: tuple[int, int], after: np.ndarray | None, in_hand: np.ndarray) -> None:
        for heading, (dx, dy) in enumerate(DIRS):
            stand = (target[0] - dx, target[1] - dy)  # facing `heading`, the agent looks at target
            if not standable(stand):
                continue
            goal = scene.copy()
            if after is not None:
                goal[target] = after
            goal[stand] = (_AGENT, COLOR_TO_IDX["red"], heading)
            images.append(goal)
            headings.append(heading)
            held.append(in_hand)

    if stage.verb == "pickup" and memory.carrying is not None:
        # Hands full with something else: first put it down on a free cell beside the agent.
        ax, ay = memory.pose.cell
        for dx, dy in DIRS:
            spot = (ax + dx, ay + dy)
            if 0 <= spot[0] < w and 0 <= spot[1] < h and scene[spot][0] == _EMPTY:
                add(spot, memory.carrying.astype(scene.dtype), nothing)
        cells = []
    for cell in cells:
        match stage.verb:
            case "goto" if stage.ref.kind == "goal":  # a goal square is stood on, not faced
                for heading in range(4):
                    goal = scene.copy()
                    goal[cell] = (_AGENT, COLOR_TO_IDX["red"], heading)
                    images.append(goal)
                    headings.append(heading)
                    held.append(memory.held)
            case "goto":
                add(cell, None, memory.held)
            case "pickup":
                add(cell, nothing, scene[cell].astype(np.uint8))
            case "open":
                if scene[cell][0] == _DOOR and scene[cell][2] != _DOOR_OPEN:
                    add(cell, np.array((_DOOR, scene[cell][1], _DOOR_OPEN), dtype=scene.dtype), memory.held)
            case "drop_next":
                if memory.carrying is None:
                    continue
                for dx, dy in DIRS:
                    spot = (cell[0] + dx, cell[1] + dy)
                    if 0 <= spot[0] < w and 0 <= spot[1] < h and scene[spot][0] == _EMPTY:
                        add(spot, memory.carrying.astype(scene.dtype), nothing)
    if images:
        return Grounded(stage, tuple(cells), np.stack(images), np.asarray(headings), np.stack(held))
    return Grounded(
        stage,
        tuple(cells),
        np.zeros((0, w, h, 3), dtype=scene.dtype),
        np.zeros(0, dtype=np.int64),
        np.zeros((0, 3), dtype=np.uint8),
    )


_THINGS = ("ball", "box", "key", "goal")
_DOOR_STATES = ("open", "closed", "locked")


def why_ungrounded(stage: Stage, memory: Memory) -> str:
    """Why `stage` has no goal observation in the remembered scene, in words for the user: the
    object isn't there (and what is), location words rule out the ones there are, the door is
    already open, or the object stands behind a door the agent can't pass. Reads the scene the
    agent has seen, like `ground`."""
    scene, ref = memory.scene(), stage.ref
    name = " ".join([*([ref.color] if ref.color else []), ref.kind or "object"])
    if stage.verb == "drop_next" and memory.carrying is None:
        return f"I'm not holding anything to put next to {ref.describe()}"
    anywhere = matching_cells(scene, ObjectRef(ref.kind, ref.color), memory.origin, memory.origin_room)
    if not anywhere:
        what = "goal square" if ref.kind == "goal" else name
        return f"there is no {what} here; {_inventory(scene, memory.carrying, doors=ref.kind == 'door')}"
    cells = matching_cells(scene, ref, memory.origin, memory.origin_room)
    if not cells:
        where = ref.describe().removeprefix(f"the {name} ")
        return (f"there is no {name} {where} (as seen from where I started, in the room I started in); "
                f"there {'is one' if len(anywhere) == 1 else f'are {len(anywhere)}'} elsewhere")
    if stage.verb == "open":
        doors = [c for c in cells if scene[c][0] == _DOOR]
        if not doors:
            return f"only doors open, and the {name} is not a door"
        if all(scene[c][2] == _DOOR_OPEN for c in doors):
            return f"the {name} is already open"
    w, h = scene.shape[:2]
    beside = [(c[0] + dx, c[1] + dy) for c in cells for dx, dy in DIRS]
    doors = [n for n in beside if 0 <= n[0] < w and 0 <= n[1] < h and scene[n][0] == _DOOR and scene[n][2] != _DOOR_OPEN]
    if doors:
        locked = [n for n in doors if _DOOR_STATES[min(int(scene[n][2]), 2)] == "locked"]
        door = (locked or doors)[0]
        colour = _colour(scene[door][1])
        if locked:
            return (f"the {name} is behind a locked {colour} door (the only place to stand beside it is that doorway, "
                    f"and the door opens with the {colour} key)")
        return f"the {name} is behind a closed {colour} door (the only place to stand beside it is that doorway): open it first"
    return f"I can see the {name}, but nowhere to stand beside it"


def _colour(index: int) -> str:
    return next((c for c, i in COLOR_TO_IDX.items() if i == int(index)), "grey")


def _inventory(scene: np.ndarray, carrying: np.ndarray | None, doors: bool = False) -> str:
    """What the agent sees, in words: "I can see a red ball, 2 grey boxes and 12 doors (1 locked)"."""
    counts: dict[tuple[int, int], int] = {}
    for x, y in zip(*np.nonzero(np.isin(scene[..., 0], [OBJECT_TO_IDX[k] for k in _THINGS]))):
        kind = next(i for i, k in enumerate(_THINGS) if OBJECT_TO_IDX[k] == scene[x, y][0])
        counts[(kind, int(scene[x, y][1]))] = counts.get((kind, int(scene[x, y][1])), 0) + 1
    counts = {("goal square" if _THINGS[k] == "goal" else f"{_colour(c)} {_THINGS[k]}"): n for (k, c), n in sorted(counts.items())}
    things = [f"a {label}" if n == 1 else f"{n} {label}{'es' if label.endswith('x') else 's'}" for label, n in counts.items()]
    door_cells = [(x, y) for x, y in zip(*np.nonzero(scene[..., 0] == _DOOR))]
    if door_cells and doors:
        colours = dict.fromkeys(f"{_colour(scene[c][1])}{' (locked)' if scene[c][2] == 2 else ''}" for c in door_cells)
        things.append(f"door{'s' if len(door_cells) > 1 else ''}: {', '.join(colours)}")
    elif door_cells:
        locked = sum(scene[c][2] == 2 for c in door_cells)
        things.append(f"{len(door_cells)} door{'s' if len(door_cells) > 1 else ''}" + (f" ({locked} locked)" if locked else ""))
    held = "" if carrying is None or carrying[0] not in [OBJECT_TO_IDX[k] for k in _THINGS] else (
        f", and I'm holding a {_colour(carrying[1])} {next(k for k in _THINGS if OBJECT_TO_IDX[k] == carrying[0])}")
    if not things:
        return "I can see no objects" + held
    listed = things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]
    return f"I can see {listed}{held}"


def stage_done(stage: Stage, memory: Memory, prev_obs: dict, action: int, obs: dict, cells: tuple) -> bool:
    """Whether the last step finished `stage`, judged from observations and memory only."""
    pose = agent_pose(obs)
    front = pose.front
    image = obs["image"]
    match stage.verb:
        case "goto" if stage.ref.kind == "goal":
            return pose.cell in cells
        case "goto":
            return front in cells and _matches(image[front], stage.ref)
        case "pickup":
            prev_front = agent_pose(prev_obs).front
            return action == PICKUP and prev_front in cells and memory.carrying is not None
        case "open":
            return action == TOGGLE and front in cells and image[front][0] == _DOOR and image[front][2] == _DOOR_OPEN
        case "drop_next":
            if action != DROP or memory.carrying is not None:
                return False
            return any(abs(front[0] - c[0]) + abs(front[1] - c[1]) == 1 for c in cells)
    return False


def _matches(code: np.ndarray, ref: ObjectRef) -> bool:
    if ref.kind and code[0] != OBJECT_TO_IDX[ref.kind]:
        return False
    if ref.color and code[1] != COLOR_TO_IDX[ref.color]:
        return False
    return code[0] in {OBJECT_TO_IDX[k] for k in ("ball", "box", "key", "door")}


def encode_observation(level: Level, obs: dict) -> torch.Tensor:
    """Level 0's state of a grid observation (its view, heading and what it carries): `[1, D]`."""
    return level.encode(
        torch.as_tensor(obs["image"][None]),
        torch.as_tensor([int(obs["direction"])]),
        torch.as_tensor(np.asarray(obs["carried"], dtype=np.uint8)[None]),
    )


def observation_key(obs: dict) -> bytes:
    """A hashable fingerprint of everything the agent sees."""
    return obs["image"].tobytes() + bytes([int(obs["direction"])]) + np.asarray(obs.get("carried", ())).tobytes()
