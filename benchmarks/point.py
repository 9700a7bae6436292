"""Point worlds from pixels: success and planning time of hagent (hierarchical and flat) and a
random policy on held-out episodes, the peers' protocol (goal image, 50-step budget).

    python benchmarks/point.py --checkpoint checkpoints/point --world point:tworooms --episodes 200
    python benchmarks/point.py --checkpoint checkpoints/point-maze --world "point:maze?rooms=4" --episodes 200

Seeds start at 5,000,000 (`--seed-base`); the training data's episode seeds are checked to be
disjoint from them. Per method: success, steps, planning seconds per episode (median, p95),
predictor calls per step, and success by the shortest path's length in full strides (through
the doors; scoring only, from the world's state after the episode's reset, never shown to the
agent): 1-10, 11-20, 21-40, over 40. The random policy draws uniform actions in the action box.
Writes JSON (`--out`) and a PNG of success by distance (`--plot`, needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.io import atomic_write_text
from hagent.worlds.point import make_point_world

BINS = ((1, 10), (11, 20), (21, 40), (41, 10_000))
ROOT = Path(__file__).resolve().parent.parent


def bin_name(lo: int, hi: int) -> str:
    return f"{lo}-{hi}" if hi < 10_000 else f">{lo - 1}"


def shortest_strides(world) -> int:
    """Full strides along the shortest way from start to goal: through each door's mouth on the
    way (scoring only)."""
    st = world.state()
    layout, here, points = st["layout"], st["position"], []
    room = st["room"]
    for door in layout.route(room, st["goal_room"]):
        near, far = door.crossing(room, depth=1.5)
        points += [near, far]
        room = door.b if room == door.a else door.a
    path = [here, *points, st["goal"]]
    length = sum(float(np.linalg.norm(b - a)) for a, b in pairwise(path))
    return max(1, int(np.ceil((length - world.params.radius) / world.params.max_step)))


def run_random(spec: str, seed: int) -> dict:
    world = make_point_world(spec, seed=seed)
    world.reset()
    distance = shortest_strides(world)
    rng = np.random.default_rng(seed)
    bound = world.params.max_step
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = world.step(rng.uniform(-bound, bound, 2))
        steps, done = steps + 1, terminated or truncated
    return {"seed": seed, "success": world.judge().success, "steps": steps, "distance": distance, "seconds": 0.0, "calls": 0}


def run_agent(agent, spec: str, seed: int) -> dict:
    world = make_point_world(spec, seed=seed)
    world.reset(seed=seed)
    distance = shortest_strides(world)
    start = time.perf_counter()
    ep = agent.run(world, seed=seed)
    wall = time.perf_counter() - start
    return {
        "seed": seed, "success": ep.success, "steps": ep.steps, "distance": distance,
        "seconds": sum(r.ms for r in ep.trace) / 1000, "wall_seconds": wall, "calls": sum(r.calls for r in ep.trace),
    }


def summarize(rows: list[dict]) -> dict:
    if not rows:
        return {"episodes": 0}
    seconds = sorted(r["seconds"] for r in rows)
    steps = sum(r["steps"] for r in rows)
    out = {
        "episodes": len(rows),
        "success": 100.0 * sum(r["success"] for r in rows) / len(rows),
        "mean_steps": steps / len(rows),
        "median_plan_s_per_episode": statistics.median(seconds),
        "p95_plan_s_per_episode": seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))],
        "calls_per_step": sum(r["calls"] for r in rows) / max(steps, 1),
        "by_distance": {},
    }
    for lo, hi in BINS:
        inside = [r for r in rows if lo <= r["distance"] <= hi]
        if inside:
            out["by_distance"][bin_name(lo, hi)] = {
                "episodes": len(inside), "success": 100.0 * sum(r["success"] for r in inside) / len(inside),
            }
    return out


def held_out(seeds: list[int], data: Path | None) -> None:
    """Refuse seeds that the training data used (by its manifest's collection seed)."""
    if data is None or not (data / "manifest.json").exists():
        return
    from hagent.collect import episode_seed, read_manifest

    m = read_manifest(data)
    used = {episode_seed(m.seed, e) for e in range(m.episodes)}
    clash = used.intersection(seeds)
    if clash:
        raise SystemExit(f"benchmarks/point.py: seeds {sorted(clash)[:3]} were training episodes in {data}; pick another --seed-base")


def plot(results: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib (pip install -e '.[bench]'); skipping the plot")
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = [bin_name(lo, hi) for lo, hi in BINS]
    for method, summary in results["methods"].items():
        ys = [summary["by_distance"].get(n, {}).get("success") for n in names]
        xs = [i for i, y in enumerate(ys) if y is not None]
        ax.plot(xs, [ys[i] for i in xs], marker="o", label=f"{method} ({summary['success']:.1f}%)")
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("shortest path (full strides)")
    ax.set_ylabel("success (%)")
    ax.set_ylim(0, 102)
    ax.set_title(f"{results['world']}, {results['episodes']} held-out episodes")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"plot -> {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "point"), help="a checkpoint trained on point-world data")
    p.add_argument("--world", default="point:tworooms", help="point:tworooms or point:maze?rooms=N")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed-base", type=int, default=5_000_000)
    p.add_argument("--methods", nargs="+", default=["auto", "flat", "random"], choices=["auto", "flat", "random"])
    p.add_argument("--data", type=Path, default=None, help="the training dataset, to check that no seed was trained on")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/point_<world>.json)")
    p.add_argument("--plot", type=Path, default=None, help="PNG file (default next to the JSON)")
    p.add_argument("--quick", action="store_true", help="smoke run: 4 episodes per method")
    args = p.parse_args(argv)
    episodes = 4 if args.quick else args.episodes
    seeds = list(range(args.seed_base, args.seed_base + episodes))
    held_out(seeds, args.data)
    tag = args.world.replace(":", "_").replace("?", "_").replace("=", "")
    out = args.out or ROOT / "benchmarks" / "results" / f"point_{tag}{'_quick' if args.quick else ''}.json"
    results = {"world": args.world, "checkpoint": args.checkpoint, "episodes": episodes, "seed_base": args.seed_base,
               "date": time.strftime("%Y-%m-%d"), "methods": {}, "rows": {}}
    agent = None
    for method in args.methods:
        rows = []
        if method != "random" and agent is None:
            from hagent.acting import Agent

            agent = Agent.load(args.checkpoint)
        runner = agent.reconfigured(hierarchy=method) if method != "random" else None
        start = time.perf_counter()
        for i, seed in enumerate(seeds, start=1):
            rows.append(run_random(args.world, seed) if runner is None else run_agent(runner, args.world, seed))
            if i % 20 == 0 or i == len(seeds):
                done = sum(r["success"] for r in rows)
                print(f"{method}: {i}/{len(seeds)} episodes, {done} reached the goal ({time.perf_counter() - start:.0f} s)", flush=True)
        results["methods"][method] = summarize(rows)
        results["rows"][method] = rows
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(results, indent=1) + "\n")
    print(f"{'method':8} {'success':>8} {'median s/ep':>12} {'p95 s/ep':>9} {'calls/step':>11}  by distance")
    for method, s in results["methods"].items():
        bins = ", ".join(f"{k}: {v['success']:.0f}% ({v['episodes']})" for k, v in s["by_distance"].items())
        print(f"{method:8} {s['success']:7.1f}% {s['median_plan_s_per_episode']:12.2f} {s['p95_plan_s_per_episode']:9.2f} "
              f"{s['calls_per_step']:11.0f}  {bins}")
    print(f"results -> {out}")
    plot(results, args.plot or out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
