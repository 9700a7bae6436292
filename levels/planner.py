"""Planners (the actor, Mode 2): search action sequences that minimize the cost of imagined futures.

A planner knows nothing of worlds. It gets a start state, a `rollout` function (the level's
predictor) and a `cost` function (the composed cost modules), and returns a `Plan`. It never
sees the world's symbolic state or success signal, only what those two functions return.

Continuous actions: `CEMPlanner`, `MPPIPlanner`. Discrete actions: `CategoricalCEMPlanner`,
`BeamPlanner`. All take a `torch.Generator` so plans are reproducible.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import torch
from pydantic import BaseModel, ConfigDict, Field


class RolloutFn(Protocol):
    """Imagine the future: `s0 [N, D]`, `actions [N, H]` (discrete) or `[N, H, A]` → states `[N, H, D]`."""

    def __call__(self, s0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor: ...


class CostFn(Protocol):
    """Per-step cost of predicted states: `states [N, H, D]`, `actions` → `[N, H]` (lower is better)."""

    def __call__(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor: ...


class Plan(NamedTuple):
    """The best action sequence found, what the predictor expects it to do, and its cost."""

    actions: torch.Tensor  # [H] long (discrete) or [H, A] float (continuous)
    states: torch.Tensor  # [H, D] predicted states after each action
    costs: torch.Tensor  # [H] per-step cost along the plan
    total: float  # summed cost
    calls: int  # predictor calls spent (one per imagined transition)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


def _evaluate(s0: torch.Tensor, actions: torch.Tensor, rollout: RolloutFn, cost: CostFn) -> tuple[torch.Tensor, torch.Tensor]:
    """Roll out and cost `actions [N, H, ...]` from `s0 [D]`: states [N, H, D], step costs [N, H]."""
    states = rollout(s0.expand(len(actions), -1), actions)
    return states, cost(states, actions)


def _plan_from(s0: torch.Tensor, actions: torch.Tensor, rollout: RolloutFn, cost: CostFn, calls: int) -> Plan:
    states, steps = _evaluate(s0, actions[None], rollout, cost)
    return Plan(actions, states[0], steps[0], float(steps[0].sum()), calls + actions.shape[0])


# -- continuous actions ----------------------------------------------------------------------


class CEMConfig(_Frozen):
    """Cross-entropy method over continuous action sequences."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    samples: int = Field(256, ge=2)
    """Sequences sampled per iteration (N)."""
    elites: int = Field(32, ge=1)
    """Best sequences refit each iteration."""
    iterations: int = Field(4, ge=1)
    """Refinement rounds per plan."""
    init_std: float = Field(1.0, gt=0)
    """Initial sampling std per action dimension."""
    min_std: float = Field(0.05, gt=0)
    """Floor on the std so the search never freezes."""
    action_bound: float = Field(1.0, gt=0)
    """Actions are clipped to [-bound, bound] per dimension."""


class CEMPlanner:
    """Sample Gaussian sequences, keep the elites, refit mean and std; warm-start from the last plan."""

    def __init__(self, cfg: CEMConfig, action_dim: int):
        self.cfg, self.action_dim = cfg, action_dim
        self._mean: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start (new episode)."""
        self._mean = None

    def plan(self, s0: torch.Tensor, rollout: RolloutFn, cost: CostFn, generator: torch.Generator) -> Plan:
        """Plan from `s0 [D]`."""
        c = self.cfg
        mean = self._warm_mean(s0)
        std = torch.full_like(mean, c.init_std)
        calls = 0
        for _ in range(c.iterations):
            noise = torch.randn((c.samples, c.horizon, self.action_dim), generator=generator, dtype=s0.dtype)
            actions = (mean + std * noise).clamp(-c.action_bound, c.action_bound)
            actions[0] = mean  # keep the incumbent in the race
            _, steps = _evaluate(s0, actions, rollout, cost)
            calls += c.samples * c.horizon
            elite = actions[steps.sum(1).topk(c.elites, largest=False).indices]
            mean, std = elite.mean(0), elite.std(0).clamp_min(c.min_std)
        self._mean = mean
        return _plan_from(s0, mean, rollout, cost, calls)

    def _warm_mean(self, s0: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        if self._mean is None:
            return torch.zeros(c.horizon, self.action_dim, dtype=s0.dtype)
        return torch.cat([self._mean[1:], torch.zeros_like(self._mean[:1])])  # shift one step


class MPPIConfig(_Frozen):
    """Model-predictive path integral control over continuous action sequences."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    samples: int = Field(256, ge=2)
    """Sequences sampled per iteration (N)."""
    iterations: int = Field(4, ge=1)
    """Refinement rounds per plan."""
    noise_std: float = Field(0.5, gt=0)
    """Std of the exploration noise around the mean sequence."""
    temperature: float = Field(0.1, gt=0)
    """Softmax temperature on (cost - min cost); lower is greedier."""
    action_bound: float = Field(1.0, gt=0)
    """Actions are clipped to [-bound, bound] per dimension."""


class MPPIPlanner:
    """Perturb the mean sequence, weight samples by exp(-cost / temperature), average; warm-start."""

    def __init__(self, cfg: MPPIConfig, action_dim: int):
        self.cfg, self.action_dim = cfg, action_dim
        self._mean: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start (new episode)."""
        self._mean = None

    def plan(self, s0: torch.Tensor, rollout: RolloutFn, cost: CostFn, generator: torch.Generator) -> Plan:
        """Plan from `s0 [D]`."""
        c = self.cfg
        if self._mean is None:
            mean = torch.zeros(c.horizon, self.action_dim, dtype=s0.dtype)
        else:
            mean = torch.cat([self._mean[1:], torch.zeros_like(self._mean[:1])])
        calls = 0
        for _ in range(c.iterations):
            noise = c.noise_std * torch.randn((c.samples, c.horizon, self.action_dim), generator=generator, dtype=s0.dtype)
            noise[0] = 0  # the current mean is always evaluated
            actions = (mean + noise).clamp(-c.action_bound, c.action_bound)
            _, steps = _evaluate(s0, actions, rollout, cost)
            calls += c.samples * c.horizon
            total = steps.sum(1)
            weights = torch.softmax(-(total - total.min()) / c.temperature, dim=0)  # [N]
            mean = (weights[:, None, None] * actions).sum(0)
        self._mean = mean
        return _plan_from(s0, mean, rollout, cost, calls)


# -- discrete actions ------------------------------------------------------------------------


class CategoricalCEMConfig(_Frozen):
    """Cross-entropy method over discrete action sequences (a categorical per step)."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    samples: int = Field(256, ge=2)
    """Sequences sampled per iteration (N)."""
    elites: int = Field(25, ge=1)
    """Best sequences refit each iteration."""
    iterations: int = Field(4, ge=1)
    """Refinement rounds per plan."""
    smoothing: float = Field(0.3, ge=0, lt=1)
    """Weight of the old distribution when refitting (keeps the search from freezing)."""
    min_prob: float = Field(0.01, ge=0, lt=1)
    """Floor on every action's probability."""


class CategoricalCEMPlanner:
    """Sample discrete sequences from per-step categoricals, refit on the elites; warm-start."""

    def __init__(self, cfg: CategoricalCEMConfig, num_actions: int):
        self.cfg, self.num_actions = cfg, num_actions
        self._probs: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start (new episode)."""
        self._probs = None

    def plan(self, s0: torch.Tensor, rollout: RolloutFn, cost: CostFn, generator: torch.Generator) -> Plan:
        """Plan from `s0 [D]`."""
        c, a = self.cfg, self.num_actions
        uniform = torch.full((c.horizon, a), 1.0 / a)
        probs = uniform if self._probs is None else torch.cat([self._probs[1:], uniform[:1]])
        best, best_cost, calls = None, float("inf"), 0
        for _ in range(c.iterations):
            actions = torch.multinomial(probs, c.samples, replacement=True, generator=generator).T  # [N, H]
            if best is not None:
                actions[0] = best
            _, steps = _evaluate(s0, actions, rollout, cost)
            calls += c.samples * c.horizon
            total = steps.sum(1)
            order = total.argsort()
            if total[order[0]] < best_cost:
                best, best_cost = actions[order[0]].clone(), float(total[order[0]])
            elite = actions[order[: c.elites]]  # [K, H]
            counts = torch.nn.functional.one_hot(elite, a).float().mean(0)  # [H, A]
            probs = c.smoothing * probs + (1 - c.smoothing) * counts
            probs = probs.clamp_min(c.min_prob)
            probs = probs / probs.sum(1, keepdim=True)
        self._probs = probs
        return _plan_from(s0, best, rollout, cost, calls)


class BeamConfig(_Frozen):
    """Beam search over discrete action sequences."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    width: int = Field(64, ge=1)
    """Partial sequences kept after each step."""


class BeamPlanner:
    """Expand every kept partial sequence by every action, keep the `width` cheapest so far.

    Exact (exhaustive) while width >= A**depth; then a heuristic that ranks by cost-so-far, so
    the cost's last step should carry cost-to-go (e.g. a critic) for long horizons.
    """

    def __init__(self, cfg: BeamConfig, num_actions: int):
        self.cfg, self.num_actions = cfg, num_actions

    def reset(self) -> None:
        """Beam search keeps no state between plans."""

    def plan(self, s0: torch.Tensor, rollout: RolloutFn, cost: CostFn, generator: torch.Generator) -> Plan:
        """Plan from `s0 [D]`. `generator` breaks ties reproducibly."""
        c, a = self.cfg, self.num_actions
        seqs = torch.zeros((1, 0), dtype=torch.long)
        calls = 0
        for depth in range(1, c.horizon + 1):
            n = len(seqs)
            seqs = torch.cat([seqs.repeat_interleave(a, 0), torch.arange(a).repeat(n)[:, None]], dim=1)  # [n*A, depth]
            _, steps = _evaluate(s0, seqs, rollout, cost)
            calls += len(seqs) * depth
            # Rank by the cost of the whole prefix; a tiny random jitter breaks exact ties.
            score = steps.sum(1) + 1e-9 * torch.rand(len(seqs), generator=generator)
            if len(seqs) > c.width and depth < c.horizon:
                seqs = seqs[score.topk(c.width, largest=False).indices]
        best = seqs[score.argmin()]
        return _plan_from(s0, best, rollout, cost, calls)
