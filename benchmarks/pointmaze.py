"""gymnasium-robotics' PointMaze (an env no one here wrote): success and planning time of hagent
(level 1's landmark graph over level 0), hjepa (level 1 planning with its own model,
`goal_agent.graph = "hjepa"`, for a checkpoint with a level 1), flat (level 0's MPPI alone) and
a random policy, on held-out episodes: the goal from `desired_goal`, the env's own step limit,
success from the env's own signal.

    python benchmarks/pointmaze.py                       # both mazes, 200 episodes each
    python benchmarks/pointmaze.py --mazes PointMaze_UMaze-v3 --episodes 20 --methods hagent

Reporting seeds: UMaze 270,000-270,199 and Medium 280,000-280,199 (`--seed-base` moves both).
Development (tuning `goal_agent.bend`, `hops`) used 42,000-42,199 and the tests 43,000-43,009; the training data's episodes come
from seed 0's own sequence (`hagent.collect.episode_seed`). Planning time is per plan; level 0
plans every `level.time_scale` env steps, so the per-env-step figure is that divided by it. The
random policy draws a uniform action from the action box every env step. Writes JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent import shipped
from hagent.acting import Agent
from hagent.worlds.gym import make_gym_world
from hagent.io import atomic_write_text

SEEDS = {"PointMaze_UMaze-v3": 270_000, "PointMaze_Medium-v3": 280_000}
METHODS = ("hagent", "hjepa", "flat", "random")


def run_random(spec: str, seed: int) -> dict:
    world = make_gym_world(spec)
    world.reset(seed=seed)
    rng = np.random.default_rng(seed)
    low, high = world.action_space.low, world.action_space.high
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = world.step(rng.uniform(low, high))
        steps, done = steps + 1, terminated or truncated
    return {"seed": seed, "success": world.judge().success, "steps": steps, "ms": [], "calls": []}


def run_agent(agent: Agent, spec: str, seed: int) -> dict:
    # as `hagent eval` runs it, so the two print the same success
    episode = agent.run(make_gym_world(spec, seed=seed))
    return {"seed": seed, "success": episode.success, "steps": episode.steps, "ms": [r.ms for r in episode.trace],
            "calls": [r.calls for r in episode.trace]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(shipped.checkpoint("pointmaze")), help="a directory of one checkpoint per env id")
    p.add_argument("--mazes", nargs="+", default=list(SEEDS), choices=list(SEEDS))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed-base", type=int, help="first seed of every maze (default: the reporting seeds above)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 episodes per maze and method on test seeds (43,000)")
    args = p.parse_args(argv)
    if args.quick:
        args.episodes, args.seed_base = 2, 43_000
    rows = []
    for env_id in args.mazes:
        spec = f"gym:{env_id}"
        first = SEEDS[env_id] if args.seed_base is None else args.seed_base
        seeds = range(first, first + args.episodes)
        for method in args.methods:
            start = time.perf_counter()
            if method == "random":
                results = [run_random(spec, s) for s in seeds]
                every = 1
            else:
                agent = Agent.load(args.checkpoint, world=spec)
                if method == "hjepa" and not agent.actor.abstract:
                    print(f"{env_id:22s} {method:7s} skipped: the checkpoint has no level 1 (hagent train --levels-only)", flush=True)
                    continue
                updates = {"flat": {"hierarchy": "flat"}, "hjepa": {"hierarchy": "auto", "graph": "hjepa"}}
                agent = agent.reconfigured(**updates.get(method, {"hierarchy": "auto", "graph": "landmarks"}))
                results = [run_agent(agent, spec, s) for s in seeds]
                every = agent.level.time_scale
            ms = [m for r in results for m in r["ms"]]
            calls = [c for r in results for c in r["calls"]]
            row = {
                "maze": env_id, "method": method, "episodes": len(results), "seeds": f"{first}-{first + args.episodes - 1}",
                "success": sum(r["success"] for r in results) / len(results),
                "mean_steps": statistics.fmean(r["steps"] for r in results),
                "median_ms_per_plan": statistics.median(ms) if ms else 0.0,
                "median_ms_per_env_step": statistics.median(ms) / every if ms else 0.0,
                "mean_predictor_calls_per_plan": statistics.fmean(calls) if calls else 0.0,  # both levels' (level 1 plans now and then)
                "wall_s": round(time.perf_counter() - start, 1),
                "per_episode": [{k: v for k, v in r.items() if k not in ("ms", "calls")} for r in results],
            }
            rows.append(row)
            print(f"{env_id:22s} {method:7s} success {row['success']:6.1%}  mean steps {row['mean_steps']:6.1f}  "
                  f"median ms {row['median_ms_per_plan']:5.1f}/plan {row['median_ms_per_env_step']:5.1f}/env step  "
                  f"predictor calls {row['mean_predictor_calls_per_plan']:6.0f}/plan  "
                  f"seeds {row['seeds']}  ({row['wall_s']} s)", flush=True)
    if args.out:
        doc = {"benchmark": "pointmaze", "checkpoint": args.checkpoint, "rows": rows}
        atomic_write_text(args.out, json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
