"""The agent's only door to a world: observations in, actions out, nothing else.

Per DESIGN.md ("no peeking"), the acting loop gets a `SealedWorld`. Touching the world's symbolic
view, its judgement, its reward, its info or its internals raises `PeekingError`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch


class PeekingError(RuntimeError):
    """The agent tried to read something a real agent could not see."""


class Observed(NamedTuple):
    """What one step shows the agent: the observation and whether the episode is over."""

    obs: dict
    done: bool


def resets(world: Any, reset: bool | None) -> bool:
    """Whether an agent's `run`/`start` resets `world` before acting. `reset=None` (the default)
    plays the episode the caller expects: the one the caller has just reset (a world that tells,
    through its `fresh` attribute, that it was reset and has not stepped since), else the
    world's next one (a world built by `make_world(spec, seed)` starts at `seed`). `True`
    always resets; `False` carries on from where the world is (a follow-up)."""
    if reset is not None:
        return reset
    return not getattr(world, "fresh", False)


class SealedWorld:
    """Wraps a world so that only `reset`, `step` (observation + done) and `action_space` get through."""

    __slots__ = ("_world",)

    def __init__(self, world: Any):
        object.__setattr__(self, "_world", world)

    def reset(self, seed: int | None = None) -> dict:
        """Start an episode; returns the first observation."""
        obs, _ = self._world.reset(seed=seed)
        return obs

    def observe(self) -> dict:
        """The current observation (what the agent sees now, without acting)."""
        return self._world.observe()

    def step(self, action: int) -> Observed:
        """Act; returns the next observation and whether the world ended the episode."""
        obs, _, terminated, truncated, _ = self._world.step(action)
        return Observed(obs, bool(terminated or truncated))

    @property
    def action_space(self) -> Any:
        """The world's action space."""
        return self._world.action_space

    def __getattr__(self, name: str) -> Any:
        raise PeekingError(f"the agent may not read world.{name}: it plans from observations and the instruction only")

    def __setattr__(self, name: str, value: Any) -> None:
        raise PeekingError("the agent may not modify the world")


def open_episode(world: Any, seed: int | None, reset: bool | None) -> tuple[SealedWorld, dict]:
    """The agent's door to `world` and what it sees first: the episode of `seed` when one is
    given, else the one `resets` picks (the caller's fresh episode, or the world's next)."""
    sealed = SealedWorld(world)
    return sealed, (sealed.reset(seed=seed) if seed is not None or resets(world, reset) else sealed.observe())


def episode_generator(agent_seed: int, seed: int | None) -> torch.Generator:
    """The sampling generator of one episode: the agent's seed, mixed with the episode's when given."""
    return torch.Generator().manual_seed(agent_seed if seed is None else agent_seed * 1_000_003 + seed)
