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


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out))


class GoalReadout(nn.Module):
    """s [N, D] -> the point of the goal space the state amounts to, [N, G]."""

    def __init__(self, dim: int, goal_dim: int, hidden: int = HIDDEN):
        super().__init__()
        self.dim, self.goal_dim = dim, goal_dim
        self.net = _mlp(dim, hidden, goal_dim)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.net(s)


class GoalEmbedding(nn.Module):
    """The other way round, for a level that plans toward states: a goal-space point `g [N, G]`
    -> the state `[N, D]` of that level the data's observations achieving `g` encode to (level 1
    of a gym world plans toward it: the goal is a point, its planner compares states). An MLP
    fit on the data's own (achieved_goal, state) pairs, like the readout."""

    def __init__(self, goal_dim: int, dim: int, hidden: int = HIDDEN):
        super().__init__()
        self.goal_dim, self.dim = goal_dim, dim
        self.net = _mlp(goal_dim, hidden, dim)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return self.net(g)


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
