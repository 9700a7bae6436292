"""What every `hagent` command shares: the user-facing error, config resolution (file, flags,
`--set`), the agent that serves a world, episode JSON."""

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


def _agent(args: argparse.Namespace, command: str, flags: dict[str, object], hierarchy: str | None = None):
    """The agent a command acts with in `flags`' world, its resolved config and its checkpoint:
    `--checkpoint` (a checkpoint, or a directory of one per gym env), else the world family's
    shipped one. Its acting settings are the checkpoint's own config section for its actor
    (`agent`, `point_agent` or `goal_agent`), with only what this command was told for that
    section on top (the `--config` file's table, `--set`, `hierarchy`): a code default never
    silently replaces a setting the checkpoint records. A checkpoint that can't serve the world is
    a one-line usage error that says what to run instead."""
    from hagent.acting.agent import Agent, actor_class, checkpoint_for, default_checkpoint
    from hagent.acting.serving import served, serves
    from hagent.checkpoint import CheckpointError, checkpoint_config
    from hagent.worlds import parse_spec

    spec = _resolve(args, flags).world.spec
    parse_spec(spec)  # WorldSpecError: a usage error
    try:
        path = checkpoint_for(args.checkpoint if args.checkpoint is not None else default_checkpoint(spec), spec)
        recorded = checkpoint_config(path)
    except CheckpointError as err:
        raise CliError(f"--checkpoint {err}") from None
    settings = actor_class(recorded.level.encoder.kind).settings
    cfg = _resolve(args, flags)
    cfg = cfg.model_copy(update={settings: _acting_settings(args, recorded, settings, hierarchy)})
    try:
        agent = Agent.load(path, cfg, seed=cfg.seed)
    except (CheckpointError, TypeError) as err:
        raise CliError(f"--checkpoint {err}") from None
    if not serves(agent, spec):
        raise CliError(f"{path}'s agent acts in {served(agent)}, not in {spec}; leave out --checkpoint for the agent "
                       f"shipped for {spec}, or run: hagent {command} --world {agent.default_world} --checkpoint {path}")
    return agent, cfg, path


def _acting_settings(args: argparse.Namespace, recorded: HagentConfig, settings: str, hierarchy: str | None):
    """The checkpoint's `settings` section with the `--config` file's table for it, then the
    `--set` overrides for it and `hierarchy`, on top."""
    import tomllib

    from hagent.config import with_overrides

    tree = recorded.model_dump(mode="json")
    if args.config is not None:  # _resolve has already read it and reported a bad file
        told = tomllib.loads(Path(args.config).read_text(encoding="utf-8")).get(settings, {})
        _merge(tree[settings], told)
    said = [o for o in args.overrides if o.split("=", 1)[0].strip().split(".", 1)[0] == settings]
    if hierarchy is not None:
        said.append(f"{settings}.hierarchy={_toml_literal(hierarchy)}")
    return getattr(with_overrides(HagentConfig.model_validate(tree), said), settings)


def _merge(into: dict, told: dict) -> None:
    """Deep-merge the TOML table `told` into `into`."""
    for key, value in told.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


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
