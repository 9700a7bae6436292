"""The conversation: every message wrapped in full at the pane's width, re-wrapped on resize."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import RichLog

WHO_STYLE = {"you": "bold cyan", "agent": "bold green", "error": "bold red", "system": "bold yellow"}


class ChatLog(RichLog):
    """A `RichLog` of (who, text) messages that never cuts a line: each is word-wrapped to the
    log's width, and the whole conversation is wrapped again when that width changes (a
    `RichLog` wraps a line once, when it is written, and by default at 78 columns or more)."""

    DEFAULT_CSS = """
    ChatLog { scrollbar-gutter: stable; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None):  # noqa: A002 -- Textual's own keyword
        super().__init__(id=id, wrap=True, markup=False, min_width=1)
        self.messages: list[tuple[str, str]] = []
        self._wrapped_at = 0  # the width the lines were last wrapped at

    def add(self, who: str, text: str) -> None:
        """Append one message."""
        self.messages.append((who, text))
        self._render_message(who, text)

    def _render_message(self, who: str, text: str) -> None:
        line = Text(f"{who}: ", style=WHO_STYLE.get(who, "bold"))
        line.append(text)
        self.write(line)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width == self._wrapped_at or not self.messages:
            self._wrapped_at = width
            return
        self._wrapped_at = width
        self.clear()
        for who, text in self.messages:
            self._render_message(who, text)
