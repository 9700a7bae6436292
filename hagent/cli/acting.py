"""The commands that act: `hagent eval`, `run`, `scenarios`, `chat` and `show`, for every world family."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hagent import shipped
from hagent.cli.common import (
    CliError,
    _finite,
    _grid_checkpoint,
    _gym_agent,
    _point_checkpoint,
    _resolve,
    _write_episode,
)
from hagent.config import HagentConfig


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
    from hagent.checkpoint import checkpoint_kind
    from hagent.point_agent import DEFAULT_POINT_CHECKPOINT, PointAgent
    from hagent.worlds.point import PlaceError, make_point_world

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
    agent = None
    if family == "gym":
        from hagent.goal_agent import DEFAULT_GYM_CHECKPOINT

        agent, path = _gym_agent(args, cfg), Path(args.checkpoint or DEFAULT_GYM_CHECKPOINT)  # loads in a second
    elif family == "point":
        path = _point_checkpoint(args.checkpoint, cfg.world.spec)
    else:
        path = _grid_checkpoint(args.checkpoint, "chat", cfg.world.spec)  # and so is a checkpoint it can't serve
    from tui.app import HagentApp

    HagentApp(str(path), cfg.world.spec, cfg.seed, agent=agent).run()
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
