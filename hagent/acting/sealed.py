"""The agent's only door to a world: observations in, actions out, nothing else.

Per DESIGN.md ("no peeking"), an actor is handed a `SealedWorld`, never the world: the seal is
structural, not a convention. Touching the world's symbolic view, its parameters, its judgement,
its reward, its info or its internals raises `PeekingError`; the runner (`hagent.Agent.start`)
keeps the world itself and reads its judgement after acting.
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
    """The acting loop's only door to a world. Through it come observations (`reset`, `observe`,
    `step`), the action space, the episode's step limit and whether the caller has just reset it;
    and two scoring calls go out that show the agent nothing (`instruct`, `watch`). The world's
    state, parameters, judgement, reward and info stay behind it: reading anything else raises
    `PeekingError`. The judgement is the runner's (`hagent.Agent.start` hands `Run` the world's
    `judge`), read after acting."""

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

    def step(self, action: Any) -> Observed:
        """Act; returns the next observation and whether the world ended the episode."""
        obs, _, terminated, truncated, _ = self._world.step(action)
        return Observed(obs, bool(terminated or truncated))

    @property
    def action_space(self) -> Any:
        """The world's action space."""
        return self._world.action_space

    @property
    def max_steps(self) -> int | None:
        """The episode's step limit, when the world has one (part of the task, like a deadline)."""
        return getattr(self._world, "max_steps", None)

    @property
    def fresh(self) -> bool:
        """Whether the caller has just reset the world and it has not stepped since (see `resets`)."""
        return bool(getattr(self._world, "fresh", False))

    @property
    def name(self) -> str:
        """What to call the world in a message: its spec."""
        return str(getattr(self._world, "world_spec", type(self._world).__name__))

    def instruct(self, *instruction: Any) -> bool:
        """Scoring: ask the world to judge `instruction` from now on (a grid world takes the
        parsed goal and the text, a point world the text). Returns only whether it can; what it
        changes in the world is read by nobody while acting. `ValueError` when the world can't
        ground it."""
        return bool(self._world.instruct(*instruction))

    def watch(self, guardrails: tuple[str, ...]) -> None:
        """Scoring: ask the world to count violations of `guardrails` (a no-op in worlds without guardrails)."""
        if hasattr(self._world, "watch"):
            self._world.watch(guardrails)

    def __getattr__(self, name: str) -> Any:
        raise PeekingError(f"the agent may not read world.{name}: it plans from observations and the instruction only")

    def __setattr__(self, name: str, value: Any) -> None:
        raise PeekingError("the agent may not modify the world")


def open_episode(world: SealedWorld, seed: int | None, reset: bool | None) -> dict:
    """What the agent sees first through its door: the episode of `seed` when one is given,
    else the one `resets` picks (the caller's fresh episode, or the world's next)."""
    return world.reset(seed=seed) if seed is not None or resets(world, reset) else world.observe()


def episode_generator(agent_seed: int, seed: int | None) -> torch.Generator:
    """The sampling generator of one episode: the agent's seed, mixed with the episode's when given."""
    return torch.Generator().manual_seed(agent_seed if seed is None else agent_seed * 1_000_003 + seed)
