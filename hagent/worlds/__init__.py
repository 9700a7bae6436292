"""Worlds: every kind of environment hagent acts in, behind one spec string.

`make_world(spec, seed)` (here) and `parse_spec(spec)` (`spec`) serve every family: `rooms:`
(`rooms`), `babyai:` and `minigrid:` grid worlds (`grid`), the continuous `point:` worlds seen as
pixels (`point`), any goal-conditioned gymnasium env (`gym`) and OGBench's envs (`ogbench`).
Each world judges its own episodes (`judgement`) with code of its own (`regions` reads room
descriptions from the true grid); the agent never reads those judgements while it acts.
"""

from hagent.worlds.grid import (
    ACTION_NAMES,
    DONE,
    DROP,
    EVENT_KINDS,
    FORWARD,
    LEFT,
    PICKUP,
    RIGHT,
    TOGGLE,
    AgentLabels,
    DoorInfo,
    Event,
    Moved,
    ObjectInfo,
    SymbolicState,
    World,
    color_name,
    make_grid_world,
)
from hagent.worlds.judgement import Judgement
from hagent.worlds.rooms import RoomsEnv
from hagent.worlds.spec import (
    KNOWN_FORMS,
    MAX_ROOMS_SIDE,
    ROOMS_TASKS,
    SPEC_EXAMPLES,
    STEP_KEYS,
    RoomsParams,
    WorldBuildError,
    WorldSpec,
    WorldSpecError,
    WorldUnavailableError,
    parse_spec,
    step_keys,
)

__all__ = [
    "ACTION_NAMES", "DONE", "DROP", "EVENT_KINDS", "FORWARD", "KNOWN_FORMS", "LEFT", "MAX_ROOMS_SIDE", "PICKUP",
    "RIGHT", "ROOMS_TASKS", "SPEC_EXAMPLES", "STEP_KEYS", "TOGGLE", "AgentLabels", "DoorInfo", "Event", "Judgement", "Moved",
    "ObjectInfo", "RoomsEnv", "RoomsParams", "SymbolicState", "World", "WorldBuildError", "WorldSpec", "WorldSpecError", "WorldUnavailableError", "color_name",
    "make_grid_world", "make_world", "parse_spec", "step_keys",
]


def make_world(spec: str, seed: int | None = None, render_mode: str | None = None) -> World:
    """Build a world from its spec; the first `reset()` uses `seed`. (The default world is
    `hagent.config.WorldConfig().spec`, the one place it is set.)

    >>> world = make_world("rooms:3x3", seed=0)
    >>> obs, info = world.reset()
    >>> obs["image"].shape
    (19, 19, 3)
    """
    if spec.startswith("point:"):
        from hagent.worlds.point import make_point_world

        return make_point_world(spec, seed)  # type: ignore[return-value]  # a gymnasium world of its own kind
    if spec.startswith(("gym:", "ogbench:")):
        from hagent.worlds.gym import EnvBuildError, EnvMissingError, GymSpecError, make_gym_world
        from hagent.worlds.ogbench import make_ogbench_world

        make = make_gym_world if spec.startswith("gym:") else make_ogbench_world
        try:
            return make(spec, seed)  # type: ignore[return-value]
        except EnvBuildError as err:
            raise WorldBuildError(spec, str(err)) from None
        except EnvMissingError as err:
            raise WorldUnavailableError(spec, str(err)) from None
        except GymSpecError as err:
            raise WorldSpecError(spec, str(err)) from None
    return make_grid_world(parse_spec(spec), seed, render_mode)
