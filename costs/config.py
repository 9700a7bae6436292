"""Configs of the cost modules (plain pydantic, no torch, so `hagent.config` imports them cheaply)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class CriticConfig(_Frozen):
    """The critic network (`costs.critic.Critic`)."""

    hidden: int = Field(256, ge=1)
    """Width of the MLP (planning evaluates it on every imagined state, so width costs time)."""
    layers: int = Field(3, ge=1)
    """Hidden layers."""


class CriticTrainConfig(_Frozen):
    """Training the critic by hindsight relabelling, after the level's JEPA."""

    steps: int = Field(6000, ge=0)
    """Optimizer steps; 0 skips the critic (such a checkpoint can't plan)."""
    lr: float = Field(2e-3, gt=0.0)
    """Peak learning rate of the one-cycle schedule."""
    batch_size: int = Field(512, ge=1)
    """(state, goal) pairs per step."""
    goals_per_episode: int = Field(48, ge=1)
    """Hindsight goal states drawn per episode; each is paired with every state of its episode."""
    max_steps: int = Field(60, ge=2)
    """Pairs further apart than this many steps (or unreachable) are left out."""
    noise: float = Field(0.05, ge=0.0)
    """Std of Gaussian noise added to start states, so the critic tolerates imagined (predicted) states."""
    holdout: float = Field(0.1, ge=0.0, lt=1.0)
    """Fraction of episodes held out to report the critic's validation error."""
    expectile: float = Field(0.1, gt=0.0, lt=1.0)
    """Asymmetry of the regression: below 0.5 an estimate above its label costs more than one
    below it, so the critic leans toward the shortest of the data's paths between similar
    states (data labels are walks, longer than the shortest way); 0.5 is the plain mean (use it
    with the oracle's exact labels)."""
    labels: Literal["data", "oracle"] = "data"
    """What teaches the distances: "data", the fewest recorded steps over the data's own observed
    transitions (observations and their order only); "oracle", the named rule-based baseline
    (shortest paths by the world's movement rules), for comparisons only."""


class HazardConfig(_Frozen):
    """The learned hazard classifier (`costs.hazard.HazardModel`)."""

    hidden: int = Field(256, ge=1)
    """Width of the MLP."""
    step_frame: Literal["agent", "world"] = "agent"
    """How the step-hazard model (`costs.hazard.StepHazard`) reads the cells around the agent:
    "agent" turns them so the agent always faces the same way (the cell ahead is in one place
    whatever the heading, so lava learned ahead facing east is known ahead facing north);
    "world" as the grid lies (checkpoints trained before 2026-12-07, which missed lava straight
    ahead in layouts the data never showed at that heading)."""


class HazardTrainConfig(_Frozen):
    """Training the hazard classifier from the data's hazard labels, after the level's JEPA."""

    steps: int = Field(4000, ge=0)
    """Optimizer steps; 0 skips it (also skipped when the data holds no hazard)."""
    rollout: int = Field(4, ge=1)
    """Imagined states up to this many predictor steps ahead are trained on (planners judge those)."""
    lr: float = Field(1e-3, gt=0.0)
    """Adam learning rate."""
    batch_size: int = Field(512, ge=2)
    """Transitions per batch; a quarter of them are drawn from those that end in a hazard."""
