"""`hagent collect` and `hagent train` (with `--preset`): reward-free data in, checkpoints out."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from hagent.cli.common import CliError, _resolve
from hagent.config import QUICK_STEPS, bounded, longest_stage, save_config

# -- commands ----------------------------------------------------------------------------


def cmd_collect(args: argparse.Namespace) -> int:
    from hagent.collect import collect

    cfg = _resolve(
        args,
        {
            "world.spec": args.world,
            "seed": args.seed,
            "collect.episodes": args.episodes,
            "collect.workers": args.workers,
            "collect.max_steps": args.max_steps,
        },
    )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: exists and is not a directory")
    start = time.perf_counter()
    before = _steps_already(out)
    manifest = collect(cfg.world.spec, out, cfg.collect, cfg.seed, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    save_config(cfg, out)
    new_steps = manifest.steps - before
    print(
        f"collected {manifest.episodes} episodes, {manifest.steps} steps of {cfg.world.spec} "
        f"in {elapsed:.1f}s ({new_steps / max(elapsed, 1e-9):.0f} steps/s this run, "
        f"{cfg.collect.workers} worker{'s' if cfg.collect.workers > 1 else ''}) -> {out}"
    )
    return 0


def _steps_already(out: Path) -> int:
    from hagent.collect import DatasetError, read_manifest

    if not (out / "manifest.json").exists():
        return 0
    try:
        return read_manifest(out).steps
    except DatasetError:
        return 0


def _grid_data(data: list[str] | None) -> bool:
    """Whether the datasets are grid worlds' (whose recipe trains critics, hazard models and
    abstract levels after level 0); unreadable ones count as grid (training will say what's wrong)."""
    from hagent.collect import DatasetError, read_manifest
    from hagent.worlds.spec import step_keys

    try:  # grid data holds the grid worlds' own per-step arrays (the spec-less default's)
        return any(step_keys(read_manifest(d).world) == step_keys("") for d in data or ())
    except DatasetError:
        return True


def cmd_train(args: argparse.Namespace) -> int:
    from hagent import distributed
    from hagent.training.pipeline import critic_words, train, train_decoder_only

    steps_key = "train.refit.steps" if args.refit_level0 else "train.steps"  # --steps bounds the one stage a refit runs
    cfg = _resolve(args, {"seed": args.seed, "device": args.device, steps_key: args.steps})
    command = shlex.join(["hagent", *(sys.argv[1:] if args.argv is None else args.argv)])  # as it pastes into a shell
    if args.quick:
        if args.preset is not None:
            raise CliError("--quick bounds one training run; a --preset rebuilds a shipped checkpoint as it ships")
        cfg = bounded(cfg, args.steps if args.steps is not None else QUICK_STEPS)
    elif args.steps is not None and args.preset is None and not args.quiet and not args.refit_level0 and _grid_data(args.data):
        name, longest = longest_stage(cfg)
        if longest > args.steps:
            print(f"note: --steps {args.steps} bounds level 0; {name} still trains for {longest} steps (--quick bounds every stage)",
                  file=sys.stderr)
    if args.preset is not None:
        if distributed.launched():
            raise CliError("--preset runs its steps as separate commands, so it runs in one process; "
                           "to spread a step over processes, torchrun the train command that --dry-run prints")
        return _run_preset(args)
    if args.out is None:
        raise CliError("--out DIR is required (where to write the checkpoint), unless --preset")
    if args.normalizer_only:
        from hagent.training.normalizer import train_normalizer_only

        if args.data or args.decoder_only or args.init or args.resume:
            raise CliError("--normalizer-only trains on paraphrases it generates itself; it takes no --data, --init, --resume or --decoder-only")
        result = train_normalizer_only(cfg, args.out, command=command, progress=not args.quiet)
        m = result.metrics
        print(
            f"trained the language normalizer in {m['normalizer_seconds']:.1f}s: calibration accuracy "
            f"{m['normalizer_calibration_accuracy']:.4f}, threshold {m['normalizer_threshold']:.3f} accepts "
            f"{m['normalizer_calibration_accepted']:.4f} with {m['normalizer_calibration_confident_wrong']:.4f} "
            f"confident wrong -> {Path(args.out) / 'normalizer'}"
        )
        return 0
    if args.decoder_only:
        if args.data:
            raise CliError("--decoder-only trains on episodes it executes itself; drop --data")
        try:
            result = train_decoder_only(cfg, args.out, command=command, progress=not args.quiet)
            main = distributed.is_main()
        finally:
            distributed.teardown()
        if main:
            print(f"trained the plan decoder in {result.seconds:.1f}s: {_decoder_summary(result.final)} -> {args.out}")
        return 0
    if args.levels_only:
        from hagent.training.pipeline import train_levels_only

        data = _in_place_data(args, "--levels-only trains the levels above level 0", args.decoder_only or args.refit_level0
                              or args.blocked_step_only, "--decoder-only, --refit-level0, --blocked-step-only")
        from hagent.checkpoint import DECODER_DIR, checkpoint_reads

        had = (Path(args.out) / DECODER_DIR).exists()
        result = train_levels_only(cfg, args.out, data, command=command, progress=not args.quiet)
        gone = " (the old one read states of other sizes and was removed)" if had and not (Path(args.out) / DECODER_DIR).exists() else ""
        decoder = (f"; the plan decoder reads their states{gone}: retrain it with hagent train --decoder-only --out {args.out}"
                   if checkpoint_reads(args.out) == "grid" else "")
        print(f"trained the abstract levels in {result.seconds:.1f}s -> {args.out}{decoder}")
        return 0
    if args.blocked_step_only:
        from hagent.training.pipeline import train_blocked_step_only

        data = _in_place_data(args, "--blocked-step-only trains the blocked-step model", args.decoder_only or args.levels_only
                              or args.refit_level0, "--decoder-only, --levels-only, --refit-level0")
        result = train_blocked_step_only(cfg, args.out, data, command=command, progress=not args.quiet)
        f = result.final
        print(f"trained the blocked-step model in {result.seconds:.1f}s: recall {f['blocked_step_recall']:.3f} on the "
              f"{f['blocked_step_count']:,} steps that went nowhere, false alarms {f['blocked_step_false_alarm']:.4f} -> {args.out}")
        return 0
    if args.refit_level0:
        from hagent.training.refit import refit_level0

        data = _in_place_data(args, "--refit-level0 refits level 0's predictor", args.decoder_only or args.levels_only
                              or args.blocked_step_only, "--decoder-only, --levels-only, --blocked-step-only")
        result = refit_level0(cfg, args.out, data, command=command, progress=not args.quiet)
        f = result.final
        print(f"refit level 0's predictor in {result.seconds:.1f}s: prediction loss {f['refit_pred_loss']:.4f}, "
              f"{f['refit_stopped']:,} of {f['refit_windows']:,} windows hold a stopped forward -> {args.out}")
        return 0
    if not args.data:
        raise CliError("--data DIR is required (a dataset made by hagent collect), unless --decoder-only")
    data, out = [Path(d) for d in args.data], Path(args.out)
    for d in data:
        if not d.is_dir():
            raise CliError(f"--data {d}: no such dataset directory (make one with hagent collect)")
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: exists and is not a directory")
    if args.resume and args.init:
        raise CliError("--resume carries on the run in --out; it takes no --init")
    try:
        result = train(cfg, data, out, command=command, progress=not args.quiet, init=args.init, resume=args.resume)
        main = distributed.is_main()
    finally:
        distributed.teardown()
    if not main:
        return 0  # rank 0 reports
    f = result.final
    parts = []
    if "pred_loss" in f:
        parts.append(
            f"level 0 for {result.steps} steps: prediction loss {f['pred_loss']:.4g} (relative "
            f"{f['pred_loss_rel']:.3g}), std {f['std']:.3g}, effective rank {f['eff_rank']:.1f} of {f['dim']}"
        )
    if "critic_val_mae" in f:
        parts.append(f"critic: held-out error {f['critic_val_mae']:.2f} steps")
    if "hazard_recall" in f:
        parts.append(f"hazard: recall {f['hazard_recall']:.3f}, false alarms {f['hazard_false_alarm']:.4f}")
    if "step_hazard_recall" in f:
        parts.append(f"step hazard: recall {f['step_hazard_recall']:.3f}, false alarms {f['step_hazard_false_alarm']:.4f}")
    if "probe_accuracy" in f:
        parts.append(f"cell probe: {f['probe_accuracy']:.3f} of imagined next cells right")
    for k in range(1, 9):
        if f"level{k}_pred_loss_rel" in f:
            parts.append(
                f"level {k}: relative prediction loss {f[f'level{k}_pred_loss_rel']:.3g}, effective rank "
                f"{f[f'level{k}_eff_rank']:.1f}, " + critic_words(cfg.hierarchy[k - 1].critic, f[f'level{k}_critic_steps'], f[f'level{k}_critic_val_mae'])
            )
    if "decoder_val_faithfulness" in f:
        parts.append(_decoder_summary(f))
    print(f"trained in {result.seconds:.1f}s: " + "; ".join(parts) + f" -> {out}")
    return 0


def _in_place_data(args: argparse.Namespace, what: str, clash: bool, clashing: str) -> list[Path]:
    """The --data directories of a command that trains part of the checkpoint in --out in place
    (`what` it does); a usage error when they are missing or a `clashing` option was given too."""
    if not args.data or clash or args.init or args.resume:
        raise CliError(f"{what} of the checkpoint in --out on --data DIR; it takes no {clashing}, --init or --resume")
    for d in args.data:
        if not Path(d).is_dir():
            raise CliError(f"--data {d}: no such dataset directory (make one with hagent collect)")
    return [Path(d) for d in args.data]


def _run_preset(args: argparse.Namespace) -> int:
    from hagent.training.presets import PRESETS

    if (args.data or args.decoder_only or args.normalizer_only or args.levels_only or args.refit_level0 or args.blocked_step_only
            or args.init):
        raise CliError("--preset runs a whole recipe; it takes no --data, --init, --decoder-only, --levels-only, "
                       "--normalizer-only, --refit-level0 or --blocked-step-only")
    preset = PRESETS[args.preset](args.out) if args.out else PRESETS[args.preset]()
    commands = [shlex.join(["hagent", *step]) for step in preset.steps]  # each one pastes into a shell as it is
    if args.dry_run:
        print(f"preset {preset.name}: {preset.what}; {len(commands)} commands:")
        print("\n".join(commands))
        return 0
    for i, (step, line) in enumerate(zip(preset.steps, commands), start=1):
        print(f"[{i}/{len(commands)}] {line}", flush=True)
        code = args.main([*step, *(["-q"] if args.quiet else [])])
        if code != 0:
            raise CliError(f"preset {preset.name}: step {i} failed (exit {code}): {line}")
    return 0


def _decoder_summary(m: dict) -> str:
    return (
        f"decoder on {m['decoder_pairs']} pairs ({m['decoder_seconds']} s, {m['tokenizer_vocab']} pieces): held-out greedy "
        f"faithfulness {m['decoder_val_faithfulness']:.3f}, hallucination {m['decoder_val_hallucination']:.3f}, "
        f"completeness {m['decoder_val_completeness']:.3f}"
    )
