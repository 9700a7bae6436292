"""OGBench's point mazes (Park et al., ICLR 2025): hagent under OGBench's own protocol, next to
the published table. Per maze, 5 evaluation tasks x `--episodes` episodes each, the env's
1,000-step limit, success from the env's own `info["success"]` (within 1.0 of the goal's x, y),
the goal read from what the env gives at reset (`info["goal"]`).

    python benchmarks/ogbench_mazes.py                                   # medium, large, giant; 50 per task
    python benchmarks/ogbench_mazes.py --mazes medium --episodes 10 --methods hagent --seed-base 1000

Methods: `hagent` (level 1's landmark graph over level 0's MPPI) and `flat` (level 0's MPPI
straight at the goal). Checkpoints: `--checkpoints DIR` holds one per maze, named by its env id
(`DIR/pointmaze-<maze>-v0`, built by `hagent train --preset ogbench-pointmaze-<maze>`).

Reporting seeds: 600,000 + 1,000 x task, i.e. task K's episodes use 60K000, 60K001, ...
(`--seed-base` moves them: task K then starts at seed-base + 1,000 x K). Development used
1,000 + 1,000 x task and the tests 43,000. The training data's episodes come from seed 0's own
sequence (`hagent.collect.episode_seed`) with no task (the env's own random starts and goals).
Planning time is per plan; level 0 plans every `level.time_scale` env steps, so the per-env-step
figure is the plan's divided by it. `--workers 2` runs episodes in 2 processes (each planning on
one thread). Writes JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.io import atomic_write_text

MAZES = ("medium", "large", "giant")
METHODS = ("hagent", "flat")
TASKS = (1, 2, 3, 4, 5)
SEED_BASE = 600_000

PUBLISHED = {
    # OGBench (Park, Frans, Eysenbach, Levine, "OGBench: Benchmarking Offline Goal-Conditioned RL",
    # ICLR 2025), Table 2: success rate (%) over 8 seeds, 5 tasks each, on its own datasets.
    "medium": {"GCBC": "9 ± 6", "GCIVL": "63 ± 6", "GCIQL": "53 ± 8", "QRL": "82 ± 5", "CRL": "29 ± 7", "HIQL": "79 ± 5"},
    "large": {"GCBC": "29 ± 6", "GCIVL": "45 ± 5", "GCIQL": "34 ± 3", "QRL": "86 ± 9", "CRL": "39 ± 7", "HIQL": "58 ± 5"},
    "giant": {"GCBC": "1 ± 2", "GCIVL": "0 ± 0", "GCIQL": "0 ± 0", "QRL": "68 ± 7", "CRL": "27 ± 10", "HIQL": "46 ± 9"},
}
CITATION = "OGBench (Park, Frans, Eysenbach, Levine, ICLR 2025), pointmaze-<maze>-navigate-v0, 8 seeds each"


def spec(maze: str, task: int) -> str:
    return f"ogbench:pointmaze-{maze}-navigate-v0?task={task}"


def _episodes(job: tuple[str, str, str, int, list[int]]) -> list[dict]:
    """One worker's share: `seeds` of one maze, task and method."""
    import torch

    from hagent.acting import Agent
    from hagent.worlds import make_world

    checkpoint, method, world, _, seeds = job
    torch.set_num_threads(1)
    agent = Agent.load(checkpoint, world=world).reconfigured(hierarchy="auto" if method == "hagent" else "flat")
    out = []
    for seed in seeds:
        episode = agent.run(make_world(world, seed=seed))  # as `hagent eval` runs it
        out.append({"seed": seed, "success": episode.success, "steps": episode.steps, "ms": [r.ms for r in episode.trace],
                    "every": agent.level.time_scale})
    return out


def run(checkpoint: str, maze: str, method: str, task: int, seeds: list[int], workers: int) -> list[dict]:
    world = spec(maze, task)
    shares = [seeds[i::workers] for i in range(workers)]
    jobs = [(checkpoint, method, world, task, share) for share in shares if share]
    if workers == 1:
        results = [r for job in jobs for r in _episodes(job)]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = [r for part in pool.map(_episodes, jobs) for r in part]
    return sorted(results, key=lambda r: r["seed"])


def table(rows: list[dict], mazes: list[str]) -> str:
    """The published table with hagent's rows under it (success in %, as the paper prints it)."""
    methods = list(PUBLISHED["medium"])
    ours = sorted({r["method"] for r in rows}, key=METHODS.index)
    names = {"hagent": "hagent", "flat": "hagent flat"}
    head = "| dataset | " + " | ".join(methods) + " | " + " | ".join(names[m] for m in ours) + " |"
    lines = [head, "| " + " | ".join(["---"] * (1 + len(methods) + len(ours))) + " |"]
    for maze in mazes:
        cells = [PUBLISHED[maze][m] for m in methods]
        for m in ours:
            mine = [r for r in rows if r["maze"] == maze and r["method"] == m]
            n = sum(r["episodes"] for r in mine)
            cells.append(f"{100 * sum(r['success'] * r['episodes'] for r in mine) / n:.1f} ({n})" if n else "–")
        lines.append(f"| pointmaze-{maze}-navigate | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _missing(checkpoints: str) -> str | None:
    """Why the smoke run can't run here (None: it can)."""
    import importlib.util

    if importlib.util.find_spec("ogbench") is None:
        return "ogbench isn't installed (pip install -e '.[ogbench]')"
    if not (Path(checkpoints) / "pointmaze-medium-v0" / "config.json").exists():
        return f"no {checkpoints}/pointmaze-medium-v0 (hagent train --preset ogbench-pointmaze-medium)"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", default="checkpoints/ogbench", help="a directory holding pointmaze-<maze>-v0 checkpoints (default: the shipped ones)")
    p.add_argument("--mazes", nargs="+", default=list(MAZES), choices=MAZES)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--tasks", nargs="+", type=int, default=list(TASKS), choices=TASKS)
    p.add_argument("--episodes", type=int, default=50, help="episodes per task (OGBench's protocol: 5 tasks; 50 each is 250 per maze)")
    p.add_argument("--seed-base", type=int, default=SEED_BASE, help="task K's episodes start at seed-base + 1,000 x K")
    p.add_argument("--workers", type=int, default=1, help="processes running episodes (one planning thread each)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: medium, hagent, tasks 1-2, 1 episode each on test seeds (43,000); says why and writes "
                   "a JSON of why when ogbench or the checkpoint is missing")
    args = p.parse_args(argv)
    if args.episodes < 1 or args.workers < 1:
        p.error("--episodes and --workers must be at least 1")
    if args.quick:
        args.mazes, args.methods, args.tasks, args.episodes, args.seed_base = ["medium"], ["hagent"], [1, 2], 1, 43_000
        missing = _missing(args.checkpoints)
        if missing:
            print(f"ogbench_mazes --quick: nothing run: {missing}")
            if args.out:
                atomic_write_text(args.out, json.dumps({"benchmark": "ogbench", "skipped": missing}) + "\n")
            return 0
    rows = []
    for maze in args.mazes:
        checkpoint = args.checkpoints
        if not (Path(checkpoint) / f"pointmaze-{maze}-v0" / "config.json").exists():
            p.error(f"{checkpoint}/pointmaze-{maze}-v0: no checkpoint; build it with: hagent train --preset ogbench-pointmaze-{maze}")
        for method in args.methods:
            for task in args.tasks:
                first = args.seed_base + 1000 * task
                start = time.perf_counter()
                results = run(checkpoint, maze, method, task, list(range(first, first + args.episodes)), args.workers)
                ms = [m / r["every"] for r in results for m in r["ms"]]
                row = {
                    "maze": maze, "method": method, "task": task, "episodes": len(results),
                    "seeds": f"{first}-{first + args.episodes - 1}",
                    "success": sum(r["success"] for r in results) / len(results),
                    "mean_steps": statistics.fmean(r["steps"] for r in results),
                    "median_ms_per_env_step": statistics.median(ms) if ms else 0.0,
                    "wall_s": round(time.perf_counter() - start, 1),
                    "per_episode": [{k: v for k, v in r.items() if k not in ("ms", "every")} for r in results],
                }
                rows.append(row)
                print(f"pointmaze-{maze:6s} {method:6s} task {task}  success {row['success']:6.1%}  mean steps "
                      f"{row['mean_steps']:6.1f}  median {row['median_ms_per_env_step']:4.1f} ms/env step  seeds {row['seeds']}  "
                      f"({row['wall_s']} s)", flush=True)
            mine = [r for r in rows if r["maze"] == maze and r["method"] == method]
            ms = [r["median_ms_per_env_step"] for r in mine]
            n = sum(r["episodes"] for r in mine)
            print(f"pointmaze-{maze:6s} {method:6s} all    success {sum(r['success'] * r['episodes'] for r in mine) / n:6.1%}  "
                  f"over {n} episodes; median of the tasks' median ms/env step {statistics.median(ms):.1f}", flush=True)
    print()
    print(f"Published rows: {CITATION}. hagent: success % (episodes), seeds {args.seed_base} + 1,000 x task.")
    print(table(rows, args.mazes))
    if args.out:
        doc = {"benchmark": "ogbench", "checkpoints": args.checkpoints, "published": PUBLISHED, "citation": CITATION, "rows": rows}
        atomic_write_text(args.out, json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
