"""An abstract level plans with its own model (H-JEPA): a search over its macro-actions.

Nothing here knows a world. Level k's action is a macro-action latent `u` that summarizes a
chunk of `period` actions of the level below (`AbstractLevel.summarize`); its predictor moves a
level-k state one level-k step ahead (`AbstractLevel.predict`). The planner searches sequences
of macro-actions drawn from the level's codebook (`AbstractLevel.codes`: centroids of the
macro-actions its training data took, so every imagined step is one training saw) by beam
search, `horizon` level-k steps deep, under level k's cost: imagined steps so far plus a learned
cost-to-go between the predicted state and the goal's level-k state (level k's critic, taught by
the data's own hindsight distances), plus a guardrail penalty on every predicted state. The
cheapest imagined state (or the first one within `arrive` of a goal) ends the plan; the first
predicted state of the way there goes down as the subgoal of the level below, which minimizes
its energy to it in level k's space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from levels.abstract import AbstractLevel
from levels.config import LatentPlanConfig

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LatentRoute(NamedTuple):
    """A chain of macro-actions imagined with an abstract level's predictor."""

    states: torch.Tensor  # [K, D] the predicted level-k state after each macro-action; states[0] goes down
    codes: torch.Tensor  # [K] the codebook entry of each macro-action
    to_go: float  # the cost-to-go from the last state to the nearest goal (level-below steps)
    reached: bool  # the last state is within `arrive` of a goal
    calls: int  # predictor calls spent
    evaluations: int  # cost-to-go evaluations spent


class LatentPlanner:
    """Beam search over an abstract level's macro-action codebook (see the module doc)."""

    def __init__(self, cfg: LatentPlanConfig):
        self.cfg = cfg

    @torch.no_grad()
    def plan(
        self,
        s0: torch.Tensor,
        level: AbstractLevel,
        to_go: Distance,
        goals: torch.Tensor,
        *,
        penalty: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> LatentRoute | None:
        """Plan from the level-k state `s0 [D]` toward the nearest of `goals [G, D]`. `to_go(s, g)`
        is the learned cost-to-go between level-k states (in steps of the level below);
        `penalty` maps predicted states `[N, D]` to guardrail costs `[N]` (inf: a hard guardrail
        forbids the state). None: the level has no codebook, or every imagined step was forbidden."""
        c, codes = self.cfg, level.codes
        if len(codes) == 0:
            return None
        n_codes = len(codes)
        states = s0[None]  # [B, D] the beam's last states
        paths = torch.zeros(1, 0, dtype=torch.long)  # [B, depth] codebook indices
        fined = torch.zeros(1)  # [B] guardrail costs so far
        kept: list[tuple[float, float, torch.Tensor, torch.Tensor, bool]] = []  # (score, to-go, states [depth, D], codes, arrived)
        trail = s0[None, None, :]  # [B, depth+1, D] states along each beam path
        calls = evaluations = 0
        visited = s0[None]  # [V, D] states the search has kept (with `closed`)
        for depth in range(1, c.horizon + 1):
            b = len(states)
            s = level.predict(states.repeat_interleave(n_codes, 0), codes.repeat(b, 1))  # [B*C, D]
            paths = torch.cat([paths.repeat_interleave(n_codes, 0), torch.arange(n_codes).repeat(b)[:, None]], 1)
            trail = torch.cat([trail.repeat_interleave(n_codes, 0), s[:, None]], 1)
            fined = fined.repeat_interleave(n_codes) + (penalty(s) if penalty is not None else 0.0)
            calls += len(s)
            h = _nearest(to_go, s, goals)
            evaluations += len(s) * len(goals)
            score = depth * level.period + h + fined
            score = torch.where(torch.isfinite(fined), score, torch.inf)
            best = int(score.argmin())
            if not torch.isfinite(score[best]):
                break
            if c.arrive_by == "state":  # arrived: the predicted state matches a goal's encoding
                arrived = (_nearest(_euclidean, s, goals) <= c.arrive_radius) & torch.isfinite(score)
                if arrived.any():  # the first depth any way arrives at is the fewest level-k steps
                    best = int(torch.where(arrived, score, torch.inf).argmin())
                    kept.append((float(score[best]), float(h[best]), trail[best, 1:], paths[best], True))
                    break
                kept.append((float(score[best]), float(h[best]), trail[best, 1:], paths[best], False))
            else:
                kept.append((float(score[best]), float(h[best]), trail[best, 1:], paths[best], float(h[best]) <= c.arrive))
                if float(h[best]) <= c.arrive:
                    break  # the cheapest way arrives here: a deeper search only costs more steps
            if c.closed:  # states the search kept before don't come back
                near = torch.cdist(s, visited).min(1).values
                score = torch.where(near >= c.merge, score, torch.inf)
            keep = _spread(s, score, _euclidean if c.merge_by == "state" else to_go, c.width, c.merge)
            if len(keep) == 0:
                break
            evaluations += len(keep) * len(s) if c.merge > 0 else 0
            states, paths, fined, trail = s[keep], paths[keep], fined[keep], trail[keep]
            if c.closed:
                visited = torch.cat([visited, states])
        if not kept:
            return None
        arrived = [k for k in kept if k[4]]
        score, h, chain, path, reached = min(arrived or kept, key=lambda k: (k[0], k[1]))  # ties: the one further along
        return LatentRoute(chain, path, h, reached, calls, evaluations)


def _spread(s: torch.Tensor, score: torch.Tensor, distance: Distance, width: int, merge: float) -> torch.Tensor:
    """Up to `width` indices of `s [N, D]`, cheapest `score` first, each at least `merge` (by
    `distance`) from those kept before it, so the beam doesn't spend itself on copies of one state
    (many macro-actions end in about the same place)."""
    alive = torch.isfinite(score)
    if merge <= 0:
        keep = score.topk(min(width, len(score)), largest=False).indices
        return keep[alive[keep]]
    picked: list[int] = []
    while len(picked) < width and alive.any():
        j = int(torch.where(alive, score, torch.inf).argmin())
        picked.append(j)
        alive &= distance(s, s[j].expand_as(s)) >= merge
        alive[j] = False
    return torch.as_tensor(picked, dtype=torch.long)


def _euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).norm(dim=-1)


def _nearest(distance: Distance, s: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
    """Cost-to-go from each `s [N, D]` to the closest of `goals [G, D]`: `[N]`."""
    n, g = len(s), len(goals)
    d = distance(s[:, None].expand(n, g, -1).reshape(n * g, -1), goals[None].expand(n, g, -1).reshape(n * g, -1))
    return d.view(n, g).min(1).values


@torch.no_grad()
def fit_codebook(latents: torch.Tensor, size: int, seed: int, iterations: int = 25) -> torch.Tensor:
    """`size` k-means centroids of the macro-action latents `[N, M]` the data took: `[size, M]`
    (fewer when the data holds fewer distinct latents)."""
    unique = torch.unique(latents, dim=0)
    if len(unique) <= size:
        return unique.clone()
    generator = torch.Generator().manual_seed(seed)
    centroids = unique[torch.randperm(len(unique), generator=generator)[:size]].clone()
    for _ in range(iterations):
        assign = torch.cdist(latents, centroids).argmin(1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, latents)
        counts = torch.bincount(assign, minlength=size).float()
        moved = counts > 0
        centroids[moved] = sums[moved] / counts[moved, None]
    return centroids
