"""Hierarchical vs flat planning on the same trained models, by optimal-path distance.

    python benchmarks/hierarchy.py --checkpoint checkpoints/default --worlds rooms:3x3 rooms:4x4 --episodes 200

Each held-out seed (default 1000...) is run once per mode: level 0 alone (`flat`: `agent.hierarchy
= flat`), the configurator free to use the abstract levels with the checkpoint's own settings
(`auto`), every level always (`full`), and the two ways level 1 can plan, each under `auto`:
`rules`, a lattice of waypoints drawn into the remembered grid with hops only within a
flood-filled room (`agent.graph = rules`), and `imagined`, hops imagined with level 0's own
predictor and judged by the learned critic (`agent.graph = imagined`), and `hjepa`, level 1
planning with its own model: macro-actions searched through level 1's predictor under level 1's
critic, its first predicted state level 0's subgoal (`agent.graph = hjepa`, `levels.latent`).
The ablation of the learned level 1 is `--modes flat rules imagined hjepa`. Episodes are binned by the optimal path length (BabyAI's bot on a
the world's initial grid, turns and moves with doors passable: scoring only, the agent never
sees it): 1-10, 11-20, 21-40, over 40 steps. SPL uses the same shortest path.
Per bin and mode: success, SPL, predictor calls per step, median planning ms per step. Writes
JSON (`--out`) and a PNG of success vs distance (`--plot`, needs the `bench` extra: matplotlib).
No peeking: the agent plans from observations and the instruction only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.acting import Agent  # noqa: E402
from hagent.config import ConfigError, HagentConfig, with_overrides  # noqa: E402
from hagent.evaluate import EpisodeScore, evaluate  # noqa: E402
from hagent.acting.grounding import Memory, agent_pose, ground, stages  # noqa: E402
from hagent.io import atomic_write_text  # noqa: E402
from hagent.labels import steps_to_pose  # noqa: E402
from hagent.language import parse  # noqa: E402
from hagent.worlds import make_world  # noqa: E402


def optimal_steps(spec: str, seed: int) -> int | None:
    """Fewest turns and moves from the start pose to a pose that completes the mission's first
    stage (doors passable, toggles not counted), from the initial grid. Scoring only."""
    obs, _ = make_world(spec, seed=seed).reset()
    grounded = ground(stages(parse(obs["mission"]).goal)[0], Memory(obs))
    start = agent_pose(obs)
    best = None
    for image in grounded.goal_images:
        pose = agent_pose({"image": image, "direction": 0})
        dist = steps_to_pose(image, pose.cell, int(image[pose.cell][2]), cap=10_000)
        d = int(dist[start.cell[0], start.cell[1], start.heading])
        best = d if best is None else min(best, d)
    return best if best is not None and best < 10_000 else None

BINS = ((1, 10), (11, 20), (21, 40), (41, 10_000))
MODES = {  # agent settings of each mode
    "flat": {"hierarchy": "flat"},
    "auto": {"hierarchy": "auto"},
    "full": {"hierarchy": "full"},
    "rules": {"hierarchy": "auto", "graph": "rules"},
    "imagined": {"hierarchy": "auto", "graph": "imagined"},
    "hjepa": {"hierarchy": "auto", "graph": "hjepa"},
}


def bin_name(lo: int, hi: int) -> str:
    return f"{lo}-{hi}" if hi < 10_000 else f">{lo - 1}"


def summarize(scores: list[EpisodeScore]) -> dict:
    """Success, SPL, calls/step and ms/step over some episodes."""
    if not scores:
        return {"episodes": 0}
    known = [e for e in scores if e.reference_steps is not None]
    spl = [min(1.0, e.reference_steps / max(e.steps, 1)) if e.success else 0.0 for e in known] or [0.0]
    moved = [e for e in scores if e.steps > 0]
    return {
        "episodes": len(scores),
        "success": sum(e.success for e in scores) / len(scores),
        "spl": statistics.fmean(spl),
        "calls_per_step": statistics.fmean(e.calls_per_step for e in moved) if moved else 0.0,
        "ms_per_step": statistics.median(e.median_ms for e in moved) if moved else 0.0,
        "violations": sum(e.violations for e in scores),
        "mean_optimal": statistics.fmean(e.reference_steps for e in known) if known else None,
    }


def with_agent_settings(p: argparse.ArgumentParser, agent: Agent, settings: list[str]) -> Agent:
    """`agent` with the `--set agent.KEY=VALUE` settings applied; a usage error (exit 2) for any other key or a bad value."""
    if any(not text.startswith("agent.") for text in settings):
        p.error("--set: only agent.* settings apply to a trained checkpoint")
    try:
        return agent.reconfigured(**dict(with_overrides(HagentConfig(agent=agent.cfg), settings).agent))
    except ConfigError as err:
        p.error("; ".join(err.lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default", help="trained checkpoint with abstract levels")
    p.add_argument("--worlds", nargs="+", default=["rooms:3x3", "rooms:4x4"], help="world specs")
    p.add_argument("--episodes", type=int, default=200, help="held-out episodes per world")
    p.add_argument("--seed", type=int, default=1000, help="first held-out seed")
    p.add_argument("--modes", nargs="+", default=["flat", "auto"], choices=list(MODES), help="which agents to run (see above)")
    p.add_argument("--max-steps", type=int, default=300, help="step budget per episode")
    p.add_argument("--quick", action="store_true", help="2 episodes of rooms:3x3, 60 steps each (a smoke run)")
    p.add_argument("--set", action="append", default=[], metavar="agent.KEY=VALUE",
                   help="change an agent setting for every mode, e.g. --set agent.imagined.lead=3 (repeatable)")
    p.add_argument("--out", default="benchmarks/results/hierarchy.json")
    p.add_argument("--plot", default="benchmarks/results/hierarchy.png")
    args = p.parse_args(argv)
    if args.quick:
        args.worlds, args.episodes, args.max_steps = ["rooms:3x3"], 2, 60

    base = with_agent_settings(p, Agent.load(args.checkpoint), args.set)
    results: dict = {"checkpoint": args.checkpoint, "seed": args.seed, "episodes": args.episodes, "worlds": {}}
    start = time.perf_counter()
    for world in args.worlds:
        optimal = {s: optimal_steps(world, s) for s in range(args.seed, args.seed + args.episodes)}
        per_mode = {}
        for mode in args.modes:
            agent = base.reconfigured(**MODES[mode])
            report = evaluate(agent, world, args.episodes, args.seed, args.max_steps, reference=False)
            scores = [e._replace(reference_steps=optimal[e.seed]) for e in report.episodes]
            report = report._replace(episodes=tuple(scores))
            scores = [e for e in scores if e.reference_steps is not None]
            per_mode[mode] = {
                "all": summarize(list(report.episodes)),
                "bins": {bin_name(lo, hi): summarize([e for e in scores if lo <= e.reference_steps <= hi]) for lo, hi in BINS},
                "per_episode": [e._asdict() for e in report.episodes],
            }
        results["worlds"][world] = per_mode
        _print(world, per_mode)
    results["seconds"] = round(time.perf_counter() - start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out} ({results['seconds']} s)")
    _plot(results, args.plot)
    return 0


def _print(world: str, per_mode: dict) -> None:
    print(f"\n{world}")
    print(f"{'bin':>7} {'mode':>8} {'n':>4} {'success':>8} {'SPL':>6} {'calls/step':>10} {'ms/step':>8}")
    for name in [bin_name(lo, hi) for lo, hi in BINS] + ["all"]:
        for mode, r in per_mode.items():
            row = r["all"] if name == "all" else r["bins"][name]
            if row["episodes"]:
                print(f"{name:>7} {mode:>8} {row['episodes']:>4} {row['success']:>8.1%} {row['spl']:>6.3f} "
                      f"{row['calls_per_step']:>10.0f} {row['ms_per_step']:>8.1f}")


def _plot(results: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: install the bench extra (pip install -e '.[bench]') for matplotlib")
        return
    worlds = results["worlds"]
    fig, axes = plt.subplots(1, len(worlds), figsize=(5 * len(worlds), 3.6), squeeze=False)
    names = [bin_name(lo, hi) for lo, hi in BINS]
    for ax, (world, per_mode) in zip(axes[0], worlds.items()):
        for mode, r in per_mode.items():
            xs = [i for i, n in enumerate(names) if r["bins"][n]["episodes"]]
            ax.plot(xs, [r["bins"][names[i]]["success"] for i in xs], marker="o", label=mode)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("optimal path length (steps)")
        ax.set_ylabel("success")
        ax.set_title(world)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
