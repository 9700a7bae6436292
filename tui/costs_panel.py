"""Costs of the current plan, per level: task energy, critic, each guardrail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from textual.widgets import Static

if TYPE_CHECKING:
    from hagent.acting.records import AgentPlan


class CostsPanel(Static):
    """A small table of the chosen plan's cost terms."""

    DEFAULT_CSS = "CostsPanel { height: auto; padding: 0 1; }"

    def show(self, plan: AgentPlan | None) -> None:
        """Tabulate `plan`'s costs (None: empty)."""
        table = Table(title="costs of the chosen plan", expand=True, show_edge=False, pad_edge=False)
        table.add_column("level")
        table.add_column("term")
        table.add_column("value", justify="right")
        if plan is not None:
            for term, value in plan.costs.items():
                table.add_row("0", term, f"{value:.2f}")
            table.add_row("0", "search objective", f"{plan.plan.total:.2f}")
            if plan.route_cost:
                table.add_row("1", "route steps left", f"{plan.route_cost:.0f}")
            elif plan.route:
                table.add_row("1", "route waypoints", str(len(plan.route)))
            for g in plan.guardrails:
                table.add_row("all", f"guardrail: {g}", "hard" if "soft" not in g else "soft")
        self.update(table)
