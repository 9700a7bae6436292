"""Training throughput with 1 and 2 processes (torchrun, gloo), collection speed with 1 and 2 workers.

    python benchmarks/distributed.py                    # level 0 on data/gotolocal, rooms:3x3 collection
    python benchmarks/distributed.py --quick            # a smoke run (seconds)

Training: `hagent train` of level 0 with the default model (global batch `data.batch_size`, the
same for every process count), run once as a plain single process and once per `--procs` N > 1
under `torchrun --standalone --nproc_per_node N`, with the machine's cores split between the
processes (`train.threads` = cores / N). Samples/s = windows of the global batch per second over
the logged steps after the first (start-up, data loading and the first step excluded).
Collection: `hagent collect` of `--collect-episodes` reward-free episodes with 1 and 2 worker
processes; env steps/s including process start-up and shard writes. Writes JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.io import atomic_write_text  # noqa: E402


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def train_throughput(data: Path, procs: int, steps: int, extra: list[str], work: Path) -> dict:
    """Samples/s of level-0 training with `procs` processes."""
    out = work / f"train-{procs}"
    threads = max(1, cores() // procs)
    sets = ["train.critic.steps=0", "train.decoder.episodes=0", f"train.threads={threads}", "train.log_every=10",
            f"train.save_every={steps}", 'device="cpu"', *extra]
    args = ["train", "--data", str(data), "--out", str(out), "--steps", str(steps), "-q",
            *[a for s in sets for a in ("--set", s)]]
    if procs == 1:
        cmd = [sys.executable, "-m", "hagent", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs), "-m", "hagent", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"training with {procs} process(es) failed:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "stage" not in r and "elapsed_s" in r]
    first, last = rows[1], rows[-1]  # from the first logged step after step 1
    batch = json.loads((out / "config.json").read_text())["data"]["batch_size"]
    seconds = last["elapsed_s"] - first["elapsed_s"]
    samples = (last["step"] - first["step"]) * batch
    return {"procs": procs, "threads_each": threads, "global_batch": batch, "steps": last["step"] - first["step"],
            "seconds": round(seconds, 2), "samples_per_s": round(samples / seconds, 1), "wall_s": round(wall, 1),
            "final_pred_loss": last["pred_loss"]}


def collect_throughput(world: str, episodes: int, workers: int, work: Path) -> dict:
    from hagent.collect import collect
    from hagent.config import CollectConfig

    out = work / f"collect-{workers}"
    start = time.perf_counter()
    collect(world, out, CollectConfig(episodes=episodes, workers=workers), seed=0, progress=False)
    seconds = time.perf_counter() - start
    manifest = json.loads((out / "manifest.json").read_text())
    steps = sum(s["steps"] for s in manifest["shards"])
    return {"workers": workers, "episodes": episodes, "steps": steps, "seconds": round(seconds, 2),
            "steps_per_s": round(steps / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/gotolocal", help="dataset to train on (collected if missing)")
    p.add_argument("--steps", type=int, default=300, help="training steps per run")
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    p.add_argument("--world", default="rooms:3x3", help="world for the collection runs")
    p.add_argument("--collect-episodes", type=int, default=400)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="collection worker counts")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra config for the training runs")
    p.add_argument("--quick", action="store_true", help="a tiny model, 30 steps, 20 episodes: a smoke run")
    p.add_argument("--out", default="benchmarks/results/distributed.json")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.collect_episodes = 30, 20
        args.set += ["level.encoder.dim=8", "level.encoder.channels=8", "level.predictor.hidden=32", "data.batch_size=16"]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = Path(args.data)
        if not (data / "manifest.json").exists():
            from hagent.collect import collect
            from hagent.config import CollectConfig

            data = work / "data"
            print(f"{args.data} not found: collecting {args.world} ({args.collect_episodes} episodes) to train on")
            collect(args.world, data, CollectConfig(episodes=max(args.collect_episodes, 20)), seed=0, progress=False)
        train = [train_throughput(data, n, args.steps, args.set, work) for n in args.procs]
        gather = [collect_throughput(args.world, args.collect_episodes, w, work) for w in args.workers]

    print(f"\ntraining (level 0, {args.data}, {cores()} cores)")
    print(f"{'processes':>9} {'threads each':>12} {'global batch':>12} {'samples/s':>10} {'speed-up':>8}")
    for r in train:
        print(f"{r['procs']:>9} {r['threads_each']:>12} {r['global_batch']:>12} {r['samples_per_s']:>10.1f} "
              f"{r['samples_per_s'] / train[0]['samples_per_s']:>7.2f}x")
    print(f"\ncollection ({args.world}, {args.collect_episodes} episodes)")
    print(f"{'workers':>7} {'steps':>8} {'seconds':>8} {'steps/s':>9}")
    for r in gather:
        print(f"{r['workers']:>7} {r['steps']:>8} {r['seconds']:>8.2f} {r['steps_per_s']:>9.1f}")
    result = {"date": time.strftime("%Y-%m-%d"), "cores": cores(), "data": args.data, "train": train, "collect": gather}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
