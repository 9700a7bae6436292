"""Any registered gymnasium env as a hagent world: `gym:<EnvId>[?key=value&...]`.

What an env must offer (checked when the world is built, with a message naming what is missing):

* **observations and the goal** in one of two forms:
  - a `Dict` observation with an `observation` vector, a `desired_goal` and an `achieved_goal`
    in the same space as the desired goal (what the agent's state amounts to in goal terms): the
    goal-conditioned convention of gymnasium-robotics;
  - a `Box` observation vector, with the goal given once at reset as `info["goal"]`, an
    observation of the same shape (OGBench's convention). The goal then lives in observation
    space, so the agent's achieved goal is its own observation. To see which form an env has,
    a `Box`-observation env is reset once when the world is built.

  The agent learns to read the achieved goal from its own state (`costs.readout`), so planning
  needs only the observation;
* **success** as `info["success"]` (or `info["is_success"]`) on every step: the world's own
  judgement, for scoring only. The first successful step ends the episode.

The env's own step limit (its `max_episode_steps`) is kept. Query parameters are passed to
`gymnasium.make` as keyword arguments (numbers, `true`/`false`, or strings), e.g.
`gym:PointMaze_UMaze-v3?continuing_task=false`. Envs of packages that register on import
(gymnasium-robotics) are found by importing the package when the id is not yet registered;
that package's import-time notices are kept off stdout.

    >>> world = make_gym_world("gym:PointMaze_UMaze-v3", seed=0)   # doctest: +SKIP
    >>> obs, _ = world.reset()                                      # doctest: +SKIP
    >>> obs["vector"].shape, obs["goal"].shape                     # doctest: +SKIP
    ((4,), (2,))
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hagent.worlds.judgement import Judgement

GYM_KEYS = ("vector", "action", "achieved")
"""Per-step arrays of a gym world's dataset: the observation vector, the action taken from it
(zeros on an episode's last row) and the achieved goal (an observation too: the readout's target)."""
PLUGINS = ("gymnasium_robotics",)
"""Packages that register envs when imported; tried when an id is not registered yet."""


class GymSpecError(ValueError):
    """A `gym:` spec whose env can't be built or doesn't offer what hagent needs."""


class EnvBuildError(GymSpecError):
    """A registered env whose own `make` raised: the message is its one line."""


class EnvMissingError(GymSpecError):
    """A `gym:` spec of an env no installed package registers while a package that registers
    envs (`PLUGINS`, e.g. gymnasium-robotics) isn't installed: it may well be theirs."""


@dataclass(frozen=True)
class GymParams:
    """A parsed `gym:` spec: the env id and keyword arguments for `gymnasium.make`."""

    env_id: str
    kwargs: tuple[tuple[str, object], ...] = ()


def parse_gym(spec: str) -> GymParams:
    """`gym:<EnvId>[?k=v&...]` -> its parameters; `GymSpecError` when the id is unknown."""
    family, _, rest = spec.strip().partition(":")
    env_id, _, query = rest.partition("?")
    if family != "gym" or not re.fullmatch(r"[A-Za-z0-9_./:-]+", env_id):
        raise GymSpecError(f"expected gym:<EnvId>[?key=value&...], got {spec!r}")
    kwargs = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if not eq or not key.isidentifier():
            raise GymSpecError(f"{spec!r}: {part!r} is not key=value")
        kwargs.append((key, _value(value)))
    missing = _import_plugins() if env_id not in gym.registry else ()
    if env_id not in gym.registry:
        if missing:  # perhaps theirs: say so, and let callers tell a missing package from a wrong id
            raise EnvMissingError(f"no registered gymnasium env {env_id!r}; {', '.join(missing)} (which registers more) "
                                  "isn't installed: pip install 'hagent[gym]'")
        raise GymSpecError(f"no registered gymnasium env {env_id!r} (install the package that registers it)")
    return GymParams(env_id, tuple(kwargs))


def _value(text: str) -> object:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _import_plugins() -> tuple[str, ...]:
    """Import the packages that register envs; the ones that aren't installed."""
    missing = []
    for name in PLUGINS:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                module = importlib.import_module(name)
            except ImportError:
                missing.append(name)
                continue
            if hasattr(gym, "register_envs"):
                gym.register_envs(module)
    return tuple(missing)


def build_env(spec: str, name: str, make: Callable[[], gym.Env]) -> gym.Env:
    """`make()` with its stdout kept off the terminal; its failures as one-line `GymSpecError`s
    (`EnvBuildError` when the env's own code raised). `name` names the env in messages."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return make()
        except TypeError as err:  # an unknown keyword for this env
            raise GymSpecError(f"{spec!r}: {err}") from None
        except Exception as err:  # noqa: BLE001 -- the env's own code failed; say so in one line, not its traceback
            said = str(err).strip().splitlines()[0] if str(err).strip() else "no message"
            raise EnvBuildError(f"{name}'s own make raised {type(err).__name__} ({said}): the env itself "
                                "fails to build with the packages installed here") from None


class GymWorld:
    """A gymnasium env seen as hagent sees worlds: observations `vector` (float32), `goal` (the
    desired goal, float32), `achieved` (the achieved goal) and `mission` (text); `judge()` from
    the env's own success signal. The env gives its goal either in its `Dict` observation or, with
    a `Box` observation, in reset's `info["goal"]` (`goal_in_info`; see the module's docstring)."""

    step_keys = GYM_KEYS
    """The per-step arrays of this world's data."""

    def __init__(self, spec: str, env: gym.Env, seed: int | None = None):
        self.spec = spec
        self.env = env
        space = env.observation_space
        self.goal_in_info = _goal_in_info(spec, env)
        if not isinstance(env.action_space, spaces.Box) or len(env.action_space.shape) != 1:
            raise GymSpecError(f"{spec!r}: hagent needs a continuous (Box) action vector; this env acts with {env.action_space}")
        self.action_space = env.action_space
        self.max_steps = int(env.spec.max_episode_steps or 1000) if env.spec is not None else 1000
        self.inputs = int(np.prod(space.shape if self.goal_in_info else space["observation"].shape))
        self._seed = seed
        self._success = False
        self._fresh = False
        self._goal: np.ndarray | None = None  # an info-goal env's goal, kept for the episode
        self._obs: dict | None = None

    @property
    def actions(self) -> int:
        """Length of the action vector."""
        return int(self.action_space.shape[0])

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """A new episode; the first reset uses the world's seed when none is given."""
        if seed is None:
            seed, self._seed = self._seed, None
        with contextlib.redirect_stdout(io.StringIO()):
            raw, info = self.env.reset(seed=seed, options=options)
        self._success, self._fresh = False, True
        if self.goal_in_info:
            self._goal = np.asarray(info["goal"], dtype=np.float32).ravel()
        self._obs = self._observe(raw)
        return self._obs, info

    @property
    def fresh(self) -> bool:
        """Whether no step was taken since the last reset."""
        return self._fresh

    def step(self, action) -> tuple[dict, float, bool, bool, dict]:
        """One env step; success (the env's own signal) ends the episode."""
        action = np.clip(np.asarray(action, dtype=np.float32), self.action_space.low, self.action_space.high)
        raw, reward, terminated, truncated, info = self.env.step(action)
        self._fresh = False
        self._success = self._success or bool(info.get("success", info.get("is_success", False)))
        self._obs = self._observe(raw)
        return self._obs, float(reward), bool(terminated or self._success), bool(truncated), info

    def observe(self) -> dict:
        """The latest observation."""
        if self._obs is None:
            raise RuntimeError("reset the world first")
        return self._obs

    def judge(self) -> Judgement:
        """The env's own verdict: success once its success signal was seen (scoring only)."""
        return Judgement(self._success, ())

    def explore(self, seed: int, rng: np.random.Generator, max_steps: int, cfg: object = None) -> dict[str, np.ndarray]:
        """One reward-free episode of this world's own explorer (`explore_episode`; no settings)."""
        return explore_episode(self, seed, rng, max_steps)

    def close(self) -> None:
        self.env.close()

    def _state(self, raw: dict | np.ndarray) -> dict[str, np.ndarray]:
        """The agent's side of an env observation: its `vector` and its `achieved` goal (an
        info-goal env's goal is an observation, so there the achieved goal is the vector itself)."""
        if self.goal_in_info:
            vector = np.asarray(raw, dtype=np.float32).ravel()
            return {"vector": vector, "achieved": vector}
        return {
            "vector": np.asarray(raw["observation"], dtype=np.float32).ravel(),
            "achieved": np.asarray(raw["achieved_goal"], dtype=np.float32).ravel(),
        }

    def _observe(self, raw: dict | np.ndarray) -> dict:
        goal = self._goal if self.goal_in_info else np.asarray(raw["desired_goal"], dtype=np.float32).ravel()
        return {**self._state(raw), "goal": goal, "mission": "reach the goal " + ", ".join(f"{v:.2f}" for v in goal)}


def _goal_in_info(spec: str, env: gym.Env) -> bool:
    """Which form an env gives its goal in: False for a goal-conditioned `Dict` observation, True
    for a `Box` vector whose reset info carries `goal` of the same shape (one reset to see);
    `GymSpecError` naming both forms for any other env."""
    space = env.observation_space
    if isinstance(space, spaces.Dict) and {"observation", "desired_goal", "achieved_goal"} <= set(space.spaces):
        return False
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        with contextlib.redirect_stdout(io.StringIO()):
            _, info = env.reset()
        if "goal" in info and np.shape(info["goal"]) == space.shape:
            return True
    raise GymSpecError(
        f"{spec!r}: hagent needs either a Dict observation with 'observation', 'desired_goal' and 'achieved_goal' "
        "(the goal-conditioned convention), or a Box observation vector with the goal, an observation of the same "
        f"shape, in reset's info['goal']; this env observes {space}"
    )


def make_gym_world(spec: str, seed: int | None = None) -> GymWorld:
    """A gym world from its spec; the first `reset()` uses `seed`."""
    params = parse_gym(spec)
    env = build_env(spec, params.env_id, lambda: gym.make(params.env_id, **dict(params.kwargs)))
    return make_env_world(spec, env, seed)


def make_env_world(spec: str, env: gym.Env, seed: int | None = None) -> GymWorld:
    """`GymWorld(spec, env, seed)`, closing `env` when it doesn't offer what hagent needs."""
    try:
        return GymWorld(spec, env, seed)
    except GymSpecError:
        env.close()
        raise


def explore_episode(world: GymWorld, seed: int, rng: np.random.Generator, max_steps: int, hold: tuple[int, int] = (1, 8), chunk: int = 5) -> dict[str, np.ndarray]:
    """One reward-free exploration episode: uniformly random actions, each held for a random
    number of `chunk`-step chunks in `hold` (5 to 40 steps: a point mass builds up speed and
    travels). Whole chunks from the episode's start keep the action constant inside every chunk,
    so a level that acts every `chunk` steps (`level.time_scale`) trains on the same data. The
    goal is never read. Arrays of length L+1; the last row's action is zeros."""
    obs, _ = world.reset(seed=seed)
    vectors, actions, achieved = [obs["vector"]], [], [obs["achieved"]]
    low, high = world.action_space.low, world.action_space.high
    left, action = 0, None
    for _ in range(max_steps):
        if left == 0:
            action = rng.uniform(low, high).astype(np.float32)
            left = chunk * int(rng.integers(hold[0], hold[1] + 1))
        left -= 1
        # a wrapped env's step, not the world's: reaching the (unread) goal must not end exploration
        # (an env that ends its own episodes at the goal, as OGBench's mazes do, still ends it)
        raw, _, terminated, truncated, _ = world.env.step(action)
        actions.append(action)
        state = world._state(raw)
        vectors.append(state["vector"])
        achieved.append(state["achieved"])
        if terminated or truncated:
            break
    actions.append(np.zeros_like(actions[0]))
    return {
        "vector": np.stack(vectors).astype(np.float32),
        "action": np.stack(actions).astype(np.float32),
        "achieved": np.stack(achieved).astype(np.float32),
    }
