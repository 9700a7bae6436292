"""The grid actor (what `hagent.Agent` acts with when level 0 reads grid codes): read the
instruction, perceive, plan by minimizing cost over imagined futures, act.

One decision: the instruction is parsed into a `Task`; the configurator decides the levels, costs,
budgets, guardrails and re-planning rules (`hagent.acting.configurator`), recording why, and
applies those rules each step; the goal tree
is flattened into stages (`hagent.acting.grounding`) and the current stage is grounded in the
observation as goal states. When the abstract levels run, they plan a route of waypoints whose
hops level 0 can reach (`hagent.acting.navigator`) and hand level 0 the first as its subgoal. Level 0
encodes the observation and the (sub)goal states, and the planner searches action sequences whose
imagined states (the predictor's rollouts) minimize task energy + critic, with the guardrails'
penalties on every imagined step and action; the first action is executed (MPC) and everything
is re-planned from the next observation. Short-term memory keeps,
for every observation met in the episode, the actions already taken from it; when the agent is
back in a state it has seen (it walked into a wall, or went round in a loop because the model
was wrong), the next plan may not start with an action that brought it back: the surprise
corrects the model's error instead of repeating it. With `agent.recall` on, level 0 also
recalls every transition the episode showed (`levels.recall`): imagining from a state it was in,
an action it took there leads where it really led, so a box it bumped stays in the way of every
plan that retraces those steps.

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
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from costs.base import CostStack, WeightedCost
from costs.critic import Critic
from costs.guardrails import Guarded
from costs.hazard import BlockedStep, CellProbe, HazardModel, StepHazard
from costs.task import AboveCritic, AboveEnergy, GoalCritic, GoalEnergy
from decoder.explain import Explainer
from hagent.acting.configurator import Configuration, Configurator, ShortTermMemory, Watch, route_subgoal, route_target
from hagent.acting.grounding import (
    Grounded, Memory, Stage, encode_observation, ground, observation_key, stage_done, stages, why_ungrounded,
)
from hagent.acting.guards import (
    HARD,
    allowed_actions,
    Guards,
    breaks_first,
    broken_now,
    clash,
    forbidden_mask,
    ground_guards,
    goes_somewhere,
    safe_first,
)
from hagent.acting.narrative import Narrator, encoder
from hagent.acting.navigator import Navigator, Route
from hagent.acting.records import AgentPlan, Episode, Loop, Run, StepRecord, unjudged
from hagent.acting.sealed import SealedWorld, resets
from hagent.acting.waypoints import at_cell
from hagent.config import AgentConfig, WorldConfig, with_settings
from hagent.errors import UnsupportedTaskError
from hagent.language import Reader, Task, understand
from hagent.worlds import ACTION_NAMES, LEFT
from levels.abstract import AbstractLevel
from levels.imagined import ImaginedPlanner
from levels.latent import LatentPlanner, LearnedToGo
from levels.level import Level
from levels.planner import BeamPlanner, CategoricalCEMPlanner, Plan
from levels.recall import Recall

if TYPE_CHECKING:
    from hagent.checkpoint import Checkpoint



class _Outcome(NamedTuple):
    """How the acting loop ended."""

    trace: list[StepRecord]
    plan: AgentPlan | None
    intention: str  # the task's stages and guardrails in plain words
    note: str  # why it stopped early ("" when it didn't)
    stm: ShortTermMemory
    narrator: Narrator
    obs: dict  # the last observation


def _stage_of(stage_list: list[Stage], k: int) -> str:
    """Where the agent was in its stages, in words: "on stage 3 of 30 (go to the red ball)"."""
    if len(stage_list) == 1:
        return f"while I was trying to {stage_list[0].describe()}"
    return f"on stage {k + 1} of {len(stage_list)} ({stage_list[k].describe()})"


class GridActor:
    """Plans over a trained H-JEPA stack that reads grid codes: level 0 with its critic, optional
    abstract levels with theirs, and the hazard classifier and cell probe that guardrails use."""

    families = ("rooms", "babyai", "minigrid")
    """The world families this actor acts in."""
    settings = "agent"
    """Its section of `HagentConfig`."""
    env_id = None

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
        blocked_step: BlockedStep | None = None,
        explainer: Explainer | None = None,
        normalizer: Reader | None = None,
    ):
        self.level, self.critic, self.cfg, self.seed = level.eval(), critic.eval(), cfg, seed
        self.explainer = explainer
        self.normalizer = normalizer  # reads what the grammar doesn't take (`hagent.language.understand`)
        self.hazard, self.probe, self.step_hazard = hazard, probe, step_hazard
        self.blocked_step = blocked_step  # tells a move that goes nowhere before it is taken
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
        self.latent = LatentPlanner(cfg.hjepa)
        if cfg.graph == "hjepa" and not (self.abstract and len(self.abstract[0].codes)):
            raise ValueError(
                'agent.graph "hjepa" plans with level 1\'s macro-action codebook, and this checkpoint\'s level 1 has none '
                "(trained before levels had one): retrain its levels with hagent train --levels-only"
            )

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, directory: Path, cfg: AgentConfig | None = None, seed: int = 0) -> GridActor:
        """The actor of a grid checkpoint; `cfg` overrides the checkpoint's agent settings."""
        from hagent.checkpoint import CheckpointError, load_normalizer

        if ckpt.critic is None:
            raise CheckpointError(f"{directory}: has no trained critic (training stopped early?); it can't plan")
        try:
            return cls(
                ckpt.level, ckpt.critic, cfg or ckpt.config.agent, seed, hazard=ckpt.hazard, probe=ckpt.probe,
                abstract=ckpt.abstract, abstract_critics=ckpt.abstract_critics, step_hazard=ckpt.step_hazard,
                blocked_step=ckpt.blocked_step, explainer=ckpt.explainer, normalizer=load_normalizer(directory),
            )
        except ValueError as err:  # settings this checkpoint's models can't serve
            raise CheckpointError(f"{directory}: {err}") from None

    @property
    def default_world(self) -> str:
        """The world a conversation opens in."""
        return WorldConfig().spec

    def reconfigured(self, **updates: Any) -> GridActor:
        """The same trained models under changed agent settings, e.g. `reconfigured(hierarchy="flat")`."""
        return GridActor(
            self.level, self.critic, with_settings(self.cfg, **updates), self.seed, hazard=self.hazard, probe=self.probe,
            abstract=self.abstract, abstract_critics=self.abstract_critics, step_hazard=self.step_hazard,
            blocked_step=self.blocked_step, explainer=self.explainer, normalizer=self.normalizer,
        )

    # -- public verbs ---------------------------------------------------------------------
    def plan(self, observation: dict, text: str | None = None) -> AgentPlan:
        """Plan (without acting) for `text` (default: the mission) from `observation`; with a
        decoder, `description` says what the route ahead does. Raises `ParseError` on bad text."""
        task = self._task(text if text is not None else observation["mission"])
        stage_list = stages(task.goal)
        memory = Memory(observation)
        grounded = ground(stage_list[0], memory)
        if len(grounded.goal_images) == 0:
            raise UnsupportedTaskError(f"I can't see how to {stage_list[0].describe()}: {why_ungrounded(stage_list[0], memory)}")
        stm = ShortTermMemory()
        config = self.configurator.configure(task, self._estimate(observation, grounded) if len(stage_list) == 1 else None, stm)
        guards = ground_guards(config, memory, stm, self.cfg, self.hazard, self.probe, self.step_hazard)
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

    def start(self, world: SealedWorld, text: str | None = None, max_steps: int | None = None, reset: bool | None = None,
              seed: int | None = None) -> Run:
        """Begin an episode through the world's door (see `hagent.Agent.start`). Raises
        `ParseError` on bad text and `UnsupportedTaskError` when the world can't judge the instruction."""
        resetting = seed is not None or resets(world, reset)
        obs = world.reset(seed=seed) if resetting else world.observe()
        task = self._task(text if text is not None else obs["mission"])
        retell = text is not None and (text != obs["mission"] or reset is False)  # a follow-up gets a fresh time limit
        try:
            instructed = retell and world.instruct(task.goal, text)  # scoring: the world judges this instruction
        except ValueError as err:
            raise UnsupportedTaskError(str(err)) from None
        if retell and not instructed and text != obs["mission"]:
            raise UnsupportedTaskError(
                f"this world can only judge its own mission ({obs['mission']!r}); run it without an instruction"
            )
        world.watch(self.configurator.operator + task.guardrails)  # scoring: the world counts violations
        budget = max_steps if max_steps is not None else self.cfg.max_steps
        if seed is not None:
            opening = ("reset the world", f"seed={seed}")
        elif resetting:
            opening = ("reset the world", "reset=True" if reset else "the world was not freshly reset, so its next episode")
        elif reset is None:
            opening = ("played the episode the caller reset", "the world was reset and had not stepped since")
        else:
            opening = ("carried on", "reset=False: a follow-up from where the world is")
        return Run(self._acting(world, obs, task, budget, opening), obs, task)

    def _acting(self, world: SealedWorld, obs: dict, task: Task, budget: int, opening: tuple[str, str]) -> Loop:
        """The acting loop, then the narrated and described episode (the runner judges it)."""
        out = yield from self._act(world, obs, task, budget, opening)
        return self._episode(task, out)

    def _episode(self, task: Task, out: _Outcome) -> Episode:
        """Narrate and describe a finished loop."""
        guardrails = tuple(dict.fromkeys((*self.configurator.operator, *task.guardrails)))
        narrative = out.narrator.narrative(encoder(self.level, self.abstract), out.obs, guardrails)
        description = None
        if self.explainer is not None and not (out.note and not out.trace):  # nothing to tell of a refused task
            description = self.explainer.describe(narrative.features, narrative.facts, torch.Generator().manual_seed(self.seed))
        said = out.intention if description is None else description.text
        read = f'I read that as: "{task.read_as}".' if task.read_as else ""
        explanation = " ".join(filter(None, (read, said, out.note)))
        return unjudged(len(out.trace), explanation, out.plan, tuple(out.trace), tuple(out.stm.decisions), description, narrative)

    # -- the loop ---------------------------------------------------------------------------
    def _act(
        self, sealed: SealedWorld, obs: dict, task: Task, budget: int, opening: tuple[str, str]
    ) -> Generator[tuple[dict, AgentPlan, StepRecord], None, _Outcome]:
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
                       "the grammar didn't take it; the lexical reader read every content word of it"
                       if task.read_by == "lexical" else
                       f"the grammar didn't take it; the normalizer read it with confidence {task.confidence:.2f}")
        for note in task.notes:
            stm.record("language", note, "the grammar can't name that part of the instruction")
        generator = torch.Generator().manual_seed(self.seed)
        trace: list[StepRecord] = []
        plan: AgentPlan | None = None
        grounded = ground(stage_list[0], memory)
        estimate = self._estimate(obs, grounded) if len(grounded.goal_images) and len(stage_list) == 1 else None
        config = self.configurator.configure(task, estimate, stm)
        guards = ground_guards(config, memory, stm, self.cfg, self.hazard, self.probe, self.step_hazard)
        if config.escalate and estimate is not None:  # level 0 alone on the critic's word: level 1 gives a second opinion
            full = config._replace(levels=self.configurator.available)
            route = self._route(full, guards, memory, grounded, ShortTermMemory(), 0, "second opinion", obs=obs)
            config = self.configurator.why_route_first(config, None if route is None else sum(route.steps), estimate, stm)
        intention = "I'll " + ", then ".join(s.describe() for s in stage_list)
        if guards.described:
            intention += " (" + "; ".join(guards.described) + ")"
        intention += "."
        for stage in stage_list:
            why_not = clash(stage, guards)
            if why_not:
                return _Outcome(trace, plan, intention, f"But I won't: {why_not}.", stm, narrator, obs)
        k = 0
        tried: dict[bytes, torch.Tensor] = {}  # observation -> actions already taken from it
        watch = Watch(check_from=self._s1(obs))  # level 1's route, as the configurator's re-planning rules see it
        recall = Recall(self.level, self.level.actions) if self.cfg.recall else None  # the transitions this episode showed
        here: torch.Tensor | None = None  # level 0's state of `obs`, kept from one step to the next for the recall
        for t in range(budget):
            if stage_list[k].verb == "drop_next" and memory.carrying is None and k > 0:
                k -= 1  # dropped it in the wrong place: pick it up again first
            grounded = ground(stage_list[k], memory)
            if len(grounded.goal_images) == 0:
                why = why_ungrounded(stage_list[k], memory)
                stm.record("stopped", _stage_of(stage_list, k), why, t)
                return _Outcome(trace, plan, intention, f"But I can't see how to {stage_list[k].describe()}: {why}.", stm, narrator, obs)
            start = time.perf_counter()
            if config.escalate and estimate is not None:
                escalated = self.configurator.why_escalate(config, t, estimate, stm, t)
                if escalated is not config:  # the levels above join: level 1's watch starts here
                    config, watch = escalated, Watch(check_from=self._s1(obs))
            if config.levels > 1:
                reason = self.configurator.why_replan(
                    config, watch, t, memory.pose.cell, lambda target: self._steps_to(obs, target, watch.route.target_level),
                    lambda: self._check_level1(watch, obs), self.abstract[0].period,
                )
                if reason is not None:
                    self._replan(watch, config, guards, memory, grounded, stm, t, reason, obs, generator)
            key = observation_key(obs)
            futile = tried.setdefault(key, torch.zeros(self.level.actions, dtype=torch.bool))
            safe = safe_first(self.level, obs, guards, self.step_hazard, self.cfg.hazard_threshold)
            if not (safe & ~forbidden_mask(guards, self.level.actions)).any():
                stm.record("guardrail", "stopped", "every action from here would break a hard guardrail", t)
                return _Outcome(trace, plan, intention, "I stopped: every move I can see from here would break a guardrail.", stm, narrator, obs)
            plan = self._decide(task, stage_list, k, obs, grounded, generator, futile, config, guards, memory, watch.route, first=safe,
                                recall=recall)
            for _ in range(3):  # level 1 hands down only subgoals level 0 can reach in imagination
                if (watch.subgoal is None and watch.target is None) or watch.route.target_level > 0 or (
                    float(plan.plan.costs.min()) <= self.cfg.verify and plan.plan.penalty < HARD
                ):  # (a level-1 subgoal is a blurry prediction level 0 heads for, not a state to verify)
                    break
                if watch.route.cells:
                    watch.failed.add(watch.route.cells[0])
                    why = f"level 0 can't reach {watch.route.cells[0]} in imagination"
                else:
                    watch.missed.append(watch.target)
                    why = "level 0 can't reach the imagined subgoal in imagination"
                self._replan(watch, config, guards, memory, grounded, stm, t, why, obs, generator, retry=False)
                plan = self._decide(task, stage_list, k, obs, grounded, generator, futile, config, guards, memory, watch.route, first=safe,
                                    recall=recall)
            ms = (time.perf_counter() - start) * 1000
            if not math.isfinite(plan.plan.total):
                stm.record("fallback", "turned in place", "the planner's costs were not finite (a broken model?); turning enters no cell", t)
            elif plan.plan.penalty >= HARD and breaks_first(plan, guards):
                stm.record("guardrail", "stopped", f"every plan found would {broken_now(plan, guards)} at once", t)
                return _Outcome(trace, plan, intention, f"I stopped: every move I can find would {broken_now(plan, guards)}.", stm, narrator, obs)
            first = plan.plan.actions[:1]
            action = int(first[0])
            subgoal = watch.subgoal
            trace.append(StepRecord(t, ACTION_NAMES[action], stage_list[k].describe(), plan.plan.total, ms, plan.plan.calls, subgoal,
                                    plan.levels))
            futile[action] = True
            prev = obs
            obs, done = sealed.step(action)
            memory.update(prev, action, obs)
            narrator.observe(prev, action, obs)
            if recall is not None:
                with torch.no_grad():
                    before = here if here is not None else self._encode_obs(prev)[0]
                    here = self._encode_obs(obs)[0]
                recall.observe(before, action, here)
            yield obs, plan, trace[-1]
            watch.check_actions.append(action)
            if stage_done(stage_list[k], memory, prev, action, obs, grounded.cells):
                k += 1
                watch.route = None
                if k == len(stage_list):
                    return _Outcome(trace, plan, intention, "", stm, narrator, obs)
            if done:
                break
        else:
            if trace:  # the budget ran out before the last stage was done
                stm.record("stopped", _stage_of(stage_list, k), f"the step budget of {budget} steps ran out", budget - 1)
                note = f"But the step budget of {budget} steps ran out {_stage_of(stage_list, k)}."
                return _Outcome(trace, plan, intention, note, stm, narrator, obs)
        note = "" if trace else f"But I took no steps: the step budget was {budget}."
        return _Outcome(trace, plan, intention, note, stm, narrator, obs)

    def _replan(
        self, watch: Watch, config: Configuration, guards: Guards, memory: Memory, grounded: Grounded, stm: ShortTermMemory,
        t: int, reason: str, obs: dict, generator: torch.Generator, retry: bool = True,
    ) -> None:
        """Level 1 plans its route again (avoiding the hops given up on) and `watch` starts over
        from step `t`; with `retry`, when those hops cut every way, they are tried again."""
        watch.route = self._route(config, guards, memory, grounded, stm, t, reason, frozenset(watch.failed), obs, watch.missed, generator, watch)
        if retry and watch.route is None and watch.failed:
            reason = f"{reason}; the {len(watch.failed)} subgoal(s) given up on cut every route, so they are tried again"
            watch.failed.clear()
            watch.route = self._route(config, guards, memory, grounded, stm, t, reason, frozenset(), obs, watch.missed, generator, watch)
        watch.planned_at = t
        watch.left = self._steps_to(obs, watch.target, watch.route.target_level) if watch.target is not None else 0.0

    def _check_level1(self, watch: Watch, obs: dict) -> float:
        """Level 1's prediction error over the actions since the last check; the check restarts here."""
        error = self._prediction_error(watch.check_from, watch.check_actions, obs)
        watch.check_from, watch.check_actions = self._s1(obs), []
        return error

    def _route(
        self, config: Configuration, guards: Guards, memory: Memory, grounded: Grounded, stm: ShortTermMemory, t: int,
        reason: str, failed: frozenset = frozenset(), obs: dict | None = None, missed: list[torch.Tensor] | None = None,
        generator: torch.Generator | None = None, watch: Watch | None = None,
    ) -> Route | None:
        if self.cfg.graph == "hjepa" and obs is not None:
            goals = self._encode_goals(grounded.goal_images, grounded.goal_headings, grounded.goal_carried)
            if self.cfg.hjepa.learn and watch is not None and watch.learned is None:
                watch.learned = LearnedToGo(self.cfg.hjepa.learn_radius, self.cfg.hjepa.learn_miss)
            route = self.navigator.latent(self.latent, self._encode_obs(obs)[0], goals, None if watch is None else watch.learned)
        elif self.cfg.graph == "imagined" and obs is not None:
            goals = self._encode_goals(grounded.goal_images, grounded.goal_headings, grounded.goal_carried)
            route = self.navigator.imagine(
                self.imagined, self._encode_obs(obs)[0], goals, generator or torch.Generator().manual_seed(self.seed),
                reach=self.cfg.imagined.arrive, hazard_threshold=guards.hazard, failed=torch.stack(missed) if missed else None,
                allowed=~forbidden_mask(guards, self.level.actions),
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
            kind = "waypoint(s)" if route.targets is None else "imagined hop(s)" if route.target_level == 0 else "level-1 step(s) of its own model"
            stm.record("replan", f"route of {hops} {kind}, about {sum(route.steps):.0f} steps", reason, t)
        return route

    def _s1(self, obs: dict) -> torch.Tensor | None:
        if not self.abstract:
            return None
        with torch.no_grad():
            return self.abstract[0].encode(self._encode_obs(obs))

    def _prediction_error(self, s1: torch.Tensor, actions: list[int], obs: dict) -> float:
        """Level 1's relative error predicting where the last period's actions led: the squared
        error over the mean square of the state reached. Training's `pred_loss_rel` divides by the
        targets' variance, a batch statistic no checkpoint keeps; level 1's states are near
        zero-mean, so the two read alike (1: no better than predicting the mean state)."""
        with torch.no_grad():
            level = self.abstract[0]
            predicted = level.predict(s1, level.summarize(torch.as_tensor([actions])))  # (1, D1)
            actual = level.encode(self._encode_obs(obs))  # (1, D1)
            return float((predicted - actual).pow(2).mean() / actual.pow(2).mean().clamp_min(1e-8))

    @torch.no_grad()
    def _steps_to(self, obs: dict, target: torch.Tensor, level: int = 0) -> float:
        """Level `level`'s critic: steps from `obs` to an imagined state `target` of that level."""
        if level == 0:
            return float(self.critic.distance(self._encode_obs(obs), target[None])[0])
        return float(self.abstract_critics[level - 1].distance(self._s1(obs), target[None])[0])

    def _encode_obs(self, obs: dict) -> torch.Tensor:
        return encode_observation(self.level, obs)

    @torch.no_grad()
    def _estimate(self, obs: dict, grounded: Grounded) -> float:
        """Level 0's critic: steps from `obs` to the nearest grounded goal state."""
        goals = self._encode_goals(grounded.goal_images, grounded.goal_headings, grounded.goal_carried)
        return float(self.critic.nearest(self._encode_obs(obs), goals)[0])

    def _encode_goals(self, images: np.ndarray, headings: np.ndarray, held: np.ndarray) -> torch.Tensor:
        return self.level.encode(torch.as_tensor(images), torch.as_tensor(headings), torch.as_tensor(held))

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
        guards: Guards,
        memory: Memory,
        route: Route | None,
        first: torch.Tensor | None = None,
        recall: Recall | None = None,
    ) -> AgentPlan:
        level = self.level
        target = route_target(route)
        if route_subgoal(route) is not None or target is not None:  # level 1's first waypoint or imagined hop
            if target is None:  # the waypoint as it will look: the agent there, facing any way
                images, headings, held = at_cell(memory, route.cells[0])
            planner, horizon = self.subgoal_planner, config.subgoal_beam.horizon
        else:
            images, headings, held = grounded.goal_images, grounded.goal_headings, grounded.goal_carried
            planner = self.planner
            horizon = self.cfg.beam.horizon if self.cfg.planner == "beam" else self.cfg.cem.horizon
        moving = None
        if self.blocked_step is not None and self.cfg.skip_blocked:
            moving = goes_somewhere(obs, self.blocked_step, self.cfg.blocked_threshold, self.level.actions)
        allowed = allowed_actions(self.level.actions, stage_list[k], futile, obs, grounded, horizon, guards, first, moving)
        s0 = self._encode_obs(obs)[0]
        if target is not None and route.target_level == 1:  # level 1's predicted state: reached in level 1's space
            up = self.abstract[0].encode
            costs = [
                WeightedCost(AboveEnergy(up, target), config.task_weight),
                WeightedCost(AboveCritic(self.abstract_critics[0], up, target), config.critic_weight),
            ]
        else:
            goals = target[None] if target is not None else self._encode_goals(images, headings, held)
            costs = [
                WeightedCost(GoalEnergy(goals), config.task_weight),
                WeightedCost(GoalCritic(self.critic, goals, terminal=self.cfg.critic_terminal), config.critic_weight),
            ]
        objective = Guarded(CostStack(costs), guards.level0)
        plan = planner.plan(s0, level if recall is None else recall, objective, generator, allowed)
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
