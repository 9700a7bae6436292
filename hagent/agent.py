"""The agent: read the instruction, perceive, plan by minimizing cost over imagined futures, act.

One decision: the instruction is parsed into a `Task`; the configurator decides the levels, costs,
budgets, guardrails and re-planning rules (`hagent.configurator`), recording why; the goal tree
is flattened into stages (`hagent.grounding`) and the current stage is grounded in the
observation as goal states. When the abstract levels run, they plan a route of waypoints whose
hops level 0 can reach (`hagent.navigator`) and hand level 0 the first as its subgoal. Level 0
encodes the observation and the (sub)goal states, and the planner searches action sequences whose
imagined states (the predictor's rollouts) minimize task energy + critic, with the guardrails'
penalties on every imagined step and action; the first action is executed (MPC) and everything
is re-planned from the next observation. Short-term memory keeps,
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

import math
import time
from pathlib import Path
from collections.abc import Generator
from typing import Any, NamedTuple

import numpy as np
import torch
from minigrid.core.constants import OBJECT_TO_IDX

from costs.base import CostStack, WeightedCost
from costs.critic import Critic
from costs.guardrails import (
    ActionGuardrail,
    Guarded,
    Guardrail,
    GuardrailMode,
    HazardGuardrail,
    RegionGuardrail,
)
from costs.hazard import CellProbe, HazardModel, StepHazard, patches
from costs.task import GoalCritic, GoalEnergy
from decoder.explain import Description, Explainer
from hagent import shipped
from hagent.config import AgentConfig
from hagent.errors import UnsupportedTaskError
from hagent.chat import Chat, Reply
from hagent.configurator import (
    Configuration,
    Configurator,
    Decision,
    ShortTermMemory,
    forbidden_actions,
)
from hagent.grounding import (
    Grounded,
    Memory,
    Stage,
    agent_pose,
    ground,
    stage_done,
    stages,
)
from hagent.language import AvoidHazard, AvoidRegion, ForbidAction, Reader, Task, understand
from hagent.narrative import Narrative, Narrator, encoder
from hagent.navigator import Navigator, Route
from hagent.sealed import SealedWorld, resets
from hagent.waypoints import place, region_cells
from hagent.worlds import ACTION_NAMES, DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE
from levels.abstract import AbstractLevel
from levels.imagined import ImaginedPlanner
from levels.level import Level
from levels.planner import BeamPlanner, CategoricalCEMPlanner, Plan

_PICKABLE = {OBJECT_TO_IDX[k] for k in ("ball", "box", "key")}
DEFAULT_CHECKPOINT = shipped.checkpoint("default")
"""The shipped agent (rebuilt by scripts/build_default_checkpoint.sh); found beside the package
in a source checkout or editable install."""


class Run:
    """An episode in progress: `step()` takes one action, `finish()` acts to the end and returns
    the `Episode`. The current plan, observation and trace are there to watch between steps."""

    def __init__(self, agent: Agent, world: Any, loop: Generator, task: Task, obs: dict):
        self.agent, self.world, self.task = agent, world, task
        self._loop = loop
        self.obs = obs  # the latest observation
        self.plan: AgentPlan | None = None  # the latest plan (its route: level 1's waypoints)
        self.trace: list[StepRecord] = []
        self.episode: Episode | None = None  # set once the episode is over

    @property
    def done(self) -> bool:
        """Whether the episode is over."""
        return self.episode is not None

    def step(self) -> StepRecord | None:
        """Take one action; None once the episode is over (then `episode` is set)."""
        if self.episode is not None:
            return None
        try:
            step = next(self._loop)
        except StopIteration as stop:
            self.episode = self.agent._episode(self.world, self.task, stop.value)
            self.plan = self.episode.plan or self.plan
            return None
        self.obs, self.plan = step.obs, step.plan
        self.trace.append(step.record)
        return step.record

    def finish(self) -> Episode:
        """Act until the episode is over and return it."""
        while self.step() is not None:
            pass
        return self.episode


class StepRecord(NamedTuple):
    """One executed step of an episode."""

    t: int
    action: str
    stage: str  # the stage being pursued
    cost: float  # total cost of the chosen plan
    ms: float  # planning time (all levels)
    calls: int  # predictor calls spent planning
    subgoal: tuple[int, int] | None = None  # level 1's subgoal cell handed to level 0 (None: the stage's goal)


class AgentPlan(NamedTuple):
    """The agent's current intention: the stages of the task, the route of the levels above and
    level 0's plan for the current (sub)goal."""

    task: Task
    stages: tuple[str, ...]
    stage: int  # index of the stage being pursued
    actions: tuple[str, ...]  # level 0's planned actions, first one executed next
    plan: Plan  # the planner's output: actions, imagined states, costs
    costs: dict[str, float]  # each cost term's weighted total along the plan (guardrails included)
    levels: int = 1  # levels planning (1 = level 0 alone)
    route: tuple[tuple[int, int], ...] = ()  # level 1's waypoints to the goal (first = level 0's subgoal)
    upper: tuple[tuple[tuple[int, int], ...], ...] = ()  # the routes of levels 2..L
    guardrails: tuple[str, ...] = ()  # guardrails in force
    description: Description | None = None  # `Agent.plan`: the decoder's checked text of the route ahead


class Episode(NamedTuple):
    """What happened when the agent ran an instruction in a world."""

    success: bool  # the world's judgement (scoring only; never seen while acting)
    steps: int
    violations: tuple[str, ...]
    explanation: str
    plan: AgentPlan | None  # the last plan made
    trace: tuple[StepRecord, ...]
    decisions: tuple[Decision, ...] = ()  # the configurator's decisions and the loop's re-plans, with reasons
    description: Description | None = None  # the plan decoder's text and how it was checked (None: no decoder)
    narrative: Narrative | None = None  # the plan as carried out, from observations: the decoder's input and reference


class _Step(NamedTuple):
    """What one step of the loop did and where it left the agent."""

    record: StepRecord
    plan: AgentPlan
    obs: dict  # the observation after the step
    route: Route | None  # level 1's route when the step was chosen


class _Outcome(NamedTuple):
    """How the acting loop ended."""

    trace: list[StepRecord]
    plan: AgentPlan | None
    intention: str  # the task's stages and guardrails in plain words
    note: str  # why it stopped early ("" when it didn't)
    stm: ShortTermMemory
    narrator: Narrator
    obs: dict  # the last observation


class _Guards(NamedTuple):
    """Guardrails grounded for one episode."""

    step_hazard: bool  # check the action about to be taken with the step-hazard model
    step_avoid: frozenset  # cells the action about to be taken may not enter (hard region guardrails)

    level0: list[Guardrail]  # cost modules on level 0's imagined steps
    forbidden: tuple[int, ...]  # world actions removed from every plan (hard action guardrails)
    avoid: frozenset  # cells no waypoint may be in (hard region guardrails)
    doors: bool  # may doors be opened on the way
    hazard: float | None  # hazard probability above which waypoints are removed (None: off)
    described: tuple[str, ...]


class Agent:
    """A planning agent over a trained H-JEPA stack: level 0 with its critic, optional abstract
    levels with theirs, and the hazard classifier and cell probe that guardrails use."""

    families = ("rooms", "babyai", "minigrid")
    """The world families this agent acts in."""

    def __init__(
        self,
        level: Level,
        critic: Critic,
        cfg: AgentConfig,
        seed: int = 0,
        *,
        hazard: HazardModel | None = None,
        probe: CellProbe | None = None,
        abstract: tuple[AbstractLevel, ...] = (),
        abstract_critics: tuple[Critic, ...] = (),
        step_hazard: StepHazard | None = None,
        explainer: Explainer | None = None,
        normalizer: Reader | None = None,
    ):
        self.level, self.critic, self.cfg, self.seed = level.eval(), critic.eval(), cfg, seed
        self.explainer = explainer
        self.normalizer = normalizer  # reads what the grammar doesn't take (`hagent.language.understand`)
        self._chat: Chat | None = None
        self.hazard, self.probe, self.step_hazard = hazard, probe, step_hazard
        self.abstract, self.abstract_critics = tuple(abstract), tuple(abstract_critics)
        match cfg.planner:
            case "beam":
                self.planner = BeamPlanner(cfg.beam, level.actions)
            case "cem":
                self.planner = CategoricalCEMPlanner(cfg.cem, level.actions)
        self.subgoal_planner = BeamPlanner(cfg.subgoal_beam, level.actions)
        self.configurator = Configurator(cfg, 1 + len(self.abstract))
        self.navigator = Navigator(level, critic, list(self.abstract), list(self.abstract_critics), hazard)
        self.imagined = ImaginedPlanner(cfg.imagined, level.actions)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CHECKPOINT, cfg: AgentConfig | None = None, seed: int = 0) -> Agent:
        """An agent from a checkpoint directory (default: the shipped agent); `cfg` overrides the
        checkpoint's agent settings."""
        from hagent.checkpoint import CheckpointError, load_checkpoint, load_normalizer

        ckpt = load_checkpoint(path)
        if ckpt.config.level.encoder.kind == "pixels":
            raise CheckpointError(f"{path}: is a point-world checkpoint; load it with hagent.point_agent.PointAgent.load")
        if ckpt.critic is None:
            raise CheckpointError(f"{path}: has no trained critic (training stopped early?); it can't plan")
        return cls(
            ckpt.level, ckpt.critic, cfg or ckpt.config.agent, seed, hazard=ckpt.hazard, probe=ckpt.probe,
            abstract=ckpt.abstract, abstract_critics=ckpt.abstract_critics, step_hazard=ckpt.step_hazard,
            explainer=ckpt.explainer, normalizer=load_normalizer(path),
        )

    def reconfigured(self, **updates: Any) -> Agent:
        """The same trained models under changed agent settings, e.g. `reconfigured(hierarchy="flat")`."""
        return Agent(
            self.level, self.critic, self.cfg.model_copy(update=updates), self.seed, hazard=self.hazard, probe=self.probe,
            abstract=self.abstract, abstract_critics=self.abstract_critics, step_hazard=self.step_hazard,
            explainer=self.explainer, normalizer=self.normalizer,
        )

    # -- public verbs ---------------------------------------------------------------------
    def plan(self, observation: dict, text: str) -> AgentPlan:
        """Plan (without acting) for `text` from `observation`; with a decoder, `description` says
        what the route ahead does. Raises `ParseError` on bad text."""
        task = self._task(text)
        stage_list = stages(task.goal)
        memory = Memory(observation)
        grounded = ground(stage_list[0], memory)
        if len(grounded.goal_images) == 0:
            raise UnsupportedTaskError(f"can't see how to {stage_list[0].describe()} here")
        stm = ShortTermMemory()
        config = self.configurator.configure(task, self._estimate(observation, grounded) if len(stage_list) == 1 else None, stm)
        guards = self._guards(config, memory, stm)
        route = self._route(config, guards, memory, grounded, stm, 0, "first plan", obs=observation) if config.levels > 1 else None
        futile = torch.zeros(self.level.actions, dtype=torch.bool)
        plan = self._decide(task, stage_list, 0, observation, grounded, torch.Generator().manual_seed(self.seed), futile, config, guards, memory, route)
        if self.explainer is None:
            return plan
        narrator = Narrator(task, observation)
        goal = {"image": grounded.goal_images[0], "direction": int(grounded.goal_headings[0]), "carried": grounded.goal_carried[0]}
        narrator.imagine(plan.route, goal)
        guardrails = tuple(dict.fromkeys((*self.configurator.operator, *task.guardrails)))
        narrative = narrator.narrative(encoder(self.level, self.abstract), goal, guardrails)
        description = self.explainer.describe(narrative.features, narrative.facts, torch.Generator().manual_seed(self.seed))
        return plan._replace(description=description)

    def chat(self, text: str) -> Reply:
        """One turn of a conversation that keeps its state (world, last episode) across turns:
        an instruction, a follow-up, `new world SPEC seed N`, `why?` or `help` (see `hagent.chat`).
        Never raises on bad input: the reply says what was wrong (`reply.kind == "error"`).

            >>> agent.chat("go to the red ball").text       # doctest: +SKIP
        """
        if self._chat is None:
            self._chat = Chat(self)
        return self._chat.say(text)

    def start(self, world: Any, text: str | None = None, max_steps: int | None = None, reset: bool | None = None) -> Run:
        """Begin an episode that the caller steps (`Run.step`) or finishes (`Run.finish`); `run`
        is `start(...).finish()`. Which episode: by default the one the caller has just reset
        (`obs, _ = world.reset(seed=s); agent.run(world, obs["mission"])` plays that episode),
        else the world's next one; `reset=True` always resets, `reset=False` carries on from
        where the last instruction left `world` (a follow-up). Raises `ParseError` on bad text
        and `UnsupportedTaskError` when the world can't judge the instruction."""
        sealed = SealedWorld(world)
        resetting = resets(world, reset)
        obs = sealed.reset() if resetting else sealed.observe()
        task = self._task(text if text is not None else obs["mission"])
        retell = text is not None and (text != obs["mission"] or reset is False)  # a follow-up gets a fresh time limit
        try:
            instructed = retell and world.instruct(task.goal, text)
        except ValueError as err:
            raise UnsupportedTaskError(str(err)) from None
        if retell and not instructed and text != obs["mission"]:
            raise UnsupportedTaskError(
                f"this world ({getattr(world, 'world_spec', world)}) can only judge its own mission "
                f"({obs['mission']!r}); run it without an instruction"
            )
        if hasattr(world, "watch"):
            world.watch(self.configurator.operator + task.guardrails)  # scoring: the world counts violations
        budget = max_steps if max_steps is not None else self.cfg.max_steps
        if resetting:
            opening = ("reset the world", "reset=True" if reset else "the world was not freshly reset, so its next episode")
        elif reset is None:
            opening = ("played the episode the caller reset", "the world was reset and had not stepped since")
        else:
            opening = ("carried on", "reset=False: a follow-up from where the world is")
        return Run(self, world, self._act(sealed, obs, task, budget, opening), task, obs)

    def run(self, world: Any, text: str | None = None, max_steps: int | None = None, reset: bool | None = None) -> Episode:
        """Act in `world` until the task is done, the world ends the episode or the budget runs
        out. `text` defaults to the world's own mission; `reset` chooses the episode as in
        `start` (default: the one the caller has just reset, else the world's next). The
        acting loop sees the world only through a `SealedWorld`; success and violations are
        read from the world afterwards."""
        return self.start(world, text, max_steps, reset).finish()

    def _episode(self, world: Any, task: Task, out: _Outcome) -> Episode:
        """Judge, narrate and describe a finished loop."""
        guardrails = tuple(dict.fromkeys((*self.configurator.operator, *task.guardrails)))
        narrative = out.narrator.narrative(encoder(self.level, self.abstract), out.obs, guardrails)
        description = None
        if self.explainer is not None and not (out.note and not out.trace):  # nothing to tell of a refused task
            description = self.explainer.describe(narrative.features, narrative.facts, torch.Generator().manual_seed(self.seed))
        said = out.intention if description is None else description.text
        read = f'I read that as: "{task.read_as}".' if task.read_as else ""
        explanation = " ".join(filter(None, (read, said, out.note)))
        verdict = world.judge()  # scoring, after the fact
        return Episode(
            verdict.success, len(out.trace), verdict.violations, explanation, out.plan, tuple(out.trace),
            tuple(out.stm.decisions), description, narrative,
        )

    # -- the loop ---------------------------------------------------------------------------
    def _act(
        self, sealed: SealedWorld, obs: dict, task: Task, budget: int, opening: tuple[str, str]
    ) -> Generator[_Step, None, _Outcome]:
        """The acting loop, one step per `next()`; its return value is how it ended. `opening`
        is which episode this is, and why (recorded first)."""
        torch.set_num_threads(self.cfg.threads)
        stage_list = stages(task.goal)
        memory = Memory(obs)
        narrator = Narrator(task, obs)
        stm = ShortTermMemory()
        stm.record("episode", *opening)
        if task.read_as:
            stm.record("language", f'read "{task.text}" as "{task.read_as}"',
                       f"the grammar didn't take it; the normalizer read it with confidence {task.confidence:.2f}")
        for note in task.notes:
            stm.record("language", note, "the grammar can't name that part of the instruction")
        generator = torch.Generator().manual_seed(self.seed)
        trace: list[StepRecord] = []
        plan: AgentPlan | None = None
        grounded = ground(stage_list[0], memory)
        estimate = self._estimate(obs, grounded) if len(grounded.goal_images) and len(stage_list) == 1 else None
        config = self.configurator.configure(task, estimate, stm)
        guards = self._guards(config, memory, stm)
        intention = "I'll " + ", then ".join(s.describe() for s in stage_list)
        if guards.described:
            intention += " (" + "; ".join(guards.described) + ")"
        intention += "."
        for stage in stage_list:
            clash = _clash(stage, guards)
            if clash:
                return _Outcome(trace, plan, intention, f"But I won't: {clash}.", stm, narrator, obs)
        k = 0
        tried: dict[bytes, torch.Tensor] = {}  # observation -> actions already taken from it
        route: Route | None = None
        failed: set[tuple[int, int]] = set()  # subgoals level 0 could not reach this episode
        missed: list[torch.Tensor] = []  # the same for imagined subgoals ([D0] states)
        route_t, check_s1, check_actions = 0, self._s1(obs), []
        route_left = 0.0  # level 0's critic: steps from where level 1 last planned to its imagined subgoal
        for t in range(budget):
            if stage_list[k].verb == "drop_next" and memory.carrying is None and k > 0:
                k -= 1  # dropped it in the wrong place: pick it up again first
            grounded = ground(stage_list[k], memory)
            if len(grounded.goal_images) == 0:
                return _Outcome(trace, plan, intention, f"But I can't see how to {stage_list[k].describe()} here.", stm, narrator, obs)
            start = time.perf_counter()
            if config.levels > 1:
                reason = None
                if route is None:
                    reason = "no route yet" if t else "first plan"
                elif route.cells and memory.pose.cell == route.cells[0]:
                    reason = "subgoal reached"
                elif _target(route) is not None and (left := self._steps_to(obs, _target(route))) < self.cfg.imagined.merge:
                    reason = "imagined subgoal reached"
                elif _target(route) is not None and t - route_t >= (self.cfg.imagined.lead or self.cfg.imagined.hop):
                    # imagination drifts: level 1 plans again from what the agent now sees,
                    # and counts the hop as failed only when level 0 got no closer to it
                    reason = f"{t - route_t} steps since level 1 planned"
                    if left > route_left - 1:
                        missed.append(_target(route))
                        reason += f"; no closer to its subgoal ({left:.1f} steps, was {route_left:.1f})"
                elif t - route_t >= config.period:
                    reason = f"no subgoal reached in {config.period} steps"
                    if route.cells:
                        failed.add(route.cells[0])  # this hop didn't work out: route around it
                elif check_actions and len(check_actions) == self.abstract[0].period:
                    error = self._prediction_error(check_s1, check_actions, obs)
                    check_s1, check_actions = self._s1(obs), []
                    if error > config.error_threshold:
                        reason = f"level 1's prediction error {error:.2f} > {config.error_threshold:g}"
                if reason is not None:
                    route = self._route(config, guards, memory, grounded, stm, t, reason, frozenset(failed), obs, missed, generator)
                    if route is None and failed:  # the hops given up on cut every way: try them again
                        reason = f"{reason}; the {len(failed)} subgoal(s) given up on cut every route, so they are tried again"
                        failed.clear()
                        route = self._route(config, guards, memory, grounded, stm, t, reason, frozenset(), obs, missed, generator)
                    route_t = t
                    route_left = self._steps_to(obs, _target(route)) if _target(route) is not None else 0.0
            key = _observation_key(obs)
            futile = tried.setdefault(key, torch.zeros(self.level.actions, dtype=torch.bool))
            safe = self._safe_first(obs, guards)
            if not (safe & ~guards_mask(guards, self.level.actions)).any():
                stm.record("guardrail", "stopped", "every action from here would break a hard guardrail", t)
                return _Outcome(trace, plan, intention, "I stopped: every move I can see from here would break a guardrail.", stm, narrator, obs)
            plan = self._decide(task, stage_list, k, obs, grounded, generator, futile, config, guards, memory, route, first=safe)
            for _ in range(3):  # level 1 hands down only subgoals level 0 can reach in imagination
                if (_subgoal(route) is None and _target(route) is None) or (
                    float(plan.plan.costs.min()) <= self.cfg.verify and plan.plan.penalty < _HARD
                ):
                    break
                if route.cells:
                    failed.add(route.cells[0])
                    why = f"level 0 can't reach {route.cells[0]} in imagination"
                else:
                    missed.append(_target(route))
                    why = "level 0 can't reach the imagined subgoal in imagination"
                route = self._route(config, guards, memory, grounded, stm, t, why, frozenset(failed), obs, missed, generator)
                route_t = t
                route_left = self._steps_to(obs, _target(route)) if _target(route) is not None else 0.0
                plan = self._decide(task, stage_list, k, obs, grounded, generator, futile, config, guards, memory, route, first=safe)
            ms = (time.perf_counter() - start) * 1000
            if not math.isfinite(plan.plan.total):
                stm.record("fallback", "turned in place", "the planner's costs were not finite (a broken model?); turning enters no cell", t)
            elif plan.plan.penalty >= _HARD and self._breaks_first(plan, guards):
                stm.record("guardrail", "stopped", f"every plan found would {_broken_now(plan, guards)} at once", t)
                return _Outcome(trace, plan, intention, f"I stopped: every move I can find would {_broken_now(plan, guards)}.", stm, narrator, obs)
            first = plan.plan.actions[:1]
            action = int(first[0])
            subgoal = _subgoal(route)
            trace.append(StepRecord(t, ACTION_NAMES[action], stage_list[k].describe(), plan.plan.total, ms, plan.plan.calls, subgoal))
            futile[action] = True
            prev = obs
            obs, done = sealed.step(action)
            memory.update(prev, action, obs)
            narrator.observe(prev, action, obs)
            yield _Step(trace[-1], plan, obs, route)
            check_actions.append(action)
            if stage_done(stage_list[k], memory, prev, action, obs, grounded.cells):
                k += 1
                route = None
                if k == len(stage_list):
                    return _Outcome(trace, plan, intention, "", stm, narrator, obs)
            if done:
                break
        note = "" if trace else f"But I took no steps: the step budget was {budget}."
        return _Outcome(trace, plan, intention, note, stm, narrator, obs)

    def _route(
        self, config: Configuration, guards: _Guards, memory: Memory, grounded: Grounded, stm: ShortTermMemory, t: int,
        reason: str, failed: frozenset = frozenset(), obs: dict | None = None, missed: list[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> Route | None:
        if self.cfg.graph == "imagined" and obs is not None:
            goals = self._encode_goals(grounded.goal_images, grounded.goal_headings, grounded.goal_carried)
            route = self.navigator.imagine(
                self.imagined, self._encode_obs(obs)[0], goals, generator or torch.Generator().manual_seed(self.seed),
                reach=self.cfg.imagined.arrive, hazard_threshold=guards.hazard, failed=torch.stack(missed) if missed else None,
                allowed=~guards_mask(guards, self.level.actions),
            )
        else:
            route = self.navigator.route(
                memory, grounded, levels=config.levels, reach=config.reach, upper_reach=config.upper_reach,
                spacing=self.cfg.spacing, doors=guards.doors, avoid=guards.avoid, hazard_threshold=guards.hazard,
                failed=failed,
            )
        if route is None:
            stm.record("replan", "no route: level 0 heads for the goal itself", f"{reason}; no chain of reachable waypoints leads to the goal", t)
        else:
            hops = len(route.cells) if route.targets is None else len(route.targets)
            kind = "waypoint(s)" if route.targets is None else "imagined hop(s)"
            stm.record("replan", f"route of {hops} {kind}, about {sum(route.steps):.0f} steps", reason, t)
        return route

    def _s1(self, obs: dict) -> torch.Tensor | None:
        if not self.abstract:
            return None
        with torch.no_grad():
            return self.abstract[0].encode(self._encode_obs(obs))

    def _prediction_error(self, s1: torch.Tensor, actions: list[int], obs: dict) -> float:
        """Level 1's relative error predicting where the last period's actions led."""
        with torch.no_grad():
            level = self.abstract[0]
            predicted = level.predict(s1, level.summarize(torch.as_tensor([actions])))
            actual = level.encode(self._encode_obs(obs))
            return float((predicted - actual).pow(2).mean())

    @torch.no_grad()
    def _steps_to(self, obs: dict, target: torch.Tensor) -> float:
        """Level 0's critic: steps from `obs` to an imagined state `target [D0]`."""
        return float(self.critic.distance(self._encode_obs(obs), target[None])[0])

    def _encode_obs(self, obs: dict) -> torch.Tensor:
        return self.level.encode(
            torch.as_tensor(obs["image"][None]),
            torch.as_tensor([int(obs["direction"])]),
            torch.as_tensor(np.asarray(obs["carried"], dtype=np.uint8)[None]),
        )

    @torch.no_grad()
    def _estimate(self, obs: dict, grounded: Grounded) -> float:
        """Level 0's critic: steps from `obs` to the nearest grounded goal state."""
        goals = self._encode_goals(grounded.goal_images, grounded.goal_headings, grounded.goal_carried)
        return float(self.critic.nearest(self._encode_obs(obs), goals)[0])

    def _encode_goals(self, images: np.ndarray, headings: np.ndarray, held: np.ndarray) -> torch.Tensor:
        return self.level.encode(torch.as_tensor(images), torch.as_tensor(headings), torch.as_tensor(held))

    def _guards(self, config: Configuration, memory: Memory, stm: ShortTermMemory) -> _Guards:
        """Ground the configured guardrails in this episode's first observation."""
        level0: list[Guardrail] = []
        forbidden: list[int] = []
        avoid: set = set()
        doors, hazard = True, None
        described = []
        for g in config.guardrails:
            mode = GuardrailMode(
                hard=g.hard, weight=_HARD if g.hard else self.cfg.soft_weight,
                threshold=self.cfg.hazard_threshold if isinstance(g.spec, AvoidHazard) else 0.5, operator=g.operator,
            )
            text = g.spec.describe()
            match g.spec:
                case AvoidHazard():
                    if self.hazard is None:
                        if not g.requested:
                            stm.record("guardrail", f"{text}: nothing to enforce it with", "this checkpoint learned no hazard (its data had none)")
                            continue
                        raise UnsupportedTaskError(f"this agent can't {text}: its checkpoint learned no hazard classifier (its data had no hazards)")
                    if g.hard and self.step_hazard is not None:
                        # the step about to be taken is checked exactly (step-hazard model on what is
                        # seen); imagined states further on are steered clear of by a large finite cost,
                        # so a blurry imagined hazard next to a safe gap doesn't forbid the gap
                        mode = GuardrailMode(hard=True, weight=self.cfg.imagined_hazard_weight, threshold=mode.threshold, operator=g.operator)
                    level0.append(HazardGuardrail(self.hazard, mode, text))
                    if g.hard:
                        hazard = self.cfg.hazard_threshold
                case AvoidRegion(region):
                    cells = region_cells(memory.scene(), region, memory)
                    if not cells:
                        stm.record("guardrail", f"{text}: no such room here", "nothing in view matches it, so nothing is forbidden")
                        continue
                    if memory.origin.cell in cells:
                        raise UnsupportedTaskError(f"I'm already inside {region.describe()}; I can't {text}")
                    if self.probe is None:
                        raise UnsupportedTaskError(f"this agent can't {text}: its checkpoint has no cell probe to read imagined states with")
                    mask = torch.zeros(memory.scene().shape[:2], dtype=torch.bool)
                    for c in cells:
                        mask[c] = True
                    level0.append(RegionGuardrail(self.probe, mask, mode, text))
                    if g.hard:
                        avoid |= cells
                case ForbidAction():
                    ids = tuple(ACTION_NAMES.index(a) for a in forbidden_actions(g.spec))
                    level0.append(ActionGuardrail(ids, mode, text))
                    if g.hard:
                        forbidden.extend(ids)
                        doors = doors and TOGGLE not in ids
            described.append(text)
        step = hazard is not None and self.step_hazard is not None
        return _Guards(step, frozenset(avoid), level0, tuple(forbidden), frozenset(avoid), doors, hazard, tuple(described))

    def _allowed(
        self, stage: Stage, futile: torch.Tensor, obs: dict, grounded: Grounded, horizon: int, guards: _Guards,
        first: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Actions each plan step may take: `[H, A]` bool. The stage sets the repertoire (the
        configurator's action constraints) minus the actions hard guardrails forbid; the action
        taken now must be afforded by what is in front of the agent (toggle a door, pick up an
        object with free hands, drop onto an empty cell) and touch only what the instruction names
        (pick up a target, drop beside one); actions already taken from this state may not come
        first, unless that leaves nothing; `first`, when given, are the only actions the first
        step may take (the safe ones: safety outranks that memory)."""
        repertoire = torch.zeros(self.level.actions, dtype=torch.bool)
        repertoire[list(stage.actions)] = True
        repertoire[list(guards.forbidden)] = False
        allowed = repertoire.repeat(horizon, 1)
        now = repertoire & affordances(obs, self.level.actions)
        front = agent_pose(obs).front
        near_target = any(abs(front[0] - c[0]) + abs(front[1] - c[1]) == 1 for c in grounded.cells)
        if stage.verb == "pickup" and grounded.cells:  # hands free: only a named object
            now[PICKUP] &= front in grounded.cells
        if stage.verb == "drop_next":
            now[DROP] &= near_target
        if first is not None:
            now = (now & first) if (now & first).any() else first.clone()
        if (now & ~futile).any():
            allowed[0] = now & ~futile
        elif now.any():
            futile[:] = False  # everything was tried here: start over
            allowed[0] = now
        return allowed

    def _task(self, text: str) -> Task:
        task = understand(text, self.normalizer)
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
        futile: torch.Tensor,
        config: Configuration,
        guards: _Guards,
        memory: Memory,
        route: Route | None,
        first: torch.Tensor | None = None,
    ) -> AgentPlan:
        level = self.level
        target = _target(route)
        if _subgoal(route) is not None or target is not None:  # level 1's first waypoint or imagined hop
            if target is None:  # the waypoint as it will look: the agent there, facing any way
                images, headings, held = _at(memory, route.cells[0])
            planner, horizon = self.subgoal_planner, config.subgoal_beam.horizon
        else:
            images, headings, held = grounded.goal_images, grounded.goal_headings, grounded.goal_carried
            planner = self.planner
            horizon = self.cfg.beam.horizon if self.cfg.planner == "beam" else self.cfg.cem.horizon
        allowed = self._allowed(stage_list[k], futile, obs, grounded, horizon, guards, first)
        s0 = self._encode_obs(obs)[0]
        goals = target[None] if target is not None else self._encode_goals(images, headings, held)
        objective = Guarded(
            CostStack(
                [
                    WeightedCost(GoalEnergy(goals), config.task_weight),
                    WeightedCost(GoalCritic(self.critic, goals, terminal=self.cfg.critic_terminal), config.critic_weight),
                ]
            ),
            guards.level0,
        )
        plan = planner.plan(s0, level, objective, generator, allowed)
        if not (math.isfinite(plan.total) and torch.isfinite(plan.costs).all() and torch.isfinite(plan.states).all()):
            # A broken model or objective: don't trust any of it; turn in place, the one move that
            # enters no cell, and plan again from the next observation.
            turn = torch.tensor([LEFT])
            plan = Plan(turn, s0[None], torch.zeros(1), 0.0, float("inf"), plan.calls, 0.0)
            return AgentPlan(
                task=task, stages=tuple(s.describe() for s in stage_list), stage=k, actions=("left",), plan=plan,
                costs={"non-finite planner cost: fell back to turning in place": float("inf")},
                levels=config.levels, route=() if route is None else route.cells,
                upper=() if route is None else route.upper, guardrails=guards.described,
            )
        return AgentPlan(
            task=task,
            stages=tuple(s.describe() for s in stage_list),
            stage=k,
            actions=tuple(ACTION_NAMES[int(a)] for a in plan.actions),
            plan=plan,
            costs=objective.breakdown(plan.states, plan.actions),
            levels=config.levels,
            route=() if route is None else route.cells,
            upper=() if route is None else route.upper,
            guardrails=guards.described,
        )

    @torch.no_grad()
    def _safe_first(self, obs: dict, guards: _Guards) -> torch.Tensor:
        """World actions that break no hard guardrail on the step about to be taken: `[A]` bool.
        Judged on the predicted next state (hazard classifier, cell probe) and, for the step
        itself, on what the agent sees: the step-hazard model on the cells around it, and whether
        a move forward would enter a forbidden cell."""
        s = self._encode_obs(obs).expand(self.level.actions, -1)
        actions = torch.arange(self.level.actions)
        nxt = self.level.predict(s, actions)
        safe = torch.ones(self.level.actions, dtype=torch.bool)
        for g in guards.level0:
            if g.mode.hard and not (guards.step_hazard and isinstance(g, HazardGuardrail)):
                safe &= ~g.violates(nxt, actions)
        pose = agent_pose(obs)
        if guards.step_hazard:
            patch = patches(torch.as_tensor(obs["image"][None]), torch.as_tensor([pose.cell]))
            p = self.step_hazard.probability(patch.expand(len(actions), -1, -1, -1), torch.full((len(actions),), pose.heading), actions)
            safe &= p <= self.cfg.hazard_threshold
        if pose.front in guards.step_avoid:
            safe[FORWARD] = False
        return safe

    def _breaks_first(self, plan: AgentPlan, guards: _Guards) -> bool:
        """Whether the plan's first step itself breaks a hard guardrail (so every candidate did)."""
        s, a = plan.plan.states[:1], plan.plan.actions[:1]
        return any(g.mode.hard and bool(g.violates(s, a)[0]) for g in guards.level0)


_HARD = 1000.0
"""Penalty of one imagined step that breaks a hard guardrail: more than any task cost can be."""


def _broken_now(plan: AgentPlan, guards: _Guards) -> str:
    s, a = plan.plan.states[:1], plan.plan.actions[:1]
    names = [g.description for g in guards.level0 if g.mode.hard and bool(g.violates(s, a)[0])]
    return "break '" + "' and '".join(names) + "'"


def _subgoal(route: Route | None) -> tuple[int, int] | None:
    """The waypoint level 1 hands level 0 now; None when level 0 pursues the stage's goal itself."""
    if route is None or not route.cells or (len(route.cells) == 1 and route.goal_reached):
        return None
    return route.cells[0]


def _target(route: Route | None) -> torch.Tensor | None:
    """The imagined level-0 state level 1 hands level 0 now (graph "imagined"); None otherwise."""
    if route is None or route.targets is None or not len(route.targets) or (len(route.targets) == 1 and route.goal_reached):
        return None
    return route.targets[0]


def guards_mask(guards: _Guards, num_actions: int) -> torch.Tensor:
    """The world actions hard action guardrails forbid: `[A]` bool."""
    mask = torch.zeros(num_actions, dtype=torch.bool)
    mask[list(guards.forbidden)] = True
    return mask


def _clash(stage: Stage, guards: _Guards) -> str | None:
    """Why a stage can't be done under the hard guardrails (None if it can)."""
    needs = {"open": TOGGLE, "pickup": PICKUP, "drop_next": DROP}.get(stage.verb)
    if needs is not None and needs in guards.forbidden:
        return f"to {stage.describe()} I would have to {ACTION_NAMES[needs]}, which a guardrail forbids"
    return None


def _at(memory: Memory, cell: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Goal observations of the agent standing at `cell` facing each way (a closed door there shown open)."""
    scene = memory.scene().copy()
    if scene[cell][0] == OBJECT_TO_IDX["door"] and scene[cell][2] == 1:
        scene[cell] = (scene[cell][0], scene[cell][1], 0)
    images = np.stack([place(scene, cell, d) for d in range(4)])
    held = np.repeat(np.asarray(memory.held, dtype=np.uint8)[None], 4, 0)
    return images, np.arange(4), held


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
