"""Which worlds an agent acts in: its world families and, for an agent trained on one gym env,
that env. Read off the agent, so that the chat and the scenario runner can say no before acting."""

from __future__ import annotations

from typing import Any

from hagent.worlds import parse_spec


def serves(agent: Any, spec: str) -> bool:
    """Whether `agent` can act in the world `spec`: a world of its families and, for an agent
    trained on one gym env (its `env_id`), that env."""
    parsed = parse_spec(spec)
    env_id = getattr(agent, "env_id", None)
    if env_id is not None:
        return parsed.family == (getattr(agent, "family", None) or "gym") and parsed.env_id == env_id
    return parsed.family in agent.families


def served(agent: Any) -> str:
    """What `agent` acts in, in words: "rooms, babyai, minigrid worlds" or "gym:PointMaze_UMaze-v3"."""
    env_id = getattr(agent, "env_id", None)
    return f"{getattr(agent, 'family', None) or 'gym'}:{env_id}" if env_id else f"{', '.join(agent.families)} worlds"
