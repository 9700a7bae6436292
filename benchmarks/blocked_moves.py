"""Does level 0 know when "forward" goes nowhere? Its one-step predictions, split by what was in front.

    python benchmarks/blocked_moves.py [--checkpoint checkpoints/default] [--world rooms:3x3 --episodes 60 --collect-seed 77000]
    python benchmarks/blocked_moves.py --data DIR   # episodes you collected (hagent collect)

Without `--data` it first collects `--episodes` fresh episodes of `--world` with the
exploration policy, under `--collect-seed` (77000: a seed no training data used; the presets
collect under seed 0).

Every logged "forward" is sorted by what happened: the agent moved, or a wall, a closed door or
an object (key, ball, box) stopped it. For each, level 0 predicts the next state from the logged
one (`Level.predict`), and the prediction is set against two encodings: the real next state and
the one that didn't happen. For a step that moved, that is staying put (the state before); for
a stopped one, it is the agent walked through, onto the cell in front (the observation with
the agent's mark moved there and whatever stood there gone: made for scoring, never seen in
training). "Right" is the share of predictions nearer the real next state. "Flagged" (when the
checkpoint has a blocked-step model, `costs.hazard.BlockedStep`) is the share of steps that model,
asked before the step, says go nowhere: false alarms on the moved row, catches on the others. Also printed: the mean
distance to the real next state. Cells and what stood in front are read from the observations'
codes: scoring only; no planner reads them. A predictor that imagines walking through boxes and
keys plans routes through them (issue #34, item 3: BENCHMARKS.md, "Level 0 and the moves that go
nowhere").
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

from costs.hazard import patches  # noqa: E402
from hagent.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from hagent.collect import collect  # noqa: E402
from hagent.config import CollectConfig  # noqa: E402
from hagent.data import OfflineDataset  # noqa: E402
from hagent.io import atomic_write_text  # noqa: E402
from hagent.training.critic import encode_dataset  # noqa: E402
from hagent.training.hierarchy import marked_cells  # noqa: E402
from hagent.worlds import FORWARD  # noqa: E402

HEADINGS = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])  # minigrid's directions 0..3 as (dx, dy)
EMPTY, WALL, DOOR = 1, 2, 4  # minigrid's object codes
OBJECTS = (5, 6, 7)  # key, ball, box
KINDS = ("moved", "wall", "door", "object")
MOVED_OR_NOT = "staying put (moved) or walking through (stopped)"


@torch.no_grad()
def blocked_moves(ckpt, data: OfflineDataset) -> list[dict]:
    """One row per kind of forward step: how many, the mean distance of the prediction to the
    real next state, and the share of predictions nearer the real next state than to the one
    that didn't happen (see the module doc)."""
    level = ckpt.level
    states = encode_dataset(level, data, torch.device("cpu"))
    a = data.arrays
    cells = marked_cells(a["image"])
    t = np.nonzero(a["action"][:-1] == FORWARD)[0]  # an episode's last row has action -1
    front = cells[t] + HEADINGS[a["direction"][t]]
    w, h = a["image"].shape[1:3]
    fx, fy = np.clip(front[:, 0], 0, w - 1), np.clip(front[:, 1], 0, h - 1)
    code = a["image"][t, fx, fy, 0]
    moved = (cells[t + 1] != cells[t]).any(1)
    kind = np.where(moved, 0, np.where(code == WALL, 1, np.where(code == DOOR, 2, np.where(np.isin(code, OBJECTS), 3, -1))))
    through = a["image"][t].copy()  # the stopped ones' counterfactual: the agent on the cell in front
    rows = np.arange(len(t))
    through[rows, fx, fy] = through[rows, cells[t, 0], cells[t, 1]]
    through[rows, cells[t, 0], cells[t, 1]] = (EMPTY, 0, 0)
    other = states[t].clone()
    stopped = np.nonzero(kind > 0)[0]
    for i in range(0, len(stopped), 2048):
        j = stopped[i : i + 2048]
        other[j] = level.encode(torch.as_tensor(through[j]).long(), torch.as_tensor(a["direction"][t[j]]).long(),
                                torch.as_tensor(a["carried"][t[j]]).long())  # fmt: skip
    predicted = torch.cat([level.predict(states[t[i : i + 2048]], torch.full((len(t[i : i + 2048]),), FORWARD))
                           for i in range(0, len(t), 2048)])  # fmt: skip
    real = (predicted - states[t + 1]).norm(dim=-1).numpy()
    right = real < (predicted - other).norm(dim=-1).numpy()
    flagged = None
    if ckpt.blocked_step is not None:  # the model the acting loop asks before a move: does it go nowhere?
        patch = patches(torch.as_tensor(a["image"][t]), torch.as_tensor(cells[t]).long())
        p = ckpt.blocked_step.probability(patch, torch.as_tensor(a["direction"][t]).long(), torch.full((len(t),), FORWARD),
                                          torch.as_tensor(a["carried"][t, 0]).long())  # fmt: skip
        flagged = (p > ckpt.config.agent.blocked_threshold).numpy()
    rows = []
    for i, name in enumerate(KINDS):
        m = kind == i
        seen = bool(m.any())  # None where no step of this kind was logged
        rows.append({"kind": name, "n": int(m.sum()), "distance": float(real[m].mean()) if seen else None,
                     "right": float(right[m].mean()) if seen else None,
                     "flagged": float(flagged[m].mean()) if seen and flagged is not None else None})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default", help="grid checkpoint")
    p.add_argument("--data", help="held-out episodes (a dataset of hagent collect, seeds no level trained on); default: collect them")
    p.add_argument("--world", default="rooms:3x3", help="world to collect held-out episodes in (without --data)")
    p.add_argument("--episodes", type=int, default=60, help="held-out episodes to collect (without --data)")
    p.add_argument("--collect-seed", type=int, default=77000, help="seed of the collected episodes (without --data)")
    p.add_argument("--quick", action="store_true", help="4 episodes: a smoke run")
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.quick:
        args.episodes = 4
    collected = args.data is None
    try:
        ckpt = load_checkpoint(args.checkpoint)
        if ckpt.config.level.encoder.kind != "grid":
            raise CheckpointError(f"{args.checkpoint}: level 0 reads {ckpt.config.level.encoder.kind}, not grids")
        if args.data is None:
            args.data = str(Path(tempfile.mkdtemp(prefix="hagent-heldout-")))
            collect(args.world, args.data, CollectConfig(episodes=args.episodes), seed=args.collect_seed, progress=False)
        data = OfflineDataset(args.data)
        if data.reads != "grid":
            raise ValueError(f"{args.data}: holds {data.reads}, not grid observations")
    except (CheckpointError, OSError, ValueError) as err:
        print(f"blocked_moves.py: {err}", file=sys.stderr)
        return 2
    rows = blocked_moves(ckpt, data)
    if collected:
        shutil.rmtree(args.data, ignore_errors=True)
    print(f"{args.checkpoint}: level 0's one-step predictions of 'forward' on {data.episodes} held-out episodes")
    print(f"{'forward':>8} {'n':>6} {'distance':>9} {'right':>7} {'flagged':>8}   (right: nearer the real next state than to "
          f"{MOVED_OR_NOT}; flagged: the blocked-step model says it goes nowhere)")
    for r in rows:
        if r["n"]:
            flag = "-" if r["flagged"] is None else f"{r['flagged']:.1%}"
            print(f"{r['kind']:>8} {r['n']:>6} {r['distance']:>9.3f} {r['right']:>7.1%} {flag:>8}")
        else:
            print(f"{r['kind']:>8} {0:>6} {'-':>9} {'-':>7} {'-':>8}")
    if args.out:
        record = {"checkpoint": args.checkpoint, "data": None if collected else args.data, "world": args.world if collected else None,
                  "collect_seed": args.collect_seed if collected else None, "rows": rows}  # fmt: skip
        atomic_write_text(Path(args.out), json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
