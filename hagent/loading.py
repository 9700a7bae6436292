"""One door to every trained agent: the checkpoint says which agent it holds.

`load_agent(path, world)` returns the grid agent (`hagent.Agent`), the pixel-world agent
(`hagent.point_agent.PointAgent`) or the gym-world agent (`hagent.goal_agent.GoalAgent`), from
what the checkpoint's level reads. With no path, the shipped checkpoint for `world`'s family.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hagent.checkpoint import checkpoint_kind
from hagent.worlds import parse_spec


def default_checkpoint(world: str | None = None) -> Path:
    """The shipped checkpoint for a world spec's family (the grid agent's when `world` is None)."""
    from hagent import shipped

    family = parse_spec(world).family if world is not None else "rooms"
    return shipped.checkpoint({"point": "point", "gym": "pointmaze"}.get(family, "default"))


def load_agent(path: str | Path | None = None, world: str | None = None, seed: int = 0) -> Any:
    """The agent a checkpoint holds (`CheckpointError` when `path` is none). `world` picks the
    default checkpoint and, for a directory of gym checkpoints, the env's own."""
    path = Path(path) if path is not None else default_checkpoint(world)
    if not (path / "config.json").exists() and world is not None and parse_spec(world).family == "gym":
        kind = "vector"  # a directory of one checkpoint per env id
    else:
        kind = checkpoint_kind(path)
    match kind:
        case "point":
            from hagent.point_agent import PointAgent

            return PointAgent.load(path, seed=seed)
        case "vector":
            from hagent.goal_agent import GoalAgent

            return GoalAgent.load(path, world, seed=seed)
        case _:
            from hagent.agent import Agent

            return Agent.load(path, seed=seed)

