"""Reaching a goal given in the world's goal space (a gymnasium env's `desired_goal`).

The goal is not an observation the level can encode (PointMaze's goal is a point, the
observation a position and a velocity), so the cost reads imagined states back into the goal
space: `GoalReadout(s) -> g`, an MLP trained on the level's own data, whose targets are the
`achieved_goal` the env reports with every observation. `ReadoutCost` is then the distance of
each imagined state's readout to the goal, so the planner compares like with like.
"""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = 128


class GoalReadout(nn.Module):
    """s [N, D] -> the point of the goal space the state amounts to, [N, G]."""

    def __init__(self, dim: int, goal_dim: int, hidden: int = HIDDEN):
        super().__init__()
        self.dim, self.goal_dim = dim, goal_dim
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, goal_dim))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.net(s)


class ReadoutCost:
    """Distance in the goal space from every imagined state's readout to `goal [G]`."""

    name = "goal"

    def __init__(self, readout: GoalReadout, goal: torch.Tensor):
        self.readout, self.goal = readout, goal

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """`s [N, D]` -> `[N]` goal-space distances."""
        return (self.readout(s) - self.goal).norm(dim=-1)

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """No cost-to-go: `[N]` zeros."""
        return torch.zeros(len(s), dtype=s.dtype)
