"""The JEPA objective for a level: multi-step prediction in representation space, kept from
collapsing by VICReg variance/covariance terms (plus optional EMA targets and inverse dynamics).

Nothing is reconstructed: the loss compares predicted embeddings with target embeddings only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from levels.config import JEPAConfig
from levels.encoder import GridEncoder
from levels.level import Level


class VICRegTerms(NamedTuple):
    """Anti-collapse statistics of a batch of embeddings."""

    variance: torch.Tensor  # scalar: mean over dims of relu(std_target - std_d)
    covariance: torch.Tensor  # scalar: sum of squared off-diagonal covariances / D
    std: torch.Tensor  # scalar: mean per-dimension std


def same(x: torch.Tensor) -> torch.Tensor:
    """The identity: a single process's batch is the global batch."""
    return x


def vicreg_terms(s: torch.Tensor, std_target: float = 1.0, eps: float = 1e-4) -> VICRegTerms:
    """s: [N, D] -> the VICReg variance hinge, covariance penalty and mean std (all differentiable)."""
    N, D = s.shape
    if N < 2:
        raise ValueError("VICReg terms need at least 2 samples")
    with torch.autocast(s.device.type, enabled=False):  # batch statistics in float32, also under bf16 autocast
        return _vicreg(s.float(), std_target, eps)


def _vicreg(s: torch.Tensor, std_target: float, eps: float) -> VICRegTerms:
    N, D = s.shape
    s = s - s.mean(dim=0)
    std = torch.sqrt(s.var(dim=0) + eps)  # (D,)
    cov = (s.T @ s) / (N - 1)  # (D, D)
    off_diagonal = cov - torch.diag(torch.diagonal(cov))
    return VICRegTerms(
        variance=F.relu(std_target - std).mean(),
        covariance=off_diagonal.pow(2).sum() / D,
        std=std.mean(),
    )


@torch.no_grad()
def effective_rank(s: torch.Tensor) -> float:
    """s: [N, D] -> exp of the entropy of the normalized eigenvalues of its covariance, in [1, D].

    D when every direction carries the same variance, 1 when all variance lies on one line.
    """
    s = s.detach().double()
    s = s - s.mean(dim=0)
    cov = (s.T @ s) / max(s.shape[0] - 1, 1)
    eig = torch.linalg.eigvalsh(cov).clamp(min=0)
    total = eig.sum()
    if not torch.isfinite(total) or total <= 0:
        return 1.0 if torch.isfinite(total) else float("nan")
    p = eig / total
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return float(entropy.exp())


class InverseDynamics(nn.Module):
    """Predicts the action a_t from (s_t, s_{t+1}); its loss keeps action-relevant features in s.

    Discrete actions: logits and cross-entropy. Continuous ones: the action vector and its squared
    error (in units of the actions' own variance, so the loss scale doesn't depend on the bound).
    """

    def __init__(self, dim: int, actions: int, hidden: int, continuous: bool = False):
        super().__init__()
        self.continuous = continuous
        self.net = nn.Sequential(nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, actions))

    def logits(self, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
        """s, s_next: [N, D] -> action logits [N, A] (the predicted action vector when continuous)."""
        return self.net(torch.cat([s, s_next], dim=-1))

    def loss(self, s: torch.Tensor, s_next: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s, s_next: [N, D], actions: [N] ids or [N, A] vectors -> (loss, accuracy). Accuracy is
        the share of ids guessed right, or for vectors the explained variance 1 - error/variance."""
        out = self.logits(s, s_next)
        if not self.continuous:
            return F.cross_entropy(out, actions), (out.argmax(-1) == actions).float().mean().detach()
        actions = actions.to(out.dtype)
        scale = actions.var(dim=0).sum().clamp_min(1e-6)
        loss = (out - actions).pow(2).sum(-1).mean() / scale
        return loss, (1.0 - loss).detach()


class JEPALoss(NamedTuple):
    """One batch's objective and its parts (scalars unless noted)."""

    total: torch.Tensor
    prediction: torch.Tensor  # MSE of rolled-out vs target embeddings, mean over steps
    prediction_per_step: torch.Tensor  # [T-1], MSE at rollout step 1..T-1 (detached)
    prediction_relative: torch.Tensor  # prediction / mean target variance: scale-free (detached)
    variance: torch.Tensor
    covariance: torch.Tensor
    inverse: torch.Tensor  # cross-entropy of the inverse-dynamics head
    delta: torch.Tensor  # variance + covariance terms of step differences (0 when disabled)
    inverse_accuracy: torch.Tensor  # share right (discrete) or explained variance (continuous), detached
    std: torch.Tensor  # mean per-dimension std of the online embeddings (detached)
    embeddings: torch.Tensor  # [B*T, D] online embeddings of the batch (detached), for rank logging


class JEPA(nn.Module):
    """Trains a `Level`: encode a window, roll the predictor from s_0 with the window's actions and
    compare each predicted s_t with the target embedding of obs_t."""

    def __init__(self, config: JEPAConfig, level: Level, inverse: InverseDynamics):
        super().__init__()
        self.config = config
        self.level = level
        self.inverse = inverse
        # With ema=0 the online encoder gives the targets and VICReg alone prevents collapse.
        self.target_encoder: GridEncoder | None = None
        if config.ema > 0:
            self.target_encoder = copy.deepcopy(level.encoder).requires_grad_(False)

    @classmethod
    def build(cls, config: JEPAConfig, level: Level) -> JEPA:
        """The objective around `level`, with a fresh inverse-dynamics head."""
        return cls(config, level, InverseDynamics(level.dim, level.actions, config.inverse_hidden, level.continuous))

    def loss(
        self, image: torch.Tensor, direction: torch.Tensor | None, action: torch.Tensor, carried: torch.Tensor | None = None,
        gather: Callable[[torch.Tensor], torch.Tensor] = same,
    ) -> JEPALoss:
        """image: [B, T, W, H, 3], direction: [B, T] (None for pixel views), action: [B, T] ids or
        [B, T, A] vectors (action t leads from obs t to t+1), carried: [B, T, 3] or None (hands
        empty). `gather` turns this process's rows into the global batch's (data-parallel
        training), so the VICReg statistics are the global ones."""
        cfg = self.config
        B, T = action.shape[:2]
        if T < 2:
            raise ValueError("a JEPA window needs at least 2 observations")
        flat_image = image.flatten(0, 1)
        flat_dir = None if direction is None else direction.flatten(0, 1)
        flat_held = None if carried is None else carried.flatten(0, 1)
        s = self.level.encode(flat_image, flat_dir, flat_held)  # (B*T, D)
        D = s.shape[-1]
        if self.target_encoder is not None:
            with torch.no_grad():
                target = self.target_encoder.encode(flat_image, flat_dir, flat_held).view(B, T, D)
        else:
            target = s.view(B, T, D)
        s = s.view(B, T, D)

        steps = action[:, : T - 1]  # (B, T-1): a_t leads to obs t+1
        z = self.level.infer_z(s[:, 0], steps, target[:, 1:]) if self.level.latent_dim else None
        predicted = self.level.rollout(s[:, 0], steps, z)  # (B, T-1, D)
        per_step = (predicted - target[:, 1:]).pow(2).mean(dim=(0, 2))  # (T-1,)
        prediction = per_step.mean()

        everyone = gather(s.reshape(B * T, D))
        vic = vicreg_terms(everyone, cfg.std_target)
        delta = torch.zeros((), device=s.device)
        if cfg.delta_weight > 0:
            dvic = vicreg_terms(gather((s[:, 1:] - s[:, :-1]).reshape(-1, D)), cfg.delta_std_target)
            delta = dvic.variance + dvic.covariance
        inverse, inverse_accuracy = self.inverse.loss(s[:, :-1].reshape(-1, D), s[:, 1:].reshape(-1, D), steps.flatten(0, 1))

        total = (
            cfg.pred_weight * prediction
            + cfg.var_weight * vic.variance
            + cfg.cov_weight * vic.covariance
            + cfg.inverse_weight * inverse
            + cfg.delta_weight * delta
        )
        target_var = target.detach().reshape(B * T, D).var(dim=0).mean()
        return JEPALoss(
            total=total,
            prediction=prediction,
            prediction_per_step=per_step.detach(),
            prediction_relative=(prediction.detach() / (target_var + 1e-8)),
            variance=vic.variance,
            covariance=vic.covariance,
            inverse=inverse,
            delta=delta,
            inverse_accuracy=inverse_accuracy,
            std=vic.std.detach(),
            embeddings=everyone.detach(),
        )

    @torch.no_grad()
    def update_target(self) -> None:
        """Move the EMA target encoder towards the online one (no-op without EMA)."""
        if self.target_encoder is None:
            return
        decay = self.config.ema
        for target, online in zip(self.target_encoder.parameters(), self.level.encoder.parameters()):
            target.lerp_(online, 1.0 - decay)
