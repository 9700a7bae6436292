"""The `hagent` command line: collect, train, eval, run, chat, scenarios, show.

Every command takes `--config FILE` (TOML) and `--set a.b=value` overrides; a bad config prints
one `location: message` line per problem and exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hagent import shipped
from hagent.config import ConfigError, HagentConfig, load_config, save_config

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


def cmd_train(args: argparse.Namespace) -> int:
    from hagent import distributed
    from hagent.training.pipeline import train, train_decoder_only

    cfg = _resolve(args, {"seed": args.seed, "device": args.device, "train.steps": args.steps})
    command = " ".join(["hagent", *(sys.argv[1:] if args.argv is None else args.argv)])
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
                f"{f[f'level{k}_eff_rank']:.1f}, critic error {f[f'level{k}_critic_val_mae']:.2f} steps"
            )
    if "decoder_val_faithfulness" in f:
        parts.append(_decoder_summary(f))
    print(f"trained in {result.seconds:.1f}s: " + "; ".join(parts) + f" -> {out}")
    return 0


def _run_preset(args: argparse.Namespace) -> int:
    from hagent.training.presets import PRESETS

    if args.data or args.decoder_only or args.normalizer_only or args.init:
        raise CliError("--preset runs a whole recipe; it takes no --data, --init, --decoder-only or --normalizer-only")
    preset = PRESETS[args.preset](args.out) if args.out else PRESETS[args.preset]()
    commands = [" ".join(["hagent", *step]) for step in preset.steps]
    if args.dry_run:
        print(f"preset {preset.name}: {preset.what}; {len(commands)} commands:")
        print("\n".join(commands))
        return 0
    for i, (step, line) in enumerate(zip(preset.steps, commands), start=1):
        print(f"[{i}/{len(commands)}] {line}", flush=True)
        code = main([*step, *(["-q"] if args.quiet else [])])
        if code != 0:
            raise CliError(f"preset {preset.name}: step {i} failed (exit {code}): {line}")
    return 0


def _decoder_summary(m: dict) -> str:
    return (
        f"decoder on {m['decoder_pairs']} pairs ({m['decoder_seconds']} s, {m['tokenizer_vocab']} pieces): held-out greedy "
        f"faithfulness {m['decoder_val_faithfulness']:.3f}, hallucination {m['decoder_val_hallucination']:.3f}, "
        f"completeness {m['decoder_val_completeness']:.3f}"
    )


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
            f"hagent {command} serves grid worlds; a gym world's agent (goal from desired_goal) runs with "
            f"hagent run --world gym:<EnvId> and hagent eval --world gym:<EnvId> --checkpoint checkpoints/pointmaze"
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


def cmd_eval(args: argparse.Namespace) -> int:
    from hagent.evaluate import evaluate, write_report
    from hagent.worlds import WorldSpecError, parse_spec

    spec = (args.world or HagentConfig().world.spec).strip()
    try:
        family = parse_spec(spec).family
    except WorldSpecError as err:
        raise CliError(str(err)) from None
    if args.hierarchy == "full" and family in ("point", "gym"):
        raise CliError(f"--hierarchy full is for grid worlds; a {family} world's agent takes auto (levels 0 and 1) or flat")
    section = {"point": "point_agent", "gym": "goal_agent"}.get(family, "agent")  # the agent's settings
    cfg = _resolve(args, {"world.spec": spec, "seed": args.seed, "eval.episodes": args.episodes,
                          f"{section}.hierarchy": args.hierarchy})
    agent, source = _eval_agent(args, cfg, family)
    episodes = cfg.eval.episodes
    grid = family not in ("point", "gym")
    report = evaluate(agent, cfg.world.spec, episodes, cfg.seed, max_steps=args.max_steps, progress=not args.quiet,
                      reference=grid)
    summary = report.summary()
    every = agent.level.time_scale if family == "gym" else 1  # env steps per plan
    per = "per step" if every == 1 else f"per plan (level 0 plans every {every} env steps: " \
        f"{summary['median_planning_ms'] / every:.1f} per env step)"
    lines = [
        f"{cfg.world.spec}: {summary['episodes']} held-out episodes (seeds {cfg.seed}..{cfg.seed + episodes - 1}), "
        f"checkpoint {source}, hierarchy {getattr(cfg, section).hierarchy}",
        f"  success rate        {summary['success_rate']:.1%}",
        f"  {'mean env steps' if family == 'gym' else 'mean steps':<20s}{summary['mean_steps']:.1f}",
    ]
    if grid:
        spl = "n/a" if summary["spl"] is None else f"{summary['spl']:.3f}"
        lines += [f"  SPL                 {spl}", f"  violations          {summary['violations']}"]
    lines += [f"  median planning ms  {summary['median_planning_ms']:.1f} {per}",
              f"  predictor calls     {summary['predictor_calls_per_step']:.0f} {'per step' if every == 1 else 'per plan'}"]
    print("\n".join(lines))
    if args.json:
        write_report(report, args.json, {"checkpoint": str(source), "seed": cfg.seed, section: getattr(cfg, section).model_dump()})
        print(f"wrote {args.json}")
    return 0


def _eval_agent(args: argparse.Namespace, cfg: HagentConfig, family: str) -> tuple[object, Path]:
    """The agent `hagent eval` scores in `family`'s worlds, with the checkpoint it came from."""
    from hagent.agent import Agent

    match family:
        case "gym":
            from hagent.goal_agent import DEFAULT_GYM_CHECKPOINT, checkpoint_for

            agent = _gym_agent(args, cfg)
            return agent, checkpoint_for(args.checkpoint or DEFAULT_GYM_CHECKPOINT, cfg.world.spec)
        case "point":
            from hagent.point_agent import PointAgent

            path = _point_checkpoint(args.checkpoint, cfg.world.spec)
            return PointAgent.load(path, cfg.point_agent, seed=cfg.seed), path
        case _:
            path = _grid_checkpoint(args.checkpoint, "eval", cfg.world.spec)
            return Agent.load(path, cfg.agent, seed=cfg.seed), path


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


def _run_gym(args: argparse.Namespace, cfg) -> int:
    """`hagent run` in a gym world: toward the env's desired_goal; summarized (and as JSON)."""
    from hagent.worlds.gym import make_gym_world

    if args.instruction is not None:
        raise CliError("a gym world's goal is its desired_goal; it takes no instruction (leave it out)")
    agent = _gym_agent(args, cfg)
    world = make_gym_world(cfg.world.spec, seed=cfg.seed)
    first, _ = world.reset()
    episode = agent.run(world, max_steps=args.max_steps)
    last = world.observe()  # display, after acting
    ms = sorted(r.ms for r in episode.trace)
    doc = {
        "world": cfg.world.spec, "seed": cfg.seed, "success": episode.success, "steps": episode.steps,
        "explanation": episode.explanation, "start": first["achieved"].tolist(), "goal": first["goal"].tolist(),
        "final": last["achieved"].tolist(), "trace": [r._asdict() for r in episode.trace],
    }
    if _write_episode(args.json, doc):
        return 0 if episode.success else 1
    point = lambda v: "(" + ", ".join(f"{x:.2f}" for x in v) + ")"  # noqa: E731
    print(f"world {cfg.world.spec}  seed {cfg.seed}  goal {point(first['goal'])} (desired_goal)")
    print(f"agent: {episode.explanation}")
    if ms:
        print(f"planning: median {ms[len(ms) // 2]:.0f} ms per plan, {len(ms)} plans, {sum(ms) / 1000:.2f} s in all")
    print(f"start {point(first['achieved'])}, final {point(last['achieved'])}")
    print(f"outcome: {'success' if episode.success else 'not done'} in {episode.steps} env steps")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0 if episode.success else 1


def cmd_run(args: argparse.Namespace) -> int:
    from hagent.agent import Agent
    from hagent.render import render_text
    from hagent.worlds import make_world

    cfg = _resolve(args, {"world.spec": args.world, "seed": args.seed})
    if cfg.world.spec.startswith("point:"):
        return _run_point(args, cfg)
    if cfg.world.spec.strip().startswith("gym:"):
        return _run_gym(args, cfg)
    agent = Agent.load(_grid_checkpoint(args.checkpoint, "run", cfg.world.spec), cfg.agent, seed=cfg.seed)
    world = make_world(cfg.world.spec, seed=cfg.seed)
    first, _ = world.reset()
    text = args.instruction if args.instruction is not None else first["mission"]
    episode = agent.run(world, text, max_steps=args.max_steps)  # plays the episode just reset
    if args.json is not None:
        doc = json.dumps(_finite(_episode_doc(cfg.world.spec, cfg.seed, text, episode)), indent=2, allow_nan=False) + "\n"
        if args.json == "-":
            sys.stdout.write(doc)  # stdout is the JSON document and nothing else
            return 0 if episode.success else 1
        from hagent.io import atomic_write_text

        atomic_write_text(args.json, doc)
    color = sys.stdout.isatty() and not args.no_color
    print(render_text(first, color=color))
    print(f"world {cfg.world.spec}  seed {cfg.seed}  instruction: {text}")
    print(f"agent: {episode.explanation}")
    d = episode.description
    if d is not None and d.fallback:
        print(f"  (none of the decoder's {d.candidates} texts passed the check against the plan; this is the plain template)")
    elif d is not None:
        print(f"  (written by the plan decoder; every claim checked against the plan, best of {d.candidates} candidates)")
    for dec in episode.decisions:
        if dec.topic != "replan":
            print(f"configurator: {dec.topic}: {dec.choice} ({dec.reason})")
    plan = episode.plan
    if plan is not None:
        print(f"plan ({plan.levels} level{'s' if plan.levels > 1 else ''} at the last step):")
        for i, stage in enumerate(plan.stages):
            print(f"  stage {i + 1}: {stage}")
        for k, upper in reversed(list(enumerate(plan.upper, start=2))):
            print(f"  level {k} waypoints (cells): {' -> '.join(map(str, upper)) or 'none'}")
        handed = list(dict.fromkeys(r.subgoal for r in episode.trace if r.subgoal is not None))
        if handed:
            print(f"  level 1 subgoals handed to level 0 (cells), in order: {' -> '.join(map(str, handed))}")
        print(f"  level 0 plan at the last step: {' '.join(plan.actions) or 'none'}")
    replans = [dec for dec in episode.decisions if dec.topic == "replan"]
    if replans:
        print(f"re-plans at level 1: {len(replans)} ({', '.join(sorted({dec.reason.split(';')[0] for dec in replans})[:4])})")
    print("actions: " + (" ".join(r.action for r in episode.trace) or "none"))
    outcome = "success" if episode.success else "not done"
    print(f"outcome: {outcome} in {episode.steps} steps, {len(episode.violations)} violations")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0 if episode.success else 1


def _run_point(args: argparse.Namespace, cfg) -> int:
    """`hagent run` in a point world: toward the goal image, or the instruction's named place
    ("go to the top-left corner of the left room"), summarized (and as JSON)."""
    from hagent.worlds.point import PlaceError, make_point_world
    from hagent.point_agent import DEFAULT_POINT_CHECKPOINT, PointAgent

    from hagent.checkpoint import checkpoint_kind

    path = args.checkpoint or DEFAULT_POINT_CHECKPOINT
    if checkpoint_kind(path) != "point":
        raise CliError(
            f"--checkpoint {path} is a grid-world checkpoint and {cfg.world.spec} is a point world; run it with "
            f"a point checkpoint (hagent run --world {cfg.world.spec} --checkpoint checkpoints/point), or leave out --checkpoint"
        )
    agent = PointAgent.load(path, cfg.point_agent, seed=cfg.seed)
    world = make_point_world(cfg.world.spec, seed=cfg.seed)
    try:
        episode = agent.run(world, args.instruction, max_steps=args.max_steps, seed=cfg.seed)
    except PlaceError as err:
        raise CliError(str(err)) from None
    st = world.state()  # scoring and display, after acting
    ms = sorted(r.ms for r in episode.trace)
    doc = {
        "world": cfg.world.spec, "seed": cfg.seed, "success": episode.success, "steps": episode.steps,
        "explanation": episode.explanation, "final_position": [float(v) for v in st["position"]],
        "goal": [float(v) for v in st["goal"]], "trace": [r._asdict() for r in episode.trace],
    }
    if _write_episode(args.json, doc):
        return 0 if episode.success else 1
    print(f"world {cfg.world.spec}  seed {cfg.seed}  goal: {args.instruction or 'the goal image or mission'}")
    print(f"agent: {episode.explanation}")
    if ms:
        print(f"planning: median {ms[len(ms) // 2]:.0f} ms/step, {sum(ms) / 1000:.2f} s in all")
    print(f"final position ({st['position'][0]:.1f}, {st['position'][1]:.1f}), goal ({st['goal'][0]:.1f}, {st['goal'][1]:.1f})")
    print(f"outcome: {'success' if episode.success else 'not done'} in {episode.steps} steps")
    if args.instruction is not None:
        print(f"  (the world judged your instruction: {world.mission})")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0 if episode.success else 1


def _finite(value):
    """`value` with every non-finite float replaced by None (JSON has no infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _episode_doc(spec: str, seed: int, text: str, episode) -> dict:
    """An episode as plain JSON-able data."""
    plan = episode.plan
    d = episode.description
    return {
        "world": spec,
        "seed": seed,
        "instruction": text,
        "success": episode.success,
        "steps": episode.steps,
        "violations": list(episode.violations),
        "explanation": episode.explanation,
        "description": None if d is None else {
            "text": d.text, "verified": d.verified, "fallback": d.fallback, "candidates": d.candidates,
        },
        "plan": None if plan is None else {
            "stages": list(plan.stages),
            "stage": plan.stage,
            "levels": plan.levels,
            "upper": [[list(c) for c in route] for route in plan.upper],
            "route": [list(c) for c in plan.route],
            "actions": list(plan.actions),
            "costs": plan.costs,
            "guardrails": list(plan.guardrails),
        },
        "stages": list(plan.stages) if plan else [],
        "actions": [r.action for r in episode.trace],
        "trace": [dict(r._asdict(), subgoal=None if r.subgoal is None else list(r.subgoal)) for r in episode.trace],
        "decisions": [dec._asdict() for dec in episode.decisions],
    }


def cmd_scenarios(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from hagent.checkpoint import checkpoint_kind
    from hagent.scenarios import Agents, ScenarioError, load_scenarios, run_scenario, scenario_files

    try:
        files = scenario_files(args.paths or [str(SCENARIOS_DIR)])
        scenarios = [(f, s) for f in files for s in load_scenarios(f)]
    except ScenarioError as err:
        raise CliError(str(err)) from None
    if not scenarios:
        raise CliError(f"no scenarios in {', '.join(args.paths or [str(SCENARIOS_DIR)])}")
    if args.checkpoint is not None:
        try:
            checkpoint_kind(args.checkpoint)
        except ValueError as err:
            raise CliError(f"--checkpoint {err}") from None
    agents = Agents(args.checkpoint)  # without --checkpoint: the shipped agent of each scenario's world family
    if args.checkpoint is not None:  # one agent for all: the scenarios of the worlds it acts in
        serves = agents.for_world(None).families
        kept = [(f, s) for f, s in scenarios if agents.family(s.world) in serves]
        if not kept:
            raise CliError(f"--checkpoint {args.checkpoint}: its agent acts in {', '.join(serves)} worlds, and no scenario is in one")
        if len(kept) < len(scenarios):
            print(f"left out {len(scenarios) - len(kept)} scenarios in worlds that {args.checkpoint}'s agent doesn't act in "
                  f"(it acts in {', '.join(serves)} worlds)")
        scenarios = kept
    verdicts = []
    bar = tqdm(scenarios, desc="scenarios", unit="scenario", disable=args.quiet, dynamic_ncols=True)
    for _, scenario in bar:
        verdicts.append(run_scenario(agents.for_world(scenario.world), scenario))
        bar.set_postfix(failed=sum(not v.passed for v in verdicts))
    bar.close()
    width = min(60, max(len(v.scenario.name) for v in verdicts))
    print(f"{'scenario':{width}s}  result  steps  success  seconds")
    for v in verdicts:
        success = "-" if v.success is None else str(v.success).lower()
        print(f"{v.scenario.name[:width]:{width}s}  {'pass' if v.passed else 'FAIL':6s}  {v.steps:5d}  {success:7s}  {v.seconds:7.1f}")
        for failure in v.failures:
            print(f"{'':{width}s}    - {failure}")
    failed = sum(not v.passed for v in verdicts)
    print(f"{len(verdicts) - failed} of {len(verdicts)} scenarios passed")
    if args.json:
        from hagent.io import atomic_write_text

        rows = [{"file": str(f), "name": v.scenario.name, "passed": v.passed, "failures": list(v.failures), "steps": v.steps,
                 "success": v.success, "explanation": v.explanation, "seconds": round(v.seconds, 2)}
                for (f, _), v in zip(scenarios, verdicts)]
        atomic_write_text(args.json, json.dumps({"passed": len(verdicts) - failed, "total": len(verdicts), "scenarios": rows}, indent=1) + "\n")
    return 0 if failed == 0 else 1


SCENARIOS_DIR = shipped.scenarios()


def cmd_chat(args: argparse.Namespace) -> int:
    from hagent.worlds import parse_spec

    cfg = _resolve(args, {"world.spec": args.world, "seed": args.seed})
    family = parse_spec(cfg.world.spec).family  # a bad spec is a usage error before the UI opens
    if family == "point":
        path = _point_checkpoint(args.checkpoint, cfg.world.spec)
    else:
        path = _grid_checkpoint(args.checkpoint, "chat", cfg.world.spec)  # and so is a checkpoint it can't serve
    from tui.app import HagentApp

    HagentApp(str(path), cfg.world.spec, cfg.seed).run()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hagent.render import LEGEND, render_text
    from hagent.worlds import make_world

    cfg = _resolve(args, {"world.spec": args.world, "seed": args.seed})
    world = make_world(cfg.world.spec, seed=cfg.seed)
    obs, _ = world.reset()
    color = sys.stdout.isatty() and not args.no_color
    print(render_text(obs, color=color))
    print(f"world {cfg.world.spec}  seed {cfg.seed}  mission: {obs['mission']}")
    print(LEGEND)
    return 0


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
        "just the language normalizer (a small transformer encoder over sentencepiece tokens, on generated paraphrases). "
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
        "--normalizer-only", action="store_true",
        help="train only the language normalizer (free text -> the grammar's canonical form) on generated "
        "paraphrases, into --out/normalizer/ (about 8 minutes on 2 cores)",
    )
    p.add_argument("--out", metavar="DIR", help="checkpoint directory to write (required unless --preset)")
    p.add_argument(
        "--preset", choices=["default", "point", "point-maze", "pointmaze"],
        help="rebuild a shipped checkpoint from nothing: every collect and train step of the recipe (default: "
        "checkpoints/default, seed 0, about 55 minutes on 2 cores; point: checkpoints/point; point-maze: "
        "checkpoints/point-maze; pointmaze: checkpoints/pointmaze, one sub-checkpoint per PointMaze env); --out changes "
        "where the final checkpoint goes",
    )
    p.add_argument("--dry-run", action="store_true", help="with --preset: print the recipe's commands, run nothing")
    p.add_argument(
        "--resume", action="store_true",
        help="carry on an interrupted run from the checkpoint in --out (same --data and settings); it ends where an "
        "uninterrupted run would",
    )
    p.add_argument("--steps", type=int, metavar="N", help="optimizer steps (default 3000)")
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
    from hagent.collect import DatasetError
    from hagent.worlds import WorldSpecError

    from hagent.language import ParseError

    user_errors: tuple[type[Exception], ...] = (CliError, WorldSpecError, DatasetError, ParseError)
    if args.command in ("train", "eval", "run", "scenarios", "chat"):  # torch-backed errors; imported only when torch is needed anyway
        from hagent.agent import UnsupportedTaskError
        from hagent.checkpoint import CheckpointError
        from hagent.distributed import DistributedError
        from hagent.training.pipeline import TrainingError

        user_errors += (CheckpointError, TrainingError, UnsupportedTaskError, DistributedError)

    try:
        return args.handler(args)
    except ConfigError as err:
        for line in err.lines:
            print(line, file=sys.stderr)
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
