"""Abstract levels (k >= 1) of the H-JEPA stack.

A level k encodes the state of level k-1 (`encode`), summarizes a chunk of `period` level k-1
actions into a macro-action latent (`summarize`: the abstract action) and predicts the state one
of its own steps ahead (`predict`). It is trained like level 0: multi-step prediction in its own
representation space with VICReg variance/covariance terms against collapse, reward-free, with
the levels below frozen (`AbstractJEPA`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from levels.config import AbstractLevelConfig, AbstractTrainConfig, JEPAConfig
from levels.jepa import same, vicreg_terms


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out))


class AbstractLevel(nn.Module):
    """Level k >= 1: `encode(s_below)`, `summarize(actions_below)`, `predict(s, u)`.

    `below_actions` is the size of the level below's action: its number of discrete actions
    (level 0: one-hot coded) or its macro-action latent size (`below_discrete=False`).
    """

    def __init__(self, cfg: AbstractLevelConfig, below_dim: int, below_actions: int, below_discrete: bool):
        super().__init__()
        self.cfg, self.below_dim, self.below_actions, self.below_discrete = cfg, below_dim, below_actions, below_discrete
        self.encoder = nn.Sequential(nn.LayerNorm(below_dim), _mlp(below_dim, cfg.hidden, cfg.dim))
        self.macro = _mlp(cfg.period * below_actions, cfg.hidden, cfg.macro_dim)
        self.predictor = _mlp(cfg.dim + cfg.macro_dim, cfg.hidden, cfg.dim)
        self.register_buffer("codes", torch.zeros(cfg.codes, cfg.macro_dim))  # the planner's macro-actions, set after training

    @property
    def dim(self) -> int:
        """Latent size D of this level."""
        return self.cfg.dim

    @property
    def period(self) -> int:
        """Steps of the level below per step of this level."""
        return self.cfg.period

    def encode(self, s_below: torch.Tensor) -> torch.Tensor:
        """s_below: [B, D_below] -> s: [B, D]."""
        if s_below.ndim != 2 or s_below.shape[1] != self.below_dim:
            raise ValueError(f"expected [B, {self.below_dim}] states of the level below, got {tuple(s_below.shape)}")
        return self.encoder(s_below)

    def summarize(self, actions: torch.Tensor) -> torch.Tensor:
        """The macro-action latent of a chunk of level-below actions: `[B, K]` action ids (discrete
        below) or `[B, K, A_below]` latents -> u: [B, M], with K = period."""
        if self.below_discrete:
            if actions.shape[1:] != (self.period,):
                raise ValueError(f"expected [B, {self.period}] action ids, got {tuple(actions.shape)}")
            actions = F.one_hot(actions.long(), self.below_actions).float()  # (B, K, A)
        elif actions.shape[1:] != (self.period, self.below_actions):
            raise ValueError(f"expected [B, {self.period}, {self.below_actions}] latents, got {tuple(actions.shape)}")
        return self.macro(actions.flatten(1))

    def predict(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """s: [B, D], u: [B, M] -> s': [B, D], one step of this level (period steps below) ahead."""
        return s + self.predictor(torch.cat([s, u], dim=-1))


class AbstractLoss(NamedTuple):
    """The terms of one abstract level's JEPA loss."""

    total: torch.Tensor
    prediction: torch.Tensor  # MSE between rolled-out and target embeddings
    prediction_relative: torch.Tensor  # the same over the targets' variance (1 = no better than the mean)
    variance: torch.Tensor
    covariance: torch.Tensor
    std: torch.Tensor
    embeddings: torch.Tensor  # [N, D] detached, for effective rank


def abstract_loss(
    level: AbstractLevel, states_below: torch.Tensor, chunks: torch.Tensor, jepa: JEPAConfig, cfg: AbstractTrainConfig,
    gather: Callable[[torch.Tensor], torch.Tensor] = same,
) -> AbstractLoss:
    """JEPA loss of an abstract level on `states_below [B, H+1, D_below]` (the level below's states
    one level step apart) and `chunks [B, H, K, ...]` (the actions below taken in between).
    `gather` gives the global batch's rows for the VICReg statistics (data-parallel training)."""
    B, T1, _ = states_below.shape
    H = T1 - 1
    s = level.encode(states_below.flatten(0, 1)).view(B, T1, -1)  # (B, H+1, D)
    u = level.summarize(chunks.flatten(0, 1)).view(B, H, -1)  # (B, H, M)
    pred, preds = s[:, 0], []
    for t in range(H):
        pred = level.predict(pred, u[:, t])
        preds.append(pred)
    predicted = torch.stack(preds, 1)  # (B, H, D)
    targets = s[:, 1:]
    prediction = (predicted - targets).pow(2).mean()
    relative = prediction.detach() / targets.detach().var(dim=(0, 1)).mean().clamp_min(1e-8)
    everyone = gather(s.flatten(0, 1))
    reg = vicreg_terms(everyone, jepa.std_target)
    macro = vicreg_terms(gather(u.flatten(0, 1)), jepa.std_target)
    total = (
        jepa.pred_weight * prediction
        + jepa.var_weight * reg.variance
        + jepa.cov_weight * reg.covariance
        + cfg.macro_var_weight * macro.variance
    )
    return AbstractLoss(total, prediction, relative, reg.variance, reg.covariance, reg.std, everyone.detach())
