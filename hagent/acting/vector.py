"""The vector actor (what `hagent.Agent` acts with when level 0 reads an env's vector), in gym
worlds (`gym:<EnvId>`): the goal is a point of the env's goal space
(`desired_goal`), the observation a vector.

Every `time_scale` env steps (level 0's own step; the action is held meanwhile) the agent
encodes its observation (`s = E(vector)`) and plans:

* **level 1** (`hierarchy="auto"`, the default) hands level 0 its subgoals, planned one of two ways
  (`graph`):
  - "landmarks" (the default, a baseline over the data's points): its landmark graph
    (`levels.landmarks`), the shortest way from the landmark nearest the readout of `s` to the
    landmark nearest the goal, computed once per episode. Its action, the landmark `hops` ahead on
    that way (the goal itself near the end), is level 0's subgoal, a goal-space point.
  - "hjepa": its own model. The goal point becomes a level-1 state (`costs.readout.GoalEmbedding`,
    fit on the data's own achieved goals), level 1 searches its macro-actions through its
    predictor under its critic (`levels.latent`), and its first predicted level-1 state is level
    0's subgoal, reached in level 1's space. Once its search arrives in one macro-step, level 0
    goes straight at the goal.
* **level 0** plans with its predictor: MPPI (`levels.planner.MPPIPlanner`) over its continuous
  actions, minimizing the goal-space distance of every imagined state's readout to the goal or
  landmark (`costs.readout.ReadoutCost`), or the energy of level 1's encoding of every imagined
  state to level 1's subgoal (`costs.task.AboveEnergy`, with `AboveCritic`). `hierarchy="flat"`
  plans straight at the goal.

Planning reads the observation (`vector`, `goal`) only; the env's success is the world's
judgement, for scoring.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from costs.base import CostStack, WeightedCost
from costs.critic import Critic
from costs.readout import GoalEmbedding, GoalReadout, ReadoutCost
from costs.task import AboveCritic, AboveEnergy
from hagent.acting.configurator import ShortTermMemory, configure_continuous
from hagent.acting.records import GOAL_STAGE, AgentPlan, Loop, Run, StepRecord, goal_plan, headed_for, unjudged
from hagent.acting.sealed import SealedWorld, episode_generator, open_episode
from hagent.config import GoalAgentConfig, with_settings
from hagent.worlds import parse_spec
from levels.abstract import AbstractLevel
from levels.landmarks import LandmarkGraph, LandmarkPlanner
from levels.latent import LatentPlanner, LatentSubgoals
from levels.level import Level
from levels.planner import MPPIPlanner

if TYPE_CHECKING:
    from hagent.checkpoint import Checkpoint

GOAL_WORDS = ("reach the goal", "go to the goal", "go")
"""Instructions that mean the world's own goal (its desired_goal), besides its mission."""
COST = "goal-space distance to the (sub)goal"
"""The objective level 0 minimizes, as plans name it."""
SUBGOAL_COST = "energy to level 1's predicted state, in level 1's space"
"""Level 0's objective under level 1's own subgoal (graph "hjepa")."""


def _check(obs: dict, text: str | None) -> None:
    """Refuse an instruction other than the world's own goal: a gym world can only judge its desired_goal."""
    if text is not None and text != obs["mission"] and " ".join(text.lower().split()).rstrip(".!") not in GOAL_WORDS:
        raise ValueError("a gym world's goal is its desired_goal; say \"reach the goal\" (or nothing), not another instruction")


class VectorActor:
    """Plans with a vector level 0 (continuous actions), its goal readout and level 1's landmark graph."""

    families = ("gym", "ogbench")
    """The world families this actor acts in (an actor serves the one env its checkpoint was trained on)."""
    settings = "goal_agent"
    """Its section of `HagentConfig`."""
    env_id: str | None = None
    """The gym env its checkpoint was trained on (from the checkpoint's own world spec)."""
    family: str = "gym"
    """That env's world family: "gym" or "ogbench"."""

    def __init__(
        self, level: Level, readout: GoalReadout, landmarks: LandmarkGraph | None, cfg: GoalAgentConfig, seed: int = 0,
        abstract: tuple[AbstractLevel, ...] = (), abstract_critics: tuple[Critic, ...] = (), goal1: GoalEmbedding | None = None,
    ):
        if level.config.encoder.kind != "vector" or not level.continuous:
            raise ValueError("VectorActor needs a level trained on a gym world (vectors in, continuous actions)")
        self.level, self.readout, self.landmarks = level.eval(), readout.eval(), landmarks
        self.abstract, self.abstract_critics, self.goal1 = abstract, abstract_critics, goal1
        self.cfg, self.seed = cfg, seed
        self.mppi = MPPIPlanner(cfg.mppi, level.actions)
        self.latent = LatentPlanner(cfg.hjepa)
        if cfg.graph == "hjepa" and not (abstract and len(abstract[0].codes) and goal1 is not None):
            raise ValueError(
                'goal_agent.graph "hjepa" plans with level 1\'s own model, and this checkpoint has no level 1 with a '
                "macro-action codebook and a goal embedding: train one with hagent train --levels-only --out CKPT --data DIR"
            )

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, directory: Path, cfg: GoalAgentConfig | None = None, seed: int = 0) -> VectorActor:
        """The actor of a gym-world checkpoint; `cfg` overrides its `goal_agent` settings."""
        from hagent.checkpoint import CheckpointError

        if ckpt.readout is None:
            raise CheckpointError(f"{directory}: has no goal readout (trained with train.readout_steps=0?)")
        actor = cls(ckpt.level, ckpt.readout, ckpt.landmarks, cfg or ckpt.config.goal_agent, seed, ckpt.abstract, ckpt.abstract_critics,
                    ckpt.goal1)
        spec = parse_spec(ckpt.config.world.spec)
        actor.env_id, actor.family = spec.env_id, spec.family
        return actor

    @property
    def default_world(self) -> str:
        """The world a conversation opens in: the env this actor was trained on."""
        return f"{self.family}:{self.env_id}"

    def reconfigured(self, **updates: Any) -> VectorActor:
        """The same models under changed settings, e.g. `reconfigured(hierarchy="flat")`."""
        actor = VectorActor(self.level, self.readout, self.landmarks, with_settings(self.cfg, **updates), self.seed, self.abstract,
                            self.abstract_critics, self.goal1)
        actor.env_id, actor.family = self.env_id, self.family
        return actor

    def start(self, world: SealedWorld, text: str | None = None, max_steps: int | None = None, reset: bool | None = None,
              seed: int | None = None) -> Run:
        """Begin an episode through the world's door (see `hagent.Agent.start`), one plan (`time_scale` env steps) per
        `Run.step()`, until the env ends it or `max_steps` env steps pass (default: the env's own
        limit). The goal is the observation's `goal` (the env's desired_goal); `text` may only say
        so: None, the world's own mission or "reach the goal"."""
        torch.set_num_threads(self.cfg.threads)
        obs = open_episode(world, seed, reset)
        _check(obs, text)
        budget = max_steps or world.max_steps or 1000
        self.mppi.reset()
        return Run(self._acting(world, obs, budget, episode_generator(self.seed, seed)), obs)

    @torch.no_grad()
    def _acting(self, world: SealedWorld, obs: dict, budget: int, generator: torch.Generator) -> Loop:
        """The acting loop: yields (observation, plan, step) after every plan; returns the episode."""
        goal = torch.as_tensor(obs["goal"], dtype=torch.float32)
        c = self.cfg
        stm = ShortTermMemory()
        own = c.graph == "hjepa" and c.hierarchy == "auto"
        if own:
            rules = (f"level 1 plans again every {c.hjepa.replan} plan(s) and hands down its first predicted state; once its "
                     "search arrives in one macro-step, level 0 goes straight at the goal")
            graph = (f"its own model: a search over {len(self.abstract[0].codes)} macro-actions, {c.hjepa.horizon} steps of "
                     f"{self.abstract[0].period} ahead, under its critic")
            cost = "energy of level 1's encoding of every imagined state to level 1's predicted state (the goal's readout distance at the end)"
        else:
            rules = (f"level 1 hands down the farthest stop (of {c.hops}) its route reaches in a straight line (within {c.bend:g}); "
                     f"after {c.patience} plans without getting {c.progress:g} closer, the next stop only, then it drops the hop")
            graph = None if self.landmarks is None else f"a graph of {len(self.landmarks.points)} landmarks from its own data"
            cost = "goal-space distance of every imagined state's readout to the (sub)goal"
        configure_continuous(stm, c.hierarchy, graph, cost, c.mppi, rules)
        hierarchical = c.hierarchy == "auto" and (own or self.landmarks is not None)
        start = time.perf_counter()
        upper = None
        if hierarchical and own:
            upper = LatentSubgoals(self.abstract[0], self.abstract_critics[0].distance, self.latent, self.goal1(goal[None])[0])
        elif hierarchical:
            upper = LandmarkPlanner(self.landmarks, goal, c.hops, c.bend, c.patience, c.progress)
        setup = time.perf_counter() - start  # counted in the first step's planning time
        trace: list[StepRecord] = []
        plan: AgentPlan | None = None
        t, done = 0, False
        while t < budget and not done:
            start = time.perf_counter() - (setup if t == 0 else 0.0)
            plan = self.plan_step(obs, goal, upper, generator)
            action = plan.plan.actions[0]
            ms = (time.perf_counter() - start) * 1000
            subgoal = plan.route[0] if plan.route else None  # the landmark level 1 handed down
            record = StepRecord(t, tuple(float(v) for v in action), GOAL_STAGE, plan.plan.total, ms, plan.calls, subgoal, plan.levels)
            trace.append(record)
            for _ in range(self.level.time_scale):  # level 0's action is held for its time scale
                observed = world.step(action.numpy())
                obs, done, t = observed.obs, observed.done, t + 1
                if done or t >= budget:
                    break
            yield obs, plan, record
        target = f"the goal at ({', '.join(f'{v:.2f}' for v in goal.tolist())})"
        explanation = headed_for(target, hierarchical, "the states my own model predicted on the way" if own
                                 else "landmarks on the way, from where my own data went")
        return unjudged(t, explanation, plan, tuple(trace), tuple(stm.decisions))

    @torch.no_grad()
    def plan(self, observation: dict, text: str | None = None) -> AgentPlan:
        """Level 0's plan toward the observation's goal, from the observation (level 0 alone: level
        1's route is an episode's, made when it starts)."""
        _check(observation, text)
        goal = torch.as_tensor(observation["goal"], dtype=torch.float32)
        return self.plan_step(observation, goal, None, torch.Generator().manual_seed(self.seed))

    def plan_step(
        self, obs: dict, goal: torch.Tensor, upper: LandmarkPlanner | LatentSubgoals | None, generator: torch.Generator,
    ) -> AgentPlan:
        """One plan from an observation: level 1's subgoal (when `upper`), then level 0's MPPI toward it."""
        s = self.level.encode(torch.as_tensor(obs["vector"][None]))[0]
        target, path, levels, left = goal, (), 1, 0.0
        if isinstance(upper, LatentSubgoals):
            sub = upper.plan(s)
            if sub is not None:
                encode, c = upper.level.encode, self.cfg
                terms = [WeightedCost(AboveEnergy(encode, sub), c.subgoal_energy)]
                if c.subgoal_critic > 0:  # each term costs a forward pass over every imagined state
                    terms.append(WeightedCost(AboveCritic(self.abstract_critics[0], encode, sub), c.subgoal_critic))
                objective = CostStack(terms)
                plan = self.mppi.plan(s, self.level, objective, generator)
                return goal_plan(plan, SUBGOAL_COST, (), upper.to_go, 2, plan.calls + upper.calls)
            plan = self.mppi.plan(s, self.level, ReadoutCost(self.readout, goal), generator)
            return goal_plan(plan, COST, (), upper.to_go, 2, plan.calls + upper.calls)
        if upper is not None:
            here = self.readout(s[None])[0]
            sub = upper.plan(here)
            target, levels = sub.point, 2
            ahead = sub.path[sub.path.index(sub.landmark) + 1 :] if sub.landmark in sub.path else ()
            path = (tuple(float(v) for v in sub.point),) + tuple(tuple(float(v) for v in self.landmarks.points[n]) for n in ahead)
            left = upper.route.lengths.get(sub.start, float("inf"))
        plan = self.mppi.plan(s, self.level, ReadoutCost(self.readout, target), generator)
        return goal_plan(plan, COST, path, left, levels, plan.calls)
