"""Does the step-hazard model see every lava cell straight ahead? Every pose of fresh layouts, checked.

    python benchmarks/step_hazard.py [--checkpoint checkpoints/default ...] [--seed 390000 --layouts 40] [--quick]

A hard "avoid lava" guardrail lets a move forward only when the checkpoint's step-hazard model
(`costs.hazard.StepHazard`, which reads the cells around the agent) puts its chance of entering a
hazard at most `agent.hazard_threshold`. For each world and each of `--layouts` layouts (seeds
from `--seed`), the agent is drawn on every free cell and open doorway of the first observation,
facing each of the four ways, and the model judges "forward". Missed: the cell ahead is lava and
the model lets the move through. Flagged: the cell ahead is anything else and the model forbids
it. Which cell is lava is read from the observation, for scoring only. Several `--checkpoint`s
print side by side; `--out` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from costs.hazard import patches  # noqa: E402
from hagent.acting.grounding import agent_pose  # noqa: E402
from hagent.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from hagent.io import atomic_write_text  # noqa: E402
from hagent.worlds import FORWARD, make_world  # noqa: E402
from minigrid.core.constants import OBJECT_TO_IDX  # noqa: E402

WORLDS = ("rooms:3x3?lava=6", "rooms:4x4?lava=4", "minigrid:MiniGrid-LavaCrossingS9N1-v0", "minigrid:MiniGrid-LavaCrossingS11N5-v0")
AHEAD = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid's headings: east, south, west, north
_LAVA, _DOOR, _AGENT = OBJECT_TO_IDX["lava"], OBJECT_TO_IDX["door"], OBJECT_TO_IDX["agent"]
_STANDING = {OBJECT_TO_IDX["empty"], OBJECT_TO_IDX["floor"]}


def poses(spec: str, seeds: range) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Every (cells around the agent, heading) of the layouts, and whether the cell ahead is lava."""
    cut, headings, lava = [], [], []
    for seed in seeds:
        obs, _ = make_world(spec, seed=seed).reset(seed=seed)
        image = obs["image"].copy()
        image[agent_pose(obs).cell] = (OBJECT_TO_IDX["empty"], 0, 0)
        w, h = image.shape[:2]
        for x in range(1, w - 1):
            for y in range(1, h - 1):
                kind = int(image[x, y, 0])
                if kind not in _STANDING and not (kind == _DOOR and image[x, y, 2] == 0):
                    continue
                for heading, (dx, dy) in enumerate(AHEAD):
                    drawn = image.copy()
                    drawn[x, y] = (_AGENT, 0, heading)
                    cut.append(patches(torch.as_tensor(drawn[None]), torch.as_tensor([(x, y)]))[0])
                    headings.append(heading)
                    lava.append(int(image[x + dx, y + dy, 0]) == _LAVA)
    return torch.stack(cut), torch.as_tensor(headings), np.asarray(lava)


@torch.no_grad()
def judge(model, cut: torch.Tensor, headings: torch.Tensor, lava: np.ndarray, threshold: float) -> dict:
    forward = torch.full((len(headings),), FORWARD)
    p = torch.cat([model.probability(cut[i : i + 8192], headings[i : i + 8192], forward[i : i + 8192])
                   for i in range(0, len(headings), 8192)]).numpy()
    stop = p > threshold
    return {"lava_ahead": int(lava.sum()), "missed": int((~stop & lava).sum()), "elsewhere": int((~lava).sum()),
            "flagged": int((stop & ~lava).sum())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", help="grid checkpoint with a step-hazard model (repeatable; default checkpoints/default)")
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), help="world specs with lava")
    p.add_argument("--seed", type=int, default=390000, help="first layout seed")
    p.add_argument("--layouts", type=int, default=40, help="layouts per world")
    p.add_argument("--quick", action="store_true", help="2 layouts of rooms:3x3?lava=6 (a smoke run)")
    p.add_argument("--out", help="write the numbers as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.worlds, args.layouts = ["rooms:3x3?lava=6"], 2
    models = {}
    for path in args.checkpoint or ["checkpoints/default"]:
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as err:
            print(f"step_hazard.py: {err}", file=sys.stderr)
            return 2
        if ckpt.step_hazard is None:
            print(f"step_hazard.py: {path}: has no step-hazard model (its data held no hazard)", file=sys.stderr)
            return 2
        models[path] = (ckpt.step_hazard, ckpt.config.agent.hazard_threshold, ckpt.config.hazard.step_frame)
    seeds = range(args.seed, args.seed + args.layouts)
    print(f"layouts {seeds.start}-{seeds.stop - 1}; a move forward from every free cell, every heading")
    print(f"{'world':40s} {'checkpoint':28s} {'frame':6s} {'lava ahead':>10s} {'missed':>7s} {'elsewhere':>10s} {'flagged':>8s}")
    results = {}
    for spec in args.worlds:
        cut, headings, lava = poses(spec, seeds)
        for path, (model, threshold, frame) in models.items():
            r = judge(model, cut, headings, lava, threshold)
            results.setdefault(spec, {})[path] = r
            print(f"{spec:40s} {path:28s} {frame:6s} {r['lava_ahead']:10d} {r['missed']:7d} {r['elsewhere']:10d} {r['flagged']:8d}")
    if args.out:
        atomic_write_text(Path(args.out), json.dumps({"seeds": [seeds.start, seeds.stop - 1], "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
