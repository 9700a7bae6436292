"""What acting leaves behind, the same in every world: a step, a plan, an episode, and the `Run`
that steps an episode while a caller watches.

Grid worlds act by name ("forward"), continuous worlds by a vector of floats; a subgoal is a cell,
an (x, y) place in pixels, or a point of the env's goal space. Everything else is shared.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # annotations only: the records are light to import (a UI, a scorer)
    from decoder.explain import Description
    from hagent.acting.configurator import Decision
    from hagent.acting.narrative import Narrative
    from hagent.language import Task
    from levels.planner import Plan

Action = str | tuple[float, ...]
"""A world action: its name (discrete worlds) or its vector (continuous worlds)."""


def short(value: Action | tuple | None) -> str:
    """An action, a cell or a point in a few characters: a name or a cell as it is, floats to two decimals."""
    if value is None or isinstance(value, (str, int)) or all(isinstance(v, int) for v in value):
        return str(value)
    return "(" + ", ".join(f"{v:.2f}" for v in value) + ")"


class StepRecord(NamedTuple):
    """One executed step (in a gym world: one plan, its action held for level 0's time scale)."""

    t: int
    action: Action
    stage: str  # the stage being pursued
    cost: float  # total cost of the chosen plan
    ms: float  # planning time (all levels)
    calls: int  # predictor calls spent planning
    subgoal: tuple | None = None  # what level 1 handed level 0: a cell, a place or a goal point (None: the stage's goal)
    levels: int = 1  # levels that planned this step (1: level 0 alone)


class AgentPlan(NamedTuple):
    """The agent's current intention: the stages of the task, the route of the levels above and
    level 0's plan for the current (sub)goal."""

    task: Task | None  # the parsed instruction (None: the world's own goal, given as an image or a point)
    stages: tuple[str, ...]
    stage: int  # index of the stage being pursued
    actions: tuple[Action, ...]  # level 0's planned actions, first one executed next
    plan: Plan  # the planner's output: actions, imagined states, costs
    costs: dict[str, float]  # each cost term's weighted total along the plan (guardrails included)
    levels: int = 1  # levels planning (1 = level 0 alone)
    route: tuple = ()  # level 1's waypoints to the goal (first = level 0's subgoal): cells, places or goal points
    upper: tuple[tuple[tuple[int, int], ...], ...] = ()  # the routes of levels 2..L
    guardrails: tuple[str, ...] = ()  # guardrails in force
    description: Description | None = None  # `Agent.plan`: the decoder's checked text of the route ahead
    route_cost: float = 0.0  # level 1's estimate of the steps left along its route (0: no route)
    calls: int = 0  # predictor calls spent on this plan, all levels


class Episode(NamedTuple):
    """What happened when the agent ran an instruction in a world."""

    success: bool | None  # the world's judgement, read by the runner after acting (None: nobody judged it)
    steps: int  # world steps taken
    violations: tuple[str, ...]
    explanation: str
    plan: AgentPlan | None  # the last plan made
    trace: tuple[StepRecord, ...]
    decisions: tuple[Decision, ...] = ()  # the configurator's decisions and the loop's re-plans, with reasons
    description: Description | None = None  # the plan decoder's text and how it was checked (None: no decoder)
    narrative: Narrative | None = None  # the plan as carried out, from observations: the decoder's input and reference


GOAL_STAGE = "reach the goal"
"""The one stage of a task whose goal is a state (a goal image, a named place, a desired_goal)."""


def goal_plan(plan: Plan, cost: str, route: tuple = (), route_cost: float = 0.0, levels: int = 1, calls: int = 0) -> AgentPlan:
    """The intention of an agent whose goal is a state: level 0's plan (its total under the
    objective named `cost`), with level 1's route (places or goal points) when it ran."""
    return AgentPlan(
        task=None, stages=(GOAL_STAGE,), stage=0, actions=tuple(tuple(a) for a in plan.actions.tolist()), plan=plan,
        costs={cost: plan.total}, levels=levels, route=route, route_cost=route_cost, calls=calls,
    )


Loop = Generator[tuple[dict, "AgentPlan", "StepRecord"], None, "Episode"]
"""An acting loop: yields (observation after the step, plan, step) per step; returns the episode."""


def unjudged(steps: int, explanation: str, plan: AgentPlan | None, trace: tuple[StepRecord, ...],
             decisions: tuple = (), description: Description | None = None, narrative: Narrative | None = None) -> Episode:
    """The episode as an actor ends it: everything but the world's judgement, which the actor
    can't read (success None, no violations) and the runner adds (`Run`)."""
    return Episode(None, steps, (), explanation, plan, trace, decisions, description, narrative)


class Run:
    """An episode in progress: `step()` takes one action, `finish()` acts to the end and returns
    the `Episode`. The current plan, observation and trace are there to watch between steps.

    An actor makes it from its acting loop, which never sees the world itself; the runner
    (`hagent.Agent.start`) then hands it the world, whose `judge()` gives the finished episode
    its success and violations. A run nobody judged ends with `success` None."""

    def __init__(self, loop: Loop, obs: dict, task: Task | None = None):
        self._loop = loop
        self.task = task
        self.world: Any = None  # the world being scored (set by the runner; never read by the actor)
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
            self.obs, self.plan, record = next(self._loop)
        except StopIteration as stop:
            self.episode = self._judged(stop.value)
            self.plan = self.episode.plan or self.plan
            return None
        self.trace.append(record)
        return record

    def judged_by(self, world: Any) -> Run:
        """Score this run with `world`'s judgement once it is over; returns the run."""
        self.world = world
        return self

    def _judged(self, episode: Episode) -> Episode:
        if self.world is None:
            return episode
        verdict = self.world.judge()  # scoring, after acting
        return episode._replace(success=verdict.success, violations=tuple(verdict.violations))

    def finish(self) -> Episode:
        """Act until the episode is over and return it."""
        while self.step() is not None:
            pass
        return self.episode


def headed_for(target: str, upper: bool, waypoints: str) -> str:
    """A continuous actor's explanation of an episode, in plain words (the step count is the
    outcome's to say, not the explanation's)."""
    if upper:
        return (f"I headed for {target}: my upper level chose {waypoints}, "
                "and my lower level picked each move by imagining where it leads.")
    return f"I headed for {target}, picking each move by imagining where it leads."
