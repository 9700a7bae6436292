"""The help screen: keys and example instructions."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from hagent.acting.chat import HELP
from hagent.worlds import KNOWN_FORMS

KEYS = """Keys
  enter   send the instruction typed below
  F5      take one action (starts the instruction typed below)
  F6      run to the end
  F7      pause
  F2      new world (choose spec and seed)
  F1      this help; escape closes it
  ctrl+q  quit"""
WORLDS = "Worlds (new world SPEC, or F2):\n" + "\n".join(f"  {form}" for form in KNOWN_FORMS) + (
    "\n  e.g. rooms:3x3?lava=4, babyai:GoTo, minigrid:MiniGrid-DoorKey-8x8-v0, point:tworooms, gym:PointMaze_UMaze-v3")


class HelpScreen(ModalScreen):
    """Keys, what to say and the worlds; escape closes it."""

    BINDINGS: ClassVar[list] = [("escape", "app.pop_screen", "close"), ("f1", "app.pop_screen", "close")]
    DEFAULT_CSS = "HelpScreen { align: center middle; } #help { width: 90%; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            # plain text, not markup: "[SPEC] [seed N]" and the forms' "[?lava=N...]" are words to show
            yield Static(Text(KEYS + "\n\n" + HELP + "\n\n" + WORLDS), id="help-text")
