"""Task costs: energies between imagined states and the goal states grounded from the instruction.

`GoalEnergy` is the intrinsic task cost: the squared latent distance to the nearest goal state.
`GoalCritic` is the trained critic's estimate of the steps still needed, used on every imagined
step and as the cost-to-go after the horizon.
"""

from __future__ import annotations

import torch

from costs.critic import Critic


class GoalEnergy:
    """Mean squared distance in representation space to the nearest goal: `[N]`."""

    name = "task"

    def __init__(self, goals: torch.Tensor):
        self.goals = goals  # [G, D]

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Energy of each imagined state `s [N, D]`: `[N]`."""
        return torch.cdist(s, self.goals).pow(2).min(1).values / s.shape[-1]

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """The energy has no cost-to-go: zeros `[N]`."""
        return torch.zeros(len(s), dtype=s.dtype, device=s.device)


class GoalCritic:
    """The critic's estimate of steps from each imagined state to the nearest goal."""

    name = "critic"

    def __init__(self, critic: Critic, goals: torch.Tensor, terminal: bool = True):
        self.critic, self.goals, self.terminal = critic, goals, terminal

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Steps still needed after each imagined step: `[N]`."""
        return self.critic.nearest(s, self.goals)

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """Steps still needed after the horizon: `[N]` (zeros when `terminal` is off)."""
        if not self.terminal:
            return torch.zeros(len(s), dtype=s.dtype, device=s.device)
        return self.critic.nearest(s, self.goals)
