"""hagent against what a user would pick instead: PPO, a random policy, BabyAI's bot.

    python benchmarks/baselines.py --checkpoint checkpoints/default          # all six worlds
    python benchmarks/baselines.py --quick                                   # a smoke run, seconds

One run measures, per world, on the same held-out seeds (default 1000-1199) and the world's own
time limit:

* hagent `auto` (the configurator picks the levels) and hagent `flat` (level 0 alone), from
  `--checkpoint`: reward-free world models, planning from observations and the instruction;
* PPO (stable-baselines3, the `bench` extra), trained on that world alone, with its reward, on
  training seeds that never overlap the held-out ones. It sees what hagent sees: the full grid
  codes and the mission (as a bag of words plus colour-object pairs, FiLM-conditioning a small
  CNN). Scored twice: after as many frames as hagent's whole training set (`at equal frames`)
  and at the end of its run;
* a uniform random policy, and BabyAI's bot (an optimal-path reference; it solves BabyAI
  missions only, so it has no row on LavaCrossing).

Sample efficiency, in the same run: hagent's frames are every environment step of its reward-free
training data (`--data`, all tasks at once). PPO's frames are counted per world; it is evaluated
every `--eval-every` frames on 50 validation seeds and stops when it reaches hagent's held-out
success on that world, or at `--cap` times hagent's frames. The frames it needed (or "not within
the cap") are reported with its learning curve.

Success, SPL (bot path length / max(steps, it); the bot's path where it solves the episode, else
the shortest turn-and-move path on the initial grid) and violations (lava entered). Writes JSON
(`--out`) and a PNG (`--plot`: success per method, and PPO's curve against hagent's level).
Re-running reuses finished (world, method) results stored in `--out` unless `--fresh`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from hagent.io import atomic_write_text  # noqa: E402
from hagent.training.presets import MIX  # noqa: E402

WORLDS = (
    "babyai:GoToLocal",
    "babyai:GoTo",
    "babyai:PickupLoc",
    "rooms:3x3",
    "rooms:4x4",
    "minigrid:MiniGrid-LavaCrossingS9N1-v0",
)
METHODS = ("hagent-auto", "hagent-flat", "ppo", "random", "bot")
DEFAULT_DATA = ["data/gotolocal", *("data/mix/" + s.replace(":", "_").replace("?", "_").replace("=", "_") for s in MIX)]
RECORDED_FRAMES = 421_152  # the default checkpoint's training data (its README): 64,000 + 357,152 steps
VALIDATION_SEED = 50_000  # PPO's validation seeds; its training seeds start at TRAIN_SEED
TRAIN_SEED = 1_000_000
BUDGET = 300  # steps per episode at most, for every method (`--max-steps`); the world's own limit if lower


# -- scoring ------------------------------------------------------------------------------
def reference(spec: str, seed: int) -> int | None:
    """SPL's reference path: the bot's steps where it solves the episode, else the shortest
    turn-and-move path on the initial grid (hierarchy benchmark's), else None. Scoring only."""
    from hagent.evaluate import reference_steps
    from hagent.worlds import make_world

    world = make_world(spec, seed=seed)
    world.reset()
    steps = reference_steps(world)
    if steps is None:
        from hierarchy import optimal_steps

        with contextlib.suppress(Exception):
            steps = optimal_steps(spec, seed)
    return steps


def summarize(episodes: list[dict], refs: dict[int, int | None], cap: int | None = None) -> dict:
    """Success, SPL, mean steps and violations over scored episodes ({seed, success, steps, violations});
    with `cap`, an episode counts as it stood after `cap` steps (a success later is a failure)."""
    if cap is not None:
        episodes = [dict(e, success=e["success"] and e["steps"] <= cap, steps=min(e["steps"], cap)) for e in episodes]
    n = len(episodes)
    spl = [
        min(1.0, refs[e["seed"]] / max(e["steps"], 1)) if e["success"] else 0.0
        for e in episodes
        if refs.get(e["seed"]) is not None
    ]
    return {
        "episodes": n,
        "success": sum(e["success"] for e in episodes) / max(n, 1),
        "spl": statistics.fmean(spl) if spl else None,
        "mean_steps": statistics.fmean(e["steps"] for e in episodes) if n else None,
        "violations": sum(e["violations"] for e in episodes),
    }


def _rollout(spec: str, seed: int, policy) -> dict:
    """One episode of `policy(world, obs) -> action` under the budget (the world's own time limit,
    capped at `BUDGET` steps)."""
    from hagent.worlds import make_world

    world = make_world(spec, seed=seed)
    obs, _ = world.reset()
    steps, done = 0, False
    limit = min(world.unwrapped.max_steps, BUDGET)
    while not done and steps < limit:
        obs, _, terminated, truncated, _ = world.step(policy(world, obs))
        steps += 1
        done = terminated or truncated
    verdict = world.judge()
    return {"seed": seed, "success": verdict.success, "steps": steps, "violations": len(verdict.violations)}


# -- hagent ----------------------------------------------------------------------------------
_AGENT = None


def _init_agent(checkpoint: str, mode: str, budget: int) -> None:
    global _AGENT, BUDGET
    BUDGET = budget
    import torch

    from hagent.acting import Agent

    torch.set_num_threads(1)
    _AGENT = Agent.load(checkpoint).reconfigured(hierarchy=mode)
    _AGENT.actor.explainer = None  # descriptions are the decoder benchmark's business; not timed here


def _hagent_episode(case: tuple[str, int]) -> dict:
    from hagent.worlds import make_world

    spec, seed = case
    probe = make_world(spec, seed=seed)
    probe.reset()
    limit = min(probe.unwrapped.max_steps, BUDGET)  # the world's own time limit (set at reset), capped
    world = make_world(spec, seed=seed)  # a fresh copy: the agent resets it itself
    episode = _AGENT.run(world, max_steps=limit)
    return {"seed": seed, "success": episode.success, "steps": episode.steps, "violations": len(episode.violations),
            "ms": [r.ms for r in episode.trace], "calls": [r.calls for r in episode.trace]}


def run_hagent(checkpoint: str, mode: str, spec: str, seeds: list[int], workers: int) -> list[dict]:
    cases = [(spec, s) for s in seeds]
    bar = {"desc": f"hagent-{mode} {spec}", "unit": "ep", "dynamic_ncols": True, "total": len(cases)}
    if workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers, _init_agent, (checkpoint, mode, BUDGET)) as pool:
            return list(tqdm(pool.imap(_hagent_episode, cases), **bar))
    _init_agent(checkpoint, mode, BUDGET)
    return [_hagent_episode(c) for c in tqdm(cases, **bar)]


# -- random and bot ------------------------------------------------------------------------
def run_random(spec: str, seeds: list[int]) -> list[dict]:
    rng = np.random.default_rng(0)
    return [_rollout(spec, s, lambda w, o: int(rng.integers(w.action_space.n)))
            for s in tqdm(seeds, desc=f"random {spec}", unit="ep", dynamic_ncols=True)]


def run_bot(spec: str, seeds: list[int]) -> list[dict] | None:
    """BabyAI's bot, or None where it can't read the mission (non-BabyAI worlds)."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    def fresh_bot():
        bot = []

        def policy(world, obs):
            if not bot:
                bot.append(BabyAIBot(world.unwrapped))  # made after reset, on the episode's grid
            with contextlib.redirect_stdout(io.StringIO()):
                return bot[0].replan()

        return policy

    out = []
    for seed in tqdm(seeds, desc=f"bot {spec}", unit="ep", dynamic_ncols=True):
        try:
            out.append(_rollout(spec, seed, fresh_bot()))
        except Exception:  # noqa: BLE001 - the bot supports BabyAI's instruction levels only
            return None
    return out


# -- PPO -------------------------------------------------------------------------------------
WORDS = ("go", "to", "the", "a", "pick", "up", "open", "put", "next", "and", "then", "after", "you", "in", "front", "of",
         "behind", "on", "your", "left", "right", "avoid", "lava", "get", "green", "goal", "square")
COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")
KINDS = ("ball", "box", "key", "door")
MISSION_DIM = len(WORDS) + len(COLOURS) + len(KINDS) + len(COLOURS) * len(KINDS)


def mission_vector(text: str) -> np.ndarray:
    """Bag of words plus each adjacent colour-object pair ("red ball"): PPO's view of the mission."""
    v = np.zeros(MISSION_DIM, np.float32)
    tokens = text.lower().replace(",", " ").split()
    vocab = WORDS + COLOURS + KINDS
    for i, t in enumerate(tokens):
        if t in vocab:
            v[vocab.index(t)] = 1.0
        if t in COLOURS and i + 1 < len(tokens) and tokens[i + 1] in KINDS:
            v[len(vocab) + COLOURS.index(t) * len(KINDS) + KINDS.index(tokens[i + 1])] = 1.0
    return v


def _ppo_env(spec: str, seed: int):
    """The world as PPO sees it: {"grid": the same codes hagent sees (3, W, H), "mission": vector}.
    Each reset draws the next seed of its own stream, so training never meets a held-out seed."""
    import gymnasium as gym
    from gymnasium import spaces

    from hagent.worlds import make_world

    class View(gym.Wrapper):
        def __init__(self):
            world = make_world(spec)
            super().__init__(world)
            w, h, _ = world.observation_space["image"].shape
            self.observation_space = spaces.Dict({
                "grid": spaces.Box(0, 255, (3, w, h), np.uint8),
                "mission": spaces.Box(0.0, 1.0, (MISSION_DIM,), np.float32),
            })
            self.next_seed = seed

        def _view(self, obs):
            return {"grid": np.ascontiguousarray(obs["image"].transpose(2, 0, 1)), "mission": mission_vector(obs["mission"])}

        def reset(self, *, seed=None, options=None):
            if seed is None:
                seed, self.next_seed = self.next_seed, self.next_seed + 1
            obs, _ = self.env.reset(seed=seed, options=options)
            return self._view(obs), {}

        def step(self, action):
            obs, reward, terminated, truncated, info = self.env.step(action)
            return self._view(obs), reward, terminated, truncated, {}

    return View()


def _extractor_class():
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from torch import nn

    class GridFiLM(BaseFeaturesExtractor):
        """Per-cell embeddings (object, colour, state), two 3x3 convolutions FiLM-conditioned on
        the mission with a 2x2 max-pool between them, pooled to 6x6: the usual BabyAI baseline
        shape, without memory (the grid is fully observed)."""

        def __init__(self, observation_space, features_dim: int = 128):
            super().__init__(observation_space, features_dim)
            self.embed = nn.ModuleList(nn.Embedding(16, 16) for _ in range(3))
            self.convs = nn.ModuleList([nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)])
            self.film = nn.Linear(MISSION_DIM, 2 * (16 + 32))
            self.pool = nn.AdaptiveMaxPool2d(6)
            self.head = nn.Sequential(nn.Linear(32 * 36 + MISSION_DIM, features_dim), nn.ReLU())

        def forward(self, obs):
            grid = obs["grid"].long().clamp(0, 15)  # SB3 hands uint8 boxes over as floats
            x = sum(e(grid[:, i]) for i, e in enumerate(self.embed)).permute(0, 3, 1, 2)
            film = self.film(obs["mission"])[:, :, None, None]
            g1, b1, g2, b2 = film.split([16, 16, 32, 32], 1)
            x = torch.relu(self.convs[0](x) * (1 + g1) + b1)
            x = nn.functional.max_pool2d(x, 2, ceil_mode=True)
            x = torch.relu(self.convs[1](x) * (1 + g2) + b2)
            return self.head(torch.cat([self.pool(x).flatten(1), obs["mission"]], 1))

    return GridFiLM


def ppo_success(model, spec: str, seeds: list[int]) -> list[dict]:
    """PPO episodes on `seeds` (the held-out or validation ones), actions sampled from its policy
    as in training (seeded per episode). Its argmax policy does far worse here: without memory
    it gets stuck turning or walking into a wall, as is usual for PPO on these grids."""
    import torch

    def policy(world, obs):
        view = {"grid": obs["image"].transpose(2, 0, 1)[None], "mission": mission_vector(obs["mission"])[None]}
        return int(model.predict(view, deterministic=False)[0][0])

    out = []
    for s in seeds:
        torch.manual_seed(s)
        out.append(_rollout(spec, s, policy))
    return out


class PPORun(NamedTuple):
    """A PPO training run: its final model, its model at hagent's frame count (None if it
    stopped earlier) and the record (learning curve, frames, speed)."""

    model: object
    at_equal_frames: object | None
    record: dict


def run_ppo(spec: str, hagent_frames: int, target: float, cap: float, eval_every: int, n_envs: int, seed: int,
            validation: int) -> PPORun:
    """Train PPO on one world until its validation success reaches `target` or the frame cap."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.manual_seed(seed)
    cap_frames = int(cap * hagent_frames)
    env = DummyVecEnv([(lambda i=i: _ppo_env(spec, TRAIN_SEED + i * 10_000_000)) for i in range(n_envs)])
    model = PPO("MultiInputPolicy", env, n_steps=128, batch_size=256, n_epochs=4, learning_rate=2.5e-4, gamma=0.99,
                gae_lambda=0.95, ent_coef=0.01, clip_range=0.2, seed=seed, verbose=0, device="cpu",
                policy_kwargs={"features_extractor_class": _extractor_class(), "net_arch": [64],
                               "normalize_images": False})  # the grid holds codes, not pixels
    val_seeds = list(range(VALIDATION_SEED, VALIDATION_SEED + validation))
    record = {"curve": [], "frames_to_target": None, "frames": 0, "seconds": 0.0}
    snapshot = {}
    start = time.perf_counter()
    bar = tqdm(total=cap_frames, desc=f"ppo {spec}", unit="frame", unit_scale=True, dynamic_ncols=True)

    class Evaluate(BaseCallback):
        next_eval = eval_every

        def _on_step(self) -> bool:
            frames = self.num_timesteps
            bar.update(frames - bar.n)
            if "equal" not in snapshot and frames >= hagent_frames:
                snapshot["equal"] = _clone(model)
            if frames < self.next_eval:
                return True
            self.next_eval += eval_every
            ok = statistics.fmean(e["success"] for e in ppo_success(model, spec, val_seeds))
            record["curve"].append((frames, ok))
            bar.set_postfix(val_success=f"{ok:.0%}", target=f"{target:.0%}")
            if ok >= target:
                record["frames_to_target"] = frames
                return False
            return True

    model.learn(total_timesteps=cap_frames, callback=Evaluate())
    bar.close()
    record["frames"] = int(model.num_timesteps)
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["fps"] = round(record["frames"] / max(record["seconds"], 1e-9))
    env.close()
    return PPORun(model, snapshot.get("equal"), record)


def _clone(model):
    """A frozen copy of a PPO model's policy (for scoring at equal frames)."""
    import copy

    twin = copy.copy(model)
    twin.policy = copy.deepcopy(model.policy)
    return twin


# -- the run ---------------------------------------------------------------------------------
def count_frames(dirs: list[str]) -> int | None:
    """Environment steps in hagent's training data (collection manifests), or None if absent."""
    total = 0
    for d in dirs:
        manifest = Path(d) / "manifest.json"
        if not manifest.exists():
            return None
        total += sum(s["steps"] for s in json.loads(manifest.read_text())["shards"])
    return total


def main(argv: list[str] | None = None) -> int:
    global BUDGET
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default", help="hagent checkpoint to score")
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), help="world specs")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--episodes", type=int, default=200, help="held-out episodes per world and method")
    p.add_argument("--max-steps", type=int, default=BUDGET,
                   help="step budget per episode for every method (the world's own limit when lower)")
    p.add_argument("--seed", type=int, default=1000, help="first held-out seed")
    p.add_argument("--data", nargs="+", default=DEFAULT_DATA, help="hagent's training data, to count its frames")
    p.add_argument("--hagent-frames", type=int, help=f"override the frame count (default: counted from --data, else {RECORDED_FRAMES:,})")
    p.add_argument("--cap", type=float, default=10.0, help="PPO's frame cap, as a multiple of hagent's frames")
    p.add_argument("--eval-every", type=int, help="PPO validation interval in frames (default: hagent's frames / 4)")
    p.add_argument("--validation", type=int, default=50, help="PPO validation episodes per evaluation")
    p.add_argument("--envs", type=int, default=8, help="PPO's parallel environments")
    p.add_argument("--workers", type=int, default=2, help="processes running hagent episodes")
    p.add_argument("--threads", type=int, default=2, help="torch threads for PPO")
    p.add_argument("--quick", action="store_true", help="GoToLocal, 3 episodes, PPO for 2,048 frames: a smoke run")
    p.add_argument("--fresh", action="store_true", help="ignore finished results already in --out")
    p.add_argument("--report", action="store_true", help="print the results in --out as markdown tables; run nothing")
    p.add_argument("--out", default="benchmarks/results/baselines.json")
    p.add_argument("--plot", default="benchmarks/results/baselines.png")
    args = p.parse_args(argv)
    if args.report:
        if not Path(args.out).exists():
            p.error(f"{args.out}: no results yet (run the benchmark first)")
        results = json.loads(Path(args.out).read_text())
        print(report(results))
        _plot(results, args.plot)
        return 0
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        if "ppo" in args.methods:
            p.error("PPO needs stable-baselines3: pip install -e '.[bench]' (or leave out --methods ppo)")
    import torch

    BUDGET = args.max_steps
    torch.set_num_threads(args.threads)
    frames = args.hagent_frames or count_frames(args.data) or RECORDED_FRAMES
    if args.quick:
        args.worlds, args.episodes, frames, args.cap, args.validation = ["babyai:GoToLocal"], 3, 2048, 1.0, 3
    eval_every = args.eval_every or max(frames // 4, 1)

    out = Path(args.out)
    results = {} if args.fresh or args.quick or not out.exists() else json.loads(out.read_text())
    if results.get("checkpoint") not in (None, args.checkpoint) or results.get("seed") not in (None, args.seed) \
            or results.get("episodes") not in (None, args.episodes):
        results = {}  # another setting: start over
    results.update(checkpoint=args.checkpoint, seed=args.seed, episodes=args.episodes, hagent_frames=frames,
                   max_steps=args.max_steps, date=time.strftime("%Y-%m-%d"))
    results.setdefault("worlds", {})
    seeds = list(range(args.seed, args.seed + args.episodes))
    for spec in args.worlds:
        w = results["worlds"].setdefault(spec, {"methods": {}})
        if "references" not in w:
            w["references"] = {str(s): reference(spec, s) for s in tqdm(seeds, desc=f"reference {spec}", unit="ep")}
        refs = {int(k): v for k, v in w["references"].items()}
        for method in args.methods:
            if method in w["methods"]:
                continue
            start = time.perf_counter()
            entry = _measure(method, spec, seeds, args, frames, eval_every, w)
            if entry is None:
                w["methods"][method] = None
            else:
                entry["summary"] = summarize(entry["per_episode"], refs, args.max_steps)
                if "at_equal_frames" in entry:
                    entry["at_equal_frames"]["summary"] = summarize(entry["at_equal_frames"]["per_episode"], refs, args.max_steps)
                entry["seconds"] = round(time.perf_counter() - start, 1)
                w["methods"][method] = entry
            _save(out, results)
        _print(spec, w)
    print(f"wrote {out}")
    _plot(json.loads(out.read_text()), args.plot)  # everything in the file, other runs' results included
    return 0


def _measure(method: str, spec: str, seeds: list[int], args, frames: int, eval_every: int, w: dict) -> dict | None:
    if method.startswith("hagent-"):
        episodes = run_hagent(args.checkpoint, method.split("-")[1], spec, seeds, args.workers)
        moved = [e for e in episodes if e["ms"]]
        entry = {
            "ms_per_step_median": statistics.median(m for e in moved for m in e["ms"]) if moved else None,
            "ms_per_step_p95": float(np.percentile([m for e in moved for m in e["ms"]], 95)) if moved else None,
            "calls_per_step": statistics.fmean(c for e in moved for c in e["calls"]) if moved else None,
        }
        for e in episodes:
            e["ms"] = [round(m, 1) for m in e["ms"]]
        return {**entry, "per_episode": episodes}
    if method == "random":
        return {"per_episode": run_random(spec, seeds)}
    if method == "bot":
        episodes = run_bot(spec, seeds)
        return None if episodes is None else {"per_episode": episodes}
    # PPO: the target is hagent's held-out success here (auto, else flat, else 100%)
    hagent = w["methods"].get("hagent-auto") or w["methods"].get("hagent-flat")
    target = hagent["summary"]["success"] if hagent else 1.0
    model, equal, record = run_ppo(spec, frames, target, args.cap, eval_every, args.envs, 0, args.validation)
    entry = {**record, "target": target, "cap": args.cap, "per_episode": ppo_success(model, spec, seeds)}
    if equal is not None:
        entry["at_equal_frames"] = {"per_episode": ppo_success(equal, spec, seeds)}
    else:  # it reached hagent's success before hagent's frame count: the final model is that point
        entry["at_equal_frames"] = {"per_episode": entry["per_episode"], "note": "reached the target earlier"}
    return entry


BINS = ((1, 10), (11, 20), (21, 40), (41, 10_000))


def frames_to(curve: list, target: float) -> int | None:
    """The first evaluated frame count whose validation success reached `target`."""
    return next((int(f) for f, ok in curve if ok >= target), None)


def report(results: dict) -> str:
    """Markdown tables: success/SPL/violations per world and method, sample efficiency, and
    planning cost by distance bin."""
    frames, cap = results["hagent_frames"], results.get("max_steps")
    out = [f"Step budget: each world's own limit, at most {cap} steps. Held-out seeds {results['seed']}-{results['seed'] + results['episodes'] - 1}, "
           f"hagent's training frames: {frames:,} (reward-free, all tasks at once).", ""]
    out += ["| world | method | success | SPL | violations | mean steps |", "| --- | --- | --- | --- | --- | --- |"]
    for spec, w in results["worlds"].items():
        refs = {int(k): v for k, v in w["references"].items()}
        for method, e in w["methods"].items():
            rows = [(method, e)]
            if e and "at_equal_frames" in e:
                rows = [(f"ppo @ {frames:,} frames (= hagent's)", e["at_equal_frames"]), (f"ppo @ {e['frames']:,} frames", e)]
            for name, r in rows:
                if r is None:
                    out.append(f"| `{spec}` | {name} | n/a (the bot solves BabyAI missions only) | | | |")
                    continue
                s = summarize(r["per_episode"], refs, cap)
                spl = "-" if s["spl"] is None else f"{s['spl']:.3f}"
                out.append(f"| `{spec}` | {name} | {s['success']:.1%} | {spl} | {s['violations']} | {s['mean_steps']:.1f} |")
    out += ["", "| world | hagent (auto) success | PPO at hagent's frames | PPO frames to reach hagent's success | PPO's best validation success (frames) |",
            "| --- | --- | --- | --- | --- |"]
    for spec, w in results["worlds"].items():
        e, h = w["methods"].get("ppo"), w["methods"].get("hagent-auto")
        if not e or not h:
            continue
        refs = {int(k): v for k, v in w["references"].items()}
        target = summarize(h["per_episode"], refs, cap)["success"]
        reached = frames_to(e["curve"], target)
        best = max(e["curve"], key=lambda c: c[1]) if e["curve"] else (0, 0.0)
        limit = e.get("cap", 0)  # PPO's frame cap, as a multiple of hagent's frames
        needed = f"{reached:,} ({reached / frames:.1f}x)" if reached else f"not within {limit:g}x ({int(limit * frames):,})"
        equal = summarize(e["at_equal_frames"]["per_episode"], refs, cap)["success"]
        out.append(f"| `{spec}` | {target:.1%} | {equal:.1%} | {needed} | "
                   f"{best[1]:.0%} ({int(best[0]):,}) |")
    out += ["", "| world | distance | mode | episodes | success | median ms/step | p95 ms/step | predictor calls/step |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for spec, w in results["worlds"].items():
        refs = {int(k): v for k, v in w["references"].items()}
        for lo, hi in BINS:
            for mode in ("hagent-auto", "hagent-flat"):
                e = w["methods"].get(mode)
                if not e:
                    continue
                eps = [x for x in e["per_episode"] if refs.get(x["seed"]) is not None and lo <= refs[x["seed"]] <= hi]
                ms = [m for x in eps for m in x.get("ms", [])]
                calls = [c for x in eps for c in x.get("calls", [])]
                if not eps or not ms:
                    continue
                name = f"{lo}-{hi}" if hi < 10_000 else f">{lo - 1}"
                out.append(f"| `{spec}` | {name} | {mode.split('-')[1]} | {len(eps)} | "
                           f"{statistics.fmean(x['success'] for x in eps):.1%} | {statistics.median(ms):.1f} | "
                           f"{np.percentile(ms, 95):.1f} | {statistics.fmean(calls):.0f} |")
    return "\n".join(out)


def _save(out: Path, results: dict) -> None:
    """Merge this run's (world, method) results into `out` under a lock, so that two runs with
    different `--methods` or `--worlds` can share one file."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        disk = json.loads(out.read_text()) if out.exists() else {}
        same = all(disk.get(k) == results[k] for k in ("checkpoint", "seed", "episodes", "hagent_frames"))
        merged = disk if same else {}
        merged.update({k: v for k, v in results.items() if k != "worlds"})
        worlds = merged.setdefault("worlds", {})
        for spec, w in results["worlds"].items():
            into = worlds.setdefault(spec, {"methods": {}})
            into["references"] = w["references"]
            into["methods"].update(w["methods"])
        atomic_write_text(out, json.dumps(merged, indent=1) + "\n")


def _print(spec: str, w: dict) -> None:
    print(f"\n{spec}")
    print(f"{'method':>18} {'n':>4} {'success':>8} {'SPL':>6} {'steps':>6} {'violations':>10}")
    for method, entry in w["methods"].items():
        rows = [(method, entry)]
        if entry and "at_equal_frames" in entry:
            rows = [("ppo @ equal frames", entry["at_equal_frames"]), (f"ppo @ {entry['frames']:,}", entry)]
        for name, e in rows:
            if e is None:
                print(f"{name:>18}  n/a")
                continue
            s = e["summary"]
            spl = "-" if s["spl"] is None else f"{s['spl']:.3f}"
            print(f"{name:>18} {s['episodes']:>4} {s['success']:>8.1%} {spl:>6} {s['mean_steps']:>6.1f} {s['violations']:>10}")


def _plot(results: dict, path: str) -> None:
    """Top row: held-out success per method and world; bottom row: PPO's validation curve against
    hagent's held-out success and frame count."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: install the bench extra (pip install -e '.[bench]') for matplotlib")
        return
    worlds, cap = results["worlds"], results.get("max_steps")
    fig, axes = plt.subplots(2, len(worlds), figsize=(3.6 * len(worlds), 6.5), squeeze=False)
    for col, (spec, w) in enumerate(worlds.items()):
        refs = {int(k): v for k, v in w["references"].items()}
        success = {m: summarize(e["per_episode"], refs, cap)["success"] for m, e in w["methods"].items() if e}
        names, values = [], []
        for method in METHODS:
            if method not in success:
                continue
            if method == "ppo":
                names.append("ppo (=frames)")
                values.append(summarize(w["methods"]["ppo"]["at_equal_frames"]["per_episode"], refs, cap)["success"])
            names.append({"ppo": "ppo (end)"}.get(method, method))
            values.append(success[method])
        ax = axes[0][col]
        ax.bar(names, values, color=["C0" if n.startswith("hagent") else "C7" for n in names])
        ax.set_ylim(0, 1.05)
        ax.set_title(spec.split(":")[-1].replace("MiniGrid-", "").replace("-v0", ""))
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax = axes[1][col]
        ppo = w["methods"].get("ppo")
        if ppo and ppo.get("curve"):
            xs, ys = zip(*ppo["curve"])
            ax.plot(xs, ys, marker=".", label="PPO (validation)")
            if "hagent-auto" in success:
                ax.axhline(success["hagent-auto"], color="C1", linestyle="--", label="hagent auto (held-out)")
            ax.axvline(results["hagent_frames"], color="grey", linestyle=":", label="hagent's frames")
            ax.set_xlabel("PPO frames (millions)")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1e6:.2g}"))
            ax.set_ylim(0, 1.05)
            ax.legend(fontsize=6)
    axes[0][0].set_ylabel("success (held-out)")
    axes[1][0].set_ylabel("success")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
