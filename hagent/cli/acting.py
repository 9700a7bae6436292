"""The commands that act: `hagent eval`, `run`, `scenarios`, `chat` and `show`, for every world family."""

from __future__ import annotations

import argparse
import json
import sys

from hagent import shipped
from hagent.cli.common import CliError, _agent, _resolve, _write_episode


def cmd_eval(args: argparse.Namespace) -> int:
    from hagent.evaluate import evaluate, write_report

    flags = {"world.spec": args.world, "seed": args.seed, "eval.episodes": args.episodes}
    agent, cfg, source = _agent(args, "eval", flags, args.hierarchy)
    episodes = cfg.eval.episodes
    report = evaluate(agent, cfg.world.spec, episodes, cfg.seed, max_steps=args.max_steps, progress=not args.quiet)
    summary = report.summary()
    every = agent.level.time_scale  # world steps per plan
    ms = summary["median_planning_ms"] or 0.0
    per = "per step" if every == 1 else f"per plan (level 0 plans every {every} env steps: {ms / every:.1f} per env step)"
    lines = [
        f"{cfg.world.spec}: {summary['episodes']} held-out episodes (seeds {cfg.seed}..{cfg.seed + episodes - 1}), "
        f"checkpoint {source}, hierarchy {agent.cfg.hierarchy}",
        f"  success rate        {summary['success_rate']:.1%}",
        f"  mean steps          {summary['mean_steps']:.1f}",
    ]
    if summary["spl"] is not None:
        lines.append(f"  SPL                 {summary['spl']:.3f}")
    lines += [f"  violations          {summary['violations']}",
              f"  median planning ms  {ms:.1f} {per}",
              f"  predictor calls     {summary['predictor_calls_per_step'] or 0:.0f} {'per step' if every == 1 else 'per plan'}"]
    print("\n".join(lines))
    if args.json:
        write_report(report, args.json, {"checkpoint": str(source), "seed": cfg.seed, agent.settings: agent.cfg.model_dump()})
        print(f"wrote {args.json}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hagent.acting.records import short
    from hagent.render import describe_view, render_text
    from hagent.worlds import make_world

    agent, cfg, _ = _agent(args, "run", {"world.spec": args.world, "seed": args.seed})
    world = make_world(cfg.world.spec, seed=cfg.seed)
    first, _ = world.reset()
    text = args.instruction if args.instruction is not None else first["mission"]
    try:
        episode = agent.run(world, text, max_steps=args.max_steps)  # plays the episode just reset
    except ValueError as err:  # a place a point world can't name, an instruction a gym world can't judge
        raise CliError(str(err)) from None
    if _write_episode(args.json, _episode_doc(cfg.world.spec, cfg.seed, text, episode)):
        return 0 if episode.success else 1
    picture = render_text(first, color=sys.stdout.isatty() and not args.no_color)
    if picture:
        print(picture)
    print(describe_view(first))
    print(f"world {cfg.world.spec}  seed {cfg.seed}  instruction: {text}")
    print(f"agent: {episode.explanation}")
    d = episode.description
    if d is not None and d.fallback:
        print(f"  (none of the decoder's {d.candidates} texts passed the check against the plan; this is the plain template)")
    elif d is not None:
        print(f"  (written by the plan decoder; every claim checked against the plan, best of {d.candidates} candidates)")
    for dec in episode.decisions:
        if dec.topic == "stopped":  # the acting loop's, not the configurator's
            print(f"stopped {dec.choice}: {dec.reason}")
        elif dec.topic != "replan":
            print(f"configurator: {dec.topic}: {dec.choice} ({dec.reason})")
    plan = episode.plan
    if plan is not None:
        print(f"plan ({plan.levels} level{'s' if plan.levels > 1 else ''} at the last step):")
        for i, stage in enumerate(plan.stages):
            print(f"  stage {i + 1}: {stage}")
        for k, upper in reversed(list(enumerate(plan.upper, start=2))):
            print(f"  level {k} waypoints (cells): {' -> '.join(map(str, upper)) or 'none'}")
        handed = list(dict.fromkeys(short(r.subgoal) for r in episode.trace if r.subgoal is not None))
        if handed:
            print(f"  level 1 subgoals handed to level 0, in order: {' -> '.join(handed[:12])}{' ...' if len(handed) > 12 else ''}")
        print(f"  level 0 plan at the last step: {' '.join(map(short, plan.actions[:8])) or 'none'}")
    replans = [dec for dec in episode.decisions if dec.topic == "replan"]
    if replans:
        print(f"re-plans at level 1: {len(replans)} ({', '.join(sorted({dec.reason.split(';')[0] for dec in replans})[:4])})")
    ms = sorted(r.ms for r in episode.trace)
    if ms:
        print(f"planning: median {ms[len(ms) // 2]:.0f} ms per plan, {len(ms)} plans, {sum(ms) / 1000:.2f} s in all")
    actions = [short(r.action) for r in episode.trace]
    every = agent.level.time_scale  # world steps per plan
    held = f" (one per plan, each held for {every} env steps)" if every > 1 else ""
    print(f"actions{held}: " + (" ".join(actions[:40]) or "none") + (f" ... ({len(actions)} in all)" if len(actions) > 40 else ""))
    print(f"outcome: {'success' if episode.success else 'not done'} in {episode.steps} steps, {len(episode.violations)} violations")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0 if episode.success else 1


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
            "route": [list(c) if isinstance(c, tuple) else c for c in plan.route],
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
    from hagent.progress import bar as progress_bar

    from hagent.checkpoint import checkpoint_reads
    from hagent.scenarios import (
        Agents,
        ScenarioError,
        load_scenarios,
        run_scenario,
        scenario_files,
    )

    try:
        files = scenario_files(args.paths or [str(SCENARIOS_DIR)])
        scenarios = [(f, s) for f in files for s in load_scenarios(f)]
    except ScenarioError as err:
        raise CliError(str(err)) from None
    if not scenarios:
        raise CliError(f"no scenarios in {', '.join(args.paths or [str(SCENARIOS_DIR)])}")
    if args.checkpoint is not None:
        try:
            checkpoint_reads(args.checkpoint)
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
    bar = progress_bar(scenarios, desc="scenarios", unit="scenario", progress=not args.quiet)
    for _, scenario in bar:
        verdicts.append(run_scenario(agents.for_world(scenario.world), scenario))
        bar.set_postfix(failed=sum(not v.passed for v in verdicts))
    bar.close()
    width = min(60, max(len(v.scenario.name) for v in verdicts))
    print(f"{'scenario':{width}s}  result  steps  success  seconds")
    for v in verdicts:
        success = "-" if v.success is None else str(v.success).lower()
        result = "skip" if v.skipped else "pass" if v.passed else "FAIL"
        print(f"{v.scenario.name[:width]:{width}s}  {result:6s}  {v.steps:5d}  {success:7s}  {v.seconds:7.1f}")
        if v.skipped:
            print(f"{'':{width}s}    - {v.explanation}")
        for failure in v.failures:
            print(f"{'':{width}s}    - {failure}")
    failed = sum(not v.passed for v in verdicts)
    skipped = sum(v.skipped for v in verdicts)
    ran = len(verdicts) - skipped
    print(f"{ran - failed} of {ran} scenarios passed" + (f"; {skipped} skipped: their worlds need packages that aren't "
                                                            "installed (the PointMaze worlds: pip install 'hagent[gym]')" if skipped else ""))
    if args.json:
        from hagent.io import atomic_write_text

        rows = [{"file": str(f), "name": v.scenario.name, "passed": v.passed, "skipped": v.skipped, "failures": list(v.failures), "steps": v.steps,
                 "success": v.success, "explanation": v.explanation, "seconds": round(v.seconds, 2)}
                for (f, _), v in zip(scenarios, verdicts)]
        atomic_write_text(args.json, json.dumps({"passed": ran - failed, "total": ran, "skipped": skipped, "scenarios": rows}, indent=1) + "\n")
    return 0 if failed == 0 else 1


SCENARIOS_DIR = shipped.scenarios()


def cmd_chat(args: argparse.Namespace) -> int:
    agent, cfg, path = _agent(args, "chat", {"world.spec": args.world, "seed": args.seed})  # bad input: usage errors before the UI opens
    from tui.app import HagentApp

    HagentApp(str(path), cfg.world.spec, cfg.seed, agent=agent).run()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hagent.render import describe_view, render_text
    from hagent.worlds import make_world

    cfg = _resolve(args, {"world.spec": args.world, "seed": args.seed})
    world = make_world(cfg.world.spec, seed=cfg.seed)
    obs, _ = world.reset()
    color = sys.stdout.isatty() and not args.no_color
    picture = render_text(obs, color=color)
    if picture:
        print(picture)
    print(f"world {cfg.world.spec}  seed {cfg.seed}  mission: {obs['mission']}")
    print(describe_view(obs))
    return 0
