"""Linear-probe check of a level-0 checkpoint's representation.

Fits ridge probes on s = encode(obs) of training episodes to the agent's cell (x, y) and heading,
then scores them on held-out episodes, both on encoded states and on states *predicted* k=1..K
steps ahead by rolling the predictor from an encoded state with the logged actions. Labels come
from the dataset (symbolic view) and are used only here, for scoring. For one predicted step it
also splits forward steps into blocked ones (a wall ahead: the next observation is the same) and
moves, with the prediction's squared error over a real step's squared size ("error/step"): a
predictor that doesn't see the wall ahead imagines the blocked agent moving, near 1.

    python benchmarks/probe_level.py --checkpoint runs/l0 --data /tmp/gotolocal [--random-baseline]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NamedTuple

import numpy as np
import torch

from hagent.checkpoint import build_model, load_checkpoint
from hagent.data import OfflineDataset
from levels.level import Level

FORWARD = 2  # minigrid's forward action


class ProbeScores(NamedTuple):
    """Held-out probe quality for one set of states."""

    n: int
    cell_acc: float  # x and y both right
    x_acc: float
    y_acc: float
    heading_acc: float
    xy_r2: float  # R^2 of a linear regression to (x, y)


class Ridge:
    """Closed-form ridge regression on standardized features (with a bias)."""

    def __init__(self, s: np.ndarray, targets: np.ndarray, alpha: float):
        self.mean, self.std = s.mean(0), s.std(0) + 1e-6
        x = self._design(s)
        reg = alpha * len(x) * np.eye(x.shape[1])
        reg[-1, -1] = 0.0  # no penalty on the bias
        self.w = np.linalg.solve(x.T @ x + reg, x.T @ targets)

    def _design(self, s: np.ndarray) -> np.ndarray:
        x = (s - self.mean) / self.std
        return np.concatenate([x, np.ones((len(x), 1))], axis=1)

    def __call__(self, s: np.ndarray) -> np.ndarray:
        return self._design(s) @ self.w


class Probes:
    """One-hot ridge classifiers for x, y, heading and a ridge regressor for (x, y)."""

    def __init__(self, s: np.ndarray, agent: np.ndarray, heading: np.ndarray, side: int, alpha: float):
        eye, eye4 = np.eye(side), np.eye(4)
        self.x = Ridge(s, eye[agent[:, 0]], alpha)
        self.y = Ridge(s, eye[agent[:, 1]], alpha)
        self.h = Ridge(s, eye4[heading], alpha)
        self.xy = Ridge(s, agent.astype(np.float64), alpha)

    def score(self, s: np.ndarray, agent: np.ndarray, heading: np.ndarray) -> ProbeScores:
        """Accuracies and R^2 of the probes on states `s` with their true labels."""
        x_ok = self.x(s).argmax(1) == agent[:, 0]
        y_ok = self.y(s).argmax(1) == agent[:, 1]
        h_ok = self.h(s).argmax(1) == heading
        pred = self.xy(s)
        resid = ((pred - agent) ** 2).sum()
        total = ((agent - agent.mean(0)) ** 2).sum()
        return ProbeScores(
            n=len(s),
            cell_acc=float((x_ok & y_ok).mean()),
            x_acc=float(x_ok.mean()),
            y_acc=float(y_ok.mean()),
            heading_acc=float(h_ok.mean()),
            xy_r2=float(1 - resid / max(total, 1e-9)),
        )


@torch.no_grad()
def encode_all(level: Level, image: np.ndarray, direction: np.ndarray, carried: np.ndarray, batch: int = 1024) -> np.ndarray:
    """image: [N, W, H, 3], direction: [N], carried: [N, 3] -> s: [N, D] as float64."""
    out = []
    for i in range(0, len(image), batch):
        s = level.encode(
            torch.from_numpy(image[i : i + batch]),
            torch.from_numpy(direction[i : i + batch]).long(),
            torch.from_numpy(carried[i : i + batch]),
        )
        out.append(s.double().numpy())
    return np.concatenate(out)


@torch.no_grad()
def predicted_states(level: Level, s: np.ndarray, action: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """Roll the predictor k steps from s[starts] with the logged actions -> predicted s[starts + k]."""
    s0 = torch.from_numpy(s[starts]).float()
    actions = torch.from_numpy(np.stack([action[starts + j] for j in range(k)], axis=1)).long()  # (N, k)
    return level.rollout(s0, actions)[:, -1].double().numpy()


def probe(level: Level, data: OfflineDataset, holdout: float, horizon: int, alpha: float, seed: int) -> dict:
    """Scores on held-out episodes for encoded states (k=0) and predicted states (k=1..horizon)."""
    a = data.arrays
    side = int(max(a["image"].shape[1], a["image"].shape[2]))
    episode_of = np.repeat(np.arange(data.episodes), np.diff(data.episode_offsets))
    rng = np.random.default_rng(seed)
    test_episodes = rng.permutation(data.episodes)[: max(1, int(round(holdout * data.episodes)))]
    is_test = np.isin(episode_of, test_episodes)
    s = encode_all(level, a["image"], a["direction"], a["carried"])
    agent, heading = a["agent"].astype(np.int64), a["direction"].astype(np.int64)
    probes = Probes(s[~is_test], agent[~is_test], heading[~is_test], side, alpha)
    results = {"k=0 (encoded)": probes.score(s[is_test], agent[is_test], heading[is_test])._asdict()}
    # a start t is usable for horizon k when t+k stays inside the same episode
    offsets = data.episode_offsets
    end_of = offsets[1:][episode_of]  # one past the episode's last row
    for k in range(1, horizon + 1):
        starts = np.flatnonzero(is_test & (np.arange(len(s)) + k < end_of))
        pred = predicted_states(level, s, a["action"], starts, k)
        results[f"k={k} (predicted)"] = probes.score(pred, agent[starts + k], heading[starts + k])._asdict()
        if k == 1:  # a forward step into a wall leaves the agent where it is: does the predictor know?
            forward = a["action"][starts] == FORWARD
            blocked = (agent[starts + 1] == agent[starts]).all(1)
            error = ((pred - s[starts + 1]) ** 2).sum(1)
            step = ((s[starts + 1] - s[starts]) ** 2).sum(1)[forward & ~blocked].mean()  # a real step's size
            for name, rows in (("forward, blocked", forward & blocked), ("forward, moved", forward & ~blocked)):
                if rows.any():
                    row = probes.score(pred[rows], agent[starts + 1][rows], heading[starts + 1][rows])._asdict()
                    results[f"k=1 {name}"] = dict(row, step_error=float(error[rows].mean() / step))
    return results


def main(argv: list[str] | None = None) -> int:
    """Print probe scores for a checkpoint (and optionally a random encoder of the same shape)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="checkpoint directory written by hagent train (required unless --quick)")
    p.add_argument("--data", help="dataset directory (hagent collect) (required unless --quick)")
    p.add_argument("--quick", action="store_true",
                   help="checkpoints/gotolocal on 30 freshly collected GoToLocal episodes: a smoke run")
    p.add_argument("--holdout", type=float, default=0.2, help="fraction of episodes held out (default 0.2)")
    p.add_argument("--horizon", type=int, default=4, help="predicted steps to probe (default 4)")
    p.add_argument("--alpha", type=float, default=1e-3, help="ridge strength (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument("--random-baseline", action="store_true", help="also probe an untrained model")
    p.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    args = p.parse_args(argv)
    if args.quick:
        import tempfile

        from hagent.collect import collect
        from hagent.config import CollectConfig

        args.checkpoint = args.checkpoint or "checkpoints/gotolocal"
        if args.data is None:
            args.data = tempfile.mkdtemp(prefix="probe-quick-")
            collect("babyai:GoToLocal", args.data, CollectConfig(episodes=30, max_steps=32), seed=7, progress=False)
    if args.checkpoint is None or args.data is None:
        p.error("--checkpoint and --data are required (or --quick)")

    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint)
    data = OfflineDataset(args.data)
    report = {"checkpoint": args.checkpoint, "data": args.data, "world": data.manifest.world,
              "episodes": data.episodes, "dim": ckpt.config.level.encoder.dim}
    models = {"trained": ckpt.level.eval()}
    if args.random_baseline:
        torch.manual_seed(ckpt.config.seed)
        models["random init"] = build_model(ckpt.config).level.eval()
    for name, level in models.items():
        report[name] = probe(level, data, args.holdout, args.horizon, args.alpha, args.seed)
        print(f"{name}: {data.manifest.world}, {data.episodes} episodes, held out {args.holdout:.0%}, D={report['dim']}")
        print(f"  {'states':20} {'n':>7} {'cell':>6} {'x':>6} {'y':>6} {'head':>6} {'xy R2':>6} {'error/step':>10}")
        for key, r in report[name].items():
            print(f"  {key:20} {r['n']:7d} {r['cell_acc']:6.3f} {r['x_acc']:6.3f} {r['y_acc']:6.3f} "
                  f"{r['heading_acc']:6.3f} {r['xy_r2']:6.3f} {r.get('step_error', float('nan')):10.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
