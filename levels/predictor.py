"""`ActionPredictor`: the level's action-conditioned forward model (s, a, z) -> s'."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from levels.config import PredictorConfig


class _Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(F.gelu(self.fc1(self.norm(h))))


class ActionPredictor(nn.Module):
    """Residual MLP predicting the next state as `s + delta(s, a, z)`: most actions change little,
    so a residual keeps long rollouts close to the identity unless the data says otherwise."""

    def __init__(self, config: PredictorConfig, dim: int, actions: int, latent_dim: int = 0, continuous: bool = False):
        super().__init__()
        self.config, self.dim, self.actions, self.latent_dim = config, dim, actions, latent_dim
        self.continuous = continuous
        # discrete actions are ids with a learned embedding; continuous ones are vectors, embedded linearly
        self.action = nn.Linear(actions, config.action_embed) if continuous else nn.Embedding(actions, config.action_embed)
        self.inp = nn.Linear(dim + config.action_embed + latent_dim, config.hidden)
        self.blocks = nn.Sequential(*(_Block(config.hidden) for _ in range(config.blocks)))
        self.out = nn.Sequential(nn.LayerNorm(config.hidden), nn.Linear(config.hidden, dim))

    def predict(self, s: torch.Tensor, a: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """s: [B, D], a: [B] action ids (or [B, A] vectors when continuous), z: [B, Z] or None
        (zeros) -> s': [B, D]."""
        B = s.shape[0]
        a_shape = (B, self.actions) if self.continuous else (B,)
        if s.shape != (B, self.dim) or a.shape != a_shape:
            raise ValueError(f"expected s [B, {self.dim}] and a {list(a_shape)}, got {tuple(s.shape)} and {tuple(a.shape)}")
        if z is None:
            z = s.new_zeros(B, self.latent_dim)
        elif z.shape != (B, self.latent_dim):
            raise ValueError(f"z must be [B, {self.latent_dim}], got {tuple(z.shape)}")
        embedded = self.action(a.to(s.dtype)) if self.continuous else self.action(a.long())
        h = self.inp(torch.cat([s, embedded, z], dim=-1))
        return s + self.out(self.blocks(h))

    def forward(self, s: torch.Tensor, a: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Same as `predict`."""
        return self.predict(s, a, z)
