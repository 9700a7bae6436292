"""The world's own reading of a room description, for scoring region guardrails.

`World.watch` needs to know which cells "the blue room" or "the top-left room" covers, to count
the agent's entering them as a violation. It reads them here from the world's true grid (the
environment's own cells, not the agent's observation) with code of its own, so a bug in the
agent's grounding can't fool the judge as well. Scoring only: nothing here reaches the agent.
"""

from __future__ import annotations

import numpy as np
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

from hagent.language import ObjectRef, RegionRef

Cell = tuple[int, int]
HEADINGS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid's agent_dir: east, south, west, north
SEPARATORS = (OBJECT_TO_IDX["wall"], OBJECT_TO_IDX["door"])
THINGS = tuple(OBJECT_TO_IDX[k] for k in ("ball", "box", "key"))


def rooms(grid: np.ndarray) -> list[set[Cell]]:
    """The grid's rooms: 4-connected regions of cells that are neither wall nor door. `grid`
    is minigrid's `grid.encode()`, `[W, H, 3]`."""
    free = ~np.isin(grid[..., 0], SEPARATORS)
    label = -np.ones(free.shape, dtype=np.int64)
    found: list[set[Cell]] = []
    for start in zip(*np.nonzero(free)):
        if label[start] >= 0:
            continue
        room, stack = set(), [tuple(int(v) for v in start)]
        label[start] = len(found)
        while stack:
            x, y = stack.pop()
            room.add((x, y))
            for dx, dy in HEADINGS:
                n = (x + dx, y + dy)
                if 0 <= n[0] < free.shape[0] and 0 <= n[1] < free.shape[1] and free[n] and label[n] < 0:
                    label[n] = len(found)
                    stack.append(n)
        found.append(room)
    return found


def place(room: set[Cell], width: int, height: int) -> str:
    """Where a room lies in the grid, by the thirds its cells' mean falls in ("top-left", "centre", ...)."""
    xs, ys = zip(*room)
    col = min(2, int(3 * np.mean(xs) / width))
    row = min(2, int(3 * np.mean(ys) / height))
    return "-".join(filter(None, (("top", "", "bottom")[row], ("left", "", "right")[col]))) or "centre"


def holds(grid: np.ndarray, room: set[Cell], ref: ObjectRef, agent: Cell, heading: int, start_room: set[Cell]) -> bool:
    """Whether `room` holds an object `ref` describes; location words are relative to the agent's
    pose when the guardrail was set, and cover only the room it stood in (as in BabyAI)."""
    kinds = (OBJECT_TO_IDX[ref.kind],) if ref.kind else (*THINGS, OBJECT_TO_IDX["door"])
    forward = HEADINGS[heading]
    right = (-forward[1], forward[0])
    for x, y in room:
        if grid[x, y, 0] not in kinds or (ref.color and grid[x, y, 1] != COLOR_TO_IDX[ref.color]):
            continue
        if ref.location is None:
            return True
        if (x, y) not in start_room:
            continue
        v = (x - agent[0], y - agent[1])
        along, across = v[0] * forward[0] + v[1] * forward[1], v[0] * right[0] + v[1] * right[1]
        if {"front": along > 0, "behind": along < 0, "left": across < 0, "right": across > 0}[ref.location]:
            return True
    return False


def region_cells(grid: np.ndarray, region: RegionRef, agent: Cell, heading: int) -> set[Cell]:
    """Cells of every room of `grid` that `region` describes (by an object colour in it, its
    place in the grid, an object it holds); empty when none matches. Rooms of one cell (a gap
    in a wall) are not rooms."""
    found = [r for r in rooms(grid) if len(r) > 1]
    start_room = next((r for r in found if agent in r), set())
    if region.color is not None:
        colour = COLOR_TO_IDX[region.color]
        found = [r for r in found if any(grid[c][0] in THINGS and grid[c][1] == colour for c in r)]
    if region.contains is not None:
        found = [r for r in found if holds(grid, r, region.contains, agent, heading, start_room)]
    if region.position is not None:
        found = [r for r in found if place(r, grid.shape[0], grid.shape[1]) == region.position]
    return set().union(*found) if found else set()
