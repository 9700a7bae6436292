"""hagent: hierarchical, objective-driven agents in the shape of LeCun's H-JEPA.

    >>> import hagent
    >>> world = hagent.make_world("rooms:3x3", seed=0)
    >>> hagent.parse("go to the red ball, avoid lava").describe()
    'go to the red ball, avoid lava'
"""

from hagent.config import ConfigError, HagentConfig, load_config
from hagent.language import ParseError, Task, parse
from hagent.worlds import World, WorldSpecError, make_world

__all__ = [
    "Agent",
    "ConfigError",
    "HagentConfig",
    "ParseError",
    "Task",
    "World",
    "WorldSpecError",
    "load_config",
    "make_world",
    "parse",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The agent pulls in torch; import it only when asked, so `hagent --help` stays fast.
    if name == "Agent":  # one agent for every world: Agent.load(dir) for any checkpoint
        from hagent.acting.agent import Agent

        return Agent
    raise AttributeError(f"module 'hagent' has no attribute {name!r}")
