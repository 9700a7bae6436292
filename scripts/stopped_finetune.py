"""An experiment, not a stage of any preset: fine-tune level 0's predictor alone (encoder frozen,
so every module above it still reads the same states) on windows where a "forward" went nowhere,
oversampled. Measured in BENCHMARKS.md, "Level 0 and the moves that go nowhere".

    python scripts/stopped_finetune.py --checkpoint checkpoints/default --out runs/blk2 --steps 3000 --fraction 0.5 \\
        --data data/mix/rooms_3x3_lava_4 --data data/mix/rooms_4x4 ...

The windows (4 observations, 3 actions) are scored against the frozen encoder's own encodings, so
no anti-collapse term is needed. Which windows hold a stopped forward is read from the data's
`agent` label: it only chooses what to oversample, as `WindowDataset.eventful` does for the point
worlds' wall stops. The output is a copy of `--checkpoint` with the new level 0 weights.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.checkpoint import FORMAT, FORMAT_VERSION, WEIGHTS_FILE, _write_tensors, load_checkpoint  # noqa: E402
from hagent.data import OfflineDataset  # noqa: E402
from hagent.training.critic import encode_dataset  # noqa: E402
from hagent.worlds import FORWARD  # noqa: E402

WINDOW = 4


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="grid checkpoint to start from")
    p.add_argument("--out", required=True, help="where to write the fine-tuned copy")
    p.add_argument("--data", action="append", required=True, help="a grid dataset of hagent collect (repeatable)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--fraction", type=float, default=0.5, help="share of each batch drawn from windows with a stopped forward")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    ckpt = load_checkpoint(args.checkpoint)
    level = ckpt.level
    states, actions, stopped, starts, base = [], [], [], [], 0
    t0 = time.time()
    for directory in args.data:
        data = OfflineDataset(directory)
        a = data.arrays
        states.append(encode_dataset(level, data, torch.device("cpu")))
        actions.append(torch.as_tensor(a["action"]).long())
        halted = np.zeros(len(a["action"]), dtype=bool)
        halted[:-1] = (a["action"][:-1] == FORWARD) & (a["agent"][1:] == a["agent"][:-1]).all(1)
        stopped.append(halted)
        starts.append(data.windows(WINDOW).starts + base)
        base += len(a["action"])
        print(f"{directory}: {len(a['action'])} steps, {int(halted.sum())} stopped forwards ({time.time() - t0:.0f} s)", flush=True)
    s_all, a_all, halted, starts = torch.cat(states), torch.cat(actions), np.concatenate(stopped), np.concatenate(starts)
    eventful = np.nonzero(halted[starts[:, None] + np.arange(WINDOW - 1)[None]].any(1))[0]
    print(f"{len(starts)} windows, {len(eventful)} with a stopped forward", flush=True)
    level.encoder.requires_grad_(False)
    optimizer = torch.optim.Adam(level.predictor.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    n_stopped = round(args.fraction * args.batch)
    for step in range(args.steps):
        picks = np.concatenate([rng.integers(len(starts), size=args.batch - n_stopped), eventful[rng.integers(len(eventful), size=n_stopped)]])
        rows = torch.as_tensor(starts[picks])[:, None] + torch.arange(WINDOW)[None]
        s, a = s_all[rows], a_all[rows[:, :-1]]
        loss = (level.rollout(s[:, 0], a) - s[:, 1:]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step}: prediction loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(args.checkpoint, out)
    _write_tensors(out / WEIGHTS_FILE, ckpt.jepa, {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": str(ckpt.step)})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
