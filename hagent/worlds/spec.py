"""World specs: one string names every world hagent acts in (`rooms:3x3`, `babyai:GoToLocal`,
`minigrid:<EnvId>`, `point:tworooms`, `gym:<EnvId>`, `ogbench:<dataset>`); `parse_spec` validates
one and says which family it is, with a `WorldSpecError` that lists the known forms when it names
nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid-* and BabyAI-* environment ids)

KNOWN_FORMS = (
    "rooms:RxC[?lava=N&objects=N&size=N&open=P&task=goto|pickup|open|putnext|any]",
    "babyai:<Level>",
    "minigrid:<EnvId>",
    "point:tworooms[?wall=random|fixed&goal=image|text]",
    "point:maze?rooms=2|3|4|6|9",
    "gym:<EnvId>[?key=value&...]",
    "ogbench:<dataset-or-env>[?task=1..5]",
)
SPEC_EXAMPLES = ("rooms:3x3", "rooms:3x3?lava=4", "babyai:GoToLocal", "minigrid:MiniGrid-LavaCrossingS9N1-v0")
ROOMS_TASKS = ("goto", "pickup", "open", "putnext", "any")
MAX_ROOMS_SIDE = 8
STEP_KEYS = ("image", "direction", "carried", "action", "agent", "room", "on_lava", "events")
"""Per-step arrays of a grid world's dataset: the observation (view, heading, what is carried),
the action taken from it and the world's labels for intrinsic costs and probes."""


def step_keys(spec: str) -> tuple[str, ...]:
    """The per-step arrays a dataset collected in world `spec` holds (each family's own)."""
    if spec.startswith("point:"):
        from hagent.worlds.point import POINT_KEYS

        return POINT_KEYS
    if spec.startswith(("gym:", "ogbench:")):
        from hagent.worlds.gym import GYM_KEYS

        return GYM_KEYS
    return STEP_KEYS


FAMILY_FORMS = ("rooms:RxC", "babyai:<Level>", "minigrid:<EnvId>", "point:tworooms", "point:maze", "gym:<EnvId>")
"""The known forms without their options, for error messages (`KNOWN_FORMS` has the options, and
`ogbench:`, left out here to keep the message one short line)."""


class WorldSpecError(ValueError):
    """A world spec that names no known world; the message lists the known forms (their options
    are in every command's `--help`)."""

    def __init__(self, spec: str, reason: str):
        forms = ", ".join(FAMILY_FORMS)
        super().__init__(f"unknown world spec {spec!r}: {reason} (known forms: {forms}; options in hagent show --help)")
        self.world_spec = spec
        self.reason = reason


class WorldBuildError(WorldSpecError):
    """A known world whose env failed to build (an exception inside a gym env's `make`)."""

    def __init__(self, spec: str, reason: str):
        ValueError.__init__(self, f"can't build world {spec!r}: {reason}")
        self.world_spec = spec
        self.reason = reason


class WorldUnavailableError(WorldSpecError):
    """A well-formed spec of a world this installation can't build: the package that provides its
    env isn't installed (`pip install 'hagent[gym]'` for PointMaze, `'hagent[ogbench]'` for OGBench)."""


@dataclass(frozen=True)
class RoomsParams:
    """Parameters of a `rooms:RxC` world."""

    rows: int
    cols: int
    lava: int = 0
    objects: int | None = None  # None: two per room
    size: int = 7
    open: float = 0.5
    task: str = "goto"


@dataclass(frozen=True)
class WorldSpec:
    """A parsed world spec: `family` is rooms, babyai, minigrid, point, gym or ogbench; `env_id`
    names a gym id."""

    text: str
    family: str
    env_id: str | None = None
    rooms: RoomsParams | None = None


def parse_spec(spec: str) -> WorldSpec:
    """Parse and validate a world spec string; raise `WorldSpecError` listing the known forms."""
    if not isinstance(spec, str):
        raise WorldSpecError(repr(spec), "a world spec is a string")
    family, sep, rest = spec.strip().partition(":")
    if not sep or not rest:
        raise WorldSpecError(spec, "expected FAMILY:NAME")
    match family:
        case "rooms":
            return WorldSpec(spec, "rooms", rooms=_parse_rooms(spec, rest))
        case "babyai":
            env_id = f"BabyAI-{rest}-v0"
            if not re.fullmatch(r"[A-Za-z0-9]+", rest) or env_id not in gym.registry:
                raise WorldSpecError(spec, f"no BabyAI level {rest!r} (e.g. GoToLocal, GoTo, PickupLoc)")
            return WorldSpec(spec, "babyai", env_id=env_id)
        case "minigrid":
            if not rest.startswith("MiniGrid-") or rest not in gym.registry:
                raise WorldSpecError(spec, f"no minigrid environment {rest!r}")
            return WorldSpec(spec, "minigrid", env_id=rest)
        case "point":
            from hagent.worlds.point import PointSpecError, parse_point

            try:
                parse_point(spec.strip())
            except PointSpecError as err:
                raise WorldSpecError(spec, str(err)) from None
            return WorldSpec(spec, "point")
        case "gym" | "ogbench":
            from hagent.worlds.gym import EnvMissingError, GymSpecError, parse_gym
            from hagent.worlds.ogbench import parse_ogbench

            parse = parse_gym if family == "gym" else parse_ogbench
            try:
                params = parse(spec.strip())
            except EnvMissingError as err:
                raise WorldUnavailableError(spec, str(err)) from None
            except GymSpecError as err:
                raise WorldSpecError(spec, str(err)) from None
            return WorldSpec(spec, family, env_id=params.env_id)
        case _:
            raise WorldSpecError(spec, f"unknown family {family!r}")


def _parse_rooms(spec: str, rest: str) -> RoomsParams:
    shape, _, query = rest.partition("?")
    m = re.fullmatch(r"(\d+)x(\d+)", shape)
    if not m:
        raise WorldSpecError(spec, "rooms size must look like 3x3")
    rows, cols = int(m.group(1)), int(m.group(2))
    if not (1 <= rows <= MAX_ROOMS_SIDE and 1 <= cols <= MAX_ROOMS_SIDE):
        raise WorldSpecError(spec, f"rooms per side must be 1..{MAX_ROOMS_SIDE}")
    params: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, eq, value = item.partition("=")
        try:
            match key:
                case "lava" | "objects" | "size":
                    params[key] = int(value)
                case "open":
                    params[key] = float(value)
                case "task":
                    if value not in ROOMS_TASKS:
                        raise ValueError
                    params[key] = value
                case _:
                    raise WorldSpecError(spec, f"unknown option {key!r} (lava, objects, size, open, task)")
        except WorldSpecError:
            raise
        except ValueError:
            raise WorldSpecError(spec, f"bad value for {key}: {value!r}") from None
        if not eq:
            raise WorldSpecError(spec, f"option {key!r} needs a value")
    p = RoomsParams(rows=rows, cols=cols, **params)
    if not 5 <= p.size <= 12:
        raise WorldSpecError(spec, "size (cells per room side, walls included) must be 5..12")
    if not 0.0 <= p.open <= 1.0:
        raise WorldSpecError(spec, "open is a probability in 0..1")
    inner = (p.size - 2) ** 2 * rows * cols
    if p.lava < 0 or p.lava > inner // 6:
        raise WorldSpecError(spec, f"lava must be 0..{inner // 6} for this size")
    if p.objects is not None and not 1 <= p.objects <= inner // 6:
        raise WorldSpecError(spec, f"objects must be 1..{inner // 6} for this size")
    return p
