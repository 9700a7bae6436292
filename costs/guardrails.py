"""Guardrails: cost modules that constrain every plan of every level.

Each guardrail scores imagined steps with `violation(s [N, D], a [N]) -> [N]` in [0, 1] (how
surely the step breaks it). A hard guardrail turns a likely violation (above `threshold`) into a
penalty large enough that any plan that keeps it beats every plan that breaks it: the planner
rejects violating plans whenever it can, and `violates` tells the agent when it could not. A soft
guardrail adds its weighted violation. Penalties add up over a plan (`levels.planner.penalty`).

- `HazardGuardrail`: the learned hazard classifier (e.g. lava) on each imagined state.
- `RegionGuardrail`: the learned cell probe's probability that an imagined state is inside a
  forbidden region (cells grounded from the observation).
- `ActionGuardrail`: forbidden world actions (e.g. toggling doors, picking up).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from costs.hazard import CellProbe, HazardModel


@dataclass(frozen=True)
class GuardrailMode:
    """How a guardrail is enforced: `hard` (reject) or soft (weighted), and its source."""

    hard: bool = True
    weight: float = 1000.0  # hard: the penalty of one violating step; soft: the weight of the violation
    threshold: float = 0.5  # hard: violation probability above which a step counts as a violation
    operator: bool = False  # set by the operator's config (no instruction can remove it)


class Guardrail:
    """Base: `violation` in [0, 1] per imagined step, turned into a penalty by its mode."""

    name = "guardrail"

    def __init__(self, mode: GuardrailMode, describe: str):
        self.mode, self.description = mode, describe

    def violation(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """How surely each imagined step (state `s [N, D]` reached by action `a [N]`) breaks the guardrail: `[N]`."""
        raise NotImplementedError

    def penalty(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The guardrail's penalty for each imagined step: `[N]`."""
        v = self.violation(s, a)
        if self.mode.hard:
            # the violation itself breaks ties between violating plans: the safest of them ranks first
            return self.mode.weight * (v > self.mode.threshold).to(v.dtype) + v
        return self.mode.weight * v

    def violates(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Which imagined steps count as violations: `[N]` bool."""
        return self.violation(s, a) > self.mode.threshold

    # a guardrail is also a cost module (zero task cost): the UI's cost panel lists it
    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Same as `penalty` (for cost breakdowns)."""
        return self.penalty(s, a)

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """Guardrails have no cost-to-go: zeros `[N]`."""
        return torch.zeros(len(s), dtype=s.dtype)


class HazardGuardrail(Guardrail):
    """Keep out of hazards: the learned hazard probability of each imagined state."""

    def __init__(self, model: HazardModel, mode: GuardrailMode, describe: str = "avoid lava"):
        super().__init__(mode, describe)
        self.model = model
        self.name = "hazard"

    def violation(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Probability that each imagined state is a hazard: `[N]`."""
        return self.model.probability(s)


class RegionGuardrail(Guardrail):
    """Stay out of a region: the cell probe's probability that each imagined state is inside it."""

    def __init__(self, probe: CellProbe, cells: torch.Tensor, mode: GuardrailMode, describe: str):
        super().__init__(mode, describe)
        self.probe, self.cells = probe, cells.bool()  # [W, H]
        self.name = "region"

    def violation(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Probability that each imagined state has the agent inside the region: `[N]`."""
        return self.probe.probability_in(s, self.cells)


class ActionGuardrail(Guardrail):
    """Never take certain world actions."""

    def __init__(self, actions: tuple[int, ...], mode: GuardrailMode, describe: str):
        super().__init__(mode, describe)
        self.actions = torch.as_tensor(actions, dtype=torch.long)
        self.name = "action"

    def violation(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """1 for each step taken by a forbidden action, else 0: `[N]`."""
        return torch.isin(a.long(), self.actions).to(s.dtype)


class Guarded:
    """A planner objective (task costs) with guardrails: step and terminal costs pass through,
    guardrails become `penalty` terms."""

    def __init__(self, objective, guardrails: list[Guardrail]):
        self.objective, self.guardrails = objective, list(guardrails)

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The task objective's step cost: `[N]`."""
        return self.objective.step_cost(s, a)

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """The task objective's cost-to-go: `[N]`."""
        return self.objective.terminal_cost(s)

    def penalty(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Sum of every guardrail's penalty: `[N]`."""
        total = torch.zeros(len(s), dtype=s.dtype)
        for g in self.guardrails:
            total = total + g.penalty(s, a)
        return total

    def broken(self, s: torch.Tensor, a: torch.Tensor) -> list[str]:
        """Descriptions of the hard guardrails that steps `s [H, D]`, `a [H]` break."""
        return [g.description for g in self.guardrails if g.mode.hard and bool(g.violates(s, a).any())]

    def breakdown(self, states: torch.Tensor, actions: torch.Tensor) -> dict[str, float]:
        """The task terms' totals plus each guardrail's penalty along one plan."""
        out = self.objective.breakdown(states, actions)
        for g in self.guardrails:
            key = f"guardrail: {g.description}"
            out[key] = out.get(key, 0.0) + float(g.penalty(states, actions).sum())
        return out
