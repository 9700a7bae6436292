"""Planning an abstract level over states imagined with the level below's own model.

Nothing here knows a world. The candidate subgoals are states the level below's predictor
imagines: from the start, and then from the most promising imagined states, it rolls out
`samples` action sequences of `hop` actions drawn from an action prior (the mix of actions
the data was collected with), so every candidate is the end of a hop the level below can make
in imagination. A best-first search (A* with the critic as heuristic) keeps, per expansion,
the `keep` most promising endpoints that lie at least `merge` learned steps from every state
imagined so far (so a plateau where the critic is blind, such as a wall between it and the
goal, is used up and the search goes round it), drops endpoints near a hop that failed
earlier, and ranks imagined states by imagined steps so far plus the critic's steps-to-goal.
The route to the cheapest state within reach of a goal (or, if none is, the most promising one)
is level 1's plan; its first state goes down as the subgoal, and the level below minimizes its
learned distance to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from levels.config import ImaginedConfig
from levels.planner import WorldModel

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ImaginedRoute(NamedTuple):
    """A chain of imagined hops from the start toward a goal."""

    states: torch.Tensor  # [K, D] the imagined state after each hop; states[0] is the subgoal
    actions: torch.Tensor  # [K, hop] the imagined action sequence of each hop
    lead: torch.Tensor  # [hop, D] the states imagined along the first hop, one per action
    steps: tuple[float, ...]  # world steps of each hop (hop length)
    to_go: float  # the critic's steps from the last state to the nearest goal
    reached: bool  # the last state is within `reach` of a goal by the critic
    calls: int  # predictor calls spent
    evaluations: int  # learned-distance evaluations spent


class ImaginedPlanner:
    """Best-first search over hops imagined with a level's predictor (see the module doc)."""

    def __init__(self, cfg: ImaginedConfig, num_actions: int):
        if cfg.prior and len(cfg.prior) != num_actions:
            raise ValueError(f"the action prior has {len(cfg.prior)} entries; the level below has {num_actions} actions")
        self.cfg, self.num_actions = cfg, num_actions
        self.prior = torch.as_tensor(cfg.prior or [1.0] * num_actions, dtype=torch.float)

    @torch.no_grad()
    def plan(
        self,
        s0: torch.Tensor,
        model: WorldModel,
        distance: Distance,
        goals: torch.Tensor,
        generator: torch.Generator,
        *,
        reach: float,
        failed: torch.Tensor | None = None,
        blocked: Callable[[torch.Tensor], torch.Tensor] | None = None,
        allowed: torch.Tensor | None = None,
        to_go: Distance | None = None,
    ) -> ImaginedRoute | None:
        """Plan from `s0 [D]` to the nearest of `goals [G, D]`. `failed [F, D]`: subgoals the level
        below did not reach earlier (endpoints within `cfg.merge` of one are dropped); `blocked`
        maps imagined states `[N, D]` to `[N]` bool (a hard guardrail: a hop through a blocked
        state is never kept); `allowed [A]` (bool) the actions a hop may use (a hard action
        guardrail). `to_go` is the heuristic's distance to the goals (default: `distance`, which
        also decides what counts as one state). None: every imagined hop was blocked or failed."""
        c = self.cfg
        prior = self.prior if allowed is None else self.prior * allowed.float()
        if not prior.any():
            return None
        states, parents, spent = [s0], [-1], [0.0]
        hops: list[torch.Tensor] = [torch.zeros(c.hop, dtype=torch.long)]
        along: list[torch.Tensor] = [s0[None].expand(c.hop, -1)]  # per state: the states of the hop into it
        heuristic = to_go or distance
        to_go = [float(_nearest(heuristic, s0[None], goals)[0])]
        expanded = {0}
        frontier = [0]
        calls = evaluations = 0
        for _ in range(c.rounds):
            if not frontier:
                break
            for node in frontier:
                actions = torch.multinomial(prior, c.samples * c.hop, replacement=True, generator=generator).view(c.samples, c.hop)
                s, ok = states[node][None].expand(c.samples, -1), torch.ones(c.samples, dtype=torch.bool)
                path = []
                for t in range(c.hop):
                    s = model.predict(s, actions[:, t])
                    path.append(s)
                    if blocked is not None:
                        ok &= ~blocked(s)
                path = torch.stack(path, 1)  # [samples, hop, D]
                calls += c.samples * c.hop
                known = torch.stack(states)
                h = _nearest(heuristic, s, goals)
                evaluations += c.samples * (len(known) + len(goals))
                ok &= _nearest(distance, s, known) >= c.merge  # somewhere no hop has imagined yet
                if failed is not None and len(failed):
                    ok &= _nearest(distance, s, failed) >= c.merge
                    evaluations += c.samples * len(failed)
                for j in _diverse(s, h, ok, distance, c.keep, c.merge):
                    states.append(s[j])
                    parents.append(node)
                    spent.append(spent[node] + c.hop)
                    hops.append(actions[j])
                    along.append(path[j])
                    to_go.append(float(h[j]))
            score = [g + h for g, h in zip(spent, to_go)]
            frontier = sorted((i for i in range(len(states)) if i not in expanded), key=score.__getitem__)[: c.beam]
            expanded.update(frontier)
            done = [score[i] for i in range(1, len(states)) if to_go[i] <= reach]
            if done and (not frontier or min(done) <= score[frontier[0]]):
                break  # A*'s stop: nothing left to expand promises a cheaper way to a goal
        if len(states) == 1:
            return None
        # the cheapest imagined state within reach of a goal; if none is, the most promising one
        arrived = [i for i in range(1, len(states)) if to_go[i] <= reach]
        best = min(arrived or range(1, len(states)), key=lambda i: spent[i] + to_go[i])
        chain = []
        while best > 0:
            chain.insert(0, best)
            best = parents[best]
        return ImaginedRoute(
            torch.stack([states[i] for i in chain]), torch.stack([hops[i] for i in chain]), along[chain[0]],
            tuple(float(c.hop) for _ in chain), to_go[chain[-1]], to_go[chain[-1]] <= reach, calls, evaluations,
        )


def _nearest(distance: Distance, s: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
    """Learned steps from each `s [N, D]` to the closest of `goals [G, D]`: `[N]`."""
    n, g = len(s), len(goals)
    d = distance(s[:, None].expand(n, g, -1).reshape(n * g, -1), goals[None].expand(n, g, -1).reshape(n * g, -1))
    return d.view(n, g).min(1).values


def _diverse(s: torch.Tensor, h: torch.Tensor, ok: torch.Tensor, distance: Distance, keep: int, merge: float) -> list[int]:
    """Up to `keep` indices of `s [N, D]`, best `h` first, each at least `merge` from those kept."""
    picked: list[int] = []
    for j in torch.argsort(torch.where(ok, h, torch.inf)).tolist():
        if not ok[j] or len(picked) == keep:
            break
        if picked and float(_nearest(distance, s[j][None], s[picked])[0]) < merge:
            continue
        picked.append(j)
    return picked
