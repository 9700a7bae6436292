"""Planners (the actor, Mode 2): search action sequences that minimize the cost of imagined futures.

A planner knows nothing of worlds. It gets a start state, a `WorldModel` (the level's predictor)
and an `Objective` (the composed cost modules: step costs plus a cost-to-go), and returns a
`Plan`. It never sees the world's symbolic state or success signal, only what those return.

Continuous actions: `CEMPlanner`, `MPPIPlanner`. Discrete actions: `CategoricalCEMPlanner`,
`BeamPlanner`. All take a `torch.Generator` so plans are reproducible.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import torch

from levels.config import BeamConfig, CategoricalCEMConfig, CEMConfig, MPPIConfig


class WorldModel(Protocol):
    """A level's predictor: one imagined step, `s [N, D]`, `a [N]` (discrete) or `[N, A]` → `s' [N, D]`."""

    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor: ...


class Objective(Protocol):
    """What a plan minimizes: a cost per imagined step plus a cost-to-go after the last one."""

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Cost of arriving in `s [N, D]` by action `a`: `[N]`."""
        ...

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        """Estimated cost-to-go from the horizon's last state `s [N, D]`: `[N]`."""
        ...


class Plan(NamedTuple):
    """The best action sequence found, what the predictor expects it to do, and its cost."""

    actions: torch.Tensor  # [H] long (discrete) or [H, A] float (continuous)
    states: torch.Tensor  # [H, D] predicted states after each action
    costs: torch.Tensor  # [H] step costs along the plan
    terminal: float  # cost-to-go after the last step
    total: float  # sum of step costs plus terminal (plus guardrail penalties)
    calls: int  # predictor calls spent (one per imagined transition)
    penalty: float = 0.0  # guardrail penalties along the plan (>= a hard guardrail's weight: it violates one)


def imagine(model: WorldModel, s0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Roll the predictor: `s0 [N, D]`, `actions [N, H, ...]` → states `[N, H, D]`."""
    states, s = [], s0
    for t in range(actions.shape[1]):
        s = model.predict(s, actions[:, t])
        states.append(s)
    return torch.stack(states, 1)


def penalty(objective: Objective, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Guardrail penalties of imagined steps `s [N, D]`, `a [N]`: `[N]`. An objective may define
    `penalty(s, a)`; unlike step costs these always add up (reaching the goal early never excuses
    a violation later in the plan)."""
    fn = getattr(objective, "penalty", None)
    return fn(s, a) if fn is not None else torch.zeros(len(s), dtype=s.dtype)


def _evaluate(
    model: WorldModel, objective: Objective, s0: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Imagine and cost `actions [N, H, ...]` from `s0 [D]`: states [N, H, D], step costs [N, H],
    terminal [N], penalties [N, H]."""
    n, h = actions.shape[:2]
    states = imagine(model, s0.expand(n, -1), actions)
    flat = states.reshape(n * h, -1)
    flat_actions = actions.reshape(n * h, *actions.shape[2:])
    steps = objective.step_cost(flat, flat_actions).reshape(n, h)
    return states, steps, objective.terminal_cost(states[:, -1]), penalty(objective, flat, flat_actions).reshape(n, h)


def _total(steps: torch.Tensor, terminal: torch.Tensor, reach: bool, penalties: torch.Tensor | None = None) -> torch.Tensor:
    """Plan totals from step costs `[N, H]`, cost-to-go `[N]` and penalties `[N, H]`; see `BeamConfig.reach`."""
    extra = 0 if penalties is None else penalties.sum(1)
    if reach:
        lowest = steps.cummin(dim=1).values
        return lowest.sum(1) + torch.minimum(terminal, lowest[:, -1]) + extra
    return steps.sum(1) + terminal + extra


def _totals(model: WorldModel, objective: Objective, s0: torch.Tensor, actions: torch.Tensor, reach: bool = False) -> torch.Tensor:
    _, steps, terminal, penalties = _evaluate(model, objective, s0, actions)
    return _total(steps, terminal, reach, penalties)


def _plan_from(
    model: WorldModel, objective: Objective, s0: torch.Tensor, actions: torch.Tensor, calls: int, reach: bool = False
) -> Plan:
    states, steps, terminal, penalties = _evaluate(model, objective, s0, actions[None])
    total = float(_total(steps, terminal, reach, penalties)[0])
    return Plan(actions, states[0], steps[0], float(terminal[0]), total, calls + actions.shape[0], float(penalties.sum()))


# -- continuous actions ----------------------------------------------------------------------


class _WarmStart:
    """Continuous planners start from their last mean sequence, shifted by the step just taken."""

    def __init__(self, horizon: int, action_dim: int):
        self.horizon, self.action_dim = horizon, action_dim
        self._mean: torch.Tensor | None = None
        self._seed: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start (new episode)."""
        self._mean = self._seed = None

    def warm(self, actions: torch.Tensor) -> None:
        """Start the next plan from `actions [h, A]` (cut or zero-padded to the horizon), e.g. a
        level above's proposal, instead of the last plan shifted by one step."""
        seed = torch.zeros(self.horizon, self.action_dim, dtype=actions.dtype)
        k = min(self.horizon, len(actions))
        seed[:k] = actions[:k]
        self._seed = seed

    def _warm_mean(self, s0: torch.Tensor) -> torch.Tensor:
        if self._seed is not None:
            seed, self._seed = self._seed.to(s0.dtype), None
            return seed
        if self._mean is None:
            return torch.zeros(self.horizon, self.action_dim, dtype=s0.dtype)
        return torch.cat([self._mean[1:], torch.zeros_like(self._mean[:1])])


class CEMPlanner(_WarmStart):
    """Sample Gaussian sequences, keep the elites, refit mean and std; warm-start from the last plan."""

    def __init__(self, cfg: CEMConfig, action_dim: int):
        super().__init__(cfg.horizon, action_dim)
        self.cfg = cfg

    def plan(self, s0: torch.Tensor, model: WorldModel, objective: Objective, generator: torch.Generator) -> Plan:
        """Plan from `s0 [D]`."""
        c = self.cfg
        mean = self._warm_mean(s0)
        std = torch.full_like(mean, c.init_std)
        calls = 0
        for _ in range(c.iterations):
            noise = torch.randn((c.samples, c.horizon, self.action_dim), generator=generator, dtype=s0.dtype)
            actions = (mean + std * noise).clamp(-c.action_bound, c.action_bound)
            actions[0] = mean  # keep the incumbent in the race
            total = _totals(model, objective, s0, actions)
            calls += c.samples * c.horizon
            elite = actions[total.topk(c.elites, largest=False).indices]
            mean, std = elite.mean(0), elite.std(0).clamp_min(c.min_std)
        self._mean = mean
        return _plan_from(model, objective, s0, mean, calls)


class MPPIPlanner(_WarmStart):
    """Perturb the mean sequence, weight samples by exp(-cost / temperature), average; warm-start."""

    def __init__(self, cfg: MPPIConfig, action_dim: int):
        super().__init__(cfg.horizon, action_dim)
        self.cfg = cfg

    def plan(self, s0: torch.Tensor, model: WorldModel, objective: Objective, generator: torch.Generator) -> Plan:
        """Plan from `s0 [D]`."""
        c = self.cfg
        mean = self._warm_mean(s0)
        calls = 0
        for _ in range(c.iterations):
            noise = c.noise_std * torch.randn((c.samples, c.horizon, self.action_dim), generator=generator, dtype=s0.dtype)
            noise[0] = 0  # the current mean is always evaluated
            actions = (mean + noise).clamp(-c.action_bound, c.action_bound)
            total = _totals(model, objective, s0, actions)
            calls += c.samples * c.horizon
            weights = torch.softmax(-(total - total.min()) / c.temperature, dim=0)  # [N]
            mean = (weights[:, None, None] * actions).sum(0)
        self._mean = mean
        return _plan_from(model, objective, s0, mean, calls)


# -- discrete actions ------------------------------------------------------------------------


def _allowed_mask(allowed: torch.Tensor | None, horizon: int, num_actions: int) -> torch.Tensor:
    """Which actions each plan step may take: `[H, A]` bool (all, when `allowed` is None)."""
    if allowed is None:
        return torch.ones(horizon, num_actions, dtype=torch.bool)
    if allowed.shape != (horizon, num_actions) or not allowed.any(1).all():
        raise ValueError(f"allowed must be a [H, A] = [{horizon}, {num_actions}] bool mask allowing an action at every step")
    return allowed


class CategoricalCEMPlanner:
    """Sample discrete sequences from per-step categoricals, refit on the elites; warm-start."""

    def __init__(self, cfg: CategoricalCEMConfig, num_actions: int):
        self.cfg, self.num_actions = cfg, num_actions
        self._probs: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start (new episode)."""
        self._probs = None

    def plan(
        self,
        s0: torch.Tensor,
        model: WorldModel,
        objective: Objective,
        generator: torch.Generator,
        allowed: torch.Tensor | None = None,
    ) -> Plan:
        """Plan from `s0 [D]`; `allowed [H, A]` (bool) limits the actions of each step."""
        c, a = self.cfg, self.num_actions
        mask = _allowed_mask(allowed, c.horizon, a)
        uniform = torch.full((c.horizon, a), 1.0 / a)
        probs = uniform if self._probs is None else torch.cat([self._probs[1:], uniform[:1]])
        probs = probs * mask
        probs = probs / probs.sum(1, keepdim=True)
        best, best_cost, calls = None, float("inf"), 0
        for _ in range(c.iterations):
            actions = torch.multinomial(probs, c.samples, replacement=True, generator=generator).T  # [N, H]
            if best is not None:
                actions[0] = best
            total = _totals(model, objective, s0, actions, c.reach)
            calls += c.samples * c.horizon
            order = total.argsort()
            if total[order[0]] < best_cost:
                best, best_cost = actions[order[0]].clone(), float(total[order[0]])
            elite = actions[order[: c.elites]]  # [K, H]
            counts = torch.nn.functional.one_hot(elite, a).float().mean(0)  # [H, A]
            probs = c.smoothing * probs + (1 - c.smoothing) * counts
            probs = probs.clamp_min(c.min_prob) * mask
            probs = probs / probs.sum(1, keepdim=True)
        self._probs = probs
        return _plan_from(model, objective, s0, best, calls, c.reach)


class BeamPlanner:
    """Grow sequences one action at a time, keeping the `width` best by cost so far plus cost-to-go.

    With the objective's terminal cost as the heuristic this is a beam-limited A*: exact
    (exhaustive) while width >= A**depth. Each depth costs one batched predictor call.
    """

    def __init__(self, cfg: BeamConfig, num_actions: int):
        self.cfg, self.num_actions = cfg, num_actions

    def reset(self) -> None:
        """Beam search keeps no state between plans."""

    def plan(
        self,
        s0: torch.Tensor,
        model: WorldModel,
        objective: Objective,
        generator: torch.Generator,
        allowed: torch.Tensor | None = None,
    ) -> Plan:
        """Plan from `s0 [D]`; `allowed [H, A]` (bool) limits the actions of each step.
        `generator` breaks ties reproducibly."""
        c, a = self.cfg, self.num_actions
        mask = _allowed_mask(allowed, c.horizon, a)
        seqs = torch.zeros((1, 0), dtype=torch.long)  # [n, depth]
        states = s0[None]  # [n, D]: the last imagined state of each kept sequence
        spent = torch.zeros(1)  # [n]: step costs so far
        fined = torch.zeros(1)  # [n]: guardrail penalties so far
        lowest = torch.full((1,), float("inf"))  # [n]: lowest step cost so far (for reach)
        calls = 0
        for depth in range(1, c.horizon + 1):
            n = len(seqs)
            options = torch.nonzero(mask[depth - 1]).squeeze(1)
            k = len(options)
            actions = options.repeat(n)  # [n*k]
            states = model.predict(states.repeat_interleave(k, 0), actions)  # [n*k, D]
            seqs = torch.cat([seqs.repeat_interleave(k, 0), actions[:, None]], dim=1)
            step = objective.step_cost(states, actions)
            lowest = torch.minimum(lowest.repeat_interleave(k), step)
            spent = spent.repeat_interleave(k) + (lowest if c.reach else step)
            fined = fined.repeat_interleave(k) + penalty(objective, states, actions)
            calls += len(seqs)
            # Rank by cost so far plus cost-to-go; a tiny random jitter breaks exact ties.
            to_go = objective.terminal_cost(states)
            score = spent + fined + (torch.minimum(to_go, lowest) if c.reach else to_go)
            score = score + 1e-9 * torch.rand(len(seqs), generator=generator)
            if len(seqs) > c.width and depth < c.horizon:
                keep = score.topk(c.width, largest=False).indices
                seqs, states, spent, lowest, fined = seqs[keep], states[keep], spent[keep], lowest[keep], fined[keep]
        best = seqs[score.argmin()]
        return _plan_from(model, objective, s0, best, calls, c.reach)
