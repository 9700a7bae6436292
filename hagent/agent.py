"""The agent: read the instruction, perceive, plan by minimizing cost over imagined futures, act.

One decision: the instruction is parsed into a `Task`; its goal tree is flattened into stages
(`hagent.grounding`); the current stage is grounded in the observation as goal states; level 0
encodes the observation and the goal states, and the planner searches action sequences whose
imagined states (the predictor's rollouts) minimize task energy + critic; the first action is
executed (MPC) and everything is re-planned from the next observation. Short-term memory keeps,
for every observation met in the episode, the actions already taken from it; when the agent is
back in a state it has seen (it walked into a wall, or went round in a loop because the model
was wrong), the next plan may not start with an action that brought it back: the surprise
corrects the model's error instead of repeating it.

    >>> import hagent
    >>> agent = hagent.Agent.load("runs/l0")                      # doctest: +SKIP
    >>> episode = agent.run(hagent.make_world("babyai:GoToLocal", seed=1))  # doctest: +SKIP
    >>> episode.success, episode.steps                            # doctest: +SKIP
    (True, 9)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from minigrid.core.constants import OBJECT_TO_IDX

from costs.base import CostStack, WeightedCost
from costs.critic import Critic
from costs.task import GoalCritic, GoalEnergy
from hagent.config import AgentConfig
from hagent.grounding import Grounded, Memory, Stage, agent_pose, ground, stage_done, stages
from hagent.language import Task, parse
from hagent.sealed import SealedWorld
from hagent.worlds import ACTION_NAMES, DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE
from levels.level import Level
from levels.planner import BeamPlanner, CategoricalCEMPlanner, Plan


_PICKABLE = {OBJECT_TO_IDX[k] for k in ("ball", "box", "key")}
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "gotolocal"
"""The shipped agent (rebuilt by scripts/build_default_checkpoint.sh); found beside the package
in a source checkout or editable install."""


class UnsupportedTaskError(ValueError):
    """A task this agent can parse but not yet carry out (the message says why)."""


class StepRecord(NamedTuple):
    """One executed step of an episode."""

    t: int
    action: str
    stage: str  # the stage being pursued
    cost: float  # total cost of the chosen plan
    ms: float  # planning time
    calls: int  # predictor calls spent planning


class AgentPlan(NamedTuple):
    """The agent's current intention: the stages of the task and level 0's plan for the current one."""

    task: Task
    stages: tuple[str, ...]
    stage: int  # index of the stage being pursued
    actions: tuple[str, ...]  # level 0's planned actions, first one executed next
    plan: Plan  # the planner's output: actions, imagined states, costs
    costs: dict[str, float]  # each cost term's weighted total along the plan


class Episode(NamedTuple):
    """What happened when the agent ran an instruction in a world."""

    success: bool  # the world's judgement (scoring only; never seen while acting)
    steps: int
    violations: tuple[str, ...]
    explanation: str
    plan: AgentPlan | None  # the last plan made
    trace: tuple[StepRecord, ...]


class Agent:
    """A planning agent over a trained level 0 and critic."""

    def __init__(self, level: Level, critic: Critic, cfg: AgentConfig, seed: int = 0):
        self.level, self.critic, self.cfg, self.seed = level.eval(), critic.eval(), cfg, seed
        num_actions = level.actions
        match cfg.planner:
            case "beam":
                self.planner = BeamPlanner(cfg.beam, num_actions)
            case "cem":
                self.planner = CategoricalCEMPlanner(cfg.cem, num_actions)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CHECKPOINT, cfg: AgentConfig | None = None, seed: int = 0) -> Agent:
        """An agent from a checkpoint directory (default: the shipped agent); `cfg` overrides the
        checkpoint's agent settings."""
        from hagent.checkpoint import CheckpointError, load_checkpoint

        ckpt = load_checkpoint(path)
        if ckpt.critic is None:
            raise CheckpointError(f"{path}: has no trained critic (training stopped early?); it can't plan")
        return cls(ckpt.level, ckpt.critic, cfg or ckpt.config.agent, seed)

    # -- public verbs ---------------------------------------------------------------------
    def plan(self, observation: dict, text: str) -> AgentPlan:
        """Plan (without acting) for `text` from `observation`. Raises `ParseError` on bad text."""
        task = self._task(text)
        stage_list = stages(task.goal)
        memory = Memory(observation)
        grounded = ground(stage_list[0], memory)
        if len(grounded.goal_images) == 0:
            raise UnsupportedTaskError(f"can't see how to {stage_list[0].describe()} here")
        allowed = self._allowed(stage_list[0], torch.zeros(self.level.actions, dtype=torch.bool), observation, grounded)
        return self._decide(task, stage_list, 0, observation, grounded, torch.Generator().manual_seed(self.seed), allowed)

    def run(self, world: Any, text: str | None = None, max_steps: int | None = None) -> Episode:
        """Reset `world` and act until the task is done, the world ends the episode or the budget
        runs out. `text` defaults to the world's own mission. The acting loop sees the world only
        through a `SealedWorld`; success and violations are read from the world afterwards."""
        sealed = SealedWorld(world)
        obs = sealed.reset()
        task = self._task(text if text is not None else obs["mission"])
        if text is not None and text != obs["mission"] and not world.instruct(task.goal, text):
            raise UnsupportedTaskError(
                f"this world ({getattr(world, 'world_spec', world)}) can only judge its own mission "
                f"({obs['mission']!r}); run it without an instruction"
            )
        budget = max_steps if max_steps is not None else self.cfg.max_steps
        trace, last_plan, explanation = self._act(sealed, obs, task, budget)
        verdict = world.judge()  # scoring, after the fact
        return Episode(verdict.success, len(trace), verdict.violations, explanation, last_plan, tuple(trace))

    # -- the loop ---------------------------------------------------------------------------
    def _act(self, sealed: SealedWorld, obs: dict, task: Task, budget: int) -> tuple[list[StepRecord], AgentPlan | None, str]:
        torch.set_num_threads(self.cfg.threads)
        stage_list = stages(task.goal)
        memory = Memory(obs)
        generator = torch.Generator().manual_seed(self.seed)
        trace: list[StepRecord] = []
        plan: AgentPlan | None = None
        k = 0
        tried: dict[bytes, torch.Tensor] = {}  # observation -> actions already taken from it
        intention = "I'll " + ", then ".join(s.describe() for s in stage_list) + "."
        for t in range(budget):
            if stage_list[k].verb == "drop_next" and memory.carrying is None and k > 0:
                k -= 1  # dropped it in the wrong place: pick it up again first
            grounded = ground(stage_list[k], memory)
            if len(grounded.goal_images) == 0:
                return trace, plan, f"{intention} But I can't see how to {stage_list[k].describe()} here."
            key = _observation_key(obs)
            futile = tried.setdefault(key, torch.zeros(self.level.actions, dtype=torch.bool))
            allowed = self._allowed(stage_list[k], futile, obs, grounded)
            start = time.perf_counter()
            plan = self._decide(task, stage_list, k, obs, grounded, generator, allowed)
            ms = (time.perf_counter() - start) * 1000
            action = int(plan.plan.actions[0])
            trace.append(StepRecord(t, ACTION_NAMES[action], stage_list[k].describe(), plan.plan.total, ms, plan.plan.calls))
            futile[action] = True
            prev = obs
            obs, done = sealed.step(action)
            memory.update(prev, action, obs)
            if stage_done(stage_list[k], memory, prev, action, obs, grounded.cells):
                k += 1
                if k == len(stage_list):
                    return trace, plan, intention
            if done:
                break
        return trace, plan, intention

    def _allowed(self, stage: Stage, futile: torch.Tensor, obs: dict, grounded: Grounded) -> torch.Tensor:
        """Actions each plan step may take: `[H, A]` bool. The stage sets the repertoire (the
        configurator's action constraints); the action taken now must be afforded by what is in
        front of the agent (toggle a door, pick up an object with free hands, drop onto an empty
        cell) and touch only what the instruction names (pick up a target, drop beside one);
        actions already taken from this state may not come first, unless that leaves nothing."""
        horizon = self.cfg.beam.horizon if self.cfg.planner == "beam" else self.cfg.cem.horizon
        repertoire = torch.zeros(self.level.actions, dtype=torch.bool)
        repertoire[list(stage.actions)] = True
        allowed = repertoire.repeat(horizon, 1)
        now = repertoire & affordances(obs, self.level.actions)
        front = agent_pose(obs).front
        near_target = any(abs(front[0] - c[0]) + abs(front[1] - c[1]) == 1 for c in grounded.cells)
        if stage.verb == "pickup" and grounded.cells:  # hands free: only a named object
            now[PICKUP] &= front in grounded.cells
        if stage.verb == "drop_next":
            now[DROP] &= near_target
        if (now & ~futile).any():
            allowed[0] = now & ~futile
        elif now.any():
            futile[:] = False  # everything was tried here: start over
            allowed[0] = now
        return allowed

    def _task(self, text: str) -> Task:
        task = parse(text)
        if task.guardrails:
            raise UnsupportedTaskError(
                "guardrails (" + "; ".join(g.describe() for g in task.guardrails) + ") are not enforced by this "
                "agent yet (guardrail costs arrive with issue #4); refusing rather than ignoring them"
            )
        if task.goal is None:
            raise UnsupportedTaskError("the instruction sets guardrails but no goal: nothing to do")
        return task

    @torch.no_grad()
    def _decide(
        self,
        task: Task,
        stage_list: list[Stage],
        k: int,
        obs: dict,
        grounded: Grounded,
        generator: torch.Generator,
        allowed: torch.Tensor | None = None,
    ) -> AgentPlan:
        level = self.level
        images = np.concatenate([obs["image"][None], grounded.goal_images])
        headings = np.concatenate([[int(obs["direction"])], grounded.goal_headings])
        held = np.concatenate([np.asarray(obs["carried"], dtype=np.uint8)[None], grounded.goal_carried])
        encoded = level.encode(torch.as_tensor(images), torch.as_tensor(headings), torch.as_tensor(held))
        s0, goals = encoded[0], encoded[1:]
        objective = CostStack(
            [
                WeightedCost(GoalEnergy(goals), self.cfg.task_weight),
                WeightedCost(GoalCritic(self.critic, goals, terminal=self.cfg.critic_terminal), self.cfg.critic_weight),
            ]
        )
        plan = self.planner.plan(s0, level, objective, generator, allowed)
        return AgentPlan(
            task=task,
            stages=tuple(s.describe() for s in stage_list),
            stage=k,
            actions=tuple(ACTION_NAMES[int(a)] for a in plan.actions),
            plan=plan,
            costs=objective.breakdown(plan.states, plan.actions),
        )


def _observation_key(obs: dict) -> bytes:
    """A hashable fingerprint of everything the agent sees."""
    return obs["image"].tobytes() + bytes([int(obs["direction"])]) + np.asarray(obs.get("carried", ())).tobytes()


def affordances(obs: dict, num_actions: int) -> torch.Tensor:
    """What the agent can usefully do to the cell in front of it, seen in the observation: `[A]`
    bool. Turning and moving are always allowed; toggling needs a door (toggling a box would
    destroy it), picking up needs an object and free hands, dropping needs a free cell and an object in hand."""
    pose = agent_pose(obs)
    image = obs["image"]
    x, y = pose.front
    inside = 0 <= x < image.shape[0] and 0 <= y < image.shape[1]
    kind = int(image[x, y, 0]) if inside else OBJECT_TO_IDX["wall"]
    held = "carried" in obs and int(obs["carried"][0]) != OBJECT_TO_IDX["empty"]
    ok = torch.zeros(num_actions, dtype=torch.bool)
    ok[[LEFT, RIGHT, FORWARD]] = True
    ok[TOGGLE] = kind == OBJECT_TO_IDX["door"]
    ok[PICKUP] = kind in _PICKABLE and not held
    ok[DROP] = kind == OBJECT_TO_IDX["empty"] and held
    return ok
