"""What does the hazard classifier call lava? Every step forward of fresh layouts, real and imagined.

    python benchmarks/hazard_classifier.py [--checkpoint checkpoints/default ...] [--seed 390000 --layouts 20] [--quick]

Level 0's plans charge every imagined state the hazard classifier (`costs.hazard.HazardModel`)
puts above `agent.hazard_threshold`. For each world and each of `--layouts` layouts (seeds from
`--seed`), the agent is drawn on every free cell of the first observation facing each way, and
for each step forward into a free cell or into lava the classifier judges two states: the one
level 0's predictor imagines after the step, and the real one (the agent drawn where the step
puts it, as the world would show it: over the cell it stands on). Into lava, a flagged state is a
hazard seen; into free floor, a false alarm. Which cell is lava is read from the observation, for
scoring only. Several `--checkpoint`s print side by side; `--out` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.acting.grounding import agent_pose  # noqa: E402
from hagent.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from hagent.io import atomic_write_text  # noqa: E402
from hagent.worlds import FORWARD, make_world  # noqa: E402
from minigrid.core.constants import OBJECT_TO_IDX  # noqa: E402

WORLDS = ("rooms:3x3", "rooms:3x3?lava=6", "minigrid:MiniGrid-LavaCrossingS9N1-v0")
AHEAD = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid's headings: east, south, west, north
_EMPTY, _LAVA, _AGENT = OBJECT_TO_IDX["empty"], OBJECT_TO_IDX["lava"], OBJECT_TO_IDX["agent"]


def steps(spec: str, seeds: range, into: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every step forward from a free cell into a cell of kind `into`: images before and after it, and headings."""
    before, after, headings = [], [], []
    for seed in seeds:
        obs, _ = make_world(spec, seed=seed).reset(seed=seed)
        image = obs["image"].copy()
        image[agent_pose(obs).cell] = (_EMPTY, 0, 0)
        w, h = image.shape[:2]
        for x in range(1, w - 1):
            for y in range(1, h - 1):
                if image[x, y, 0] != _EMPTY:
                    continue
                for heading, (dx, dy) in enumerate(AHEAD):
                    if image[x + dx, y + dy, 0] != into:
                        continue
                    here, there = image.copy(), image.copy()
                    here[x, y] = (_AGENT, 0, heading)
                    there[x + dx, y + dy] = (_AGENT, 0, heading)
                    before.append(here)
                    after.append(there)
                    headings.append(heading)
    shape = (0, *image.shape)
    return (np.stack(before) if before else np.zeros(shape, np.uint8), np.stack(after) if after else np.zeros(shape, np.uint8),
            np.asarray(headings, dtype=np.int64))


@torch.no_grad()
def judge(ckpt, before: np.ndarray, after: np.ndarray, headings: np.ndarray) -> dict:
    """How many of the steps the classifier flags, on the imagined and on the real next state."""
    level, model, threshold = ckpt.level, ckpt.hazard, ckpt.config.agent.hazard_threshold
    imagined = real = 0
    for i in range(0, len(headings), 4096):
        h = torch.as_tensor(headings[i : i + 4096])
        held = torch.zeros(len(h), 3, dtype=torch.uint8)
        s = level.encode(torch.as_tensor(before[i : i + 4096]), h, held)
        imagined += int((model.probability(level.predict(s, torch.full((len(h),), FORWARD))) > threshold).sum())
        real += int((model.probability(level.encode(torch.as_tensor(after[i : i + 4096]), h, held)) > threshold).sum())
    return {"steps": len(headings), "imagined": imagined, "real": real}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", help="grid checkpoint with a hazard classifier (repeatable; default checkpoints/default)")
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), help="grid world specs")
    p.add_argument("--seed", type=int, default=390000, help="first layout seed")
    p.add_argument("--layouts", type=int, default=20, help="layouts per world")
    p.add_argument("--quick", action="store_true", help="2 layouts of rooms:3x3?lava=6 (a smoke run)")
    p.add_argument("--out", help="write the numbers as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.worlds, args.layouts = ["rooms:3x3?lava=6"], 2
    ckpts = {}
    for path in args.checkpoint or ["checkpoints/default"]:
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as err:
            print(f"hazard_classifier.py: {err}", file=sys.stderr)
            return 2
        if ckpt.hazard is None or not hasattr(ckpt.level, "encode") or ckpt.config.world.spec.split(":")[0] not in ("rooms", "babyai", "minigrid"):
            print(f"hazard_classifier.py: {path}: not a grid checkpoint with a hazard classifier", file=sys.stderr)
            return 2
        ckpts[path] = ckpt
    seeds = range(args.seed, args.seed + args.layouts)
    print(f"layouts {seeds.start}-{seeds.stop - 1}; a step forward from every free cell, every heading; flagged: hazard probability above the threshold")
    print(f"{'world':40s} {'into':5s} {'checkpoint':28s} {'steps':>7s} {'imagined next':>14s} {'real next':>10s}")
    results: dict = {}
    for spec in args.worlds:
        for name, kind in (("floor", _EMPTY), ("lava", _LAVA)):
            before, after, headings = steps(spec, seeds, kind)
            if not len(headings):
                continue
            for path, ckpt in ckpts.items():
                r = judge(ckpt, before, after, headings)
                results.setdefault(spec, {}).setdefault(name, {})[path] = r
                share = lambda k: f"{100 * r[k] / r['steps']:.2f}% ({r[k]})"  # noqa: E731
                print(f"{spec:40s} {name:5s} {path:28s} {r['steps']:7d} {share('imagined'):>14s} {share('real'):>10s}")
    if args.out:
        atomic_write_text(Path(args.out), json.dumps({"seeds": [seeds.start, seeds.stop - 1], "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
