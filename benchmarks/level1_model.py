"""How sharp is level 1's own model? One-hop and three-hop predictions next to level 0's composed rollouts.

    python benchmarks/level1_model.py --checkpoint runs/hjepa-a [--world rooms:3x3 --episodes 60 --collect-seed 777] [--quick]
    python benchmarks/level1_model.py --checkpoint runs/hjepa-a --data DIR   # episodes you collected (hagent collect)

Without `--data` it first collects `--episodes` fresh episodes of `--world` with the
exploration policy, under `--collect-seed` (777: a seed no training data used; the presets
collect under seed 0).

From every third step of each held-out episode, level 1 predicts `hops` of its own steps ahead
(`AbstractLevel.predict` on the macro-actions that summarize the logged actions), and level 0
rolls its one-step predictor over the same `hops x period` logged actions. A prediction is right
when the real state of that episode nearest to it (level 1's encodings for level 1, level 0's
for level 0) shows the agent on the cell it really reached. The cells are read from the agent's
mark in each observation (scoring only; no planner reads them). Prints one row per model and
hop count; `--out` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from hagent.collect import collect  # noqa: E402
from hagent.config import CollectConfig  # noqa: E402
from hagent.data import OfflineDataset  # noqa: E402
from hagent.io import atomic_write_text  # noqa: E402
from hagent.training.critic import encode_dataset  # noqa: E402
from hagent.training.hierarchy import marked_cells  # noqa: E402


@torch.no_grad()
def nearest_cell_accuracy(ckpt, data: OfflineDataset, hops: int, stride: int = 3) -> dict:
    """Share of `hops`-step level-1 predictions (and of level 0's composed rollouts over the same
    actions) whose nearest real state of the episode has the agent on the right cell."""
    level0, level1 = ckpt.level, ckpt.abstract[0]
    period = level1.period
    states = encode_dataset(level0, data, torch.device("cpu"))
    actions = torch.as_tensor(data.arrays["action"]).long()
    cells = marked_cells(data.arrays["image"])
    offsets = data.episode_offsets
    right1 = right0 = n = 0
    for a, b in zip(offsets[:-1], offsets[1:]):
        if b - 1 - a < hops * period:
            continue
        starts = np.arange(a, b - hops * period, stride)
        r = torch.as_tensor(starts)
        s1, s0 = level1.encode(states[r]), states[r]
        for h in range(hops):
            chunk = torch.stack([actions[r + h * period + i] for i in range(period)], 1)
            s1 = level1.predict(s1, level1.summarize(chunk))
            for i in range(period):
                s0 = level0.predict(s0, actions[r + h * period + i])
        real0 = states[a:b]
        true = cells[starts + hops * period]
        near1 = torch.cdist(s1, level1.encode(real0)).argmin(1).numpy()
        near0 = torch.cdist(s0, real0).argmin(1).numpy()
        right1 += int((cells[a:b][near1] == true).all(1).sum())
        right0 += int((cells[a:b][near0] == true).all(1).sum())
        n += len(starts)
    return {"hops": hops, "actions": hops * period, "n": n, "level1": right1 / max(n, 1), "level0_composed": right0 / max(n, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default", help="grid checkpoint with a level 1")
    p.add_argument("--data", help="held-out episodes (a dataset of hagent collect, seeds no level trained on); default: collect them")
    p.add_argument("--world", default="rooms:3x3", help="world to collect held-out episodes in (without --data)")
    p.add_argument("--episodes", type=int, default=60, help="held-out episodes to collect (without --data)")
    p.add_argument("--collect-seed", type=int, default=777, help="seed of the collected episodes (without --data)")
    p.add_argument("--quick", action="store_true", help="4 episodes: a smoke run")
    p.add_argument("--hops", type=int, nargs="+", default=[1, 3], help="level-1 steps predicted ahead")
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.quick:
        args.episodes = 4
    collected = args.data is None
    try:
        ckpt = load_checkpoint(args.checkpoint)
        if args.data is None:
            args.data = str(Path(tempfile.mkdtemp(prefix="hagent-heldout-")))
            collect(args.world, args.data, CollectConfig(episodes=args.episodes), seed=args.collect_seed, progress=False)
        data = OfflineDataset(args.data)
    except (CheckpointError, OSError, ValueError) as err:
        print(f"level1_model.py: {err}", file=sys.stderr)
        return 2
    if not ckpt.abstract:
        print(f"level1_model.py: {args.checkpoint} has no level 1", file=sys.stderr)
        return 2
    rows = [nearest_cell_accuracy(ckpt, data, h) for h in args.hops]
    if collected:
        shutil.rmtree(args.data, ignore_errors=True)
    period = ckpt.abstract[0].period
    print(f"{args.checkpoint}: level 1 (period {period}) on {data.episodes} held-out episodes of {args.data}")
    print(f"{'hops':>5} {'actions':>8} {'n':>6} {'level 1':>8} {'level 0 composed':>17}")
    for r in rows:
        print(f"{r['hops']:>5} {r['actions']:>8} {r['n']:>6} {r['level1']:>8.1%} {r['level0_composed']:>17.1%}")
    if args.out:
        atomic_write_text(Path(args.out), json.dumps({"checkpoint": args.checkpoint, "data": None if collected else args.data, "world": args.world if collected else None, "collect_seed": args.collect_seed if collected else None, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
