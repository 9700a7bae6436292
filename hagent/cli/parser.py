"""The `hagent` argument parser, built from the commands and the config's defaults, and `main`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from hagent.cli.acting import cmd_chat, cmd_eval, cmd_run, cmd_scenarios, cmd_show
from hagent.cli.common import EXIT_USAGE, PENDING, CliError, _config_options
from hagent.cli.data import cmd_collect, cmd_train
from hagent.config import ConfigError, HagentConfig
from hagent.training.presets import PRESETS


def _pending(name: str) -> Callable[[argparse.Namespace], int]:
    what, issue = PENDING[name]

    def handler(args: argparse.Namespace) -> int:
        raise CliError(f"hagent {name} is not available yet: it will {what} (planned in issue #{issue})")

    return handler


# -- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `hagent` and its subcommands."""
    from hagent.worlds import KNOWN_FORMS, SPEC_EXAMPLES

    worlds_help = "world spec; forms: " + ", ".join(KNOWN_FORMS) + "; e.g. " + ", ".join(SPEC_EXAMPLES)
    parser = argparse.ArgumentParser(
        prog="hagent",
        description="hagent: hierarchical, objective-driven agents (H-JEPA world models + MPC planning).",
        epilog="Run `hagent COMMAND --help` for each command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "collect",
        help="collect reward-free exploration data from a world",
        description="Run a goal-agnostic exploration policy (no task, no reward) and write sharded "
        "safetensors plus manifest.json to --out. Re-running the same command resumes an interrupted run.",
    )
    p.add_argument("--world", metavar="SPEC", help=worlds_help + f" (default: {HagentConfig().world.spec})")
    p.add_argument("--episodes", type=int, metavar="N", help=f"episodes to collect (default {HagentConfig().collect.episodes})")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset directory to write")
    p.add_argument("--seed", type=int, metavar="S", help="master seed (default 0)")
    p.add_argument("--workers", type=int, metavar="W", help="worker processes (default 1)")
    p.add_argument("--max-steps", type=int, metavar="N", help="steps per episode (default 128)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _config_options(p)
    p.set_defaults(handler=cmd_collect)

    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint on held-out seeds: success, SPL, violations, planning ms",
        description="Run the agent on seeded episodes of a world (each world's own mission as the "
        "instruction) and report success rate, mean steps, SPL (against BabyAI's bot), violations, "
        "median planning ms per step and predictor calls per step. The agent sees observations only.",
    )
    p.add_argument("--checkpoint", metavar="DIR", help="checkpoint made by hagent train (default: the shipped agent)")
    p.add_argument("--world", metavar="SPEC", help=worlds_help + f" (default: {HagentConfig().world.spec})")
    p.add_argument("--episodes", type=int, metavar="N", help=f"episodes (default {HagentConfig().eval.episodes}: eval.episodes)")
    p.add_argument("--seed", type=int, metavar="S", help="first seed; episodes use S, S+1, ... (default 0)")
    p.add_argument(
        "--hierarchy", choices=["auto", "flat", "full"],
        help="levels to plan with: auto (the configurator decides), flat (level 0 alone), full (every level) "
        "(default: the checkpoint's agent.hierarchy)",
    )
    p.add_argument("--max-steps", type=int, metavar="N", help="step budget per episode (default: agent.max_steps)")
    p.add_argument("--json", metavar="FILE", help="also write the summary and every episode as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _config_options(p)
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser(
        "run",
        help='run the agent on one world with an instruction, e.g. hagent run "go to the red ball"',
        description="Build one world, parse the instruction (default: the world's own mission) and let "
        "the agent act until it is done. Prints the world, the agent's intention, its plan, the actions "
        "and the outcome. Exit status: 0 when the world judges the task done, 1 when not, 2 on bad input.",
    )
    p.add_argument("instruction", nargs="?", help="what to do, e.g. \"pick up the blue key\" (default: the world's mission)")
    p.add_argument("--world", metavar="SPEC", help=worlds_help + f" (default: {HagentConfig().world.spec})")
    p.add_argument("--seed", type=int, metavar="S", help="world seed (default 0)")
    p.add_argument("--checkpoint", metavar="DIR", help="checkpoint made by hagent train (default: the shipped agent)")
    p.add_argument("--max-steps", type=int, metavar="N", help="step budget (default: agent.max_steps)")
    p.add_argument(
        "--json", nargs="?", const="-", metavar="FILE",
        help="print the episode as JSON instead (success, steps, violations, explanation, plan, trace, decisions); with FILE, write it there as well as the usual output",
    )
    p.add_argument("--no-color", action="store_true", help="plain text, no ANSI colours")
    _config_options(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser(
        "show",
        help="draw a world's first observation and its mission",
        description="Build a world from its spec and seed and print its first observation as text.",
    )
    p.add_argument("--world", metavar="SPEC", help=worlds_help + f" (default: {HagentConfig().world.spec})")
    p.add_argument("--seed", type=int, metavar="S", help="world seed (default 0)")
    p.add_argument("--no-color", action="store_true", help="plain text, no ANSI colours")
    _config_options(p)
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser(
        "train",
        help="train the H-JEPA stack (level 0, critics, hazard, abstract levels) on collected data",
        description="Train level 0 (encoder + action-conditioned predictor) with a JEPA loss in "
        "representation space plus VICReg variance/covariance terms on datasets made by `hagent collect`, "
        "then its critic, the hazard classifier (when the data holds hazards) and the abstract levels of "
        "`hierarchy` (each a JEPA over the level below, with its own critic). "
        "Last comes the plan decoder (a small GPT-2 with a sentencepiece tokenizer, both trained here) "
        "on (plan, description) pairs from episodes executed in train.decoder.worlds; "
        "--decoder-only trains just the decoder of the checkpoint in --out, in place; --normalizer-only trains "
        "just the language normalizer (a small transformer encoder over sentencepiece tokens, on generated paraphrases); "
        "--refit-level0 refits just level 0's predictor on the moves that went nowhere, its encoder frozen; "
        "--blocked-step-only trains just the model that tells a move that goes nowhere before it is taken. "
        "Writes a checkpoint directory (config.json, *.safetensors, decoder/, metrics.jsonl, README.md) to --out, "
        "every train.save_every steps and at the end.",
    )
    p.add_argument(
        "--data", metavar="DIR", action="append",
        help="dataset directory written by hagent collect; repeat to train on several worlds at once (required unless --decoder-only)",
    )
    p.add_argument(
        "--decoder-only", action="store_true",
        help="train only the plan decoder of the checkpoint in --out (its levels stay as they are)",
    )
    p.add_argument(
        "--levels-only", action="store_true",
        help="train only the abstract levels (levels 1+, their critics and macro-action codebooks; hierarchy, "
        "train.abstract.* and train.critic.*) of the grid, point or gym-world checkpoint in --out, in place, on --data, over its "
        "level 0 as it is (a grid's plan decoder: retrain it after with --decoder-only)",
    )
    p.add_argument(
        "--refit-level0", action="store_true",
        help="refit only level 0's predictor of the grid or point checkpoint in --out, in place, on --data, its encoder "
        "frozen, with the moves that went nowhere (a forward into a wall, door or object; a point pushed at a wall) "
        "oversampled (train.refit.*; "
        "about 12 minutes on 2 cores for the default's data)",
    )
    p.add_argument(
        "--blocked-step-only", action="store_true",
        help="train only the blocked-step model (does the action about to be taken go nowhere: read off the cells "
        "around the agent, learned from the views before and after each step of --data) of the grid checkpoint in --out, "
        "in place (under a minute on 2 cores for the default's data)",
    )
    p.add_argument(
        "--normalizer-only", action="store_true",
        help="train only the language normalizer (free text -> the grammar's canonical form) on generated "
        "paraphrases, into --out/normalizer/ (about 13 minutes on 2 cores)",
    )
    p.add_argument("--out", metavar="DIR", help="checkpoint directory to write (required unless --preset)")
    p.add_argument(
        "--preset", choices=list(PRESETS),
        help="rebuild a shipped checkpoint from nothing: every collect and train step of the recipe (default: "
        "checkpoints/default, seed 0, about 55 minutes on 2 cores; point: checkpoints/point; point-maze: "
        "checkpoints/point-maze; pointmaze: checkpoints/pointmaze, one sub-checkpoint per PointMaze env; ogbench-pointmaze-MAZE: checkpoints/ogbench/pointmaze-MAZE-v0, "
        "for OGBench's pointmaze-MAZE-navigate-v0); --out changes "
        "where the final checkpoint goes",
    )
    p.add_argument("--dry-run", action="store_true", help="with --preset: print the recipe's commands, run nothing")
    p.add_argument(
        "--resume", action="store_true",
        help="carry on an interrupted run from the checkpoint in --out (same --data and settings); it ends where an "
        "uninterrupted run would",
    )
    p.add_argument("--steps", type=int, metavar="N", help="optimizer steps of level 0 (default 4000); the later stages "
                   "keep their own (train.critic.steps, ...) unless --quick")
    p.add_argument(
        "--quick", action="store_true",
        help="a quick model to try things with: every stage (level 0, critic, hazard models, cell probe, abstract "
        "levels, decoder) at most --steps optimizer steps (300 if --steps isn't given), the decoder on at most 20 "
        "episodes per world",
    )
    p.add_argument("--init", metavar="CKPT", help="start from this checkpoint's weights (same level.* config)")
    p.add_argument("--seed", type=int, metavar="S", help="master seed (default 0)")
    p.add_argument("--device", metavar="DEV", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _config_options(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "chat",
        help="open the chat UI: instruct the agent, watch it plan and walk, ask why",
        description="A Textual terminal UI: a chat with the agent (instructions, follow-ups, 'new world SPEC seed N', "
        "'why?', 'help'), the world drawn in colour with the planned route, the plan as a tree and the costs of the "
        "chosen plan. Keys: enter send, F5 step, F6 run, F7 pause, F2 new world, F1 help, ctrl+q quit.",
    )
    p.add_argument("--world", metavar="SPEC", help=worlds_help + f" (default: {HagentConfig().world.spec})")
    p.add_argument("--seed", type=int, metavar="S", help="world seed (default 0)")
    p.add_argument("--checkpoint", metavar="DIR", help="checkpoint made by hagent train (default: the shipped agent)")
    _config_options(p)
    p.set_defaults(handler=cmd_chat)

    p = sub.add_parser(
        "scenarios",
        help="run scenario files (TOML): world, instruction, guardrails, expectations; print a pass/fail table",
        description="Run each [[scenario]] of the given TOML files (directories are searched; default: the shipped "
        "tests/scenarios) with the agent, check its expectations (success, steps, violations, words the explanation "
        "must or must not contain, stages, level-1 subgoals, refusals, error messages for bad input) and print a "
        "table. Exit 0 when all pass, 1 when any fails, 2 for a bad file. The file format is documented in "
        "hagent/scenarios.py and the README.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="scenario files or directories (default: tests/scenarios)")
    p.add_argument("--checkpoint", metavar="DIR", help="checkpoint made by hagent train (default: the shipped agent)")
    p.add_argument("--json", metavar="FILE", help="also write every verdict as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _config_options(p)
    p.set_defaults(handler=cmd_scenarios)

    for name, (what, issue) in PENDING.items():
        p = sub.add_parser(
            name,
            help=f"{what} [not available yet]",
            description=f"{what[0].upper()}{what[1:]}. Not available yet: planned in issue #{issue}; "
            "running it exits with status 2.",
        )
        _config_options(p)
        p.set_defaults(handler=_pending(name))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hagent` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    args.main = main  # a preset runs its steps as commands of their own
    from hagent.collect import DatasetError
    from hagent.language import ParseError
    from hagent.worlds import WorldSpecError

    user_errors: tuple[type[Exception], ...] = (CliError, WorldSpecError, DatasetError, ParseError)
    if args.command in ("train", "eval", "run", "scenarios", "chat"):  # torch-backed errors; imported only when torch is needed anyway
        from hagent.errors import UnsupportedTaskError
        from hagent.checkpoint import CheckpointError
        from hagent.distributed import DistributedError
        from hagent.training.pipeline import TrainingError

        user_errors += (CheckpointError, TrainingError, UnsupportedTaskError, DistributedError)

    try:
        return args.handler(args)
    except ConfigError as err:
        for line in err.lines:
            print(f"hagent {args.command}: {line}", file=sys.stderr)
        return EXIT_USAGE
    except user_errors as err:
        print(f"hagent {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"hagent {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"hagent {args.command}: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
