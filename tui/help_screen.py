"""The help screen: keys and example instructions."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from hagent.acting.chat import HELP

KEYS = """Keys
  enter   send the instruction typed below
  F5      step: take one action of the current instruction
  F6      run to the end
  F7      pause
  F2      new world (choose spec and seed)
  F1      this help; escape closes it
  ctrl+q  quit"""


class HelpScreen(ModalScreen):
    """Keys and what to say; escape closes it."""

    BINDINGS: ClassVar[list] = [("escape", "app.pop_screen", "close"), ("f1", "app.pop_screen", "close")]
    DEFAULT_CSS = "HelpScreen { align: center middle; } #help { width: 90%; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(KEYS + "\n\n" + HELP + "\n\nWorlds: rooms:RxC[?lava=N], babyai:<Level> (GoTo, GoToLocal, Open, ...), minigrid:<EnvId>")
