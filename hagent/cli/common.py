"""What every `hagent` command shares: the user-facing error, config resolution (file, flags,
`--set`), the agent that serves a world, episode JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys

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


def _agent(args: argparse.Namespace, command: str, flags: dict[str, object], hierarchy: str | None = None):
    """The agent a command acts with in `flags`' world, its resolved config and its checkpoint:
    `--checkpoint` (a checkpoint, or a directory of one per gym env), else the world family's
    shipped one. Its acting settings are the config section its actor reads (`agent`,
    `point_agent` or `goal_agent`), `hierarchy` among them. A checkpoint that can't serve the
    world is a one-line usage error that says what to run instead."""
    from hagent.acting.agent import Agent, actor_class, checkpoint_for, default_checkpoint
    from hagent.acting.serving import served, serves
    from hagent.checkpoint import CheckpointError, checkpoint_reads
    from hagent.worlds import parse_spec

    spec = _resolve(args, flags).world.spec
    parse_spec(spec)  # WorldSpecError: a usage error
    try:
        path = checkpoint_for(args.checkpoint if args.checkpoint is not None else default_checkpoint(spec), spec)
        settings = actor_class(checkpoint_reads(path)).settings
    except CheckpointError as err:
        raise CliError(f"--checkpoint {err}") from None
    cfg = _resolve(args, {**flags, f"{settings}.hierarchy": hierarchy})
    try:
        agent = Agent.load(path, cfg, seed=cfg.seed)
    except (CheckpointError, TypeError) as err:
        raise CliError(f"--checkpoint {err}") from None
    if not serves(agent, spec):
        raise CliError(f"{path}'s agent acts in {served(agent)}, not in {spec}; leave out --checkpoint for the agent "
                       f"shipped for {spec}, or run: hagent {command} --world {agent.default_world} --checkpoint {path}")
    return agent, cfg, path


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
