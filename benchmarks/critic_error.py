"""How well a critic's learned distances match the true ones, by hop length and across walls.

Trains level-0 critics on a checkpoint's frozen level 0, one per labelling variant, and scores
them (and, with --shipped, the checkpoint's own critic) on held-out episodes collected here with
a different master seed. Variants: `data:E` (the default way: the fewest recorded steps over the
data's own observed transitions, regressed at expectile E), `oracle` (the named rule-based
baseline: shortest paths by the world's movement rules) and `qrl` (no labels at all: a quasimetric
critic pushed apart under the data's own one-step costs, `fit_quasimetric`). The true distance (`steps_to_pose` plus
changed cells) is used here only to *score*. "Across a wall": the two states' agent cells lie in
different rooms (the data's room labels), so every way between them goes through a doorway.

    python benchmarks/critic_error.py --checkpoint checkpoints/default --data data/mix/rooms_4x4 \
        --world rooms:4x4 --variants oracle data:0.5 data:0.2 --json critic_error.json [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costs.config import CriticTrainConfig  # noqa: E402
from hagent.checkpoint import load_checkpoint  # noqa: E402
from hagent.collect import collect  # noqa: E402
from hagent.config import CollectConfig  # noqa: E402
from hagent.data import OfflineDataset  # noqa: E402
from hagent.labels import oracle_pairs  # noqa: E402
from hagent.training.critic import dataset_pairs, encode_dataset, episode_transitions, fit_critic, fit_quasimetric  # noqa: E402

BINS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 60), (61, 180))
EVAL_MASTER_SEED = 1  # the held-out episodes' master seed (the preset's data uses 0)


def score(critic, states: torch.Tensor, pairs, rooms: np.ndarray) -> dict:
    """Mean absolute and signed error against the true steps, by true hop length, and split by
    whether a wall (a room boundary) lies between the two states."""
    with torch.no_grad():
        pred = torch.cat([
            critic.distance(states[torch.as_tensor(pairs.start[i : i + 8192])], states[torch.as_tensor(pairs.goal[i : i + 8192])])
            for i in range(0, len(pairs.start), 8192)
        ]).numpy()
    truth = pairs.steps
    across = rooms[pairs.start] != rooms[pairs.goal]
    rows = {}
    for lo, hi in BINS:
        for name, mask in (("same room", ~across), ("across a wall", across)):
            m = (truth >= lo) & (truth <= hi) & mask
            if m.sum() >= 20:
                err = pred[m] - truth[m]
                rows[f"{lo}-{hi} {name}"] = {"pairs": int(m.sum()), "mae": float(np.abs(err).mean()), "bias": float(err.mean())}
    err = pred - truth
    return {"mae": float(np.abs(err).mean()), "bias": float(err.mean()), "pairs": len(truth), "bins": rows}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"), help="whose level 0 the critics read")
    p.add_argument("--data", nargs="+", help="training datasets (default: collect --episodes of --world, master seed 0)")
    p.add_argument("--world", default="rooms:4x4", help="world of the held-out episodes (and of --data when collected)")
    p.add_argument("--episodes", type=int, default=300, help="held-out episodes to score on")
    p.add_argument("--variants", nargs="*", default=["oracle", "data:0.5", "data:0.1"],
                   help="oracle | data:EXPECTILE | qrl[:KEY=VALUE,...] (fit_quasimetric's settings, e.g. "
                        "qrl:offset=60,lr=3e-4); none: score --shipped only")
    p.add_argument("--level", type=int, choices=(0, 1), default=0,
                   help="whose states the critics read: 0 (level 0's) or 1 (level 1's encoding of them; --shipped then "
                        "scores level 1's critic)")
    p.add_argument("--held-seed", type=int, default=EVAL_MASTER_SEED,
                   help=f"master seed of the held-out episodes (default {EVAL_MASTER_SEED}, the reporting set; "
                        "tune on another)")
    p.add_argument("--steps", type=int, default=3000, help="critic optimizer steps per variant")
    p.add_argument("--goals", type=int, default=24, help="hindsight goal states per training episode (train.critic.goals_per_episode)")
    p.add_argument("--shipped", action="store_true", help="also score the checkpoint's own critic")
    p.add_argument("--quick", action="store_true", help="a tiny run: a few episodes and steps (smoke test)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    torch.set_num_threads(2)
    if args.quick:
        args.episodes, args.steps = 12, 60
    ckpt = load_checkpoint(args.checkpoint)
    level = ckpt.level
    cap = ckpt.config.train.critic.max_steps
    with tempfile.TemporaryDirectory() as tmp:
        train_dirs = args.data or []
        if args.variants and (not train_dirs or args.quick):
            train_dirs = [str(Path(tmp) / "train")]
            collect(args.world, train_dirs[0], CollectConfig(episodes=24 if args.quick else 600), seed=0, progress=False)
        held = Path(tmp) / "held"
        collect(args.world, held, CollectConfig(episodes=args.episodes), seed=args.held_seed, progress=False)
        train_sets = [OfflineDataset(d) for d in train_dirs]
        held_set = OfflineDataset(held)
        states = torch.cat([encode_dataset(level, d, torch.device("cpu")) for d in train_sets]) if train_sets else None
        held_states = encode_dataset(level, held_set, torch.device("cpu"))
        if args.level:  # level 1's states: its encoding of level 0's
            if not ckpt.abstract:
                raise SystemExit(f"--level 1: {args.checkpoint} has no level 1")
            with torch.no_grad():
                up = lambda x: torch.cat([ckpt.abstract[0].encode(x[i : i + 8192]) for i in range(0, len(x), 8192)])  # noqa: E731
                states = None if states is None else up(states)
                held_states = up(held_states)
        truth = oracle_pairs(held_set, 8, cap, seed=0)  # scoring only
        rooms = np.array([hash(tuple(r)) if np.ndim(r) else int(r) for r in held_set.arrays["room"]])
        results = {}
        shipped = ckpt.abstract_critics[0] if args.level else ckpt.critic
        if args.shipped and shipped is not None:
            results["shipped critic"] = score(shipped, held_states, truth, rooms)
        for variant in args.variants:
            kind, _, expectile = variant.partition(":")
            if kind == "qrl":  # no labels: a quasimetric pushed apart under the data's own one-step costs
                start = time.perf_counter()
                rows, episode_of = episode_transitions(train_sets)
                fitted = fit_quasimetric(states, rows, episode_of, steps=args.steps, seed=0, progress=not args.quick,
                                         **_settings(expectile, variant))
                results[variant] = dict(score(fitted, held_states, truth, rooms), train_pairs=len(rows),
                                        seconds=round(time.perf_counter() - start, 1))
                continue
            cfg = CriticTrainConfig(
                steps=args.steps, labels="oracle" if kind == "oracle" else "data", expectile=float(expectile or 0.5),
                max_steps=cap, goals_per_episode=args.goals,
            )
            start = time.perf_counter()
            pairs, episode = dataset_pairs(train_sets, cfg, seed=0)
            near = pairs.steps <= cap
            pairs = type(pairs)(pairs.start[near], pairs.goal[near], pairs.steps[near])
            fitted = fit_critic(states, pairs, episode[near], sum(d.episodes for d in train_sets), ckpt.config.critic, cfg, 0,
                                progress=not args.quick, name=variant)
            results[variant] = dict(score(fitted.critic, held_states, truth, rooms), train_pairs=len(pairs.start),
                                    seconds=round(time.perf_counter() - start, 1))
    print(f"level {args.level}'s critics: error on {args.episodes} held-out {args.world} episodes (master seed {args.held_seed}; "
          f"training data: {', '.join(map(str, train_dirs)) or 'none'}); true distances used for scoring only")
    names = list(results)
    keys = sorted({k for r in results.values() for k in r["bins"]}, key=lambda k: (int(k.split("-")[0]), k))
    print(f"{'true steps':22s}{'pairs':>8s}" + "".join(f"{n:>18s}" for n in names))
    for k in keys:
        cells = [results[n]["bins"].get(k) for n in names]
        n = next(c["pairs"] for c in cells if c is not None)
        print(f"{k:22s}{n:8d}" + "".join(f"{'-':>18s}" if c is None else f"{c['mae']:6.2f} ({c['bias']:+6.2f})".rjust(18) for c in cells))
    first = results[names[0]]["pairs"]
    print(f"{'all':22s}{first:8d}" + "".join(f"{results[n]['mae']:6.2f} ({results[n]['bias']:+6.2f})".rjust(18) for n in names))
    print("cells: mean absolute error in steps (mean signed error)")
    if args.json:
        Path(args.json).write_text(json.dumps({"world": args.world, "episodes": args.episodes, "eval_master_seed": args.held_seed, "level": args.level,
                                               "data": train_dirs, "checkpoint": args.checkpoint, "results": results}, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def _settings(text: str, variant: str) -> dict[str, float]:
    """`offset=60,lr=3e-4` -> {"offset": 60.0, "lr": 0.0003}; a bad pair ends the run with a message."""
    settings = {}
    for pair in filter(None, text.split(",")):
        key, _, value = pair.partition("=")
        if key not in _QRL_KEYS:
            raise SystemExit(f"--variants {variant}: unknown setting {key!r}; known: {', '.join(_QRL_KEYS)}")
        try:
            settings[key] = float(value)
        except ValueError:
            raise SystemExit(f"--variants {variant}: {key} needs a number, got {value!r}") from None
    return settings


_QRL_KEYS = ("batch_size", "lr", "offset", "sharpness", "slack", "noise", "pace")

if __name__ == "__main__":
    raise SystemExit(main())
