"""hagent: hierarchical, objective-driven agents in the shape of LeCun's H-JEPA.

    >>> import hagent
    >>> world = hagent.make_world("rooms:3x3", seed=0)
"""

from hagent.config import ConfigError, HagentConfig, load_config
from hagent.worlds import World, WorldSpecError, make_world

__all__ = ["ConfigError", "HagentConfig", "World", "WorldSpecError", "load_config", "make_world"]
__version__ = "0.1.0"
