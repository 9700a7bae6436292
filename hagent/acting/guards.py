"""Guardrails grounded in a grid world's first observation, and what they allow: the cost
modules on level 0's imagined steps, the actions and cells that are off limits, and the checks
on the step about to be taken."""

from __future__ import annotations

from typing import NamedTuple

import torch
from minigrid.core.constants import OBJECT_TO_IDX

from costs.guardrails import ActionGuardrail, Guardrail, GuardrailMode, HazardGuardrail, RegionGuardrail
from costs.hazard import BlockedStep, CellProbe, HazardModel, StepHazard, patches
from hagent.acting.configurator import Configuration, ShortTermMemory, forbidden_actions
from hagent.acting.grounding import Grounded, Memory, Stage, agent_pose, encode_observation
from hagent.acting.records import AgentPlan
from hagent.acting.waypoints import region_cells
from hagent.config import AgentConfig
from hagent.errors import UnsupportedTaskError
from hagent.language import AvoidHazard, AvoidRegion, ForbidAction
from hagent.worlds import ACTION_NAMES, DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE
from levels.level import Level

_PICKABLE = {OBJECT_TO_IDX[k] for k in ("ball", "box", "key")}


HARD = 1000.0
"""Penalty of one imagined step that breaks a hard guardrail: more than any task cost can be."""


class Guards(NamedTuple):
    """Guardrails grounded for one episode."""

    step_hazard: bool  # check the action about to be taken with the step-hazard model
    step_avoid: frozenset  # cells the action about to be taken may not enter (hard region guardrails)

    level0: list[Guardrail]  # cost modules on level 0's imagined steps
    forbidden: tuple[int, ...]  # world actions removed from every plan (hard action guardrails)
    avoid: frozenset  # cells no waypoint may be in (hard region guardrails)
    doors: bool  # may doors be opened on the way
    hazard: float | None  # hazard probability above which waypoints are removed (None: off)
    described: tuple[str, ...]


def ground_guards(
    config: Configuration, memory: Memory, stm: ShortTermMemory, cfg: AgentConfig, hazard_model: HazardModel | None,
    probe: CellProbe | None, step_hazard: StepHazard | None,
) -> Guards:
    """Ground the configured guardrails in this episode's first observation."""
    level0: list[Guardrail] = []
    forbidden: list[int] = []
    avoid: set = set()
    doors, hazard = True, None
    described = []
    for g in config.guardrails:
        mode = GuardrailMode(
            hard=g.hard, weight=HARD if g.hard else cfg.soft_weight,
            threshold=cfg.hazard_threshold if isinstance(g.spec, AvoidHazard) else 0.5, operator=g.operator,
        )
        text = g.spec.describe()
        match g.spec:
            case AvoidHazard():
                if hazard_model is None:
                    if not g.requested:
                        stm.record("guardrail", f"{text}: nothing to enforce it with", "this checkpoint learned no hazard (its data had none)")
                        continue
                    raise UnsupportedTaskError(f"this agent can't {text}: its checkpoint learned no hazard classifier (its data had no hazards)")
                if g.hard and step_hazard is not None:
                    # the step about to be taken is checked exactly (step-hazard model on what is
                    # seen); imagined states further on are steered clear of by a large finite cost,
                    # so a blurry imagined hazard next to a safe gap doesn't forbid the gap
                    mode = GuardrailMode(hard=True, weight=cfg.imagined_hazard_weight, threshold=mode.threshold, operator=g.operator)
                level0.append(HazardGuardrail(hazard_model, mode, text))
                if g.hard:
                    hazard = cfg.hazard_threshold
            case AvoidRegion(region):
                cells = region_cells(memory.scene(), region, memory)
                if not cells:
                    stm.record("guardrail", f"{text}: no such room here", "nothing in view matches it, so nothing is forbidden")
                    continue
                if memory.origin.cell in cells:
                    raise UnsupportedTaskError(f"I'm already inside {region.describe()}; I can't {text}")
                if probe is None:
                    raise UnsupportedTaskError(f"this agent can't {text}: its checkpoint has no cell probe to read imagined states with")
                mask = torch.zeros(memory.scene().shape[:2], dtype=torch.bool)
                for c in cells:
                    mask[c] = True
                level0.append(RegionGuardrail(probe, mask, mode, text))
                if g.hard:
                    avoid |= cells
            case ForbidAction():
                ids = tuple(ACTION_NAMES.index(a) for a in forbidden_actions(g.spec))
                level0.append(ActionGuardrail(ids, mode, text))
                if g.hard:
                    forbidden.extend(ids)
                    doors = doors and TOGGLE not in ids
        described.append(text)
    step = hazard is not None and step_hazard is not None
    return Guards(step, frozenset(avoid), level0, tuple(forbidden), frozenset(avoid), doors, hazard, tuple(described))


@torch.no_grad()
def safe_first(level: Level, obs: dict, guards: Guards, step_hazard: StepHazard | None, threshold: float) -> torch.Tensor:
    """World actions that break no hard guardrail on the step about to be taken: `[A]` bool.
    Judged on the predicted next state (hazard classifier, cell probe) and, for the step
    itself, on what the agent sees: the step-hazard model on the cells around it, and whether
    a move forward would enter a forbidden cell."""
    s = encode_observation(level, obs).expand(level.actions, -1)
    actions = torch.arange(level.actions)
    nxt = level.predict(s, actions)
    safe = torch.ones(level.actions, dtype=torch.bool)
    for g in guards.level0:
        if g.mode.hard and not (guards.step_hazard and isinstance(g, HazardGuardrail)):
            safe &= ~g.violates(nxt, actions)
    pose = agent_pose(obs)
    if guards.step_hazard:
        patch = patches(torch.as_tensor(obs["image"][None]), torch.as_tensor([pose.cell]))
        p = step_hazard.probability(patch.expand(len(actions), -1, -1, -1), torch.full((len(actions),), pose.heading), actions)
        safe &= p <= threshold
    if pose.front in guards.step_avoid:
        safe[FORWARD] = False
    return safe


@torch.no_grad()
def goes_somewhere(obs: dict, blocked_step: BlockedStep, threshold: float, num_actions: int) -> torch.Tensor:
    """World actions the blocked-step model expects to change what the agent sees: `[A]` bool
    (False: it goes nowhere, e.g. a forward into a wall, a closed door or an object)."""
    pose = agent_pose(obs)
    patch = patches(torch.as_tensor(obs["image"][None]), torch.as_tensor([pose.cell]))
    actions = torch.arange(num_actions)
    held = torch.full((num_actions,), int(obs["carried"][0]) if "carried" in obs else OBJECT_TO_IDX["empty"])
    p = blocked_step.probability(patch.expand(num_actions, -1, -1, -1), torch.full((num_actions,), pose.heading), actions, held)
    return p <= threshold


def breaks_first(plan: AgentPlan, guards: Guards) -> bool:
    """Whether the plan's first step itself breaks a hard guardrail (so every candidate did)."""
    s, a = plan.plan.states[:1], plan.plan.actions[:1]
    return any(g.mode.hard and bool(g.violates(s, a)[0]) for g in guards.level0)


def broken_now(plan: AgentPlan, guards: Guards) -> str:
    s, a = plan.plan.states[:1], plan.plan.actions[:1]
    names = [g.description for g in guards.level0 if g.mode.hard and bool(g.violates(s, a)[0])]
    return "break '" + "' and '".join(names) + "'"


def forbidden_mask(guards: Guards, num_actions: int) -> torch.Tensor:
    """The world actions hard action guardrails forbid: `[A]` bool."""
    mask = torch.zeros(num_actions, dtype=torch.bool)
    mask[list(guards.forbidden)] = True
    return mask


def clash(stage: Stage, guards: Guards) -> str | None:
    """Why a stage can't be done under the hard guardrails (None if it can)."""
    needs = {"open": TOGGLE, "pickup": PICKUP, "drop_next": DROP}.get(stage.verb)
    if needs is not None and needs in guards.forbidden:
        return f"to {stage.describe()} I would have to {ACTION_NAMES[needs]}, which a guardrail forbids"
    return None


def allowed_actions(
    num_actions: int, stage: Stage, futile: torch.Tensor, obs: dict, grounded: Grounded, horizon: int, guards: Guards,
    first: torch.Tensor | None = None, moving: torch.Tensor | None = None,
) -> torch.Tensor:
    """Actions each plan step may take: `[H, A]` bool. The stage sets the repertoire (the
    configurator's action constraints) minus the actions hard guardrails forbid; the action
    taken now must be afforded by what is in front of the agent (toggle a door, pick up an
    object with free hands, drop onto an empty cell) and touch only what the instruction names
    (pick up a target, drop beside one); actions already taken from this state may not come
    first, unless that leaves nothing; `first`, when given, are the only actions the first
    step may take (the safe ones: safety outranks that memory); of those, the ones in `moving`
    (those the blocked-step model expects to change the view) come first, unless that leaves nothing."""
    repertoire = torch.zeros(num_actions, dtype=torch.bool)
    repertoire[list(stage.actions)] = True
    repertoire[list(guards.forbidden)] = False
    allowed = repertoire.repeat(horizon, 1)
    now = repertoire & affordances(obs, num_actions)
    front = agent_pose(obs).front
    near_target = any(abs(front[0] - c[0]) + abs(front[1] - c[1]) == 1 for c in grounded.cells)
    if stage.verb == "pickup" and grounded.cells:  # hands free: only a named object
        now[PICKUP] &= front in grounded.cells
    if stage.verb == "drop_next":
        now[DROP] &= near_target
    if first is not None:
        now = (now & first) if (now & first).any() else first.clone()
    if moving is not None and (now & moving).any():
        now = now & moving
    if (now & ~futile).any():
        allowed[0] = now & ~futile
    elif now.any():
        futile[:] = False  # everything was tried here: start over
        allowed[0] = now
    return allowed


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
