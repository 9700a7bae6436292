"""Reward-free data collection into atomic safetensors shards, described by a manifest.

A dataset directory holds `shard-NNNNN.safetensors` files and a `manifest.json` that lists the
finished shards. Shards and the manifest are written atomically and the manifest is rewritten
after each shard, so an interrupted run leaves a readable dataset of whole shards; running the
same command again resumes it.

Per step a shard of a grid world stores the observation (`image [N, W, H, 3]`, `direction [N]`,
`carried [N, 3]`), the action taken from it (`action [N]`, -1 on an episode's last observation)
and labels the world writes from its own state (`agent`, `room`, `on_lava`, `events`); a point
world's shard stores `image`, `action` and the labels `position` and `room`, plus each episode's
`places` views; a gym world's, the env's observation vector and action.

No planner reads a label, but some train parts that act, so this is where each one goes:

* `on_lava` (hazard flags) -> the hazard classifier (a guardrail cost on every imagined state,
  and which level-1 hops are kept) and the step-hazard model (checks the action about to be
  taken): an intrinsic cost, which DESIGN.md allows hazard labels to teach.
* `agent` (the agent's cell) -> nothing the agent acts with: the cell probe (which region
  guardrails read imagined states with) and the step-hazard model's patch of cells find the
  agent by its mark in the observation instead (`hagent.training.hierarchy.marked_cells`; the
  same cell in these fully observed grids). The rule-based baseline `oracle_pairs` reads it.
* `events` (grids) and `position`/`room` (point worlds) -> which windows level 0 sees more
  often (`data.event_fraction`): they choose samples, never targets.
* `places` views (point worlds) -> the place grounding, which turns a text goal ("the top-left
  corner of the left room") into the goal state the planner minimizes its distance to.
* none -> the critics: their step distances come from `hagent.labels` (the data's own observed
  transitions by default; the rule-based `oracle_pairs` only as a named baseline). `room` (grids)
  is read by no training at all; benchmarks score with it.

`hagent.data` loads a dataset as training windows.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from safetensors.numpy import save_file
from hagent.progress import bar as progress_bar

from hagent.config import CollectConfig, ExploreConfig
from hagent.explore import Explorer
from hagent.io import atomic_write_text, atomic_write_with
from hagent.worlds import STEP_KEYS, AgentLabels, World, make_world, step_keys

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
class DatasetError(ValueError):
    """A dataset directory that can't be read or doesn't match what was asked of it."""


class ShardRecord(BaseModel):
    """One finished shard, as listed in the manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str
    first_episode: int
    episodes: int
    steps: int
    observations: int


class Manifest(BaseModel):
    """What a dataset directory holds; only shards listed here are ever read."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format_version: int
    world: str
    seed: int
    max_steps: int
    shard_episodes: int
    episodes_requested: int
    explore: ExploreConfig
    image_shape: tuple[int, ...]  # an observation's shape: the view's, or the vector's
    complete: bool
    shards: tuple[ShardRecord, ...]

    @property
    def episodes(self) -> int:
        """Episodes held in finished shards."""
        return sum(s.episodes for s in self.shards)

    @property
    def steps(self) -> int:
        """Environment steps (transitions) held in finished shards."""
        return sum(s.steps for s in self.shards)


# -- collection ------------------------------------------------------------------------------


def episode_seed(seed: int, episode: int) -> int:
    """The world seed of episode `episode` in a dataset collected with master seed `seed`."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def collect_episode(world: World, seed: int, episode: int, max_steps: int, explore: ExploreConfig) -> dict[str, np.ndarray]:
    """Run one exploration episode; return per-step arrays of length L+1 (L = steps taken).

    The episode runs `max_steps` steps unless the world truncates it or the agent enters lava.
    """
    rng = np.random.default_rng([seed, episode, 1])
    if hasattr(world, "explore"):  # a world with an explorer of its own (point, gym)
        return world.explore(episode_seed(seed, episode), rng, max_steps, explore)
    explorer = Explorer(explore, rng)
    obs, _ = world.reset(seed=episode_seed(seed, episode))
    rows: dict[str, list] = {k: [] for k in STEP_KEYS}

    def record(obs: dict, labels: AgentLabels, action: int, events: int) -> None:
        rows["image"].append(obs["image"])
        rows["direction"].append(obs["direction"])
        rows["carried"].append(obs["carried"])
        rows["action"].append(action)
        rows["agent"].append(labels.agent)
        rows["room"].append(labels.room if labels.room is not None else (-1, -1))
        rows["on_lava"].append(labels.on_lava)
        rows["events"].append(events)

    labels = world.agent_labels()
    for _ in range(max_steps):
        action = explorer.act(obs)
        next_obs, _, _, truncated, info = world.step(action)
        record(obs, labels, action, sum(e.flag for e in info["events"]))
        obs, labels = next_obs, world.agent_labels()
        # The data is task-free: reaching the mission's goal does not end an episode (that would
        # leak the task into the data); entering lava does, as it would in the world.
        if truncated or labels.on_lava:
            break
    record(obs, labels, -1, 0)
    return {
        "image": np.stack(rows["image"]).astype(np.uint8),
        "direction": np.asarray(rows["direction"], dtype=np.int8),
        "carried": np.stack(rows["carried"]).astype(np.uint8),
        "action": np.asarray(rows["action"], dtype=np.int8),
        "agent": np.asarray(rows["agent"], dtype=np.int16),
        "room": np.asarray(rows["room"], dtype=np.int16),
        "on_lava": np.asarray(rows["on_lava"], dtype=np.uint8),
        "events": np.asarray(rows["events"], dtype=np.uint8),
    }


@dataclass(frozen=True)
class _ShardJob:
    out: Path
    index: int
    world: str
    seed: int
    first_episode: int
    episodes: int
    max_steps: int
    explore: ExploreConfig


def _shard_name(index: int) -> str:
    return f"shard-{index:05d}.safetensors"


def _collect_shard(job: _ShardJob, tick: Callable[[], None]) -> ShardRecord:
    world = make_world(job.world)
    episodes = []
    for e in range(job.first_episode, job.first_episode + job.episodes):
        episodes.append(collect_episode(world, job.seed, e, job.max_steps, job.explore))
        tick()
    lengths = np.array([len(ep["action"]) for ep in episodes], dtype=np.int64)
    arrays = {k: np.concatenate([ep[k] for ep in episodes]) for k in step_keys(job.world)}
    arrays["episode_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    arrays["episode_index"] = np.arange(job.first_episode, job.first_episode + job.episodes, dtype=np.int64)
    if "places" in episodes[0]:  # per-episode label views (point worlds)
        arrays["places"] = np.concatenate([ep["places"] for ep in episodes])
    name = _shard_name(job.index)
    atomic_write_with(job.out / name, lambda tmp: save_file(arrays, str(tmp), metadata={"format_version": str(FORMAT_VERSION)}))
    return ShardRecord(
        file=name,
        first_episode=job.first_episode,
        episodes=job.episodes,
        steps=int(lengths.sum() - job.episodes),
        observations=int(lengths.sum()),
    )


_progress_queue = None


def _init_worker(queue) -> None:
    global _progress_queue
    _progress_queue = queue


def _run_job(job: _ShardJob) -> ShardRecord:
    return _collect_shard(job, lambda: _progress_queue.put(1))


def collect(
    world: str,
    out: str | Path,
    cfg: CollectConfig,
    seed: int,
    progress: bool = True,
) -> Manifest:
    """Collect `cfg.episodes` reward-free episodes of `world` into `out`; resume if `out` holds a
    partial run of the same settings. Returns the final manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    probe = make_world(world, seed=episode_seed(seed, 0))
    probe_obs, _ = probe.reset()
    image_shape = tuple(int(v) for v in probe_obs["vector" if "vector" in probe_obs else "image"].shape)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        world=world,
        seed=seed,
        max_steps=cfg.max_steps,
        shard_episodes=cfg.shard_episodes,
        episodes_requested=cfg.episodes,
        explore=cfg.explore,
        image_shape=image_shape,
        complete=False,
        shards=(),
    )
    if (out / MANIFEST).exists():
        previous = read_manifest(out)
        same = previous.model_dump(exclude={"complete", "shards", "episodes_requested"}) == manifest.model_dump(
            exclude={"complete", "shards", "episodes_requested"}
        )
        if not same:
            raise DatasetError(f"{out} already holds a dataset collected with other settings; choose another --out")
        manifest = manifest.model_copy(update={"shards": previous.shards})
    done = {(s.first_episode, s.episodes) for s in manifest.shards}
    jobs = []
    for index, first in enumerate(range(0, cfg.episodes, cfg.shard_episodes)):
        count = min(cfg.shard_episodes, cfg.episodes - first)
        if (first, count) in done:
            continue
        jobs.append(_ShardJob(out, index, world, seed, first, count, cfg.max_steps, cfg.explore))
    already = cfg.episodes - sum(job.episodes for job in jobs)

    bar = progress_bar(total=cfg.episodes, initial=already, unit="ep", desc=f"collect {world}", progress=progress)

    def finish(record: ShardRecord) -> None:
        nonlocal manifest
        kept = [s for s in manifest.shards if s.first_episode != record.first_episode]
        shards = tuple(sorted((*kept, record), key=lambda s: s.first_episode))
        manifest = manifest.model_copy(update={"shards": shards})
        _write_manifest(out, manifest)
        bar.set_postfix(steps=manifest.steps)

    try:
        if cfg.workers == 1 or len(jobs) <= 1:
            for job in jobs:
                finish(_collect_shard(job, lambda: bar.update(1)))
        else:
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            with ctx.Pool(min(cfg.workers, len(jobs)), initializer=_init_worker, initargs=(queue,)) as pool:
                pending = pool.imap_unordered(_run_job, jobs)
                finished = 0
                while finished < len(jobs):
                    while not queue.empty():
                        bar.update(queue.get())
                    try:
                        record = pending.next(timeout=0.1)
                    except mp.TimeoutError:
                        continue
                    finish(record)
                    finished += 1
                while not queue.empty():
                    bar.update(queue.get())
    finally:
        bar.close()
    manifest = manifest.model_copy(update={"complete": manifest.episodes >= cfg.episodes})
    _write_manifest(out, manifest)
    return manifest


def _write_manifest(out: Path, manifest: Manifest) -> None:
    atomic_write_text(out / MANIFEST, json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")


def read_manifest(directory: str | Path) -> Manifest:
    """Read and validate a dataset's manifest; raise `DatasetError` with a readable reason."""
    path = Path(directory) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{directory}: no {MANIFEST}; is this a dataset made by `hagent collect`?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: unreadable manifest: {err}") from None
    if isinstance(raw, dict) and raw.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{path}: format version {raw.get('format_version')!r}, this hagent reads {FORMAT_VERSION}")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        raise DatasetError(f"{path}: invalid manifest: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
