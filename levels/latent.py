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

A learned cost-to-go can be wrong in a way that traps a real-time planner: a goal behind a wall
looks a few steps away from the wall, so every plan made there heads back to the wall. With
`learn` on, the planner corrects its estimate from its own searches, the way real-time heuristic
search does (LRTA*, Korf 1990): after a plan from the real state `s0`, the cost-to-go of `s0` is
raised to the cost of the cheapest way the search found (`LearnedToGo`); a later search that
imagines a state within `learn_radius` of `s0` uses the raised value. Standing at the wall, the
estimate climbs with every plan until a way around looks cheaper, and the agent leaves. That
only works when the model's imagined moves are real ones; a level-1 predictor also imagines
moves through walls, and a search over thousands of imagined states finds them. So the planner
also learns which of its hops the world refused: a first hop the agent got no closer to by the
next plan costs `learn_miss` more steps, each time it is missed, from then on. And with
`consistent`, no imagined state is rated nearer the goal than its parent less one macro-step
(pathmax), which caps what a state the cost-to-go underrates can gain the search.
BENCHMARKS.md ("Level 1's search picks moves through walls") measures all three.
"""

from __future__ import annotations

import math
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


class LearnedToGo:
    """The episode's corrections to level k's planning (see the module doc), for one set of goals
    (new goals start over):

    - floors (LRTA*'s learned heuristic): real level-k states and the least cost-to-go each has
      shown itself to have;
    - missed hops: a first hop handed down that the agent got no closer to by the next plan
      (its state then, its distance to the hop's state) is a move the model imagines and the
      world refuses, like a step through a wall; each miss adds `miss` steps to any imagined hop
      from near the same state to near the same target.
    """

    def __init__(self, radius: float, miss: float = 0.0):
        self.radius, self.miss = radius, miss
        self.goals: torch.Tensor | None = None
        self._forget(0)

    def _forget(self, dim: int) -> None:
        self.states = torch.zeros(0, dim)  # [M, D] real states with a floor
        self.values = torch.zeros(0)  # [M] cost-to-go floors (steps of the level below)
        self.froms = torch.zeros(0, dim)  # [E, D] where a missed hop started
        self.tos = torch.zeros(0, dim)  # [E, D] the state it aimed for
        self.last: tuple[torch.Tensor, torch.Tensor, float] | None = None  # (s0, first hop, cost-to-go between) of the last plan

    def __len__(self) -> int:
        """Corrections held: floors and missed hops."""
        return len(self.values) + len(self.froms)

    def aim(self, goals: torch.Tensor) -> None:
        """Forget the corrections when the goals change (they were costs to other goals)."""
        if self.goals is None or self.goals.shape != goals.shape or not torch.equal(self.goals, goals):
            self.goals = goals.clone()
            self._forget(goals.shape[-1])

    def floor(self, s: torch.Tensor) -> torch.Tensor:
        """The least cost-to-go of each `s [N, D]` the corrections imply (0 where none lies within the radius): `[N]`."""
        if not len(self.values):
            return torch.zeros(len(s))
        near = torch.cdist(s, self.states) <= self.radius  # [N, M]
        return torch.where(near, self.values[None], torch.zeros(())).max(1).values

    def raise_to(self, s: torch.Tensor, value: float) -> None:
        """State `s [D]` costs at least `value` to the goals."""
        if len(self.values):
            d, i = (self.states - s).norm(dim=1).min(0)
            if float(d) <= self.radius / 2:  # the same state seen again: one entry
                self.values[i] = max(float(self.values[i]), value)
                return
        self.states = torch.cat([self.states, s[None]])
        self.values = torch.cat([self.values, torch.tensor([value])])

    def follow_up(self, s0: torch.Tensor, to_go: Distance) -> None:
        """The agent now stands at `s0 [D]`: if it got no closer to the last plan's first hop than
        it was (by one step), that hop was missed."""
        if self.last is not None and self.miss > 0:
            start, target, before = self.last
            if float(to_go(s0[None], target[None])[0]) > before - 1.0:
                self.froms = torch.cat([self.froms, start[None]])
                self.tos = torch.cat([self.tos, target[None]])
        self.last = None

    def handed_down(self, s0: torch.Tensor, target: torch.Tensor, to_go: Distance) -> None:
        """The plan from `s0` handed down `target` as the next subgoal."""
        self.last = (s0.clone(), target.clone(), float(to_go(s0[None], target[None])[0]))

    def hop_cost(self, parents: torch.Tensor, children: torch.Tensor) -> torch.Tensor:
        """Steps added to each imagined hop `parents [N, D] -> children [N, D]` by the missed hops: `[N]`."""
        if not len(self.froms):
            return torch.zeros(len(children))
        both = (torch.cdist(parents, self.froms) <= self.radius) & (torch.cdist(children, self.tos) <= self.radius)  # [N, E]
        return self.miss * both.sum(1).float()


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
        learned: LearnedToGo | None = None,
    ) -> LatentRoute | None:
        """Plan from the level-k state `s0 [D]` toward the nearest of `goals [G, D]`. `to_go(s, g)`
        is the learned cost-to-go between level-k states (in steps of the level below);
        `penalty` maps predicted states `[N, D]` to guardrail costs `[N]` (inf: a hard guardrail
        forbids the state). `learned`: the episode's corrections to the cost-to-go, used and raised
        (see the module doc). None: the level has no codebook, or every imagined step was forbidden."""
        c, codes = self.cfg, level.codes
        if len(codes) == 0:
            return None
        if learned is not None:
            learned.aim(goals)
            learned.follow_up(s0, to_go)
        n_codes = len(codes)
        states = s0[None]  # [B, D] the beam's last states
        paths = torch.zeros(1, 0, dtype=torch.long)  # [B, depth] codebook indices
        fined = torch.zeros(1)  # [B] guardrail costs so far
        kept: list[tuple[float, float, torch.Tensor, torch.Tensor, bool]] = []  # (score, to-go, states [depth, D], codes, arrived)
        trail = s0[None, None, :]  # [B, depth+1, D] states along each beam path
        calls = evaluations = 0
        visited = s0[None]  # [V, D] states the search has kept (with `closed`)
        bound = _nearest(to_go, s0[None], goals)  # [B] the cost-to-go of the beam's last states (with `consistent`)
        if learned is not None:
            bound = torch.maximum(bound, learned.floor(s0[None]))
        for depth in range(1, c.horizon + 1):
            b = len(states)
            s = level.predict(states.repeat_interleave(n_codes, 0), codes.repeat(b, 1))  # [B*C, D]
            paths = torch.cat([paths.repeat_interleave(n_codes, 0), torch.arange(n_codes).repeat(b)[:, None]], 1)
            trail = torch.cat([trail.repeat_interleave(n_codes, 0), s[:, None]], 1)
            fined = fined.repeat_interleave(n_codes) + (penalty(s) if penalty is not None else 0.0)
            if learned is not None:
                fined = fined + learned.hop_cost(states.repeat_interleave(n_codes, 0), s)
            calls += len(s)
            h = _nearest(to_go, s, goals)
            if learned is not None:
                h = torch.maximum(h, learned.floor(s))
            if c.consistent:  # a macro-step covers at most `period` steps: no child is nearer than its parent less that
                h = torch.maximum(h, (bound - level.period).repeat_interleave(n_codes))
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
            states, paths, fined, trail, bound = s[keep], paths[keep], fined[keep], trail[keep], h[keep]
            if c.closed:
                visited = torch.cat([visited, states])
        if not kept:
            return None
        arrived = [k for k in kept if k[4]]
        score, h, chain, path, reached = min(arrived or kept, key=lambda k: (k[0], k[1]))  # ties: the one further along
        if learned is not None:
            if math.isfinite(score):  # s0 is at least as far as the cheapest way found from it
                learned.raise_to(s0, score)
            learned.handed_down(s0, chain[0], to_go)
        return LatentRoute(chain, path, h, reached, calls, evaluations)


class LatentSubgoals:
    """Level 1 planning with its own model toward one goal, for an actor whose level 0 plans
    every step (graph "hjepa" of the gym and point actors): every `cfg.replan` level-0 plans it
    searches its macro-actions from the agent's level-1 state (`levels.latent`) and
    hands down the first predicted level-1 state; None once its search arrives in one step (level
    0 then goes straight at the goal) or finds no way."""

    def __init__(self, level: AbstractLevel, to_go: Distance, planner: LatentPlanner, goal: torch.Tensor):
        """`to_go(s, g)`: level 1's learned cost-to-go; `goal [D1]`: the goal's level-1 state."""
        self.level, self.to_go_of, self.planner, self.goal = level, to_go, planner, goal
        cfg = planner.cfg
        self.learned = LearnedToGo(cfg.learn_radius, cfg.learn_miss) if cfg.learn else None  # the episode's corrections
        self.target: torch.Tensor | None = None
        self.to_go, self.calls, self._since = 0.0, 0, None  # steps left as of the last plan; its predictor calls

    def plan(self, s0: torch.Tensor) -> torch.Tensor | None:
        """Level 1's subgoal `[D1]` for level 0's state `s0 [D0]` (None: straight at the goal)."""
        if self._since is None or self._since >= self.planner.cfg.replan:
            s1 = self.level.encode(s0[None])[0]
            route = self.planner.plan(s1, self.level, self.to_go_of, self.goal[None], learned=self.learned)
            self._since = 0
            self.calls = 0 if route is None else route.calls
            self.to_go = float(self.to_go_of(s1[None], self.goal[None])[0])  # level 1's steps left, for the records
            self.target = None if route is None or (route.reached and len(route.states) == 1) else route.states[0]
        else:
            self.calls = 0
        self._since += 1
        return self.target


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
