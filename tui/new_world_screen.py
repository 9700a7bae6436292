"""Choosing a new world: its spec and seed."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class NewWorldScreen(ModalScreen[tuple[str, int] | None]):
    """Asks for a world spec and a seed; dismisses with them, or None when cancelled."""

    BINDINGS: ClassVar[list] = [("escape", "cancel", "cancel")]
    DEFAULT_CSS = "NewWorldScreen { align: center middle; } #box { width: 60; height: auto; border: thick $accent; background: $surface; padding: 1 2; }"

    def __init__(self, spec: str, seed: int):
        super().__init__()
        self.spec, self.seed = spec, seed

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label("World spec (rooms:3x3, rooms:3x3?lava=6, babyai:GoTo, ...)")
            yield Input(self.spec, id="spec")
            yield Label("Seed")
            yield Input(str(self.seed + 1), id="seed", type="integer")
            yield Button("Make the world", id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def _submit(self) -> None:
        spec = self.query_one("#spec", Input).value.strip()
        seed_text = self.query_one("#seed", Input).value.strip() or "0"
        self.dismiss((spec, int(seed_text)) if seed_text.isdigit() else (spec, 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
