"""The configurator: sets up the levels and costs for a task, and remembers why.

From the parsed `Task` and the first observation it decides which levels run (level 0 alone when
the goal is within its reach, the abstract levels above it when not), the cost terms and their
weights per level, each level's search budget, which guardrails are in force (the operator's,
always, plus those the instruction adds) and how they are enforced, and the re-planning rules.
Every decision and its reason goes to `ShortTermMemory`, which the agent also fills with the
re-planning events of the episode, so the UI and the decoder can show what was decided and why.

While the episode runs, the configurator applies its re-planning rules (`why_replan`): each
step it says whether level 1 plans its route again and why, from what it `Watch`es (level 1's
route, when it was planned, how far level 0 was from its subgoal, the hops given up on). When
it trusted level 0 alone with a goal its critic put within reach and level 0 overruns that
(`why_escalate`), it brings in the levels above: the estimate was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from hagent.config import AgentConfig
from hagent.language import ForbidAction, Guardrail as GuardrailSpec, Task, parse
from levels.config import BeamConfig
from levels.latent import LearnedToGo

if TYPE_CHECKING:
    import torch

    from hagent.acting.navigator import Route


class Decision(NamedTuple):
    """One decision of the configurator, or one event of the control loop, with its reason."""

    topic: str  # "levels", "costs", "budget", "rules", "guardrail" (configurator); "replan" (control loop)
    choice: str
    reason: str
    t: int = 0  # the step it was taken at


@dataclass
class ShortTermMemory:
    """What the agent decided and noticed during one episode, in order."""

    decisions: list[Decision] = field(default_factory=list)

    def record(self, topic: str, choice: str, reason: str, t: int = 0) -> None:
        """Append a decision."""
        self.decisions.append(Decision(topic, choice, reason, t))

    def about(self, topic: str) -> list[Decision]:
        """The decisions on one topic."""
        return [d for d in self.decisions if d.topic == topic]

    def describe(self) -> str:
        """One line per decision, for logs and "why?" questions."""
        return "\n".join(f"[t={d.t}] {d.topic}: {d.choice} — {d.reason}" for d in self.decisions)


class GuardrailPlan(NamedTuple):
    """A guardrail to enforce, where it came from and how."""

    spec: GuardrailSpec
    hard: bool
    operator: bool
    requested: bool  # the instruction asks for it (too)


class Configuration(NamedTuple):
    """Everything the control loop needs to run one task."""

    levels: int  # levels that plan, level 0 included (1 = flat)
    guardrails: tuple[GuardrailPlan, ...]
    beam: BeamConfig  # level 0's budget toward the final goal
    subgoal_beam: BeamConfig  # level 0's budget toward a subgoal of the level above
    task_weight: float
    critic_weight: float
    reach: float  # level 0's reach (steps): the longest hop level 1 may hand down
    upper_reach: float
    period: int  # level 1 re-plans after this many steps without reaching its subgoal
    error_threshold: float  # ... or when its prediction error passes this
    escalate: bool = False  # level 0 plans alone on the critic's word: the levels above may still be called in


@dataclass
class Watch:
    """What the re-planning rules watch in one episode: level 1's route, the step it was planned
    at, level 0's critic distance then to its imagined subgoal, the hops given up on (cells, and
    imagined states), and the actions since level 1's prediction was last checked."""

    route: Route | None = None
    planned_at: int = 0
    left: float = 0.0
    failed: set[tuple[int, int]] = field(default_factory=set)
    missed: list[torch.Tensor] = field(default_factory=list)
    check_from: torch.Tensor | None = None  # level 1's state where the prediction check began
    check_actions: list[int] = field(default_factory=list)
    learned: LearnedToGo | None = None  # level 1's corrections to its cost-to-go this episode (`agent.hjepa.learn`)

    @property
    def subgoal(self) -> tuple[int, int] | None:
        """The waypoint level 1 hands level 0 now (`route_subgoal`)."""
        return route_subgoal(self.route)

    @property
    def target(self) -> torch.Tensor | None:
        """The imagined state level 1 hands level 0 now (`route_target`)."""
        return route_target(self.route)


def route_subgoal(route: Route | None) -> tuple[int, int] | None:
    """The waypoint level 1 hands level 0 now; None when level 0 pursues the stage's goal itself."""
    if route is None or not route.cells or (len(route.cells) == 1 and route.goal_reached):
        return None
    return route.cells[0]


def route_target(route: Route | None) -> torch.Tensor | None:
    """The imagined level-0 state level 1 hands level 0 now (graph "imagined"); None otherwise."""
    if route is None or route.targets is None or not len(route.targets) or (len(route.targets) == 1 and route.goal_reached):
        return None
    return route.targets[0]


class Configurator:
    """Decides the levels, costs, budgets, guardrails and re-planning rules for a task."""

    def __init__(self, cfg: AgentConfig, available_levels: int):
        self.cfg = cfg
        self.available = available_levels  # levels in the loaded stack, level 0 included
        self.operator = tuple(g for phrase in cfg.guardrails for g in parse(phrase).guardrails)

    def configure(self, task: Task, estimate: float | None, memory: ShortTermMemory) -> Configuration:
        """The configuration for `task`, whose goal level 0's critic puts `estimate` steps away
        (None when the goal isn't grounded yet); records every decision in `memory`."""
        cfg = self.cfg
        levels = self._levels(estimate, memory)
        guardrails = self._guardrails(task, memory)
        memory.record(
            "costs",
            f"task energy x{cfg.task_weight:g} + critic x{cfg.critic_weight:g} at level 0; learned distances at levels 1+",
            "the critic's steps-to-goal estimate drives the search; the latent energy breaks ties near the goal",
        )
        memory.record(
            "budget",
            f"level 0 beam: horizon {cfg.beam.horizon}, width {cfg.beam.width} to the goal; "
            f"horizon {cfg.subgoal_beam.horizon}, width {cfg.subgoal_beam.width} to a subgoal",
            f"subgoals are at most {cfg.reach:g} steps away, so a shorter search reaches them",
        )
        if levels > 1:
            _record_rules(memory, cfg.period, cfg.error_threshold)
        return Configuration(
            levels, guardrails, cfg.beam, cfg.subgoal_beam, cfg.task_weight, cfg.critic_weight,
            cfg.reach, cfg.upper_reach, cfg.period, cfg.error_threshold,
            escalate=levels == 1 and self.available > 1 and cfg.hierarchy == "auto",
        )

    def why_route_first(self, config: Configuration, route_steps: float | None, estimate: float, memory: ShortTermMemory) -> Configuration:
        """The configuration after asking level 1 for a route when level 0's critic put the goal
        `estimate` steps away, within reach: when level 1's route takes `route_steps` (None: it
        found none), more than level 0's reach, the critic's estimate cut through something
        the route goes around (a wall, a blocked doorway), and the levels above route the goal
        from the first step. Otherwise `config` as it was (level 0 alone, still escalating)."""
        if not config.escalate or route_steps is None or route_steps <= config.reach:
            return config
        memory.record(
            "levels", f"all {self.available} levels",
            f"level 0's critic put the goal about {estimate:.0f} steps away, but level 1's route to it takes about "
            f"{route_steps:.0f}: the way goes around what the estimate cut through, so the levels above route it",
        )
        _record_rules(memory, config.period, config.error_threshold)
        return config._replace(levels=self.available, escalate=False)

    def why_escalate(self, config: Configuration, steps: int, estimate: float, memory: ShortTermMemory, t: int) -> Configuration:
        """The configuration from step `t` on, after level 0 alone has taken `steps` steps toward
        a goal its critic put `estimate` steps away: once those are twice the estimate and more
        than level 0's reach, the estimate was wrong, and the levels above route the goal (the
        change is recorded in `memory`). Otherwise `config` as it was."""
        if not config.escalate or steps < max(2 * estimate, config.reach + 1):
            return config
        memory.record(
            "levels", f"all {self.available} levels",
            f"level 0 alone took {steps} steps toward a goal its critic put about {estimate:.0f} away: "
            "the estimate was wrong, so the levels above route it through reachable subgoals", t,
        )
        _record_rules(memory, config.period, config.error_threshold, t)
        return config._replace(levels=self.available, escalate=False)

    def why_replan(
        self, config: Configuration, watch: Watch, t: int, cell: tuple[int, int], steps_to: Callable[[torch.Tensor], float],
        prediction_error: Callable[[], float], check_period: int,
    ) -> str | None:
        """Why level 1 plans its route again at step `t` (None: it keeps it). The agent stands at
        `cell`; `steps_to` is level 0's critic distance to an imagined state; `prediction_error`
        checks level 1's prediction over the last `check_period` actions (and restarts the check).
        A hop that took too long goes on `watch.failed` (or `missed`), so the next route avoids it."""
        surprise = None
        if len(watch.check_actions) >= check_period:
            # checked (and restarted) whenever a period is in, even at a step another rule re-plans at:
            # a check skipped then would leave the actions piling up and never be made again
            error = prediction_error()
            if error > config.error_threshold:
                surprise = f"level 1's prediction error {error:.2f} > {config.error_threshold:g}"
        imagined = self.cfg.imagined
        route = watch.route
        if route is None:
            return "no route yet" if t else "first plan"
        if route.cells and cell == route.cells[0]:
            return "subgoal reached"
        target = watch.target
        if target is not None:
            left = steps_to(target)
            own = route.target_level > 0  # level 1's own prediction (graph "hjepa") or level 0's imagined hop
            if left < (self.cfg.hjepa.arrive if own else imagined.merge):
                return "imagined subgoal reached"
            if t - watch.planned_at >= (self.cfg.hjepa.replan if own else imagined.lead or imagined.hop):
                # imagination drifts: level 1 plans again from what the agent now sees,
                # and counts the hop as failed only when level 0 got no closer to it
                reason = f"{t - watch.planned_at} steps since level 1 planned"
                if left > watch.left - 1:
                    watch.missed.append(target)
                    reason += f"; no closer to its subgoal ({left:.1f} steps, was {watch.left:.1f})"
                return reason
        if t - watch.planned_at >= config.period:
            if route.cells:
                watch.failed.add(route.cells[0])  # this hop didn't work out: route around it
            return f"no subgoal reached in {config.period} steps"
        return surprise

    def _levels(self, estimate: float | None, memory: ShortTermMemory) -> int:
        cfg = self.cfg
        if self.available == 1:
            memory.record("levels", "level 0 only", "this checkpoint has no abstract levels")
            return 1
        match cfg.hierarchy:
            case "flat":
                memory.record("levels", "level 0 only", "the config asks for a flat agent (agent.hierarchy = flat)")
                return 1
            case "full":
                memory.record("levels", f"all {self.available} levels", "the config asks for the full stack (agent.hierarchy = full)")
                return self.available
        if estimate is not None and estimate <= cfg.reach:
            memory.record("levels", "level 0 only", f"the goal is about {estimate:.0f} steps away, within level 0's reach ({cfg.reach:g})")
            return 1
        far = "the goal isn't in sight yet" if estimate is None else f"the goal is about {estimate:.0f} steps away"
        memory.record(
            "levels", f"all {self.available} levels",
            f"{far}, beyond level 0's reach ({cfg.reach:g}): the levels above route it through reachable subgoals",
        )
        return self.available

    def _guardrails(self, task: Task, memory: ShortTermMemory) -> tuple[GuardrailPlan, ...]:
        out: list[GuardrailPlan] = []
        for g in self.operator:
            out.append(GuardrailPlan(g, hard=True, operator=True, requested=g in task.guardrails))
            memory.record("guardrail", f"{g.describe()} (operator, hard)", "set in the operator's config; no instruction can lift it")
        hard = self.cfg.instruction_guardrails == "hard"
        for g in task.guardrails:
            if any(g == o.spec for o in out):
                memory.record("guardrail", f"{g.describe()} (already in force)", "the operator set it too")
                continue
            out.append(GuardrailPlan(g, hard=hard, operator=False, requested=True))
            mode = "hard: plans that break it are rejected" if hard else f"soft: weight {self.cfg.soft_weight:g} per step"
            memory.record("guardrail", f"{g.describe()} ({'hard' if hard else 'soft'})", f"the instruction asks for it; {mode}")
        return tuple(out)


def _record_rules(memory: ShortTermMemory, period: int, error_threshold: float, t: int = 0) -> None:
    """Record level 1's re-planning rules (from step `t`) in `memory`."""
    memory.record(
        "rules",
        f"level 1 re-plans on reaching its subgoal, after {period} steps without it, or when its prediction error exceeds {error_threshold:g}",
        "a subgoal that takes too long or a world that behaves unlike the model means the route is stale", t,
    )


def configure_continuous(memory: ShortTermMemory, hierarchy: str, upper: str | None, cost: str, mppi, rules: str) -> int:
    """The configurator's decisions in a continuous world (a point or gym world: the goal is a
    state, there are no stages or guardrails): which levels plan, the cost, level 0's budget and
    level 1's rules, recorded in `memory`. `upper` names level 1's graph (None: the checkpoint
    has none). Returns the number of levels that plan."""
    if upper is None or hierarchy == "flat":
        why = "the config asks for a flat agent (hierarchy = flat)" if hierarchy == "flat" else "this checkpoint has no level 1"
        memory.record("levels", "level 0 only", why)
        levels = 1
    else:
        memory.record("levels", f"level 1 ({upper}) over level 0", "hierarchy = auto: level 1 routes the goal through subgoals level 0 can reach")
        levels = 2
    memory.record("costs", cost, "the goal is a state: level 0 imagines its moves and scores how near they end")
    memory.record("budget", f"level 0 MPPI: horizon {mppi.horizon}, {mppi.samples} samples, {mppi.iterations} iterations",
                  "a few hundred imagined rollouts per plan keep a plan in tens of milliseconds on a CPU")
    if levels > 1:
        memory.record("rules", rules, "a subgoal level 0 can't make is a hop the route should not take")
    return levels


def forbidden_actions(spec: GuardrailSpec) -> tuple[str, ...]:
    """World action names an action guardrail forbids."""
    match spec:
        case ForbidAction("open") | ForbidAction("toggle"):
            return ("toggle",)
        case ForbidAction("pickup"):
            return ("pickup",)
        case ForbidAction("drop"):
            return ("drop",)
    return ()

