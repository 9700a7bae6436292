"""The plan as a tree: the task's stages -> level 1's waypoints -> level 0's actions, rebuilt
each time the agent re-plans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.message import Message
from textual.widgets import Tree

from hagent.acting.records import short

if TYPE_CHECKING:
    from hagent.acting.records import AgentPlan


class PlanTree(Tree):
    """Top-level subgoals, lower-level subgoals and actions of the agent's current plan."""

    DEFAULT_CSS = "PlanTree { height: 1fr; }"

    def __init__(self, **kwargs):
        super().__init__("plan", **kwargs)
        self.root.expand()
        self.shown: AgentPlan | None = None

    class Resized(Message):
        """The tree got a new size (too short to show a row, the app says so)."""

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def show(self, plan: AgentPlan | None) -> None:
        """Rebuild the tree for `plan` (None: empty)."""
        self.shown = plan
        self.clear()
        if plan is None:
            self.root.set_label("plan: none yet")
            return
        self.root.set_label(f"task: {plan.task.describe()}" if plan.task is not None else f"plan: {plan.levels} level(s)")
        moves = " ".join(short(a) for a in plan.actions[:6])
        for i, stage in enumerate(plan.stages):
            marker = "▶ " if i == plan.stage else ("✓ " if i < plan.stage else "  ")
            node = self.root.add(f"{marker}{stage}", expand=i == plan.stage)
            if i != plan.stage:
                continue
            for k, upper in enumerate(plan.upper, start=2):
                node.add_leaf(f"level {k} waypoints: {' → '.join(map(str, upper)) or 'none'}")
            if plan.route:
                left = f", ~{plan.route_cost:.0f} steps left" if plan.route_cost else ""
                level1 = node.add(f"level 1 route: {len(plan.route)} waypoint(s){left}", expand=True)
                for j, where in enumerate(plan.route[:8]):
                    sub = level1.add(f"{'subgoal ' if j == 0 else ''}{short(where)}", expand=j == 0)
                    if j == 0:
                        sub.add_leaf(f"level 0: {moves}")
            else:
                node.add_leaf(f"level 0: {moves}")
        for g in plan.guardrails:
            self.root.add_leaf(f"guardrail: {g}")
