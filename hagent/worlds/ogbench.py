"""OGBench's environments as hagent worlds: `ogbench:<dataset-or-env>[?task=K]`.

OGBench (`pip install 'hagent[ogbench]'`) registers gymnasium envs that observe a `Box` vector
and give the goal at reset as `info["goal"]`, so each is a `GymWorld` of the info-goal form
(`hagent.worlds.gym`): the goal is an observation, the achieved goal the observation itself,
success the env's own `info["success"]`. The name is a dataset name
(`pointmaze-medium-navigate-v0`: the env is built with `ogbench.make_env_and_datasets(name,
env_only=True)`, which downloads nothing) or an OGBench env id (`pointmaze-medium-v0`).

* `task=K` (1..5) starts every episode in OGBench's evaluation task K (`reset(options=
  dict(task_id=K))`: its fixed start and goal cells, each with the env's own noise); without it,
  each reset draws one of the tasks, as the env does.
* The step limit is the env's registered `max_episode_steps` (1000 for `pointmaze-*`, OGBench's
  protocol for navigate tasks).
* OGBench's resets draw their noise from numpy's global RNG, not from the reset's seed; each
  reset here seeds that RNG from the world's own seeds (and puts its state back), so a world is
  as reproducible as any other. (The teleport mazes also draw from it in `step`: not seeded.)

    >>> world = make_ogbench_world("ogbench:pointmaze-medium-navigate-v0?task=1", seed=0)  # doctest: +SKIP
    >>> obs, _ = world.reset()                                                               # doctest: +SKIP
    >>> obs["vector"].shape, obs["goal"].shape, world.max_steps                             # doctest: +SKIP
    ((2,), (2,), 1000)
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from hagent.worlds.gym import EnvMissingError, GymSpecError, GymWorld, build_env, make_env_world

TASKS = range(1, 6)
"""OGBench's evaluation tasks: `task_id` 1..5 of every dataset."""
EXAMPLE = "pointmaze-medium-navigate-v0"


class OGBenchMissingError(EnvMissingError):
    """An `ogbench:` spec while the ogbench package isn't installed."""


@dataclass(frozen=True)
class OGBenchParams:
    """A parsed `ogbench:` spec."""

    name: str
    """The name as written: a dataset name or an OGBench env id."""
    env_id: str
    """The gymnasium id of the env it builds."""
    dataset: bool
    """Whether `name` is a dataset name (built by `ogbench.make_env_and_datasets`)."""
    task: int | None = None
    """The evaluation task every reset starts (None: the env draws one)."""


def parse_ogbench(spec: str) -> OGBenchParams:
    """`ogbench:<dataset-or-env>[?task=K]` -> its parameters; `GymSpecError` when it names no
    OGBench env, `OGBenchMissingError` when ogbench isn't installed."""
    family, _, rest = spec.strip().partition(":")
    name, _, query = rest.partition("?")
    if family != "ogbench" or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise GymSpecError(f"expected ogbench:<dataset-or-env>[?task=1..5], got {spec!r}")
    task = None
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        if key != "task":
            raise GymSpecError(f"unknown option {part!r} (ogbench worlds take task=1..5)")
        if not value.isdigit() or int(value) not in TASKS:
            raise GymSpecError(f"task must be one of OGBench's evaluation tasks 1..5, got {value!r}")
        task = int(value)
    _import_ogbench()
    env_id, dataset = _env_id(name)
    if env_id is None:
        raise GymSpecError(f"no OGBench env or dataset named {name!r} (e.g. {EXAMPLE})")
    if task is not None and "singletask" in name.split("-"):
        raise GymSpecError(f"{name!r} is a single-task env with its own task; leave out task=")
    return OGBenchParams(name, env_id, dataset, task)


def _import_ogbench() -> None:
    """Import ogbench (which registers its envs), its import-time output kept off the terminal."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            importlib.import_module("ogbench")
        except ImportError:
            raise OGBenchMissingError("ogbench isn't installed: pip install 'hagent[ogbench]'") from None


def _env_id(name: str) -> tuple[str | None, bool]:
    """The OGBench env id `name` builds (None: none) and whether `name` is a dataset name."""
    if _is_ogbench(name):
        return name, False
    # a dataset name is its env's id with the dataset type added: undone as ogbench.utils.make_env_and_datasets does
    parts = name.split("-")
    if "singletask" in parts:
        at = parts.index("singletask")
        env_parts = parts[: at - 1] + parts[at:]
    elif "oraclerep" in parts:
        env_parts = parts[:-3] + parts[-1:]
    else:
        env_parts = parts[:-2] + parts[-1:]
    env_id = "-".join(env_parts)
    return (env_id, True) if len(parts) >= 3 and _is_ogbench(env_id) else (None, False)


def _is_ogbench(env_id: str) -> bool:
    spec = gym.registry.get(env_id)
    return spec is not None and str(spec.entry_point).startswith("ogbench.")


class TaskReset(gym.Wrapper):
    """Starts every episode of an OGBench env in evaluation task `task` (None: the env draws one),
    without a rendered goal, and seeds numpy's global RNG (which OGBench's reset reads) from seeds
    of its own, drawn from the reset's seed."""

    def __init__(self, env: gym.Env, task: int | None):
        super().__init__(env)
        self.task = task
        self._seeds = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
        options = {"render_goal": False, **({"task_id": self.task} if self.task is not None else {}), **(options or {})}
        with _global_numpy_seed(int(self._seeds.integers(2**32))):
            return self.env.reset(seed=seed, options=options)


@contextlib.contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG for the block, then put its state back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _make(params: OGBenchParams) -> gym.Env:
    if params.dataset:
        import ogbench

        return ogbench.make_env_and_datasets(params.name, env_only=True)  # env_only: no download
    return gym.make(params.env_id)


def make_ogbench_world(spec: str, seed: int | None = None) -> GymWorld:
    """An OGBench world from its spec; the first `reset()` uses `seed`."""
    params = parse_ogbench(spec)
    env = build_env(spec, params.name, lambda: _make(params))
    tasks = getattr(env.unwrapped, "num_tasks", None)
    if params.task is not None and (tasks is None or params.task > tasks):
        env.close()
        raise GymSpecError(f"{params.name} has {tasks or 'no'} evaluation tasks; task={params.task} is not one of them")
    return make_env_world(spec, TaskReset(env, params.task), seed)
