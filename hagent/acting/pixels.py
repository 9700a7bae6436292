"""The pixel actor (what `hagent.Agent` acts with when level 0 reads RGB views), in the point
worlds: model-predictive control over a pixel-trained level 0, with a
graph of imagined places above it for routes through doors.

The goal is a goal image (the peers' protocol; its state is `g = E(goal)`) or a named place
("the top-left corner of the left room"), grounded by the trained `costs.place.PlaceGoal` from
the first view. Every step the agent re-encodes its view (`s = E(image)`) and plans:

* **flat**: MPPI (`levels.planner.MPPIPlanner`) over level 0's continuous actions, minimizing the
  latent distance of every imagined state to `g`. Nothing tells it about walls but its model.
* **hierarchical** (`auto`, the default): level 1 plans over places imagined from the views
  (`hagent.acting.view_graph`): the agent's own sprite on every free place of a lattice, encoded
  by level 0; ways join places whose straight line keeps clear of the walls the views show.
  The place whose state is nearest `g` is the goal's place; shortest paths to it (networkx)
  are computed once per episode. Each step the route from the place nearest the agent gives
  level 0 its subgoal (the furthest place along it within `lookahead` pixels in a clear line);
  MPPI plans toward that place's state, warm-started heading for it.
* `graph="model"` swaps level 1's places for states imagined with level 0's predictor alone:
  headings held for `macro` full strides, expanded breadth-first, merged within `merge` strides,
  the quickest imagined state within `arrive` strides of `g` chosen. A step whose view moved
  much less than imagined (`bump`) removes that heading near that state for the episode.
  (Measured far weaker than the view graph: its predictor lets imagined moves pass walls.)

Planning reads the observation (`image`, `goal`, `mission`) only, never the world's state. A
text goal is grounded by the agent's own `places` and read with the place names of the world it
was trained in (its checkpoint's `world.spec`); the goal image is then never read, not even the
one a world draws for its own scoring of the text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx
import numpy as np
import torch

from costs.critic import Critic
from costs.place import PlaceGoal
from hagent.acting.configurator import ShortTermMemory, configure_continuous
from hagent.acting.records import GOAL_STAGE, AgentPlan, Loop, Run, StepRecord, goal_plan, headed_for, unjudged
from hagent.acting.sealed import SealedWorld, episode_generator, open_episode
from hagent.acting.view_graph import Scene, scene, where_agent, with_place
from hagent.config import PointAgentConfig, with_settings
from hagent.worlds.point import PlaceError, PointParams, PointSpecError, parse_place, parse_point
from levels.abstract import AbstractLevel
from levels.latent import LatentPlanner, LatentSubgoals
from levels.level import Level
from levels.planner import MPPIPlanner, Plan, imagine

if TYPE_CHECKING:
    from hagent.checkpoint import Checkpoint

COST = "latent distance to the (sub)goal"
"""The objective level 0 minimizes, as plans name it."""
SUBGOAL_COST = "energy to level 1's predicted state, in level 1's space"
"""Level 0's objective under level 1's own subgoal (graph "hjepa")."""


class Places(NamedTuple):
    """Level 1's places for one episode (imagined from the views) and their ways to the goal."""

    scene: Scene
    states: torch.Tensor  # [N, D] level-0 states of the imagined views
    goal: int  # the place whose state is nearest the goal state
    paths: dict[int, list[int]]  # place -> places on its shortest way to the goal (itself first)


class ImaginedGraph(NamedTuple):
    """Level 1's search: imagined states and how each was reached."""

    states: torch.Tensor  # [N, D], node 0 is the current state
    parent: list[int]  # [N], -1 for node 0
    depth: list[int]  # [N] abstract steps from node 0
    move: list[int]  # [N] index of the heading that led here (-1 for node 0)
    calls: int  # predictor calls spent


def _names_place(observation: dict, text: str | None) -> bool:
    """Whether the goal is a named place: a text other than the world's own mission, or the
    mission of a world that shows no goal image."""
    return text not in (None, observation["mission"]) or not observation["goal"].any()


class _Objective:
    """Latent distance of every imagined state to a goal embedding, in strides (no cost-to-go);
    with `encode`, measured in the level above's space (level 1's subgoal)."""

    def __init__(self, goal: torch.Tensor, scale: float, encode: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.goal, self.scale, self.encode = goal, scale, encode

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return ((s if self.encode is None else self.encode(s)) - self.goal).norm(dim=-1) / self.scale

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(s), dtype=s.dtype)


class PixelActor:
    """Plans with a pixel level 0 (continuous actions) in `point:` worlds."""

    families = ("point",)
    """The world families this actor acts in."""
    settings = "point_agent"
    """Its section of `HagentConfig`."""
    env_id = None

    def __init__(self, level: Level, cfg: PointAgentConfig, seed: int = 0, max_step: float = 2.45, places: PlaceGoal | None = None,
                 trained_in: str = "point:tworooms", abstract: tuple[AbstractLevel, ...] = (), abstract_critics: tuple[Critic, ...] = ()):
        if level.config.encoder.kind != "pixels" or not level.continuous:
            raise ValueError("PixelActor needs a level trained on a point world (pixels in, 2D actions)")
        self.level, self.cfg, self.seed, self.max_step = level.eval(), cfg, seed, max_step
        self.abstract, self.abstract_critics = abstract, abstract_critics
        self.latent = LatentPlanner(cfg.hjepa)
        if cfg.graph == "hjepa" and not (abstract and len(abstract[0].codes)):
            raise ValueError('point_agent.graph "hjepa" plans with level 1\'s own model, and this checkpoint has no level 1 with a '
                             "macro-action codebook: train one with hagent train --levels-only --out CKPT --data DIR")
        self.places = None if places is None else places.eval()
        angles = torch.arange(cfg.directions, dtype=torch.float32) * (2 * np.pi / cfg.directions)
        self.headings = torch.stack([angles.cos(), angles.sin()], dim=1) * max_step  # [M, 2] full strides
        self.mppi = MPPIPlanner(cfg.mppi, 2)
        try:  # the place names the agent learned: those of the world it was trained in
            self.naming = parse_point(trained_in)
        except PointSpecError:  # a checkpoint from before point worlds recorded their spec
            self.naming, trained_in = PointParams(), "point:tworooms"
        self.trained_in = trained_in

    @property
    def default_world(self) -> str:
        """The world a conversation opens in: the one this actor was trained in."""
        return self.trained_in

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, directory: Path, cfg: PointAgentConfig | None = None, seed: int = 0) -> PixelActor:
        """The actor of a point-world checkpoint; `cfg` overrides its `point_agent` settings."""
        return cls(ckpt.level, cfg or ckpt.config.point_agent, seed, places=ckpt.places, trained_in=ckpt.config.world.spec,
                   abstract=ckpt.abstract, abstract_critics=ckpt.abstract_critics)

    def reconfigured(self, **updates: Any) -> PixelActor:
        """The same level under changed settings, e.g. `reconfigured(hierarchy="flat")`."""
        return PixelActor(self.level, with_settings(self.cfg, **updates), self.seed, self.max_step, self.places, self.trained_in,
                          self.abstract, self.abstract_critics)

    # -- public verbs ---------------------------------------------------------------------
    @torch.no_grad()
    def goal_state(self, observation: dict, text: str | None = None) -> torch.Tensor:
        """The state to reach: the goal image's embedding, or, for a text goal (`text`, or the
        mission when the goal image is blank), the place grounding's prediction from this view
        (the place read with the names of the world the agent was trained in)."""
        if not _names_place(observation, text):  # the world's own goal image
            return self.level.encode(torch.as_tensor(observation["goal"][None]))[0]
        text = text if text is not None else observation["mission"]
        room, place = parse_place(text, self.naming)  # PlaceError (a ValueError) says what can be named
        if self.places is None:
            raise PlaceError("this checkpoint has no place grounding (its data carried no place views); give a goal image")
        s = self.level.encode(torch.as_tensor(observation["image"][None]))
        return self.places(s, torch.tensor([room]), torch.tensor([place]))[0]

    @torch.no_grad()
    def plan(self, observation: dict, text: str | None = None, generator: torch.Generator | None = None) -> AgentPlan:
        """Plan from an observation (`image`, and `goal` or `mission`) without acting."""
        generator = generator or torch.Generator().manual_seed(self.seed)
        g = self.goal_state(observation, text)
        s = self.level.encode(torch.as_tensor(observation["image"][None]))[0]
        return self._plan(s, g, generator, upper=self._own_level1(g))

    def start(self, world: SealedWorld, text: str | None = None, max_steps: int | None = None, reset: bool | None = None,
              seed: int | None = None) -> Run:
        """Begin an episode through the world's door (see `hagent.Agent.start`). The goal is
        `text` (a named place) when given, else the goal image, else the mission (text-goal
        worlds show a blank goal image). A text the agent can't ground raises `PlaceError` here,
        before any step."""
        torch.set_num_threads(self.cfg.threads)
        obs = open_episode(world, seed, reset)
        generator = episode_generator(self.seed, seed)
        self.mppi.reset()
        with torch.no_grad():
            g = self.goal_state(obs, text)  # PlaceError before anything else changes
        named = _names_place(obs, text)
        target = f'"{text or obs["mission"]}"' if named else "the place the goal image shows"
        goal_view = None if named else obs["goal"]  # a text goal: no goal image is ever read
        if text not in (None, obs["mission"]):
            world.instruct(text)  # scoring: the world judges the instruction, with a fresh step limit
        budget = max_steps or world.max_steps or 50
        return Run(self._acting(world, obs, goal_view, g, target, budget, generator), obs)

    @torch.no_grad()
    def _acting(self, world: SealedWorld, obs: dict, goal_view: np.ndarray | None, g: torch.Tensor, target: str, budget: int,
                generator: torch.Generator) -> Loop:
        """The acting loop: yields (observation, plan, step) after every action; returns the episode."""
        stm = ShortTermMemory()
        c = self.cfg
        graph, rules = {
            "view": ("a graph of places imagined from the views", f"level 1's route is planned once, from the first view; level 0's "
                     f"subgoal is the farthest place on it within {c.lookahead:g} pixels in a clear line"),
            "model": ("a graph imagined with level 0's predictor",
                      "level 1 plans its imagined graph again every step; a move that didn't happen is left out near that place"),
            "hjepa": (f"its own model: a search over {len(self.abstract[0].codes) if self.abstract else 0} macro-actions, "
                      f"{c.hjepa.horizon} steps of {self.abstract[0].period if self.abstract else 0} ahead, under its critic",
                      f"level 1 plans again every {c.hjepa.replan} steps and hands down its first predicted state; once its search "
                      "arrives in one macro-step, level 0 goes straight at the goal"),
        }[c.graph]
        configure_continuous(stm, c.hierarchy, graph, "latent distance of every imagined state to the (sub)goal's", c.mppi, rules)
        upper = self._own_level1(g)
        view_graph = c.hierarchy == "auto" and c.graph == "view"
        trace: list[StepRecord] = []
        plan: AgentPlan | None = None
        bumps: list[tuple[torch.Tensor, torch.Tensor]] = []  # (state, unit heading) of moves that didn't happen
        remember_bumps = self.cfg.hierarchy == "auto" and self.cfg.graph == "model" and self.cfg.bump > 0
        start = time.perf_counter()
        places = self.places_of(obs["image"], goal_view, g) if view_graph else None
        setup_ms = (time.perf_counter() - start) * 1000  # counted in the first step's planning time
        s = self.level.encode(torch.as_tensor(obs["image"][None]))[0]
        seen = [where_agent(obs["image"])] if view_graph else []  # the view graph's reading of where the agent is, step by step
        for t in range(budget):
            start = time.perf_counter()
            recent = seen[-4:]
            stalled = len(recent) == 4 and all(p is not None for p in recent) and np.linalg.norm(recent[-1] - recent[0]) < 1.5
            plan = self._plan(s, g, generator, bumps, places, obs["image"], stalled, upper)
            if t == 0:
                start -= setup_ms / 1000
            action = plan.plan.actions[0]
            ms = (time.perf_counter() - start) * 1000
            observed = world.step(action.numpy())
            subgoal = plan.route[0] if plan.route and isinstance(plan.route[0], tuple) else None
            record = StepRecord(t, (float(action[0]), float(action[1])), GOAL_STAGE, plan.plan.total, ms, plan.calls, subgoal, plan.levels)
            trace.append(record)
            obs = observed.obs
            yield obs, plan, record
            if observed.done:
                break
            s_next = self.level.encode(torch.as_tensor(obs["image"][None]))[0]
            if remember_bumps:
                expected = self.level.predict(s[None], action[None])[0]
                if (s_next - s).norm() < self.cfg.bump * (expected - s).norm():  # the view moved far less than imagined
                    bumps.append((s, action / action.norm().clamp_min(1e-6)))
            s = s_next
            if view_graph:
                seen.append(where_agent(obs["image"], None if places is None else places.scene.walls))
        explanation = headed_for(target, c.hierarchy == "auto", "the states my own model predicted on the way" if upper is not None
                                 else "places on the way, seen in the first view")
        return unjudged(len(trace), explanation, plan, tuple(trace), tuple(stm.decisions))

    # -- planning -------------------------------------------------------------------------
    def _own_level1(self, g: torch.Tensor) -> LatentSubgoals | None:
        """Level 1 planning with its own model toward the goal state `g` (graph "hjepa"), else None."""
        if self.cfg.hierarchy != "auto" or self.cfg.graph != "hjepa":
            return None
        level = self.abstract[0]
        return LatentSubgoals(level, self.abstract_critics[0].distance, self.latent, level.encode(g[None])[0])

    def _stride(self, s: torch.Tensor, encode: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
        """The latent length of one full stride from `s`: the median over the headings (with
        `encode`, measured in the level above's space)."""
        moved = self.level.predict(s.expand(len(self.headings), -1), self.headings)
        if encode is not None:
            moved, s = encode(moved), encode(s[None])[0]
        return float((moved - s).norm(dim=-1).median().clamp_min(1e-6))

    def places_of(self, view: np.ndarray, goal_view: np.ndarray | None, g: torch.Tensor) -> Places | None:
        """Level 1's places for an episode, imagined from the first view and the goal image
        (`hagent.acting.view_graph`; None for a text goal), with their states and each place's
        way to the goal."""
        goal_view = goal_view if goal_view is not None and goal_view.any() else None
        views = [view] + ([goal_view] if goal_view is not None else [])
        found = scene(views, self.cfg.spacing, self.cfg.clearance)
        if found is None or len(found.positions) == 0:
            return None
        shown = where_agent(goal_view) if goal_view is not None else None
        if shown is not None:  # the goal image shows the goal's place: it is a place too
            found = with_place(found, shown, goal_view, 1.5 * self.cfg.spacing)
        states = torch.cat([self.level.encode(torch.as_tensor(found.images[i : i + 256])) for i in range(0, len(found.images), 256)])
        # the goal's place: the goal image's own, else (a text goal) the place that looks most like the goal state
        goal = len(found.positions) - 1 if shown is not None else int((states - g).norm(dim=-1).argmin())
        _, paths = nx.single_source_dijkstra(found.graph, goal)
        return Places(found, states, goal, {node: path[::-1] for node, path in paths.items()})

    def _plan(
        self, s: torch.Tensor, g: torch.Tensor, generator: torch.Generator, bumps: list | None = None,
        places: Places | None = None, view: np.ndarray | None = None, stalled: bool = False, upper: LatentSubgoals | None = None,
    ) -> AgentPlan:
        calls = 1
        if upper is not None and self.cfg.hierarchy == "auto":  # level 1's own model: its predicted state, reached in its space
            sub = upper.plan(s)
            encode = None if sub is None else upper.level.encode  # None: one macro-step from the goal, the goal itself
            objective = _Objective(g if sub is None else sub, self._stride(s, encode), encode)
            plan = self.mppi.plan(s, self.level, objective, generator)
            return goal_plan(plan, COST if sub is None else SUBGOAL_COST, (), upper.to_go, 2, calls + upper.calls + plan.calls)
        stride = self._stride(s)
        if self.cfg.hierarchy == "flat":
            plan = self.mppi.plan(s, self.level, _Objective(g, stride), generator)
            return goal_plan(plan, COST, (), 0.0, 1, calls + plan.calls)
        if self.cfg.graph == "view":
            return self._plan_on_places(s, g, stride, generator, places, view, stalled)
        graph = self.imagine(s, stride, bumps)
        first, route, route_cost = self._route(graph, g, stride)
        calls += graph.calls
        if not route:  # already at the best place level 1 can see: level 0 goes for the goal itself
            plan = self.mppi.plan(s, self.level, _Objective(g, stride), generator)
            return goal_plan(plan, COST, (), route_cost, 2, calls + plan.calls)
        self.mppi.warm(self.headings[route[0]].expand(self.cfg.macro, -1))  # start from the hop's own actions
        plan = self.mppi.plan(s, self.level, _Objective(graph.states[first], stride), generator)
        return goal_plan(plan, COST, route, route_cost, 2, calls + plan.calls)

    def _plan_on_places(
        self, s: torch.Tensor, g: torch.Tensor, stride: float, generator: torch.Generator, places: Places | None,
        view: np.ndarray | None, stalled: bool = False,
    ) -> AgentPlan:
        """Level 1 on the imagined places: the route from the place nearest the agent to the
        goal's place; level 0 heads for the furthest place along it that is in a straight, clear
        line within `lookahead` pixels (the goal state itself once the goal's place is). When the
        view shows the agent has got less than 1.5 pixels in three steps (level 0's model sees
        no way forward there), level 1's own move is taken: straight at the subgoal place."""
        here = None if places is None or view is None else where_agent(view, places.scene.walls)
        start = None if here is None else places.scene.nearest_visible(here)
        path = None if start is None else places.paths.get(start)
        if path is None:  # no place or no way: level 0 heads straight for the goal
            plan = self.mppi.plan(s, self.level, _Objective(g, stride), generator)
            return goal_plan(plan, COST, (), float("inf"), 2, 1 + plan.calls)
        positions = places.scene.positions
        # at (or near) the first place already: the next one on the route at least (the way
        # between places is clear by construction, while the way from the agent's own spot may not be)
        hop = path[1] if len(path) > 1 and np.linalg.norm(positions[path[0]] - here) < self.cfg.spacing / 2 else path[0]
        for node in path[path.index(hop):]:
            if np.linalg.norm(positions[node] - here) > self.cfg.lookahead or not places.scene.clear(here, positions[node]):
                break
            hop = node
        target = g if hop == places.goal else places.states[hop]
        towards = torch.as_tensor(positions[hop] - here, dtype=torch.float32)
        length = float(towards.norm())
        straight = (towards / max(length, 1e-6) * min(self.max_step, length)).expand(self.cfg.mppi.horizon, -1)
        if stalled and length > 1.0:
            objective = _Objective(target, stride)
            states = imagine(self.level, s[None], straight[None])[0]
            costs = objective.step_cost(states, straight)
            plan = Plan(straight.clone(), states, costs, 0.0, float(costs.sum()), self.cfg.mppi.horizon)
        else:
            if length > 1e-6:
                self.mppi.warm(straight)
            plan = self.mppi.plan(s, self.level, _Objective(target, stride), generator)
        route = tuple(tuple(float(v) for v in positions[node]) for node in path)
        left = sum(float(np.linalg.norm(positions[a] - positions[b])) for a, b in pairwise(path))
        return goal_plan(plan, COST, route, left / self.max_step, 2, 1 + plan.calls)

    def imagine(self, s: torch.Tensor, stride: float, bumps: list | None = None) -> ImaginedGraph:
        """Level 1's graph: breadth-first abstract moves (a heading held for `macro` strides)
        from `s`, merging states within `merge` strides of one already found. `bumps` are
        (state, unit heading) pairs of moves that were taken and didn't happen (a wall the model
        missed): moves near such a state in such a heading are left out of the graph."""
        cfg = self.cfg
        bump_states = torch.stack([b[0] for b in bumps]) if bumps else None
        bump_dirs = torch.stack([b[1] for b in bumps]) if bumps else None
        states, parent, depth, move = [s], [-1], [0], [-1]
        frontier = [0]
        calls = 0
        radius = cfg.merge * stride
        M = len(self.headings)
        for d in range(1, cfg.depth + 1):
            if not frontier or len(states) >= cfg.nodes:
                break
            here = torch.stack([states[i] for i in frontier])  # [F, D]
            x = here.repeat_interleave(M, 0)
            a = self.headings.repeat(len(frontier), 1)
            for _ in range(cfg.macro):
                x = self.level.predict(x, a)
            calls += len(a) * cfg.macro
            if bump_states is not None:  # a move that bumped before stays where it is
                near = torch.cdist(here, bump_states) < 2 * radius  # [F, B]
                along = (self.headings / self.max_step) @ bump_dirs.T > 0.7  # [M, B]
                stuck = (near[:, None, :] & along[None]).any(-1).reshape(-1)  # [F*M]
                x = torch.where(stuck[:, None], here.repeat_interleave(M, 0), x)
            known = torch.stack(states)
            fresh = torch.cdist(x, known).min(dim=1).values > radius  # not near a known place
            frontier_next = []
            for k in torch.nonzero(fresh).squeeze(1).tolist():
                if frontier_next and (x[k] - torch.stack([states[i] for i in frontier_next])).norm(dim=-1).min() <= radius:
                    continue  # merged with a sibling found this round
                states.append(x[k])
                parent.append(frontier[k // M])
                depth.append(d)
                move.append(k % M)
                frontier_next.append(len(states) - 1)
                if len(states) >= cfg.nodes:
                    break
            frontier = frontier_next
        return ImaginedGraph(torch.stack(states), parent, depth, move, calls)

    def _route(self, graph: ImaginedGraph, g: torch.Tensor, stride: float) -> tuple[int, tuple[int, ...], float]:
        """To the quickest node within `arrive` strides of the goal (else the node minimizing
        steps-to-reach + `goal_weight` x strides left): the first node on the way (level 0's
        subgoal), the headings, and that score. Latent distance alone would pick a place across
        a wall from the goal; requiring arrival makes the route go round through a door."""
        remaining = (graph.states - g).norm(dim=-1) / stride
        reach = torch.tensor(graph.depth, dtype=remaining.dtype) * self.cfg.macro
        arrived = remaining <= self.cfg.arrive
        if arrived.any():  # the goal is reached in imagination: the quickest way there
            score = torch.where(arrived, reach + remaining, torch.full_like(reach, float("inf")))
        else:  # not yet: as close as the graph gets, for what it costs to get there
            score = reach + self.cfg.goal_weight * remaining
        node = first = int(score.argmin())
        moves = []
        while graph.parent[node] >= 0:
            moves.append(graph.move[node])
            first, node = node, graph.parent[node]
        return first, tuple(reversed(moves)), float(score.min())
