"""What the abstract levels plan over, imagined from the agent's memory of the grid.

`waypoints` places the agent, in imagination, on a lattice of free cells and in every doorway
of the remembered scene (doors shown open: passing a door means opening it), giving the
candidate states of the level-1 graph. `rooms` splits the scene into rooms (flood fill between
walls and doors) so a region guardrail ("stay out of the blue room") can be grounded in cells.
Everything here reads observations and memory only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

from hagent.acting.grounding import Memory, matching_cells, room_cells
from hagent.language import RegionRef

_AGENT = OBJECT_TO_IDX["agent"]
_DOOR = OBJECT_TO_IDX["door"]
_WALL = OBJECT_TO_IDX["wall"]
_FREE = {OBJECT_TO_IDX[k] for k in ("empty", "floor", "goal")}
_OBJECTS = {OBJECT_TO_IDX[k] for k in ("ball", "box", "key")}
_OPEN, _CLOSED, _LOCKED = 0, 1, 2
_RED = COLOR_TO_IDX["red"]


@dataclass(frozen=True)
class Waypoints:
    """Candidate states: the agent imagined at `cells` with `headings`, in `images`."""

    cells: tuple[tuple[int, int], ...]  # [N]
    images: np.ndarray  # [N, W, H, 3]
    headings: np.ndarray  # [N]
    doors: np.ndarray  # [N] bool: the cell is a doorway


def opened(scene: np.ndarray) -> np.ndarray:
    """The scene with every closed (not locked) door shown open."""
    out = scene.copy()
    closed = (out[..., 0] == _DOOR) & (out[..., 2] == _CLOSED)
    out[closed, 2] = _OPEN
    return out


def place(scene: np.ndarray, cell: tuple[int, int], heading: int) -> np.ndarray:
    """The scene with the agent drawn at `cell` facing `heading`."""
    image = scene.copy()
    image[cell] = (_AGENT, _RED, heading)
    return image


def waypoints(scene: np.ndarray, spacing: int, doors: bool = True, avoid: frozenset = frozenset()) -> Waypoints:
    """Lattice cells (every `spacing` cells, on free floor) and doorways (unless `doors` is off:
    the agent may not open doors, so only already-open ones count) of `scene`, minus `avoid`."""
    w, h = scene.shape[:2]
    cells, headings, is_door = [], [], []
    for x in range(1, w - 1):
        for y in range(1, h - 1):
            if (x, y) in avoid:
                continue
            kind, state = int(scene[x, y, 0]), int(scene[x, y, 2])
            if kind == _DOOR and state != _LOCKED and (doors or state == _OPEN):
                horizontal = scene[x - 1, y, 0] != _WALL and scene[x + 1, y, 0] != _WALL
                cells.append((x, y))
                headings.append(0 if horizontal else 1)  # facing along the passage
                is_door.append(True)
            elif kind in _FREE and x % spacing == 1 % spacing and y % spacing == 1 % spacing:
                cells.append((x, y))
                headings.append(0)
                is_door.append(False)
    base = opened(scene) if doors else scene
    images = np.stack([place(base, c, d) for c, d in zip(cells, headings)]) if cells else np.zeros((0, w, h, 3), scene.dtype)
    return Waypoints(tuple(cells), images, np.asarray(headings, dtype=np.int64), np.asarray(is_door, dtype=bool))


def room_index(scene: np.ndarray) -> np.ndarray:
    """Which room each cell belongs to: `[W, H]` int, -1 for walls and doorways."""
    index = np.full(scene.shape[:2], -1, dtype=np.int64)
    for i, room in enumerate(rooms(scene)):
        for c in room:
            index[c] = i
    return index


def rooms_of(index: np.ndarray, cell: tuple[int, int]) -> frozenset[int]:
    """The rooms a cell opens onto: its own, or for a doorway the rooms on either side."""
    if index[cell] >= 0:
        return frozenset({int(index[cell])})
    w, h = index.shape
    around = ((cell[0] + dx, cell[1] + dy) for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1)))
    return frozenset(int(index[c]) for c in around if 0 <= c[0] < w and 0 <= c[1] < h and index[c] >= 0)


def reachable(scene: np.ndarray, start: tuple[int, int]) -> set[tuple[int, int]]:
    """Cells the agent can walk to from `start` without opening a door (free floor and open doorways)."""
    w, h = scene.shape[:2]
    seen, frontier = {start}, [start]
    while frontier:
        x, y = frontier.pop()
        for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1)):
            n = (x + dx, y + dy)
            if 0 <= n[0] < w and 0 <= n[1] < h and n not in seen:
                kind = int(scene[n][0])
                if kind in _FREE or (kind == _DOOR and int(scene[n][2]) == _OPEN):
                    seen.add(n)
                    frontier.append(n)
    return seen


def rooms(scene: np.ndarray) -> list[set[tuple[int, int]]]:
    """The scene's rooms: maximal regions of non-wall, non-door cells, largest first."""
    w, h = scene.shape[:2]
    seen: set[tuple[int, int]] = set()
    out = []
    for x in range(w):
        for y in range(h):
            if (x, y) in seen or scene[x, y, 0] in (_WALL, _DOOR):
                continue
            room = room_cells(scene, (x, y))
            seen |= room
            out.append(room)
    return sorted(out, key=len, reverse=True)


def region_cells(scene: np.ndarray, region: RegionRef, memory: Memory) -> set[tuple[int, int]]:
    """Cells of every room that `region` describes: by colour (a room holding an object of that
    colour), by place in the room grid, and/or by an object it contains. Empty when none matches."""
    found = [r for r in rooms(scene) if len(r) > 1]
    if region.color is not None:
        colour = COLOR_TO_IDX[region.color]
        found = [r for r in found if any(scene[c][0] in _OBJECTS and scene[c][1] == colour for c in r)]
    if region.contains is not None:
        targets = set(matching_cells(scene, region.contains, memory.origin, memory.origin_room))
        found = [r for r in found if r & targets]
    if region.position is not None and found:
        w, h = scene.shape[:2]
        found = [r for r in found if position_name(r, w, h) == region.position]
    cells: set[tuple[int, int]] = set()
    for r in found:
        cells |= r
    return cells


def position_name(cells: set[tuple[int, int]] | list[tuple[int, int]], width: int, height: int) -> str:
    """A room's place in a `width` x `height` grid, one of `ROOM_POSITIONS` ("top-left", "centre",
    ...): the thirds of the grid its cells' mean falls in."""
    xs, ys = zip(*cells)
    col = min(2, int(3 * np.mean(xs) / width))
    row = min(2, int(3 * np.mean(ys) / height))
    return "-".join(filter(None, (("top", "", "bottom")[row], ("left", "", "right")[col]))) or "centre"


def at_cell(memory: Memory, cell: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Goal observations of the agent standing at `cell` facing each way (a closed door there shown open)."""
    scene = memory.scene().copy()
    if scene[cell][0] == OBJECT_TO_IDX["door"] and scene[cell][2] == 1:
        scene[cell] = (scene[cell][0], scene[cell][1], 0)
    images = np.stack([place(scene, cell, d) for d in range(4)])
    held = np.repeat(np.asarray(memory.held, dtype=np.uint8)[None], 4, 0)
    return images, np.arange(4), held
