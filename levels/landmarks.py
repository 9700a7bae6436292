"""A level above a goal-space level 0: a graph of landmarks learned from the agent's own moves.

Where walls are is not in a gymnasium env's observation (PointMaze observes a position and a
velocity), so a level that plans long routes has to remember where its moves took it. This
level's model is that memory:

* **states** are landmarks: points of the goal space spread over everything level 0's readout
  saw in the reward-free data (farthest-point sampling, `spacing` apart);
* **actions** are hops between landmarks, one per pair that the data moved between in one
  level-0 step (seen at least `min_count` times); a hop's cost is its length.

Planning is a shortest path (networkx Dijkstra) from the goal's landmark; the action it hands
down, the subgoal of level 0, is the landmark `hops` ahead on the route, or the goal itself once
the route is that short; from a landmark the route can't reach (the data never joined it
to the rest), the nearest landmark it can. Nothing here knows the maze: no wall, cell or rule of the world, only
the points the data visited and the moves it made.
"""

from __future__ import annotations

from typing import NamedTuple

import networkx as nx
import torch


class Route(NamedTuple):
    """Level 1's plan toward one goal: every landmark's way to it (Dijkstra from the goal's landmark)."""

    goal: torch.Tensor  # [G] the goal point
    target: int  # the landmark nearest the goal
    paths: dict[int, list[int]]  # landmark -> its route to `target` (itself first); unreachable ones absent
    lengths: dict[int, float]  # landmark -> route length to `target` (goal-space units)


class Subgoal(NamedTuple):
    """Level 1's action: the point handed to level 0, and where on the route it lies."""

    point: torch.Tensor  # [G] level 0's subgoal
    path: tuple[int, ...]  # the route from the landmark nearest the agent (landmark indices, that one first)
    landmark: int  # the landmark handed down; -1 when it is the goal itself
    start: int  # the landmark nearest the agent


class LandmarkGraph:
    """Landmarks `points [N, G]` joined by the hops `edges [E, 2]` the data made."""

    def __init__(self, points: torch.Tensor, edges: torch.Tensor):
        if points.ndim != 2 or edges.ndim != 2 or edges.shape[-1] != 2:
            raise ValueError(f"points must be [N, G] and edges [E, 2], got {tuple(points.shape)} and {tuple(edges.shape)}")
        self.points, self.edges = points.float(), edges.long()
        self.graph = nx.Graph()
        self.graph.add_nodes_from(range(len(points)))
        lengths = (self.points[self.edges[:, 0]] - self.points[self.edges[:, 1]]).norm(dim=-1).tolist()
        self.graph.add_weighted_edges_from((int(i), int(j), w) for (i, j), w in zip(self.edges.tolist(), lengths))

    @classmethod
    def build(cls, episodes: list[torch.Tensor], spacing: float, min_count: int = 2) -> LandmarkGraph:
        """From the goal-space points of each episode's level-0 steps (`[L, G]` each)."""
        everything = torch.cat(episodes)
        points = farthest_points(everything, spacing)
        counts: dict[tuple[int, int], int] = {}
        for trace in episodes:
            near = nearest(points, trace)
            moved = near[1:] != near[:-1]
            for i, j in zip(near[:-1][moved].tolist(), near[1:][moved].tolist()):
                key = (min(i, j), max(i, j))
                counts[key] = counts.get(key, 0) + 1
        kept = [pair for pair, n in counts.items() if n >= min_count]
        edges = torch.tensor(kept, dtype=torch.long).reshape(-1, 2)
        return cls(points, edges)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors that rebuild this graph (for a safetensors file)."""
        return {"points": self.points, "edges": self.edges}

    def route(self, goal: torch.Tensor, dropped: frozenset[tuple[int, int]] = frozenset()) -> Route:
        """Every landmark's shortest way to the landmark nearest `goal [G]`, without the hops in
        `dropped` (pairs `(i, j)`, `i < j`: hops level 0 tried and failed)."""
        target = int(nearest(self.points, goal[None])[0])
        graph = nx.restricted_view(self.graph, (), list(dropped)) if dropped else self.graph
        lengths, paths = nx.single_source_dijkstra(graph, target)
        return Route(goal, target, {node: path[::-1] for node, path in paths.items()}, dict(lengths))

    def subgoal(self, route: Route, here: torch.Tensor, hops: int, bend: float = float("inf")) -> Subgoal:
        """Level 1's action from goal-space point `here [G]`: along the route from the landmark
        nearest `here`, the farthest of the next `hops` stops (landmarks, then the goal) that
        `here` sees in a straight line, i.e. every stop before it lies within `bend` of the
        segment toward it. Where the route turns, that is the turn; nothing here knows why
        it turns."""
        start = int(nearest(self.points, here[None])[0])
        path = route.paths.get(start)
        if path is None:  # no way from here (a part of the graph the route can't reach): back onto the nearest one that has
            known = torch.tensor(list(route.paths), dtype=torch.long)
            back = int(known[nearest(self.points[known], here[None])[0]])
            return Subgoal(self.points[back], (), back, start)
        stops = [self.points[n] for n in path[1:]] + [route.goal]
        ids = list(path[1:]) + [-1]
        chosen = 0
        for k in range(min(hops, len(stops))):
            if all(_off_segment(stops[i], here, stops[k]) <= bend for i in range(k)):
                chosen = k
        return Subgoal(stops[chosen], tuple(path), ids[chosen], start)

    def __len__(self) -> int:
        return len(self.points)


def _off_segment(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> float:
    """Distance from point `p [G]` to the segment from `a` to `b`."""
    ab = b - a
    t = float(((p - a) @ ab) / (ab @ ab).clamp_min(1e-12))
    return float((p - (a + min(max(t, 0.0), 1.0) * ab)).norm())


def farthest_points(points: torch.Tensor, spacing: float) -> torch.Tensor:
    """A subset of `points [M, G]` every point lies within `spacing` of (greedy farthest-point
    sampling from the first point), `[N, G]`."""
    chosen = [0]
    gap = (points - points[0]).norm(dim=-1)
    while True:
        far = int(gap.argmax())
        if float(gap[far]) <= spacing:
            break
        chosen.append(far)
        gap = torch.minimum(gap, (points - points[far]).norm(dim=-1))
    return points[chosen]


def nearest(points: torch.Tensor, queries: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Index of the landmark in `points [N, G]` nearest each of `queries [Q, G]`: `[Q]` long."""
    return torch.cat([torch.cdist(queries[i : i + chunk], points).argmin(dim=1) for i in range(0, len(queries), chunk)])


class LandmarkPlanner:
    """Level 1 acting toward one goal: hands level 0 a subgoal from the route each time it is
    asked, and learns from level 0's failures. When level 0 gets no closer to a subgoal for
    `patience` plans, level 1 hands down the very next stop instead; when that fails too, it
    drops the hop toward it (the data made it, but level 0 can't) and routes again without it."""

    def __init__(self, graph: LandmarkGraph, goal: torch.Tensor, hops: int, bend: float, patience: int, progress: float):
        self.graph, self.goal = graph, goal
        self.hops, self.bend, self.patience, self.progress = hops, bend, patience, progress
        self.dropped: set[tuple[int, int]] = set()
        self.route = graph.route(goal)
        self.current: Subgoal | None = None
        self.best, self.waited = float("inf"), 0
        self.cautious_at: int | None = None  # the landmark where level 1 last fell back to one stop ahead

    def plan(self, here: torch.Tensor) -> Subgoal:
        """Level 0's subgoal from goal-space point `here [G]`."""
        if self.current is not None:
            distance = float((here - self.current.point).norm())
            if distance < self.best - self.progress:
                self.best, self.waited = distance, 0
            else:
                self.waited += 1
            if self.waited >= self.patience:
                self._give_up(self.current)
        start = int(nearest(self.graph.points, here[None])[0])
        if self.cautious_at is not None and start != self.cautious_at:
            self.cautious_at = None  # level 0 moved on: look ahead again
        sub = self.graph.subgoal(self.route, here, 1 if self.cautious_at is not None else self.hops, self.bend)
        if self.current is None or sub.landmark != self.current.landmark:
            self.best, self.waited = float((here - sub.point).norm()), 0
        self.current = sub
        return sub

    def _give_up(self, sub: Subgoal) -> None:
        self.waited, self.best = 0, float("inf")
        if self.cautious_at is None:
            self.cautious_at = sub.start
            return
        if len(sub.path) >= 2:
            i, j = sub.path[0], sub.path[1]
            self.dropped.add((min(i, j), max(i, j)))
            self.route = self.graph.route(self.goal, frozenset(self.dropped))
        self.cautious_at = None
