"""What every `hagent` command shares: the user-facing error, config resolution (file, flags,
`--set`), the checkpoint each kind of world is served by, episode JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from hagent.config import HagentConfig, load_config

EXIT_USAGE = 2

# Commands whose capability has not landed yet: what they will do and which issue brings them.
PENDING: dict[str, tuple[str, int]] = {}


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _config_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration")
    g.add_argument("--config", metavar="FILE", help="TOML config file (sections: world, collect, data, level, train, ...)")
    g.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one config value, e.g. --set collect.max_steps=64 (repeatable; wins over flags and --config)",
    )


def _resolve(args: argparse.Namespace, flags: dict[str, object]) -> HagentConfig:
    """Config file, then explicit flags, then --set overrides (last wins)."""
    from_flags = [f"{key}={_toml_literal(value)}" for key, value in flags.items() if value is not None]
    return load_config(args.config, [*from_flags, *args.overrides])


def _toml_literal(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _grid_checkpoint(given: str | None, command: str, spec: str | None = None) -> Path:
    """The grid-world checkpoint a command acts with: `given`, or the shipped agent. A checkpoint
    it can't serve is a one-line usage error that says what to run instead."""
    from hagent.agent import DEFAULT_CHECKPOINT
    from hagent.checkpoint import CheckpointError, checkpoint_kind

    path = Path(given) if given is not None else DEFAULT_CHECKPOINT
    try:
        kind = checkpoint_kind(path)
    except CheckpointError as err:
        raise CliError(f"--checkpoint {err}") from None
    if kind == "vector" or (spec is not None and spec.startswith("gym:")):
        raise CliError(
            f"{path} holds a gym world's agent (goal from desired_goal); give it its world: "
            f"hagent {command if command in ('eval', 'chat') else 'run'} --world gym:<EnvId> --checkpoint {path}"
        )
    point_world = spec is not None and spec.startswith("point:")
    if kind == "grid" and not point_world:
        return path
    world = spec if point_world else "point:tworooms"
    point_path = path if kind == "point" else "checkpoints/point"
    instead = f"hagent {command if command in ('eval', 'chat') else 'run'} --world {world} --checkpoint {point_path}"
    if command == "run":  # point worlds never get here: `hagent run` serves them with the point agent
        raise CliError(f"{path} is a point-world checkpoint and {spec} a grid world; instead run: {instead}")
    what = f"{path} is a point-world checkpoint" if kind == "point" else f"{world} is a point world"
    raise CliError(f"{what}, which hagent {command} doesn't serve yet; instead run: {instead}")


def _gym_agent(args: argparse.Namespace, cfg):
    """The gym-world agent for `cfg.world.spec`: from --checkpoint (a checkpoint, or a directory of
    one per env id), else the shipped `checkpoints/pointmaze`; its settings are `goal_agent.*`."""
    from hagent.goal_agent import DEFAULT_GYM_CHECKPOINT, GoalAgent
    from hagent.worlds.gym import GymSpecError, parse_gym

    try:
        parse_gym(cfg.world.spec)
    except GymSpecError as err:
        raise CliError(str(err)) from None
    try:
        return GoalAgent.load(args.checkpoint or DEFAULT_GYM_CHECKPOINT, cfg.world.spec, cfg.goal_agent, seed=cfg.seed)
    except ValueError as err:  # CheckpointError, or a checkpoint of another kind
        raise CliError(f"--checkpoint {err}") from None


def _point_checkpoint(given: str | None, spec: str) -> Path:
    """The point-world checkpoint a command acts with in `spec`: `given`, or the shipped one."""
    from hagent.checkpoint import checkpoint_kind
    from hagent.point_agent import DEFAULT_POINT_CHECKPOINT

    path = Path(given) if given else DEFAULT_POINT_CHECKPOINT
    try:
        kind = checkpoint_kind(path)
    except ValueError as err:
        raise CliError(f"--checkpoint {err}") from None
    if kind != "point":
        raise CliError(f"--checkpoint {path} is a {kind}-world checkpoint and {spec} a point world; "
                       "give a point checkpoint (checkpoints/point) or leave out --checkpoint")
    return path


def _write_episode(path: str | None, doc: dict) -> bool:
    """Write an episode's JSON to `path` (atomically), or to stdout for "-"; True when it went to
    stdout, so the caller prints nothing more."""
    if path is None:
        return False
    text = json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return True
    from hagent.io import atomic_write_text

    atomic_write_text(path, text)
    return False


def _finite(value):
    """`value` with every non-finite float replaced by None (JSON has no infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
