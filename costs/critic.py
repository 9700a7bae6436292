"""The trainable critic: a learned cost-to-go between two level states.

`Critic.distance(s, g)` estimates how many world steps separate state `s` from goal state `g`.
It is trained from the offline, reward-free data by hindsight relabelling: a later state of an
episode becomes the goal of an earlier one, labelled with the number of steps between them
(see `hagent.labels`). Planners use it on imagined states, which is how a short horizon still
heads for a goal far beyond it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from costs.config import CriticConfig


class Critic(nn.Module):
    """An MLP on `[s, g, s - g, s * g]` whose softplus output is the estimated steps from s to g."""

    def __init__(self, cfg: CriticConfig, dim: int):
        super().__init__()
        self.cfg, self.dim = cfg, dim
        layers: list[nn.Module] = [nn.LayerNorm(4 * dim)]
        width = 4 * dim
        for _ in range(cfg.layers):
            layers += [nn.Linear(width, cfg.hidden), nn.GELU()]
            width = cfg.hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def distance(self, s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Estimated steps from each `s [N, D]` to its `g [N, D]`: `[N]`, never negative."""
        if s.shape != g.shape or s.shape[-1] != self.dim:
            raise ValueError(f"expected s and g [N, {self.dim}], got {tuple(s.shape)} and {tuple(g.shape)}")
        return F.softplus(self.net(torch.cat([s, g, s - g, s * g], dim=-1))).squeeze(-1)

    def nearest(self, s: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """Estimated steps from each `s [N, D]` to the closest of `goals [G, D]`: `[N]`."""
        n, g = len(s), len(goals)
        pairs = self.distance(
            s[:, None].expand(n, g, self.dim).reshape(n * g, self.dim),
            goals[None].expand(n, g, self.dim).reshape(n * g, self.dim),
        )
        return pairs.reshape(n, g).min(1).values
