"""Training labels from the offline data: hindsight step distances for the critics.

The default, `observed_pairs` (`train.critic.labels = "data"`), is taught by the data alone:
each episode's observations are the nodes of a graph (two rows showing the same observation are
one node), each recorded step is an edge, and a pair's label is the fewest recorded steps from
the state to the goal state over that graph: the tabular limit of goal-conditioned TD with
hindsight goals, and never more than the time between them. It reads nothing but observations
and their order: no positions, no grid rules.

`oracle_pairs` is the named baseline (`train.critic.labels = "oracle"`; `ORACLE_CRITICS` in
`hagent.training.presets`): the shortest path by the world's own movement rules on the goal's
grid (`steps_to_pose`), plus one step per changed cell. It knows the world's rules, so it serves
comparisons (`benchmarks/critic_error.py`) and the scoring of critics (`steps_to_pose` is the true
distance). No preset uses it; a checkpoint's `config.json` records which labels taught its critics.

Where the labels go: they teach the critics (level 0's and every abstract level's), and the
critics are read while acting: the planners' cost-to-go, level 1's hop lengths and reach, the
configurator's estimate of how far the goal is. So whichever labels a checkpoint was trained with
reach every plan it makes; that is why the default must be the data's own. No planner reads a
label directly.
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


def observed_pairs(data: OfflineDataset, goals_per_episode: int, cap: int, seed: int) -> CriticPairs:
    """Hindsight pairs labelled by the data alone: `goals_per_episode` random goal states per
    episode, each paired with every state of that episode from which the episode's recorded
    steps lead to it, labelled with the fewest such steps; pairs `cap` or more apart are dropped."""
    rng = np.random.default_rng(seed)
    a = data.arrays
    starts, goals, labels = [], [], []
    offsets = data.episode_offsets
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        node, into = _observed_graph(a, lo, hi)
        for j in rng.integers(lo, hi, goals_per_episode):
            dist = _steps_to(into, int(node[j - lo]), cap)[node]  # [L] per row
            keep = dist < cap
            starts.append(np.arange(lo, hi)[keep])
            goals.append(np.full(keep.sum(), j))
            labels.append(dist[keep].astype(np.float32))
    return CriticPairs(np.concatenate(starts), np.concatenate(goals), np.concatenate(labels))


def _observed_graph(a: dict[str, np.ndarray], lo: int, hi: int) -> tuple[np.ndarray, list[list[int]]]:
    """One episode's observed transition graph: each row's node (`[L]`, rows with the same
    observation share one) and, per node, the nodes with a recorded step into it."""
    if "direction" in a:
        view = np.concatenate(
            [a["image"][lo:hi].reshape(hi - lo, -1), a["direction"][lo:hi].reshape(-1, 1).astype(np.uint8), a["carried"][lo:hi]], 1
        )
    else:  # a gym world's vectors, a point world's views: an observation seen twice is the same node, as on a grid
        view = a["vector" if "vector" in a else "image"][lo:hi].reshape(hi - lo, -1)
    _, node = np.unique(view, axis=0, return_inverse=True)
    node = node.reshape(-1)
    into: list[list[int]] = [[] for _ in range(int(node.max()) + 1)]
    for u, v in set(zip(node[:-1].tolist(), node[1:].tolist())):  # row i's action led to row i+1
        if u != v:
            into[v].append(u)
    return node, into


def _steps_to(into: list[list[int]], goal: int, cap: int) -> np.ndarray:
    """Fewest recorded steps from every node to `goal` (breadth-first, backwards): `[nodes]`, `cap` where none lead there."""
    dist = np.full(len(into), cap, dtype=np.int64)
    dist[goal] = 0
    frontier, d = [goal], 0
    while frontier and d + 1 < cap:
        d += 1
        nxt = []
        for v in frontier:
            for u in into[v]:
                if dist[u] == cap:
                    dist[u] = d
                    nxt.append(u)
        frontier = nxt
    return dist


def oracle_pairs(data: OfflineDataset, goals_per_episode: int, cap: int, seed: int) -> CriticPairs:
    """The rule-based baseline: hindsight pairs as `observed_pairs` draws them (every state of
    the goal's episode), labelled with the true steps by the world's movement rules; pairs
    unreachable or `cap` or more apart are dropped. For comparisons and scoring only."""
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
