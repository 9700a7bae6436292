"""The verdict every kind of world gives on its episode (scoring only; never shown to the agent)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Judgement:
    """The world's verdict on the episode so far."""

    success: bool
    violations: tuple[str, ...]
