"""Two grid checkpoints side by side, in one run, on the same held-out seeds: the shipped default
against another build of it (issue #30: data-taught critics against the oracle-taught ones).

    python benchmarks/defaults.py --checkpoints checkpoints/default runs/old-default --seed 300000
    python benchmarks/defaults.py --report                     # the table again, from --out

Per world and checkpoint: success, SPL (BabyAI's bot path where it solves the episode), mean
steps, violations (lava entered, on LavaCrossing) and median planning ms per step, over
`--episodes` consecutive seeds from `--seed`, each world's mission as the instruction and the
budget of BENCHMARKS.md's main table (the world's own time limit, at most `--max-steps` = 300). Episodes are spread over
`--workers` processes of one torch thread each, so planning times are per core and shared.
The agent plans from observations and the instruction only (it acts through a `SealedWorld`);
the world's judgement scores each episode afterwards. Name the seed range next to the numbers:
reporting seeds come from 200,000 up and must not have been evaluated on before.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.io import atomic_write_text  # noqa: E402

WORLDS = (
    "rooms:3x3",
    "rooms:4x4",
    "babyai:GoTo",
    "babyai:Open",
    "babyai:GoToLocal",
    "babyai:PickupLoc",
    "minigrid:MiniGrid-LavaCrossingS9N1-v0",
)
CHUNK = 10
"""Seeds per job: small enough to keep every worker busy to the end."""

_AGENTS: dict[str, object] = {}


def _job(args: tuple[str, str, int, int, int]) -> tuple[str, str, list[dict]]:
    """Score one checkpoint on one world's seeds [seed, seed + n)."""
    import torch

    from hagent.acting import Agent
    from hagent.evaluate import evaluate

    checkpoint, world, seed, n, budget = args
    torch.set_num_threads(1)
    if checkpoint not in _AGENTS:
        agent = Agent.load(checkpoint)
        _AGENTS[checkpoint] = agent.reconfigured(threads=1)
    report = evaluate(_AGENTS[checkpoint], world, n, seed, max_steps=budget, progress=False)
    return checkpoint, world, [e._asdict() for e in report.episodes]


def _summary(episodes: list[dict]) -> dict | None:
    n = len(episodes)
    if n == 0:
        return None
    spl = [min(1.0, e["reference_steps"] / max(e["steps"], 1)) if e["success"] else 0.0
           for e in episodes if e["reference_steps"] is not None]
    ms = [e["median_ms"] for e in episodes if e["steps"] > 0]
    return {
        "episodes": n,
        "success": sum(e["success"] for e in episodes) / n,
        "spl": statistics.fmean(spl) if spl else None,
        "mean_steps": statistics.fmean(e["steps"] for e in episodes),
        "violations": sum(e["violations"] for e in episodes),
        "median_ms": statistics.median(ms) if ms else None,
    }


def report(doc: dict) -> str:
    """The results as a markdown table: one row per world, the checkpoints side by side."""
    names = doc["checkpoints"]
    lines = [
        f"Seeds {doc['seed']}–{doc['seed'] + doc['episodes'] - 1}, {doc['episodes']} episodes per world and checkpoint; "
        f"{doc['workers']} workers of one thread; {doc['seconds']:.0f} s.",
        "",
        "| world | " + " | ".join(f"{n}: success (SPL) / steps / violations" for n in names) + " | difference |",
        "| --- | " + " | ".join("---" for _ in names) + " | --- |",
    ]
    for world in doc["worlds"]:
        rows = [doc["results"][world][n] for n in names]
        if any(r is None for r in rows):
            lines.append(f"| {world} | " + " | ".join("not run" if r is None else f"{r['episodes']} episodes" for r in rows) + " | – |")
            continue
        cells = []
        for r in rows:
            spl = "–" if r["spl"] is None else f"{r['spl']:.3f}"
            partial = "" if r["episodes"] == doc["episodes"] else f", {r['episodes']} episodes only"
            cells.append(f"{r['success']:.1%} ({spl}) / {r['mean_steps']:.1f} / {r['violations']}{partial}")
        diff = (rows[0]["success"] - rows[-1]["success"]) * 100
        lines.append(f"| {world} | " + " | ".join(cells) + f" | {diff:+.1f} pts |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", nargs="+", default=["checkpoints/default"], help="checkpoint directories (first: the new one)")
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), help="world specs")
    p.add_argument("--episodes", type=int, default=200, help="episodes per world and checkpoint")
    p.add_argument("--seed", type=int, default=300000, help="first seed (reporting seeds: 200,000 and up, never evaluated before)")
    p.add_argument("--max-steps", type=int, default=300, help="steps per episode at most (the world's own limit if lower)")
    p.add_argument("--workers", type=int, default=2, help="processes (one torch thread each)")
    p.add_argument("--out", default="benchmarks/results/defaults.json", help="JSON with every episode")
    p.add_argument("--report", action="store_true", help="print the table in --out; run nothing")
    p.add_argument("--merge", nargs="+", metavar="JSON", help="join runs on consecutive seed ranges into --out; run nothing")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 episodes of rooms:3x3, 30 steps, 1 worker")
    args = p.parse_args(argv)
    if args.quick:
        args.worlds, args.episodes, args.max_steps, args.workers = ["rooms:3x3"], 2, 30, 1
    if args.merge:
        return _merge(args)
    if args.report:
        try:
            print(report(json.loads(Path(args.out).read_text())))
        except (OSError, ValueError, KeyError) as err:
            print(f"defaults.py: can't read {args.out}: {err}", file=sys.stderr)
            return 2
        return 0
    missing = [c for c in args.checkpoints if not (Path(c) / "config.json").is_file()]
    if missing:
        print(f"defaults.py: not a checkpoint: {', '.join(missing)}", file=sys.stderr)
        return 2
    jobs = [(c, w, s, min(CHUNK, args.seed + args.episodes - s), args.max_steps)
            for s in range(args.seed, args.seed + args.episodes, CHUNK) for w in args.worlds for c in args.checkpoints]
    # seed chunks outermost: every world and checkpoint advances together, so a stopped run is still a fair comparison
    start = time.perf_counter()
    found: dict[tuple[str, str], list[dict]] = {(w, c): [] for w in args.worlds for c in args.checkpoints}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for k, (checkpoint, world, episodes) in enumerate(pool.imap_unordered(_job, jobs), start=1):
            found[(world, checkpoint)].extend(episodes)
            print(f"[{k}/{len(jobs)}] {world} {checkpoint}: {len(found[(world, checkpoint)])} episodes", file=sys.stderr, flush=True)
            doc = _document(args, found, time.perf_counter() - start)  # after every job: a stopped run keeps what it did
            atomic_write_text(args.out, json.dumps(doc, indent=1) + "\n")
    print(report(doc))
    return 0


def _merge(args: argparse.Namespace) -> int:
    """Join the episodes of several runs into one document: runs of the same checkpoints on
    consecutive seed ranges (of all worlds or some), or runs of different checkpoints on the same
    seeds (in the order given)."""
    try:
        docs = [json.loads(Path(f).read_text()) for f in args.merge]
    except (OSError, ValueError) as err:
        print(f"defaults.py: can't read --merge: {err}", file=sys.stderr)
        return 2
    checkpoints = list(dict.fromkeys(c for d in docs for c in d["checkpoints"]))
    worlds = list(dict.fromkeys(w for d in docs for w in d["worlds"]))  # a run may cover only some worlds
    found = {(w, c): [e for d in docs if c in d["checkpoints"] and w in d["worlds"] for e in d["per_episode"][w][c]]
             for w in worlds for c in checkpoints}
    seeds = sorted({e["seed"] for episodes in found.values() for e in episodes})
    merged = argparse.Namespace(checkpoints=checkpoints, worlds=worlds, seed=seeds[0],
                                episodes=seeds[-1] - seeds[0] + 1, workers=max(d["workers"] for d in docs))
    doc = _document(merged, found, sum(d["seconds"] for d in docs))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(doc, indent=1) + "\n")
    print(report(doc))
    return 0


def _document(args: argparse.Namespace, found: dict[tuple[str, str], list[dict]], seconds: float) -> dict:
    ordered = {key: sorted(episodes, key=lambda e: e["seed"]) for key, episodes in found.items()}
    return {
        "checkpoints": args.checkpoints, "worlds": args.worlds, "seed": args.seed, "episodes": args.episodes,
        "workers": args.workers, "seconds": seconds,
        "results": {w: {c: _summary(ordered[(w, c)]) for c in args.checkpoints} for w in args.worlds},
        "per_episode": {w: {c: ordered[(w, c)] for c in args.checkpoints} for w in args.worlds},
    }


if __name__ == "__main__":
    sys.exit(main())
