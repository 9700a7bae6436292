"""Acting in gym worlds (`gym:<EnvId>`): the goal is a point of the env's goal space
(`desired_goal`), the observation a vector.

Every `time_scale` env steps (level 0's own step; the action is held meanwhile) the agent
encodes its observation (`s = E(vector)`) and plans:

* **level 1** (`hierarchy="auto"`, the default) plans with its landmark graph
  (`levels.landmarks`): the shortest way from the landmark nearest the readout of `s` to the
  landmark nearest the goal, computed once per episode. Its action, the landmark `hops` ahead on
  that way (the goal itself near the end), is level 0's subgoal.
* **level 0** plans with its predictor: MPPI (`levels.planner.MPPIPlanner`) over its continuous
  actions, minimizing the goal-space distance of every imagined state's readout to the subgoal
  (`costs.readout.ReadoutCost`). `hierarchy="flat"` plans straight at the goal.

Planning reads the observation (`vector`, `goal`) only; the env's success is the world's
judgement, for scoring.
"""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import torch

from costs.readout import GoalReadout, ReadoutCost
from hagent import shipped
from hagent.config import GoalAgentConfig
from hagent.point_agent import PointEpisode, PointPlan, PointRun, PointStep, episode_generator
from hagent.sealed import open_episode
from hagent.worlds.gym import parse_gym
from levels.landmarks import LandmarkGraph, LandmarkPlanner
from levels.level import Level
from levels.planner import MPPIPlanner

if TYPE_CHECKING:
    from hagent.chat import Chat, Reply

DEFAULT_GYM_CHECKPOINT = shipped.checkpoint("pointmaze")
GOAL_WORDS = ("reach the goal", "go to the goal", "go")
"""Instructions that mean the world's own goal (its desired_goal), besides its mission."""
"""The shipped gym-world agents, one sub-checkpoint per env (`hagent train --preset pointmaze`)."""


def checkpoint_for(path: str | Path, world: str | None = None) -> Path:
    """The checkpoint directory that serves `world`: `path` itself when it is a checkpoint, else
    its sub-directory named after the world's env id (`checkpoints/pointmaze/PointMaze_UMaze-v3`)."""
    from hagent.checkpoint import CheckpointError

    path = Path(path)
    if (path / "config.json").exists() or world is None:
        return path
    env_id = world.partition(":")[2].partition("?")[0]
    if (path / env_id / "config.json").exists():
        return path / env_id
    have = sorted(p.name for p in path.iterdir() if (p / "config.json").exists()) if path.is_dir() else []
    raise CheckpointError(
        f"{path}: no checkpoint for {env_id!r}" + (f" (it has {', '.join(have)})" if have else "")
        + "; collect and train one: hagent collect --world gym:<EnvId>, then hagent train"
    )


class GoalAgent:
    """Plans with a vector level 0 (continuous actions), its goal readout and level 1's landmark graph."""

    families = ("gym",)
    """The world families this agent acts in."""
    env_id: str | None = None
    """The gym env its checkpoint was trained on, when it was loaded for one (`load(path, world)`)."""

    def __init__(self, level: Level, readout: GoalReadout, landmarks: LandmarkGraph | None, cfg: GoalAgentConfig, seed: int = 0):
        if level.config.encoder.kind != "vector" or not level.continuous:
            raise ValueError("GoalAgent needs a level trained on a gym world (vectors in, continuous actions)")
        self.level, self.readout, self.landmarks = level.eval(), readout.eval(), landmarks
        self.cfg, self.seed = cfg, seed
        self.mppi = MPPIPlanner(cfg.mppi, level.actions)
        self._chat: Chat | None = None

    @classmethod
    def load(cls, path: str | Path = DEFAULT_GYM_CHECKPOINT, world: str | None = None, cfg: GoalAgentConfig | None = None,
             seed: int = 0) -> GoalAgent:
        """An agent from a gym-world checkpoint (or from the sub-checkpoint of `path` for `world`)."""
        from hagent.checkpoint import CheckpointError, load_checkpoint

        directory = checkpoint_for(path, world)
        ckpt = load_checkpoint(directory)
        if ckpt.config.level.encoder.kind != "vector":
            raise CheckpointError(f"{directory}: is not a gym-world checkpoint (its level reads {ckpt.config.level.encoder.kind})")
        if ckpt.readout is None:
            raise CheckpointError(f"{directory}: has no goal readout (trained with train.readout_steps=0?)")
        agent = cls(ckpt.level, ckpt.readout, ckpt.landmarks, cfg or ckpt.config.goal_agent, seed)
        if world is not None:
            agent.env_id = parse_gym(world).env_id
        return agent

    def reconfigured(self, **updates: Any) -> GoalAgent:
        """The same models under changed settings, e.g. `reconfigured(hierarchy="flat")`."""
        agent = GoalAgent(self.level, self.readout, self.landmarks, self.cfg.model_copy(update=updates), self.seed)
        agent.env_id = self.env_id
        return agent

    def run(self, world: Any, text: str | None = None, max_steps: int | None = None, seed: int | None = None,
            reset: bool | None = None) -> PointEpisode:
        """Act in `world` (a gym world) until the env ends the episode or `max_steps` env steps
        pass (default: the env's own limit). The goal is the observation's `goal` (the env's
        desired_goal); `text` may only say so: None, the world's own mission or "reach the goal".
        Which episode: as `hagent.Agent.run`."""
        return self.start(world, text, max_steps, seed, reset).finish()

    def start(self, world: Any, text: str | None = None, max_steps: int | None = None, seed: int | None = None,
              reset: bool | None = None) -> PointRun:
        """Begin acting as `run` does, one plan (`time_scale` env steps) per `PointRun.step()`."""
        torch.set_num_threads(self.cfg.threads)
        sealed, obs = open_episode(world, seed, reset)
        if text is not None and text != obs["mission"] and " ".join(text.lower().split()).rstrip(".!") not in GOAL_WORDS:
            raise ValueError("a gym world's goal is its desired_goal; say \"reach the goal\" (or nothing), not another instruction")
        budget = max_steps or getattr(world, "max_steps", 1000)
        self.mppi.reset()
        return PointRun(self._acting(world, sealed, obs, budget, episode_generator(self.seed, seed)), obs)

    @torch.no_grad()
    def _acting(self, world: Any, sealed: Any, obs: dict, budget: int,
                generator: torch.Generator) -> Generator[tuple[dict, PointPlan, PointStep], None, PointEpisode]:
        """The acting loop: yields (observation, plan, step) after every plan; returns the episode."""
        goal = torch.as_tensor(obs["goal"], dtype=torch.float32)
        hierarchical = self.cfg.hierarchy == "auto" and self.landmarks is not None
        start = time.perf_counter()
        upper = None
        if hierarchical:
            c = self.cfg
            upper = LandmarkPlanner(self.landmarks, goal, c.hops, c.bend, c.patience, c.progress)
        setup = time.perf_counter() - start  # counted in the first step's planning time
        trace: list[PointStep] = []
        plan: PointPlan | None = None
        t, done = 0, False
        while t < budget and not done:
            start = time.perf_counter() - (setup if t == 0 else 0.0)
            plan = self.plan_step(obs, goal, upper, generator)
            action = plan.plan.actions[0]
            ms = (time.perf_counter() - start) * 1000
            subgoal = plan.route[0] if plan.route else None  # the landmark level 1 handed down
            record = PointStep(t, tuple(float(v) for v in action), plan.plan.total, ms, plan.calls, plan.levels, subgoal)
            trace.append(record)
            for _ in range(self.level.time_scale):  # level 0's action is held for its time scale
                observed = sealed.step(action.numpy())
                obs, done, t = observed.obs, observed.done, t + 1
                if done or t >= budget:
                    break
            yield obs, plan, record
        verdict = world.judge()  # scoring, after acting
        how = "with level 1's landmark graph over level 0" if hierarchical else "with level 0 alone"
        explanation = f"planned toward the goal ({', '.join(f'{v:.2f}' for v in goal.tolist())}) {how}; {t} steps"
        return PointEpisode(verdict.success, t, verdict.violations, explanation, plan, tuple(trace))

    def chat(self, text: str) -> Reply:
        """One turn of a conversation that keeps its state across turns, in `gym:PointMaze_UMaze-v3`
        until a `new world` turn says otherwise (see `hagent.chat`). Never raises on bad input."""
        from hagent.chat import Chat

        if self._chat is None:
            self._chat = Chat(self, "gym:PointMaze_UMaze-v3")
        return self._chat.say(text)

    def plan_step(self, obs: dict, goal: torch.Tensor, upper: LandmarkPlanner | None, generator: torch.Generator) -> PointPlan:
        """One plan from an observation: level 1's subgoal (when `upper`), then level 0's MPPI toward it."""
        s = self.level.encode(torch.as_tensor(obs["vector"][None]))[0]
        target, path, levels, left = goal, (), 1, 0.0
        if upper is not None:
            here = self.readout(s[None])[0]
            sub = upper.plan(here)
            target, levels = sub.point, 2
            ahead = sub.path[sub.path.index(sub.landmark) + 1 :] if sub.landmark in sub.path else ()
            path = (tuple(float(v) for v in sub.point),) + tuple(tuple(float(v) for v in self.landmarks.points[n]) for n in ahead)
            left = upper.route.lengths.get(sub.start, float("inf"))
        plan = self.mppi.plan(s, self.level, ReadoutCost(self.readout, target), generator)
        return PointPlan(plan, path, left, levels, plan.calls)
