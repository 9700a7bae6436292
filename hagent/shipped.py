"""Where the shipped checkpoints and scenario files are.

In a checkout (and an editable install) they are the repository's `checkpoints/` and
`tests/scenarios/`. A built wheel carries copies of both as package data under
`hagent/_shipped/` (see `setup.py`), so `Agent.load()`, `hagent chat` and `hagent scenarios`
work from any folder after a plain `pip install <checkout>`. The wheel's copies are looked
for first.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_shipped"
"""The wheel's copies: `checkpoints/<name>/` and `scenarios/*.toml`."""
CHECKOUT = Path(__file__).resolve().parent.parent
"""The repository root, when hagent runs from a checkout."""


def checkpoint(name: str) -> Path:
    """The shipped checkpoint `name` (`default`, `point`, `pointmaze`, ...)."""
    packaged = PACKAGED / "checkpoints" / name
    return packaged if packaged.is_dir() else CHECKOUT / "checkpoints" / name


FOR_FAMILY = {"point": "point", "gym": "pointmaze", "ogbench": "ogbench"}
"""The shipped checkpoint of each world family that has its own; the others are served by `default`."""


def for_family(family: str) -> Path:
    """The shipped checkpoint that serves a world family (`rooms`, `point`, `gym`, ...)."""
    return checkpoint(FOR_FAMILY.get(family, "default"))


def scenarios() -> Path:
    """The folder of the shipped scenario files."""
    packaged = PACKAGED / "scenarios"
    return packaged if packaged.is_dir() else CHECKOUT / "tests" / "scenarios"
