"""A goal-agnostic exploration policy for collecting reward-free data.

It knows no task and sees no reward: it strings together random walks, walks to random free
cells (opening closed doors on the way) and walks to random objects to pick them up and carry
them elsewhere, with the odd random pickup, drop or toggle. It reads only the observation.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from minigrid.core.constants import OBJECT_TO_IDX

from hagent.config import ExploreConfig
from hagent.worlds import DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE

_DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid headings: east, south, west, north
_WALK = {OBJECT_TO_IDX[k] for k in ("empty", "floor", "goal", "door")}
_OBJECTS = {OBJECT_TO_IDX[k] for k in ("ball", "box", "key")}
_DOOR = OBJECT_TO_IDX["door"]
_EMPTY = OBJECT_TO_IDX["empty"]
_AGENT = OBJECT_TO_IDX["agent"]
_DOOR_CLOSED = 1
# Random-walk action weights over left, right, forward, pickup, drop, toggle.
_RANDOM_WEIGHTS = np.array([0.2, 0.2, 0.48, 0.04, 0.04, 0.04])


class Explorer:
    """Reward-free exploration over fully observed grid observations."""

    def __init__(self, cfg: ExploreConfig, rng: np.random.Generator):
        self.cfg = cfg
        self.rng = rng
        self._path: list[tuple[int, int]] = []
        self._face: tuple[int, int] | None = None  # an object to face and pick up at the path's end
        self._random_left = 0

    def reset(self) -> None:
        """Forget the current segment (call at the start of each episode)."""
        self._path, self._face, self._random_left = [], None, 0

    def act(self, obs: dict) -> int:
        """Choose the next action from the observation alone."""
        image = obs["image"]
        heading = int(obs["direction"])
        agent = _find_agent(image)
        if self.rng.random() < self.cfg.p_interact:
            return int(self.rng.choice((PICKUP, DROP, TOGGLE)))
        if self._random_left > 0:
            self._random_left -= 1
            return int(self.rng.choice(6, p=_RANDOM_WEIGHTS))
        if not self._path and self._face is None:
            holding = "carried" in obs and int(obs["carried"][0]) != _EMPTY
            self._new_segment(image, agent, holding)
            if self._random_left > 0:
                return self.act(obs)
        return self._follow(image, agent, heading)

    def _new_segment(self, image: np.ndarray, agent: tuple[int, int], holding: bool) -> None:
        if self.rng.random() < self.cfg.p_random:
            self._random_left = self.cfg.random_walk_steps
            return
        parents = _bfs(image, agent)
        # With free hands, walk to an object to pick it up; holding one, walk somewhere to drop it.
        if not holding and self.rng.random() < self.cfg.p_object:
            targets = []
            for cell in parents:
                for dx, dy in _DIRS:
                    nxt = (cell[0] + dx, cell[1] + dy)
                    if _inside(image, nxt) and image[nxt][0] in _OBJECTS:
                        targets.append((cell, nxt))
            if targets:
                cell, obj = targets[self.rng.integers(len(targets))]
                self._path, self._face = _path_to(parents, cell), obj
                return
        cells = list(parents)
        if len(cells) <= 1:
            self._random_left = self.cfg.random_walk_steps
            return
        self._path = _path_to(parents, cells[self.rng.integers(len(cells))])
        self._face = None

    def _follow(self, image: np.ndarray, agent: tuple[int, int], heading: int) -> int:
        while self._path and self._path[0] == agent:
            self._path.pop(0)
        if self._path:
            nxt = self._path[0]
            if abs(nxt[0] - agent[0]) + abs(nxt[1] - agent[1]) != 1:
                self.reset()  # knocked off the path (a random action moved us): start over
                return int(self.rng.choice(3))
            want = _DIRS.index((nxt[0] - agent[0], nxt[1] - agent[1]))
            if want != heading:
                return _turn(heading, want)
            code = image[nxt]
            if code[0] == _DOOR and code[2] == _DOOR_CLOSED:
                return TOGGLE
            if code[0] not in _WALK:
                self.reset()
                return int(self.rng.choice(2))
            return FORWARD
        if self._face is not None:
            obj = self._face
            want = _DIRS.index((obj[0] - agent[0], obj[1] - agent[1]))
            if want != heading:
                return _turn(heading, want)
            self._face = None
            return PICKUP
        # End of a walk: maybe drop what we carry in front of us.
        self.reset()
        front = (agent[0] + _DIRS[heading][0], agent[1] + _DIRS[heading][1])
        if _inside(image, front) and image[front][0] == _EMPTY and self.rng.random() < self.cfg.p_drop:
            return DROP
        return int(self.rng.choice(2))


def _find_agent(image: np.ndarray) -> tuple[int, int]:
    xs, ys = np.nonzero(image[..., 0] == _AGENT)
    return int(xs[0]), int(ys[0])


def _inside(image: np.ndarray, cell: tuple[int, int]) -> bool:
    return 0 <= cell[0] < image.shape[0] and 0 <= cell[1] < image.shape[1]


def _bfs(image: np.ndarray, start: tuple[int, int]) -> dict[tuple[int, int], tuple[int, int] | None]:
    """Parents of every cell reachable from `start` over walkable cells (closed doors included)."""
    walkable = np.isin(image[..., 0], list(_WALK))
    parents: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    w, h = walkable.shape
    while queue:
        x, y = queue.popleft()
        for dx, dy in _DIRS:
            nx, ny = x + dx, y + dy
            if 0 <= nx < w and 0 <= ny < h and walkable[nx, ny] and (nx, ny) not in parents:
                parents[(nx, ny)] = (x, y)
                queue.append((nx, ny))
    return parents


def _path_to(parents: dict, cell: tuple[int, int]) -> list[tuple[int, int]]:
    path = []
    while cell is not None:
        path.append(cell)
        cell = parents[cell]
    return path[::-1]


def _turn(heading: int, want: int) -> int:
    return RIGHT if (want - heading) % 4 in (1, 2) else LEFT
