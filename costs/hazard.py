"""The learned hazard cost: how likely a (real or imagined) level-0 state is a hazard (e.g. lava).

`HazardModel` is a small classifier trained from the hazard labels of the offline data (the
world's `on_lava` flag, a training label only) on both encoded next states and the predictor's
imagined next states, so that it judges the states a planner imagines as well as real ones.
`HazardGuardrail` turns it into a guardrail cost module for any planner objective.
"""

from __future__ import annotations

import torch
from torch import nn

from costs.config import HazardConfig


class HazardModel(nn.Module):
    """An MLP on a level state whose sigmoid is the probability the state is a hazard."""

    def __init__(self, cfg: HazardConfig, dim: int):
        super().__init__()
        self.cfg, self.dim = cfg, dim
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.hidden), nn.GELU(),
            nn.Linear(cfg.hidden, 1),
        )

    def logits(self, s: torch.Tensor) -> torch.Tensor:
        """s: [N, D] -> [N] logits."""
        if s.ndim != 2 or s.shape[1] != self.dim:
            raise ValueError(f"expected [N, {self.dim}] states, got {tuple(s.shape)}")
        return self.net(s).squeeze(-1)

    def probability(self, s: torch.Tensor) -> torch.Tensor:
        """s: [N, D] -> [N] probability of being in a hazard."""
        return torch.sigmoid(self.logits(s))


class CellProbe(nn.Module):
    """Where a (real or imagined) level-0 state puts the agent: a distribution over grid columns
    and rows. Trained from the data's agent-cell labels; region guardrails read imagined states with it."""

    def __init__(self, cfg: HazardConfig, dim: int, side: int = 64):
        super().__init__()
        self.cfg, self.dim, self.side = cfg, dim, side
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 2 * side))

    def logits(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s: [N, D] -> column logits [N, side], row logits [N, side]."""
        if s.ndim != 2 or s.shape[1] != self.dim:
            raise ValueError(f"expected [N, {self.dim}] states, got {tuple(s.shape)}")
        out = self.net(s)
        return out[:, : self.side], out[:, self.side :]

    def probability_in(self, s: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        """Probability that the agent is in the cells marked in `cells [W, H]` (bool): `[N]`."""
        col, row = (torch.softmax(x, -1) for x in self.logits(s))
        w, h = cells.shape
        joint = col[:, :w, None] * row[:, None, :h]  # (N, W, H): columns and rows taken as independent
        return (joint * cells.to(joint.dtype)).sum((1, 2))
