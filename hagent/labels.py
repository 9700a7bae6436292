"""Training labels from the offline data: hindsight step distances for the critic.

For a goal state `j` of an episode, every state `i` of the same episode gets the number of world
steps from `i` to `j`: the shortest turn/move path from i's pose to j's pose on j's grid, plus one
step per cell whose content differs between the two grids (a pickup, drop or door toggle each take
an action) and one more when the object in hand differs. These labels are for training only; no planner ever reads them.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np
from minigrid.core.constants import OBJECT_TO_IDX

from hagent.data import OfflineDataset

_DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))
_STANDABLE = np.zeros(256, dtype=bool)
for _kind in ("empty", "floor", "goal", "door", "agent"):
    _STANDABLE[OBJECT_TO_IDX[_kind]] = True
_AGENT = OBJECT_TO_IDX["agent"]


def steps_to_pose(image: np.ndarray, cell: tuple[int, int], heading: int, cap: int) -> np.ndarray:
    """Fewest turn/forward steps from every pose to (`cell`, `heading`) on `image [W, H, 3]`:
    `[W, H, 4]`, `cap` where unreachable. Doors count as passable (toggling is added elsewhere)."""
    w, h = image.shape[:2]
    standable = _STANDABLE[image[..., 0]]
    dist = np.full((w, h, 4), cap, dtype=np.int16)
    dist[cell[0], cell[1], heading] = 0
    queue = deque([(cell[0], cell[1], heading)])
    while queue:  # backwards from the goal pose
        x, y, d = queue.popleft()
        step = dist[x, y, d] + 1
        if step >= cap:
            continue
        for turned in ((d + 1) % 4, (d + 3) % 4):  # a turn is undone by the opposite turn
            if dist[x, y, turned] > step:
                dist[x, y, turned] = step
                queue.append((x, y, turned))
        px, py = x - _DIRS[d][0], y - _DIRS[d][1]  # a forward step into (x, y) came from behind
        if 0 <= px < w and 0 <= py < h and standable[px, py] and dist[px, py, d] > step:
            dist[px, py, d] = step
            queue.append((px, py, d))
    return dist


class CriticPairs(NamedTuple):
    """Indices into the dataset's rows and the steps between them."""

    start: np.ndarray  # [P] row of the state
    goal: np.ndarray  # [P] row of the goal state (same episode)
    steps: np.ndarray  # [P] float32 labels


def critic_pairs(data: OfflineDataset, goals_per_episode: int, cap: int, seed: int) -> CriticPairs:
    """Hindsight pairs: `goals_per_episode` random goal states per episode, each paired with every
    state of that episode; unreachable pairs (label >= cap) are dropped."""
    rng = np.random.default_rng(seed)
    a = data.arrays
    starts, goals, labels = [], [], []
    offsets = data.episode_offsets
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        rows = np.arange(lo, hi)
        images = a["image"][lo:hi]  # [L, W, H, 3]
        agent = images[..., 0] == _AGENT  # [L, W, H]: the agent's mark hides its cell
        for j in rng.integers(lo, hi, goals_per_episode):
            dist = steps_to_pose(a["image"][j], tuple(a["agent"][j]), int(a["direction"][j]), cap)
            nav = dist[a["agent"][rows, 0], a["agent"][rows, 1], a["direction"][rows]].astype(np.float32)
            differs = (images != images[j - lo]).any(-1) & ~agent & ~agent[j - lo]
            changed = differs.sum((1, 2)).astype(np.float32)
            changed += (a["carried"][lo:hi] != a["carried"][j]).any(-1)
            keep = nav < cap
            starts.append(rows[keep])
            goals.append(np.full(keep.sum(), j))
            labels.append((nav + changed)[keep])
    return CriticPairs(np.concatenate(starts), np.concatenate(goals), np.concatenate(labels))
