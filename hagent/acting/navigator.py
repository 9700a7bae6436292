"""The abstract levels at work: routes of reachable subgoals for level 0.

Level 1 plans moves on a graph of waypoints imagined from the agent's memory of the grid
(`hagent.acting.waypoints`): an edge joins two waypoints when level 0's critic puts them within level
0's reach, so every subgoal handed down is one level 0 can achieve, and when no wall the
observation shows stands between them (both in one room, or a room and one of its doorways,
with balls, boxes and keys splitting rooms as walls do: the learned distance is blurry about
walls and objects); the shortest route to a goal
state (networkx) gives level 0 its next subgoal. Level k >= 2 plans the same way over a sparser
graph (doorways and goals) in its own state space, with level k-1's critic and reach deciding
which hops are feasible; its first hop becomes level k-1's goal. Hard guardrails remove
waypoints (hazards by the learned hazard classifier, forbidden regions, doorways when doors may
not be opened); their cost is paid in the search, never after it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from minigrid.core.constants import OBJECT_TO_IDX

from costs.critic import Critic
from costs.hazard import HazardModel
from hagent.acting.grounding import Grounded, Memory, agent_pose
from hagent.acting.waypoints import opened, place, reachable, room_index, rooms_of, waypoints
from levels.abstract import AbstractLevel
from levels.graph import GraphPlanner, pairwise
from levels.imagined import ImaginedPlanner
from levels.latent import LatentPlanner, LearnedToGo
from levels.level import Level

_WALL = OBJECT_TO_IDX["wall"]
_DOOR = OBJECT_TO_IDX["door"]
_OBJECTS = [OBJECT_TO_IDX[k] for k in ("ball", "box", "key")]


class Route(NamedTuple):
    """Level 1's route and the routes of the levels above it (cells of the waypoints)."""

    cells: tuple[tuple[int, int], ...]  # level 1: waypoints to the goal; the first is level 0's subgoal
    steps: tuple[float, ...]  # level 0 critic's estimate of each hop
    upper: tuple[tuple[tuple[int, int], ...], ...]  # levels 2..L, each a route of waypoints
    goal_reached: bool  # the route's last cell is a goal state (not just the upper level's subgoal)
    evaluations: int  # learned-distance evaluations spent
    states: torch.Tensor  # [len(cells), D1] level-1 states of the waypoints (what the decoder reads)
    targets: torch.Tensor | None = None  # [K, D] imagined states of the hops in level `target_level`'s space (cells is empty)
    target_level: int = 0  # 0: level 0's states imagined by its predictor (graph "imagined"); 1: level 1's own (graph "hjepa")


class Navigator:
    """Plans routes of subgoals with the abstract levels above level 0."""

    def __init__(self, level0: Level, critic0: Critic, levels: list[AbstractLevel], critics: list[Critic], hazard: HazardModel | None):
        self.level0, self.critic0, self.levels, self.critics, self.hazard = level0, critic0, levels, critics, hazard
        self._cache: dict[bytes, tuple] = {}
        self._hazard_cache: dict[bytes, list] = {}

    @torch.no_grad()
    def route(
        self,
        memory: Memory,
        grounded: Grounded,
        *,
        levels: int,
        reach: float,
        upper_reach: float,
        spacing: int,
        doors: bool,
        avoid: frozenset,
        hazard_threshold: float | None,
        failed: frozenset = frozenset(),
    ) -> Route | None:
        """A route from the agent's pose to the stage's goal states using `levels` levels (2 = level
        1 above level 0). `avoid` are cells no waypoint may be in; `hazard_threshold` (when the
        hazard guardrail is on) removes waypoints the hazard classifier flags; `failed` are subgoals
        level 0 could not reach earlier in the episode, left out too. None: no route."""
        scene = memory.scene()
        base = opened(scene) if doors else scene
        nodes, s0, dist = self._graph(scene, base, memory.held, spacing, doors, avoid)
        goal_cells, goal_images = [], []
        for image in grounded.goal_images:
            pose = agent_pose({"image": image, "direction": 0})
            heading = int(image[pose.cell][2])
            goal_cells.append(pose.cell)
            goal_images.append(place(base, pose.cell, heading))
        if not goal_images:
            return None
        pose = memory.pose
        extra = self._encode(np.stack([place(base, pose.cell, pose.heading), *goal_images]), memory.held)
        start, goals = extra[0], extra[1:]
        all_s0 = torch.cat([s0, goals])
        cells = list(nodes.cells) + goal_cells
        # distances among the new states and to/from the cached waypoints
        n, g = len(s0), len(goals)
        full = torch.full((n + g, n + g), float("inf"))
        full[:n, :n] = dist
        if g:
            full[n:, :] = _cross(self.critic0, goals, all_s0)
            full[:, n:] = _cross(self.critic0, all_s0, goals)
        evaluations = 2 * (n + g) * g
        blocked = torch.zeros(n + g, dtype=torch.bool)
        # never a subgoal: a forbidden cell, one level 0 failed to reach, or where the agent stands
        here_cell = memory.pose.cell
        blocked |= torch.as_tensor([c in avoid or (i < n and (c in failed or c == here_cell)) for i, c in enumerate(cells)])
        if not doors:  # doors may not be opened: only what is reachable without opening one
            around = reachable(scene, memory.pose.cell)
            blocked |= torch.as_tensor([c not in around for c in cells])
        if hazard_threshold is not None and self.hazard is not None:
            blocked |= self.hazard.probability(all_s0) > hazard_threshold
        is_goal = torch.zeros(n + g, dtype=torch.bool)
        is_goal[n:] = True
        target = is_goal.clone()
        upper: list[tuple[tuple[int, int], ...]] = []
        # levels L..2: each routes over doorways and goals with the critic of the level below it
        for k in range(min(levels, len(self.levels) + 1) - 1, 1, -1):
            sparse = torch.as_tensor(np.concatenate([nodes.doors, np.ones(g, dtype=bool)])) & ~blocked
            idx = torch.nonzero(sparse | target).squeeze(1)
            states_k = self._up(all_s0[idx], k - 1)
            start_k = self._up(start[None], k - 1)[0]
            planner = GraphPlanner(upper_reach)
            plan = planner.plan(start_k, states_k, target[idx], self.critics[k - 2].distance)
            evaluations += plan.evaluations if plan else (len(idx) + 1) ** 2
            if plan is None:
                break  # no coarse route: level 1 searches the whole graph itself
            upper.insert(0, tuple(cells[int(idx[i])] for i in plan.path))
            first = int(idx[plan.path[0]])
            target = torch.zeros_like(target)
            target[first] = True
        # level 1 hops within a room, or between a room and its doorways: never through a wall or
        # an object (the agent can't walk through a ball, box or key: a room they cut in two is two),
        # nor through a cell the hazard classifier flags (with the hazard guardrail on)
        layout = base.copy()
        layout[np.isin(layout[..., 0], _OBJECTS)] = (_WALL, 0, 0)
        if hazard_threshold is not None and self.hazard is not None:
            for c in self._hazards(base, memory.held, hazard_threshold):
                layout[c] = (_WALL, 0, 0)
        index = room_index(layout)
        member = torch.zeros(len(cells) + 1, int(index.max()) + 2, dtype=torch.bool)  # [node, room]; last row: the agent
        for i, c in enumerate([*cells, memory.pose.cell]):
            member[i, list(rooms_of(index, c))] = True
        shared = (member.float() @ member.float().T) > 0  # do two nodes open onto a common room
        edges, here = shared[:-1, :-1], shared[-1, :-1]
        start_row = self.critic0.distance(start[None].expand(len(all_s0), -1), all_s0)
        plan = GraphPlanner(reach, stretch=2.0).plan_distances(
            start_row, full, target, blocked, edges=edges, start_edges=here
        )
        evaluations += len(all_s0)
        if plan is None:
            return None
        path, steps = plan.path, plan.steps
        s1 = self._up(all_s0[list(path)], 1) if self.levels else all_s0[list(path)]
        return Route(tuple(cells[i] for i in path), steps, tuple(upper), bool(is_goal[path[-1]]), evaluations, s1)

    @torch.no_grad()
    def imagine(
        self,
        planner: ImaginedPlanner,
        s0: torch.Tensor,
        goals: torch.Tensor,
        generator: torch.Generator,
        *,
        reach: float,
        hazard_threshold: float | None,
        failed: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
    ) -> Route | None:
        """Level 1's route as hops imagined with level 0's predictor from `s0 [D0]` toward the
        nearest of `goals [G, D0]` (`levels.imagined`): no grid, no rooms, only the models.
        `failed [F, D0]`: subgoals level 0 did not reach this episode. With the hazard guardrail
        on, a hop through a state the hazard classifier flags is never kept; `allowed [A]` are the
        actions hops may use (hard action guardrails remove the rest)."""
        blocked = None
        if hazard_threshold is not None and self.hazard is not None:
            blocked = lambda s: self.hazard.probability(s) > hazard_threshold  # noqa: E731
        to_go = None
        if planner.cfg.heuristic == "level1" and self.critics:
            to_go = lambda s, g: self.critics[0].distance(self._up(s, 1), self._up(g, 1))  # noqa: E731
        plan = planner.plan(
            s0, self.level0, self.critic0.distance, goals, generator, reach=reach, failed=failed, blocked=blocked, allowed=allowed, to_go=to_go,
        )
        if plan is None:
            return None
        states, steps = plan.states, plan.steps
        if 0 < planner.cfg.lead < planner.cfg.hop:  # a nearer, sharper first subgoal along the first hop
            states = torch.cat([plan.lead[planner.cfg.lead - 1][None], states])
            steps = (float(planner.cfg.lead), steps[0] - planner.cfg.lead, *steps[1:])
        s1 = self._up(states, 1) if self.levels else states
        return Route((), steps, (), plan.reached, plan.evaluations, s1, states)

    @torch.no_grad()
    def latent(self, planner: LatentPlanner, s0: torch.Tensor, goals: torch.Tensor, learned: LearnedToGo | None = None) -> Route | None:
        """Level 1's route planned with its own model (`levels.latent`) from level 0's state
        `s0 [D0]` toward the nearest of `goals [G, D0]`: macro-actions through level 1's predictor
        under level 1's critic (corrected by `learned`, when given); the predicted level-1 states
        are the route's targets."""
        level, critic = self.levels[0], self.critics[0]
        plan = planner.plan(level.encode(s0[None])[0], level, critic.distance, level.encode(goals), learned=learned)
        if plan is None:
            return None
        steps = tuple(float(level.period) for _ in range(len(plan.states)))
        return Route((), steps, (), plan.reached, plan.evaluations, plan.states, plan.states, target_level=1)

    def _graph(self, scene, base, held, spacing, doors, avoid):
        key = base.tobytes() + np.asarray(held).tobytes() + bytes([spacing, doors]) + repr(sorted(avoid)).encode()
        if key not in self._cache:
            nodes = waypoints(scene, spacing, doors, avoid)
            s0 = self._encode(nodes.images, held)
            dist = pairwise(self.critic0.distance, s0) if len(s0) else torch.zeros(0, 0)
            self._cache = {key: (nodes, s0, dist)}  # one scene at a time: memory changes as the world does
        return self._cache[key]

    def _hazards(self, base: np.ndarray, held: np.ndarray, threshold: float) -> list[tuple[int, int]]:
        """Cells the hazard classifier flags when the agent is imagined standing on them."""
        key = b"hazards" + base.tobytes() + np.asarray(held).tobytes() + str(threshold).encode()
        if key not in self._hazard_cache:
            free = [(int(x), int(y)) for x, y in zip(*np.nonzero(~np.isin(base[..., 0], (_WALL, _DOOR))))]
            images = np.stack([place(base, c, 0) for c in free]) if free else np.zeros((0, *base.shape), base.dtype)
            p = self.hazard.probability(self._encode(images, held)) if free else torch.zeros(0)
            self._hazard_cache = {key: [c for c, q in zip(free, p.tolist()) if q > threshold]}
        return self._hazard_cache[key]

    def _encode(self, images: np.ndarray, held: np.ndarray) -> torch.Tensor:
        n = len(images)
        if n == 0:
            return torch.zeros(0, self.level0.dim)
        headings = torch.as_tensor(np.array([int(im[agent_pose({"image": im, "direction": 0}).cell][2]) for im in images]))
        carried = torch.as_tensor(np.repeat(np.asarray(held, dtype=np.uint8)[None], n, 0))
        return self.level0.encode(torch.as_tensor(images), headings, carried)

    def _up(self, s0: torch.Tensor, k: int) -> torch.Tensor:
        """Level-k states of level-0 states `[N, D0]`."""
        s = s0
        for level in self.levels[:k]:
            s = level.encode(s)
        return s


def _cross(critic: Critic, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distances from each of `a [A, D]` to each of `b [B, D]`: `[A, B]`."""
    na, nb = len(a), len(b)
    return critic.distance(a[:, None].expand(na, nb, -1).reshape(na * nb, -1), b[None].expand(na, nb, -1).reshape(na * nb, -1)).view(na, nb)

