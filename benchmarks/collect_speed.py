"""Benchmark: reward-free collection speed (env steps per second, per worker).

    python benchmarks/collect_speed.py [--world rooms:3x3] [--episodes 400] [--workers 1 2] [--quick]

Prints one row per worker count and writes benchmarks/results/collect_speed.json.
Target (issue #2): at least 2,000 env steps/s per worker on rooms:3x3.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from hagent.config import CollectConfig
from hagent.collect import collect

TARGET_PER_WORKER = 2000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", default="rooms:3x3")
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="a few episodes, for smoke tests")
    parser.add_argument("--json", default="benchmarks/results/collect_speed.json", help="where to write results")
    args = parser.parse_args()
    episodes = 16 if args.quick else args.episodes

    rows = []
    for workers in args.workers:
        cfg = CollectConfig(episodes=episodes, workers=workers, shard_episodes=max(1, episodes // (4 * workers)))
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            manifest = collect(args.world, out, cfg, seed=0, progress=False)
            elapsed = time.perf_counter() - start
        rate = manifest.steps / elapsed
        rows.append(
            {
                "world": args.world,
                "workers": workers,
                "episodes": manifest.episodes,
                "steps": manifest.steps,
                "seconds": round(elapsed, 3),
                "steps_per_s": round(rate, 1),
                "steps_per_s_per_worker": round(rate / workers, 1),
            }
        )
        print(
            f"{args.world:12s} workers={workers}  {manifest.steps:7d} steps in {elapsed:6.2f}s  "
            f"{rate:8.0f} steps/s  {rate / workers:8.0f} steps/s/worker  "
            f"(target >= {TARGET_PER_WORKER:.0f}/worker: {'ok' if rate / workers >= TARGET_PER_WORKER else 'MISSED'})"
        )
    result = {
        "benchmark": "collect_speed",
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "note": "times include process start-up, world building and shard writes",
        "rows": rows,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
