"""`Level`: one H-JEPA level = encoder + action-conditioned predictor + latent z + action space + time scale.

Level 0 speaks the world's language: its actions are the world's (minigrid's 6 discrete actions,
or the point worlds' 2D displacements) and it acts every world step. Planners use only the verbs here: `encode`, `predict`, `rollout`, `infer_z`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from levels.config import LevelConfig
from levels.encoder import GridEncoder, PixelEncoder, VectorEncoder, build_encoder
from levels.predictor import ActionPredictor


class Level(nn.Module):
    """A world model in representation space: `s = encode(obs)`, `s' = predict(s, a, z)`."""

    def __init__(self, config: LevelConfig, encoder: GridEncoder | PixelEncoder | VectorEncoder, predictor: ActionPredictor):
        super().__init__()
        if predictor.dim != encoder.dim or predictor.actions != config.actions:
            raise ValueError("predictor and encoder disagree on D, or predictor on the action count")
        if predictor.latent_dim != config.latent.dim:
            raise ValueError("predictor's latent size differs from config.latent.dim")
        self.config = config
        self.encoder = encoder
        self.predictor = predictor

    @classmethod
    def build(cls, config: LevelConfig) -> Level:
        """A fresh, randomly initialized level from its config."""
        encoder = build_encoder(config.encoder)
        predictor = ActionPredictor(
            config.predictor, config.encoder.dim, config.actions, config.latent.dim, continuous=config.continuous
        )
        return cls(config, encoder, predictor)

    @property
    def dim(self) -> int:
        """Latent size D."""
        return self.encoder.dim

    @property
    def actions(self) -> int:
        """Number of discrete actions (minigrid's 6), or the action vector's size when continuous."""
        return self.config.actions

    @property
    def continuous(self) -> bool:
        """Whether actions are vectors of `actions` floats (else ids in [0, actions))."""
        return self.config.continuous

    @property
    def time_scale(self) -> int:
        """World steps per level step."""
        return self.config.time_scale

    @property
    def latent_dim(self) -> int:
        """Size Z of the latent variable (0: deterministic)."""
        return self.config.latent.dim

    # -- verbs ----------------------------------------------------------------------------
    def encode(self, image: torch.Tensor, direction: torch.Tensor | None = None, carried: torch.Tensor | None = None) -> torch.Tensor:
        """image: [B, W, H, 3] minigrid codes (or [B, H, W, 3] RGB pixels), direction: [B] (grids
        only), carried: [B, 3] or None -> s: [B, D]."""
        return self.encoder.encode(image, direction, carried)

    def encode_observations(self, observations: Sequence[dict]) -> torch.Tensor:
        """A list of world observations (dicts with `image`, and `direction` on grids; `vector` for
        a vector encoder) -> s: [B, D]."""
        device = next(self.parameters()).device
        if isinstance(self.encoder, VectorEncoder):
            return self.encode(torch.as_tensor(np.stack([o["vector"] for o in observations]), device=device))
        image = torch.as_tensor(np.stack([o["image"] for o in observations]), device=device)
        if isinstance(self.encoder, PixelEncoder):
            return self.encode(image)
        direction = torch.as_tensor([int(o["direction"]) for o in observations], device=device)
        carried = None
        if all("carried" in o for o in observations):
            carried = torch.as_tensor(np.stack([o["carried"] for o in observations]), device=device)
        return self.encode(image, direction, carried)

    def predict(self, s: torch.Tensor, a: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """s: [B, D], a: [B] (or [B, A] continuous), z: [B, Z] or None (zeros) -> s': [B, D], one level step ahead."""
        return self.predictor.predict(s, a, z)

    def rollout(self, s0: torch.Tensor, actions: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """s0: [B, D], actions: [B, H] (or [B, H, A] continuous), z: [B, H, Z] or None -> predicted
        s_1..s_H: [B, H, D]."""
        B, H = actions.shape[:2]
        if s0.shape != (B, self.dim):
            raise ValueError(f"s0 must be [B, {self.dim}] with B={B}, got {tuple(s0.shape)}")
        if z is not None and z.shape != (B, H, self.latent_dim):
            raise ValueError(f"z must be [B, H, {self.latent_dim}] = [{B}, {H}, {self.latent_dim}], got {tuple(z.shape)}")
        s, states = s0, []
        for t in range(H):
            s = self.predictor.predict(s, actions[:, t], None if z is None else z[:, t])
            states.append(s)
        return torch.stack(states, dim=1) if states else s0.new_zeros(B, 0, self.dim)

    def infer_z(self, s0: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The latents that best explain an observed future: a few gradient steps from z=0 on
        `mean |rollout(s0, actions, z) - targets|^2 + prior_weight * mean |z|^2`.

        s0: [B, D], actions: [B, H] (or [B, H, A]), targets: [B, H, D] -> z: [B, H, Z] (detached; empty when Z=0).
        """
        B, H = actions.shape[:2]
        cfg = self.config.latent
        z = s0.new_zeros(B, H, cfg.dim)
        if cfg.dim == 0 or H == 0:
            return z
        s0, targets = s0.detach(), targets.detach()
        z.requires_grad_(True)
        with torch.enable_grad():
            for _ in range(cfg.infer_steps):
                energy = (self.rollout(s0, actions, z) - targets).pow(2).mean() + cfg.prior_weight * z.pow(2).mean()
                (grad,) = torch.autograd.grad(energy, z)
                # scaled by B*H because `mean` divides the per-sample gradient by it
                z = (z - cfg.infer_lr * grad * B * H).detach().requires_grad_(True)
        return z.detach()
