"""Configs of how worlds are explored for reward-free data (`hagent collect`).

Plain pydantic, so that the worlds that read them (`point`) need not import `hagent.config`,
which imports the worlds; `hagent.config` re-exports both and puts `ExploreConfig` in `CollectConfig`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class PointExploreConfig(_Frozen):
    """Exploration in the continuous point worlds: a heading-persistent random walk (the peers'
    protocol), part of the episodes first steered through a door so that crossings are seen."""

    kappa: float = Field(5.0, gt=0.0)
    """Von Mises concentration of each step's turn (higher: straighter walks)."""
    step_mean: float = Field(1.2, gt=0.0)
    """Mean step length in pixels (a truncated normal)."""
    step_std: float = Field(0.6, ge=0.0)
    """Std of the step length."""
    step_min: float = Field(0.2, ge=0.0)
    """Shortest step."""
    step_max: float = Field(2.45, gt=0.0)
    """Longest step: the worlds' bound, so the planner's full strides are in the data's range."""
    p_door: float = Field(0.35, ge=0.0, le=1.0)
    """Share of episodes that first walk (noisily) through a door, then wander on."""


class ExploreConfig(_Frozen):
    """The goal-agnostic exploration policy used to collect reward-free data."""

    p_random: float = Field(0.3, ge=0.0, le=1.0)
    """Probability that a new segment is a random walk instead of a walk to a random target."""
    p_object: float = Field(0.8, ge=0.0, le=1.0)
    """With free hands, probability that a walk targets an object (to pick it up) rather than a free cell."""
    p_interact: float = Field(0.05, ge=0.0, le=1.0)
    """Per-step probability of a random pickup, drop or toggle, whatever is in front."""
    p_drop: float = Field(0.8, ge=0.0, le=1.0)
    """Probability of dropping the carried object at the end of a walk."""
    random_walk_steps: int = Field(8, ge=1)
    """Length of one random-walk segment, in steps."""
    point: PointExploreConfig = PointExploreConfig()
    """The continuous point worlds' explorer (the grid fields above don't apply there)."""
