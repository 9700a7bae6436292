"""Planning an abstract level as moves on a graph of its states (networkx shortest paths).

The nodes are candidate states of the level (e.g. waypoints imagined from the observation); an
edge i -> j exists when the level below can get from i to j: its learned distance is within the
level below's reach (or, with `stretch > 1`, a little beyond it at a steep price, because learned
distances are noisy), so every planned step is a subgoal the level below can achieve. Edge
weights are those distances (plus any node costs, e.g. soft guardrails); blocked nodes (hard
guardrails) are left out. The first node of the shortest path to any goal node is the subgoal
handed down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import networkx as nx
import torch


class GraphPlan(NamedTuple):
    """A shortest route over the graph: node indices from the first subgoal to a goal node."""

    path: tuple[int, ...]  # node indices, start excluded, ending at a goal node
    steps: tuple[float, ...]  # estimated steps of each hop
    total: float  # estimated steps (plus node costs) of the whole route
    evaluations: int  # distance evaluations spent building the graph
    edges: int  # feasible edges found


def pairwise(distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], states: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
    """All-pairs learned distances: `states [N, D]` -> `[N, N]`, entry (i, j) from i to j."""
    n, d = states.shape
    src = states[:, None].expand(n, n, d).reshape(n * n, d)
    dst = states[None].expand(n, n, d).reshape(n * n, d)
    out = torch.cat([distance(src[i : i + chunk], dst[i : i + chunk]) for i in range(0, n * n, chunk)])
    return out.view(n, n)


class GraphPlanner:
    """Shortest feasible route from a start state to any goal node."""

    def __init__(self, reach: float, stretch: float = 1.0, overshoot: float = 1.0):
        self.reach = reach  # the level below's reach, in its distance units (world steps)
        self.stretch = stretch  # hops longer than stretch x reach are never taken
        self.overshoot = overshoot  # price per squared step beyond the reach

    @torch.no_grad()
    def plan(
        self,
        start: torch.Tensor,
        nodes: torch.Tensor,
        goals: torch.Tensor,
        distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        blocked: torch.Tensor | None = None,
        node_cost: torch.Tensor | None = None,
    ) -> GraphPlan | None:
        """start: [D], nodes: [N, D], goals: [N] bool (goal nodes), blocked: [N] bool (never
        enter), node_cost: [N] (added when entering a node). None when no feasible route exists."""
        dist = pairwise(distance, torch.cat([start[None], nodes]))
        plan = self.plan_distances(dist[0, 1:], dist[1:, 1:], goals, blocked, node_cost)
        return None if plan is None else plan._replace(evaluations=(len(nodes) + 1) ** 2)

    def plan_distances(
        self,
        start_row: torch.Tensor,
        dist: torch.Tensor,
        goals: torch.Tensor,
        blocked: torch.Tensor | None = None,
        node_cost: torch.Tensor | None = None,
        edges: torch.Tensor | None = None,
        start_edges: torch.Tensor | None = None,
    ) -> GraphPlan | None:
        """The same from precomputed distances: `start_row [N]` from the start to each node,
        `dist [N, N]` between nodes (callers cache it while the nodes stay the same). `edges
        [N, N]` and `start_edges [N]` (bool), when given, say which hops are possible at all (e.g.
        not through a wall the observation shows)."""
        n = len(dist)
        if goals.shape != (n,) or not goals.any():
            raise ValueError("goals must be a [N] bool mask with at least one goal node")
        blocked = torch.zeros(n, dtype=torch.bool) if blocked is None else blocked
        node_cost = torch.zeros(n) if node_cost is None else node_cost
        # hops up to `stretch` x reach are allowed, at a steeply growing price beyond the reach:
        # the learned distance is noisy, so feasibility is a cost rather than a cliff
        price = dist + self.overshoot * (dist - self.reach).clamp_min(0).pow(2) + node_cost[None]
        ok = (dist <= self.stretch * self.reach) & ~blocked[None] & ~torch.eye(n, dtype=torch.bool)
        if edges is not None:
            ok &= edges
        src, dst = torch.nonzero(ok, as_tuple=True)
        graph = nx.DiGraph()  # node 0 is the start, node i + 1 is nodes[i], n + 1 a sink after the goals
        graph.add_weighted_edges_from(zip((src + 1).tolist(), (dst + 1).tolist(), price[src, dst].tolist()))
        first_price = start_row + self.overshoot * (start_row - self.reach).clamp_min(0).pow(2) + node_cost
        first_ok = (start_row <= self.stretch * self.reach) & ~blocked
        if start_edges is not None:
            first_ok &= start_edges
        first = torch.nonzero(first_ok).squeeze(1)
        graph.add_weighted_edges_from((0, int(j) + 1, float(first_price[j])) for j in first)
        sink = n + 1
        graph.add_weighted_edges_from((int(j) + 1, sink, 0.0) for j in torch.nonzero(goals & ~blocked).squeeze(1))
        if 0 not in graph or sink not in graph:
            return None
        try:
            route = nx.shortest_path(graph, 0, sink, weight="weight")
        except nx.NetworkXNoPath:
            return None
        hops = [r - 1 for r in route[1:-1]]
        steps = [float(start_row[hops[0]])] + [float(dist[a, b]) for a, b in zip(hops[:-1], hops[1:])]
        total = float(sum(graph[a][b]["weight"] for a, b in zip(route[:-2], route[1:-1])))
        return GraphPlan(tuple(hops), tuple(steps), total, n, len(src) + len(first))
