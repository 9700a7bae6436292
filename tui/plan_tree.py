"""The plan as a tree: the task's stages -> level 1's waypoints -> level 0's actions, rebuilt
each time the agent re-plans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Tree

if TYPE_CHECKING:
    from hagent.agent import AgentPlan


class PlanTree(Tree):
    """Top-level subgoals, lower-level subgoals and actions of the agent's current plan."""

    DEFAULT_CSS = "PlanTree { height: 1fr; }"

    def __init__(self, **kwargs):
        super().__init__("plan", **kwargs)
        self.root.expand()
        self.shown: AgentPlan | None = None

    def show(self, plan: AgentPlan | None) -> None:
        """Rebuild the tree for `plan` (None: empty)."""
        self.shown = plan
        self.clear()
        if plan is None:
            self.root.set_label("plan: none yet")
            return
        if not hasattr(plan, "stages"):  # a point world's plan: level 1's places, level 0's moves
            self._show_route(plan)
            return
        self.root.set_label(f"task: {plan.task.describe() if hasattr(plan.task, 'describe') else plan.task}")
        for i, stage in enumerate(plan.stages):
            marker = "▶ " if i == plan.stage else ("✓ " if i < plan.stage else "  ")
            node = self.root.add(f"{marker}{stage}", expand=i == plan.stage)
            if i != plan.stage:
                continue
            for k, upper in enumerate(plan.upper, start=2):
                node.add_leaf(f"level {k} waypoints: {' → '.join(map(str, upper)) or 'none'}")
            if plan.route:
                level1 = node.add(f"level 1 route: {len(plan.route)} waypoint(s)", expand=True)
                for j, cell in enumerate(plan.route):
                    sub = level1.add(f"{'subgoal ' if j == 0 else ''}{cell}", expand=j == 0)
                    if j == 0:
                        sub.add_leaf("level 0: " + " ".join(plan.actions))
            else:
                node.add_leaf("level 0: " + " ".join(plan.actions))
        for g in plan.guardrails:
            self.root.add_leaf(f"guardrail: {g}")

    def _show_route(self, plan) -> None:
        """A continuous-action plan (`hagent.point_agent.PointPlan`): the route, then level 0's first moves."""
        self.root.set_label(f"plan: {plan.levels} level(s)")
        moves = " ".join(f"({a[0]:+.1f},{a[1]:+.1f})" for a in plan.plan.actions[:4].tolist())
        if plan.route:
            level1 = self.root.add(f"level 1 route: {len(plan.route)} place(s), ~{plan.route_cost:.0f} steps left", expand=True)
            for j, place in enumerate(plan.route[:8]):
                where = f"({place[0]:.1f}, {place[1]:.1f})" if isinstance(place, tuple) else str(place)
                sub = level1.add(f"{'subgoal ' if j == 0 else ''}{where}", expand=j == 0)
                if j == 0:
                    sub.add_leaf(f"level 0: {moves}")
        else:
            self.root.add_leaf(f"level 0: {moves}")
