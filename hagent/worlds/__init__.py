"""Worlds: every kind of environment hagent acts in, behind one spec string.

`make_world(spec, seed)` and `parse_spec(spec)` serve every family: `rooms:`, `babyai:` and
`minigrid:` grid worlds (`grid`), the continuous `point:` worlds seen as pixels (`point`) and any
goal-conditioned gymnasium env (`gym`). Each world judges its own episodes (`judgement`) with
code of its own (`regions` reads room descriptions from the true grid); the agent never reads
those judgements while it acts.
"""

from hagent.worlds.grid import (
    ACTION_NAMES,
    DONE,
    DROP,
    EVENT_KINDS,
    FORWARD,
    KNOWN_FORMS,
    LEFT,
    MAX_ROOMS_SIDE,
    PICKUP,
    RIGHT,
    ROOMS_TASKS,
    SPEC_EXAMPLES,
    STEP_KEYS,
    TOGGLE,
    AgentLabels,
    DoorInfo,
    Event,
    Moved,
    ObjectInfo,
    RoomsEnv,
    RoomsParams,
    SymbolicState,
    World,
    WorldSpec,
    WorldSpecError,
    color_name,
    make_world,
    parse_spec,
    step_keys,
)
from hagent.worlds.judgement import Judgement

__all__ = [
    "ACTION_NAMES", "DONE", "DROP", "EVENT_KINDS", "FORWARD", "KNOWN_FORMS", "LEFT", "MAX_ROOMS_SIDE", "PICKUP",
    "RIGHT", "ROOMS_TASKS", "SPEC_EXAMPLES", "STEP_KEYS", "TOGGLE", "AgentLabels", "DoorInfo", "Event", "Judgement", "Moved",
    "ObjectInfo", "RoomsEnv", "RoomsParams", "SymbolicState", "World", "WorldSpec", "WorldSpecError", "color_name",
    "make_world", "parse_spec", "step_keys",
]
