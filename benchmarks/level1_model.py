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

Then the hops level 1's own search picks (`--search-episodes`, a checkpoint with a macro-action
codebook): from the first state of each episode of `--world` (seeds `--search-seed`...), the
agent's level-1 planner (`levels.latent`, the agent's `hjepa` settings, `--set agent.hjepa.K=V`)
plans toward the mission's goal; each planned level-1 state is read as the real pose whose
encoding lies nearest it (the agent drawn at every free cell and heading: scoring only), and the
hop is scored by the true number of steps between consecutive poses (breadth-first over the grid:
scoring only). A hop that needs more than `period + 2` steps goes through a wall or teleports:
the model imagined a move no agent makes in one macro-step, and the search chose it. Also
reported: level 1's critic at the real start against the true distance.
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
from hagent.acting import Agent  # noqa: E402
from hagent.acting.grounding import Memory, agent_pose, encode_observation, ground, stages  # noqa: E402
from hagent.acting.waypoints import at_cell  # noqa: E402
from benchmarks.hierarchy import with_agent_settings  # noqa: E402
from hagent.labels import steps_to_pose  # noqa: E402
from hagent.language import parse  # noqa: E402
from hagent.worlds import make_world  # noqa: E402


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


_FLOOR, _AGENT = 1, 10  # minigrid's object ids of an empty cell and of the agent


@torch.no_grad()
def searched_hops(agent, world: str, seeds: range) -> dict:
    """Score the hops level 1's search plans from the first state of each episode (module doc)."""
    actor = agent.actor
    level0, level1, critic = actor.level, actor.abstract[0], actor.abstract_critics[0]
    period, cap = level1.period, 10_000
    hops: list[tuple[int, int]] = []  # (depth, true steps)
    errors: list[float] = []  # critic at the real start minus the true distance
    for seed in seeds:
        obs, _ = make_world(world, seed=seed).reset()
        memory = Memory(obs)
        scene = memory.scene()
        grounded = ground(stages(parse(obs["mission"]).goal)[0], memory)
        if not len(grounded.goal_images):
            continue
        free = [(x, y) for x in range(scene.shape[0]) for y in range(scene.shape[1]) if scene[x, y, 0] in (_FLOOR, _AGENT)]
        images = [at_cell(memory, c) for c in free]
        poses = [(c, d) for c in free for d in range(4)]
        real = level1.encode(level0.encode(*(torch.as_tensor(np.concatenate([im[i] for im in images])) for i in range(3))))
        to_goal = None  # true steps from every pose to the nearest goal pose
        for image in grounded.goal_images:
            pose = agent_pose({"image": image, "direction": 0})
            d = steps_to_pose(image, pose.cell, int(image[pose.cell][2]), cap=cap)
            to_goal = d if to_goal is None else np.minimum(to_goal, d)
        goals = level1.encode(actor._encode_goals(grounded.goal_images, grounded.goal_headings, grounded.goal_carried))
        s0 = level1.encode(encode_observation(level0, obs))[0]
        start = agent_pose(obs)
        if int(to_goal[start.cell][start.heading]) >= cap:
            continue  # no way to the goal at all
        errors.append(float(critic.distance(s0[None].expand(len(goals), -1), goals).min()) - int(to_goal[start.cell][start.heading]))
        plan = actor.latent.plan(s0, level1, critic.distance, goals)
        if plan is None:
            continue
        here = (start.cell, start.heading)
        for depth, state in enumerate(plan.states, 1):
            cell, heading = poses[int((real - state).norm(dim=1).argmin())]
            image = at_cell(memory, cell)[0][heading]
            steps = int(steps_to_pose(image, cell, heading, cap=cap)[here[0][0], here[0][1], here[1]])
            hops.append((depth, steps))
            here = (cell, heading)
    wall = [steps > period + 2 for _, steps in hops]
    by_depth = {}
    for depth in sorted({d for d, _ in hops}):
        mine = [steps > period + 2 for d, steps in hops if d == depth]
        by_depth[depth] = {"hops": len(mine), "through_walls": sum(mine) / len(mine)}
    return {
        "world": world, "seeds": [seeds.start, seeds.stop - 1], "episodes": len(errors), "hops": len(hops),
        "through_walls": sum(wall) / max(len(wall), 1), "by_depth": by_depth,
        "critic_error_at_start": float(np.mean(np.abs(errors))) if errors else None,
        "critic_bias_at_start": float(np.mean(errors)) if errors else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default", help="grid checkpoint with a level 1")
    p.add_argument("--data", help="held-out episodes (a dataset of hagent collect, seeds no level trained on); default: collect them")
    p.add_argument("--world", default="rooms:3x3", help="world to collect held-out episodes in (without --data)")
    p.add_argument("--episodes", type=int, default=60, help="held-out episodes to collect (without --data)")
    p.add_argument("--collect-seed", type=int, default=777, help="seed of the collected episodes (without --data)")
    p.add_argument("--quick", action="store_true", help="4 episodes: a smoke run")
    p.add_argument("--hops", type=int, nargs="+", default=[1, 3], help="level-1 steps predicted ahead")
    p.add_argument("--search-episodes", type=int, default=40, help="episodes whose first plan of level 1's search is scored (0: skip)")
    p.add_argument("--search-seed", type=int, default=5000, help="first seed of those episodes (5000-5039: the agent's development seeds)")
    p.add_argument("--set", action="append", default=[], metavar="agent.hjepa.KEY=VALUE", help="level 1's planner settings for the search")
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.quick:
        args.episodes, args.search_episodes = 4, 2
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
    search = None
    if args.search_episodes and len(ckpt.abstract[0].codes):
        agent = with_agent_settings(p, Agent.load(args.checkpoint), args.set)
        search = searched_hops(agent, args.world, range(args.search_seed, args.search_seed + args.search_episodes))
        print(f"\nlevel 1's search, first plan of {search['episodes']} episodes of {args.world} (seeds {search['seeds'][0]}-"
              f"{search['seeds'][1]}): {search['hops']} hops planned, {search['through_walls']:.1%} need more than {period + 2} steps")
        for depth, row in search["by_depth"].items():
            print(f"  hop {depth}: {row['hops']:>4} planned, {row['through_walls']:.1%} through a wall")
        print(f"  level 1's critic at the real start: mean error {search['critic_error_at_start']:.1f} steps "
              f"(signed {search['critic_bias_at_start']:+.1f})")
    elif args.search_episodes:
        with_agent_settings(p, Agent.load(args.checkpoint), args.set)  # a bad --set is still an error
        print(f"\nlevel 1's search: not scored ({args.checkpoint}'s level 1 has no macro-action codebook)")
    if args.out:
        atomic_write_text(Path(args.out), json.dumps({"checkpoint": args.checkpoint, "data": None if collected else args.data, "world": args.world if collected else None, "collect_seed": args.collect_seed if collected else None, "rows": rows, "search": search}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
