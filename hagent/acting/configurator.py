"""The configurator: sets up the levels and costs for a task, and remembers why.

From the parsed `Task` and the first observation it decides which levels run (level 0 alone when
the goal is within its reach, the abstract levels above it when not), the cost terms and their
weights per level, each level's search budget, which guardrails are in force (the operator's,
always, plus those the instruction adds) and how they are enforced, and the re-planning rules.
Every decision and its reason goes to `ShortTermMemory`, which the agent also fills with the
re-planning events of the episode, so the UI and the decoder can show what was decided and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from hagent.config import AgentConfig
from hagent.language import ForbidAction, Guardrail as GuardrailSpec, Task, parse
from levels.config import BeamConfig


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
            memory.record(
                "rules",
                f"level 1 re-plans on reaching its subgoal, after {cfg.period} steps without it, "
                f"or when its prediction error exceeds {cfg.error_threshold:g}",
                "a subgoal that takes too long or a world that behaves unlike the model means the route is stale",
            )
        return Configuration(
            levels, guardrails, cfg.beam, cfg.subgoal_beam, cfg.task_weight, cfg.critic_weight,
            cfg.reach, cfg.upper_reach, cfg.period, cfg.error_threshold,
        )

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

