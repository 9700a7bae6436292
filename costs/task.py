"""Task costs: energies between imagined states and the goal states grounded from the instruction.

`GoalEnergy` is the intrinsic task cost: the squared latent distance to the nearest goal state.
`GoalCritic` is the trained critic's estimate of the steps still needed, used on every imagined
step and as the cost-to-go after the horizon. `AboveEnergy` and `AboveCritic` cost imagined
states against a subgoal the level above handed down, in the level above's own space.
"""

from __future__ import annotations

from collections.abc import Callable

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


class AboveEnergy:
    """Energy in the level above's space: mean squared distance between the level above's encoding
    of each imagined state and its subgoal (`encode` maps `[N, D]` states to `[N, D_above]`)."""

    name = "subgoal"

    def __init__(self, encode: Callable[[torch.Tensor], torch.Tensor], subgoal: torch.Tensor):
        self.encode, self.subgoal = encode, subgoal  # [D_above]

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Energy of each imagined state `s [N, D]` to the subgoal: `[N]`."""
        return (self.encode(s) - self.subgoal).pow(2).mean(-1)

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """The energy has no cost-to-go: zeros `[N]`."""
        return torch.zeros(len(s), dtype=s.dtype, device=s.device)


class AboveCritic:
    """The level above's critic: its steps from the level above's encoding of each imagined state
    to its subgoal."""

    name = "subgoal critic"

    def __init__(self, critic: Critic, encode: Callable[[torch.Tensor], torch.Tensor], subgoal: torch.Tensor):
        self.critic, self.encode, self.subgoal = critic, encode, subgoal

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Steps still needed after each imagined step: `[N]`."""
        return self.critic.distance(self.encode(s), self.subgoal.expand(len(s), -1))

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """Zeros `[N]`: the step costs already carry it."""
        return torch.zeros(len(s), dtype=s.dtype, device=s.device)
