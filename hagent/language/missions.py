"""The missions of the installed minigrid's registered environments: the first instructions a
new user meets, and the language front end's coverage test.

    >>> missions = list(registered_missions(seeds=range(1), ids=["MiniGrid-DoorKey-5x5-v0"]))
    >>> missions[0].text
    'use the key to open the door and then get to the goal'
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import gymnasium as gym
import minigrid  # noqa: F401  (importing registers the MiniGrid-* and BabyAI-* env ids)
from gymnasium.error import DependencyNotInstalled


class Mission(NamedTuple):
    """One registered environment's mission on one seed; `source` says where the text came from:
    "reset", or "mission space" when the env can't be reset here (an optional package missing)."""

    env_id: str
    family: str
    seed: int
    text: str
    source: str


def family(env_id: str) -> str:
    """The environment family of a registered id: "MiniGrid-DoorKey-8x8-v0" -> "minigrid:DoorKey",
    "BabyAI-GoToLocalS8N7-v0" -> "babyai:GoToLocal", "MiniGrid-SimpleCrossingS9N1-v0" -> "minigrid:SimpleCrossing"."""
    suite, name = env_id.split("-")[:2]
    name = re.sub(r"(S\d+)?(N\d+)?(Random)?$", "", name) or name
    return f"{suite.lower()}:{name}"


def registered_ids() -> list[str]:
    """Every registered MiniGrid-* and BabyAI-* environment id, sorted."""
    return sorted(i for i in gym.registry if i.startswith(("MiniGrid-", "BabyAI-")))


def registered_missions(seeds: Iterable[int] = range(5), ids: Iterable[str] | None = None) -> Iterator[Mission]:
    """The mission of each registered environment (or of `ids`) on each seed. BabyAI's level
    generator prints as it retries; that is kept off stdout."""
    seeds = list(seeds)
    for env_id in registered_ids() if ids is None else ids:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "out of date: upgrade to v1" for old ids
            env = gym.make(env_id).unwrapped
        try:
            for seed in seeds:
                with contextlib.redirect_stdout(io.StringIO()):
                    env.reset(seed=seed)
                yield Mission(env_id, family(env_id), seed, env.mission, "reset")
        except (DependencyNotInstalled, FileNotFoundError) as err:
            # The Wave Function Collapse worlds need `imageio` and pattern images (which the
            # minigrid 3.2.0 wheel leaves out) to build a grid; their mission doesn't depend on
            # the grid, so read it from the env's own mission space.
            note = str(err).split(",")[0] if isinstance(err, DependencyNotInstalled) else "pattern image missing"
            for seed in seeds:
                yield Mission(env_id, family(env_id), seed, env.observation_space["mission"].sample(), f"mission space ({note})")
        finally:
            env.close()
