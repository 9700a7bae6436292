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
        return _nearest(self.distance, s, goals)


class QuasimetricCritic(nn.Module):
    """A cost-to-go that is a quasimetric by construction: `d(s, s) = 0` and the triangle
    inequality `d(s, g) <= d(s, m) + d(m, g)` hold for every state, so distances learned over
    short hops compose into long ones (QRL: Wang et al., 2023). An MLP maps a state to
    `components x intervals` numbers; each component measures the union of the intervals
    `[f(s)_j, max(f(s)_j, f(g)_j)]` (an interval quasimetric embedding, IQE), and the distance is
    the mean of the components' largest and average measures, in steps of the level below."""

    def __init__(self, dim: int, hidden: int = 256, layers: int = 2, components: int = 32, intervals: int = 16):
        super().__init__()
        self.dim, self.components, self.intervals = dim, components, intervals
        blocks: list[nn.Module] = [nn.LayerNorm(dim)]
        width = dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        blocks.append(nn.Linear(width, components * intervals))
        self.net = nn.Sequential(*blocks)

    def distance(self, s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Estimated steps from each `s [N, D]` to its `g [N, D]`: `[N]`, never negative."""
        if s.shape != g.shape or s.shape[-1] != self.dim:
            raise ValueError(f"expected s and g [N, {self.dim}], got {tuple(s.shape)} and {tuple(g.shape)}")
        x = self.net(s).view(len(s), self.components, self.intervals)
        y = self.net(g).view(len(g), self.components, self.intervals)
        measure = _union_of_intervals(x, y)  # [N, components]
        return 0.5 * (measure.max(-1).values + measure.mean(-1))

    def nearest(self, s: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """Estimated steps from each `s [N, D]` to the closest of `goals [G, D]`: `[N]`."""
        return _nearest(self.distance, s, goals)


def _nearest(distance, s: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
    """`distance(s, g)` from each of `s [N, D]` to the closest of `goals [G, D]`: `[N]`."""
    n, g, dim = len(s), len(goals), s.shape[-1]
    pairs = distance(s[:, None].expand(n, g, dim).reshape(n * g, dim), goals[None].expand(n, g, dim).reshape(n * g, dim))
    return pairs.reshape(n, g).min(1).values


def _union_of_intervals(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Length of the union of the intervals `[x_j, y_j]` with `x_j < y_j` (empty otherwise), per
    leading index: `x, y [..., M]` -> `[...]`. A sweep over the sorted ends: the union covers a
    stretch wherever more intervals have opened than closed."""
    m = x.shape[-1]
    ends = torch.cat([x, y], -1)  # [..., 2M]
    order = ends.argsort(-1)
    points = ends.gather(-1, order)
    is_open = (x < y).to(x.dtype)
    step = is_open.gather(-1, order % m) * torch.where(order < m, 1.0, -1.0)  # +1 an interval opens, -1 it closes
    covered = (step.cumsum(-1) > 0.5).to(x.dtype)  # after each sorted point
    before = torch.cat([torch.zeros_like(covered[..., :1]), covered[..., :-1]], -1)
    return (points * (before - covered)).sum(-1)  # sum over stretches of (right end - left end)
