"""Cost modules and their weighted composition into a planner `Objective`.

A cost module scores imagined states: `step_cost(s [N, D], a [N]) -> [N]` and, for modules
that estimate cost-to-go (the critic), `terminal_cost(s [N, D]) -> [N]`. `CostStack` sums them
with weights and keeps a per-term breakdown for the UI and the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


class CostModule(Protocol):
    """One cost term over imagined states (lower is better)."""

    name: str

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Cost of arriving in `s [N, D]` by action `a [N]`: `[N]`."""
        ...

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """Cost-to-go from a horizon's last state `s [N, D]`: `[N]` (zeros if the term has none)."""
        ...


@dataclass(frozen=True)
class WeightedCost:
    """A cost module with its weight in the sum."""

    module: CostModule
    weight: float


class CostStack:
    """The weighted sum of cost modules; an `Objective` for `levels.planner`."""

    def __init__(self, terms: list[WeightedCost]):
        self.terms = list(terms)

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Weighted sum of every term's step cost: `[N]`."""
        total = torch.zeros(len(s), dtype=s.dtype)
        for term in self.terms:
            total = total + term.weight * term.module.step_cost(s, a)
        return total

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """Weighted sum of every term's cost-to-go: `[N]`."""
        total = torch.zeros(len(s), dtype=s.dtype)
        for term in self.terms:
            total = total + term.weight * term.module.terminal_cost(s)
        return total

    def breakdown(self, states: torch.Tensor, actions: torch.Tensor) -> dict[str, float]:
        """Each term's weighted total along one plan: `states [H, D]`, `actions [H]`."""
        out = {}
        for term in self.terms:
            steps = term.module.step_cost(states, actions).sum()
            out[term.module.name] = float(term.weight * (steps + term.module.terminal_cost(states[-1:]).sum()))
        return out
