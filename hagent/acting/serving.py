"""Which worlds an agent acts in: its world families and, for an agent trained on one gym env,
that env. Read off the agent, so that the chat and the scenario runner can say no before acting."""

from __future__ import annotations

from typing import Any

from hagent.worlds import parse_spec


def serves(agent: Any, spec: str) -> bool:
    """Whether `agent` can act in the world `spec`: a world of its families and, for an agent
    trained on one gym env (its `env_id`), that env."""
    parsed = parse_spec(spec)
    return parsed.family in agent.families and getattr(agent, "env_id", None) in (None, parsed.env_id)


def served(agent: Any) -> str:
    """What `agent` acts in, in words: "rooms, babyai, minigrid worlds" or "gym:PointMaze_UMaze-v3"."""
    env_id = getattr(agent, "env_id", None)
    return f"gym:{env_id}" if env_id else f"{', '.join(agent.families)} worlds"
