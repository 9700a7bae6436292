"""Where the pixel agent's own level 1 goes wrong in a point world, read through a position probe.

    python benchmarks/point_level1.py --checkpoint runs/pt-a [--world point:tworooms --episodes 200 --collect-seed 777]
    python benchmarks/point_level1.py --checkpoint runs/pt-a --acting-episodes 50 --acting-seed 44000 [--set point_agent.hjepa.K=V]
    python benchmarks/point_level1.py --quick     # trains a tiny level 1 over checkpoints/point first: a smoke run

For a point checkpoint whose level 1 `hagent train --levels-only` trained (graph "hjepa"). It
collects `--episodes` fresh episodes of `--world` with the exploration policy (`--collect-seed`:
777, a seed no training data used) and rebuilds each episode's layout from its world seed. The
positions and the layouts are the world's state: they score here and nothing plans with them.

1. **Probe**: an MLP from level 1's state to the agent's position, fit on 80% of the episodes,
   its error on the rest. Everything below reads level-1 states through it.
2. **Hops through a wall**: a hop whose straight line from its start to its end enters a wall. Real macro-steps of the held-out episodes (their true positions, and as the probe reads
   them: the probe's own false alarms); every codebook macro-action from each real state; the one
   level 1's critic rates nearest a later state of the episode on the other side of a wall.
3. **The critic's ranking**: Spearman's rank correlation between level 1's critic and the
   shortest way (breadth-first over the layout's free pixels) for state pairs of one episode.
4. **Acting** (`--acting-episodes`): the agent with `point_agent.graph = "hjepa"` on seeds
   `--acting-seed`...; at every plan of level 1 the hop it hands down (by a twin of its level-1
   planner fed the same views, so it makes the same plans, `learn` included) is read by the
   probe from the agent's true position;
   steps that moved the agent less than 0.1 px; failed episodes whose last 10 steps moved it
   less than 1 px in all.

Writes JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import deque
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hagent.acting import Agent  # noqa: E402
from hagent.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from hagent.collect import collect, episode_seed  # noqa: E402
from hagent.config import CollectConfig  # noqa: E402
from hagent.data import OfflineDataset  # noqa: E402
from hagent.io import atomic_write_text  # noqa: E402
from hagent.training.critic import encode_dataset  # noqa: E402
from hagent.worlds import make_world  # noqa: E402
from levels.latent import LatentPlanner, LatentSubgoals  # noqa: E402


def solid_grid(layout) -> np.ndarray:
    """The layout's wall pixels (scoring only): `[64, 64]` bool, indexed [y, x] at pixel centres."""
    y, x = np.mgrid[0:64, 0:64].astype(np.float32) + 0.5
    return layout.solid(x, y)


def through_wall(layout, p: np.ndarray, q: np.ndarray, samples: int = 32) -> np.ndarray:
    """Which hops `p -> q [N, 2]` (pixels) enter a wall of `layout` on their straight line (scoring only): `[N]`."""
    t = np.linspace(0.0, 1.0, samples)[None, :]
    x = p[:, None, 0] + t * (q - p)[:, None, 0]  # [N, S]
    y = p[:, None, 1] + t * (q - p)[:, None, 1]
    return layout.solid(x, y).any(1)


def geodesic(solid: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Fewest 8-connected pixel moves from every free pixel to `goal [2]` (breadth-first over `solid`): `[64, 64]`, inf off the way."""
    dist = np.full(solid.shape, np.inf)
    gy, gx = int(goal[1]), int(goal[0])
    dist[gy, gx] = 0
    frontier = deque([(gy, gx)])
    while frontier:
        y, x = frontier.popleft()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                v, u = y + dy, x + dx
                if 0 <= v < 64 and 0 <= u < 64 and not solid[v, u] and dist[v, u] == np.inf:
                    dist[v, u] = dist[y, x] + 1
                    frontier.append((v, u))
    return dist


def fit_probe(states: torch.Tensor, positions: torch.Tensor, train: np.ndarray, steps: int, seed: int) -> torch.nn.Module:
    """An MLP from level-1 states to positions, fit on rows `train` (scoring only)."""
    torch.manual_seed(seed)
    probe = torch.nn.Sequential(torch.nn.Linear(states.shape[1], 256), torch.nn.GELU(), torch.nn.Linear(256, 256), torch.nn.GELU(),
                                torch.nn.Linear(256, 2))
    optimizer = torch.optim.Adam(probe.parameters(), lr=1e-3)
    rows = torch.as_tensor(train)
    for _ in range(steps):
        batch = rows[torch.randint(len(rows), (512,))]
        loss = (probe(states[batch]) - positions[batch]).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return probe.eval().requires_grad_(False)


@torch.no_grad()
def model_scores(ckpt, data: OfflineDataset, layouts: list, probe_steps: int, seed: int) -> tuple[dict, torch.nn.Module]:
    """Probe error, hops through a wall (real, imagined, the critic's pick) and the critic's ranking."""
    from scipy.stats import spearmanr

    level1, critic = ckpt.abstract[0], ckpt.abstract_critics[0]
    states = level1.encode(encode_dataset(ckpt.level, data, torch.device("cpu")))
    positions = torch.as_tensor(data.arrays["position"])
    offsets = data.episode_offsets
    episode_of = np.searchsorted(offsets, np.arange(len(states)), side="right") - 1
    rng = np.random.default_rng(seed)
    held = rng.random(data.episodes) < 0.2
    held[rng.integers(data.episodes)] = True  # at least one held-out episode
    with torch.enable_grad():
        probe = fit_probe(states, positions, np.nonzero(~held[episode_of])[0], probe_steps, seed)
    rows = np.nonzero(held[episode_of])[0]
    error = (probe(states[rows]) - positions[rows]).norm(dim=1)
    period = level1.period
    starts = rows[(rows + period < offsets[episode_of[rows] + 1])]  # a macro-step later is the same episode
    starts = rng.permutation(starts)[:2000]
    hop_layout = [layouts[e] for e in episode_of[starts]]
    pos = positions.numpy()

    def crosses(p: np.ndarray, q: np.ndarray, which: list) -> np.ndarray:
        return np.array([through_wall(lay, a[None], b[None])[0] for lay, a, b in zip(which, p, q)], dtype=bool)

    start_read = probe(states[starts]).numpy()
    real_true = crosses(pos[starts], pos[starts + period], hop_layout)
    real_read = crosses(start_read, probe(states[starts + period]).numpy(), hop_layout)
    codes = level1.codes
    n, c = len(starts), len(codes)
    imagined = level1.predict(states[starts].repeat_interleave(c, 0), codes.repeat(n, 1))  # [n*c, D1]
    imagined_read = probe(imagined).numpy()
    every = crosses(np.repeat(start_read, c, 0), imagined_read, [s for s in hop_layout for _ in range(c)])
    # the critic's pick toward a later state of the episode across a wall (as seen from the start)
    later = np.array([rng.integers(r + 1, offsets[episode_of[r] + 1]) if r + 1 < offsets[episode_of[r] + 1] else r for r in starts])
    across = crosses(pos[starts], pos[later], hop_layout)
    d = critic.distance(imagined, states[later].repeat_interleave(c, 0)).view(n, c)
    pick = imagined_read.reshape(n, c, 2)[np.arange(n), d.argmin(1).numpy()]
    picked = crosses(start_read, pick, hop_layout)
    # the critic's ranking against the shortest way, pairs of one episode
    pairs = rng.permutation(rows)[:600]
    goals = np.array([rng.integers(offsets[episode_of[r]], offsets[episode_of[r] + 1]) for r in pairs])
    true = np.array([geodesic(solid_grid(layouts[episode_of[r]]), pos[g])[int(pos[r, 1]), int(pos[r, 0])] for r, g in zip(pairs, goals)])
    estimate = critic.distance(states[pairs], states[goals]).numpy()
    ok = np.isfinite(true)
    rank = float(spearmanr(estimate[ok], true[ok]).statistic) if ok.sum() > 2 else float("nan")
    scores = {
        "probe_error_px": float(error.mean()), "probe_error_median_px": float(error.median()), "held_out_rows": len(rows),
        "hops": n, "real_hops_through_wall": float(real_true.mean()), "real_hops_through_wall_by_probe": float(real_read.mean()),
        "imagined_hops_through_wall": float(every.mean()), "critic_pick_across": int(across.sum()),
        "critic_pick_through_wall": float(picked[across].mean()) if across.any() else float("nan"),
        "critic_spearman": rank, "critic_pairs": int(ok.sum()),
    }
    return scores, probe


@torch.no_grad()
def acting_scores(agent: Agent, ckpt, probe: torch.nn.Module, world_spec: str, seeds: range) -> dict:
    """The hjepa agent on `seeds`: success, the share of level 1's handed-down hops that cross a
    wall (from the true position to the probe's reading of the hop), steps that went nowhere and
    failures that end pressed on a wall."""
    cfg = agent.actor.cfg
    level1, critic = ckpt.abstract[0], ckpt.abstract_critics[0]
    planner = LatentPlanner(cfg.hjepa)
    wins, hops, through, still, steps, stuck_end, failures = 0, 0, 0, 0, 0, 0, 0
    for seed in seeds:
        world = make_world(world_spec, seed=seed)
        obs, _ = world.reset()
        goal = level1.encode(ckpt.level.encode(torch.as_tensor(obs["goal"][None])))[0]
        run = agent.start(world, obs["mission"])
        upper = LatentSubgoals(level1, critic.distance, planner, goal)  # a twin of the agent's level 1: the same views, the same plans
        path, t = [world.position.copy()], 0
        while not run.done:
            sub = upper.plan(ckpt.level.encode(torch.as_tensor(world.observe()["image"][None]))[0])
            if t % cfg.hjepa.replan == 0 and sub is not None:  # level 1 planned now and handed a hop down
                hops += 1
                through += bool(through_wall(world.layout, world.position[None], probe(sub[None]).numpy())[0])
            if run.step() is None:
                break
            path.append(world.position.copy())
            t += 1
        episode = run.judged_by(world).episode
        moved = np.linalg.norm(np.diff(np.array(path), axis=0), axis=1)
        still += int((moved < 0.1).sum())
        steps += len(moved)
        wins += bool(episode.success)
        if not episode.success:
            failures += 1
            stuck_end += bool(moved[-10:].sum() < 1.0)
    return {
        "episodes": len(seeds), "seeds": [seeds[0], seeds[-1]], "success": wins / len(seeds), "handed_down_hops": hops,
        "handed_down_through_wall": through / max(hops, 1), "steps_nowhere": still / max(steps, 1), "failures": failures,
        "failures_ending_stuck": stuck_end / max(failures, 1),
    }


def tiny_level1(directory: Path, world: str) -> Path:
    """A copy of checkpoints/point with a tiny level 1 (the --quick smoke run)."""
    from hagent.cli import main as cli

    shutil.copytree(Path(__file__).resolve().parent.parent / "checkpoints" / "point", directory / "ckpt")
    collect(world, directory / "data", CollectConfig(episodes=8), seed=5, progress=False)
    sets = ["train.abstract.steps=10", "train.abstract.batch_size=32", "train.critic.steps=20", "train.critic.goals_per_episode=2",
            "hierarchy=[{dim=8, hidden=32, period=4, macro_dim=4, codes=8}]"]
    argv = ["train", "--levels-only", "--out", str(directory / "ckpt"), "--data", str(directory / "data"), "-q"]
    if cli(argv + [x for kv in sets for x in ("--set", kv)]) != 0:
        raise RuntimeError("training the smoke run's level 1 failed")
    return directory / "ckpt"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="point checkpoint with a level 1 (hagent train --levels-only; BENCHMARKS.md has the recipe)")
    p.add_argument("--world", default="point:tworooms", help="point world to collect held-out episodes in and to act in")
    p.add_argument("--episodes", type=int, default=200, help="held-out episodes to collect")
    p.add_argument("--collect-seed", type=int, default=777, help="seed of the collected episodes (777: no training data used it)")
    p.add_argument("--probe-steps", type=int, default=3000, help="optimizer steps of the position probe")
    p.add_argument("--acting-episodes", type=int, default=50, help="episodes the agent acts in (0: skip)")
    p.add_argument("--acting-seed", type=int, default=44000, help="first seed of those (44000-44049: development seeds)")
    p.add_argument("--set", action="append", default=[], metavar="point_agent.hjepa.KEY=VALUE", help="level 1's planner settings")
    p.add_argument("--quick", action="store_true", help="a smoke run: a tiny level 1 over checkpoints/point, 8 episodes, 2 acting")
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    scratch = Path(tempfile.mkdtemp(prefix="hagent-point-level1-"))
    try:
        if args.quick:
            args.checkpoint = str(tiny_level1(scratch, args.world))
            args.episodes, args.probe_steps, args.acting_episodes = 8, 50, 2
        elif args.checkpoint is None:
            p.error("--checkpoint is required (a point checkpoint with a level 1), unless --quick")
        try:
            ckpt = load_checkpoint(args.checkpoint)
        except (CheckpointError, OSError, ValueError) as err:
            print(f"point_level1.py: {err}", file=sys.stderr)
            return 2
        if not args.world.startswith("point:") or ckpt.config.level.encoder.kind != "pixels":
            print(f"point_level1.py: needs a point world and a point checkpoint (got {args.world}, {args.checkpoint})", file=sys.stderr)
            return 2
        if not ckpt.abstract or not len(ckpt.abstract[0].codes):
            print(f"point_level1.py: {args.checkpoint} has no level 1 with a codebook: train one with hagent train --levels-only", file=sys.stderr)
            return 2
        try:
            agent = Agent.load(args.checkpoint).reconfigured(graph="hjepa")
            for kv in args.set:
                key, _, value = kv.partition("=")
                if not key.startswith("point_agent.hjepa.") or not value:
                    raise ValueError(f"--set {kv}: expected point_agent.hjepa.KEY=VALUE")
                agent = agent.reconfigured(hjepa={key.removeprefix("point_agent.hjepa."): json.loads(value)})
        except (ValueError, json.JSONDecodeError) as err:
            print(f"point_level1.py: {err}", file=sys.stderr)
            return 2
        collect(args.world, scratch / "heldout", CollectConfig(episodes=args.episodes), seed=args.collect_seed, progress=False)
        data = OfflineDataset(scratch / "heldout")
        layouts = []
        for i in range(data.episodes):  # each episode's layout, rebuilt from its world seed (scoring only)
            world = make_world(args.world, seed=episode_seed(args.collect_seed, i))
            world.reset()
            layouts.append(world.layout)
        scores, probe = model_scores(ckpt, data, layouts, args.probe_steps, args.collect_seed)
        print(f"{args.checkpoint}: level 1 (period {ckpt.abstract[0].period}) on {data.episodes} fresh episodes of {args.world} "
              f"(collect seed {args.collect_seed})")
        print(f"  position probe: held-out error {scores['probe_error_px']:.2f} px (median {scores['probe_error_median_px']:.2f})")
        print(f"  macro-steps through a wall: real {scores['real_hops_through_wall']:.1%} (read by the probe "
              f"{scores['real_hops_through_wall_by_probe']:.1%}), imagined (every code) {scores['imagined_hops_through_wall']:.1%}, "
              f"the critic's pick toward a state across a wall {scores['critic_pick_through_wall']:.1%} of {scores['critic_pick_across']}")
        print(f"  critic vs the shortest way: Spearman {scores['critic_spearman']:.3f} ({scores['critic_pairs']} pairs)")
        acting = None
        if args.acting_episodes:
            acting = acting_scores(agent, ckpt, probe, args.world, range(args.acting_seed, args.acting_seed + args.acting_episodes))
            print(f"  acting, seeds {acting['seeds'][0]}-{acting['seeds'][1]}: success {acting['success']:.1%}; level 1's handed-down hops "
                  f"through a wall {acting['handed_down_through_wall']:.1%} of {acting['handed_down_hops']}; steps that went nowhere "
                  f"{acting['steps_nowhere']:.1%}; failures ending stuck {acting['failures_ending_stuck']:.1%} of {acting['failures']}")
        if args.out:
            doc = {"checkpoint": None if args.quick else args.checkpoint, "world": args.world, "collect_seed": args.collect_seed,
                   "episodes": data.episodes, "settings": args.set, "model": scores, "acting": acting}
            atomic_write_text(Path(args.out), json.dumps(doc, indent=1))
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
