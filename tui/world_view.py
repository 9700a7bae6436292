"""The world drawn in colour: walls, doors (open/closed/locked), objects, lava, the agent and its
heading, with level 1's planned route overlaid and the current subgoal highlighted."""

from __future__ import annotations

import numpy as np
from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT
from rich.text import Text
from textual.widgets import Static

_COLOUR = {"red": "red", "green": "green", "blue": "blue", "purple": "magenta", "yellow": "yellow", "grey": "bright_black"}
_HEADING = ("▶", "▼", "◀", "▲")


def draw(obs: dict, route: tuple[tuple[int, int], ...] = (), subgoal: tuple[int, int] | None = None) -> Text:
    """Rich text of `obs["image"]` (two characters per cell), `route` cells dotted, `subgoal` boxed."""
    image = np.asarray(obs["image"])
    on_route = set(route)
    text = Text()
    for y in range(image.shape[1]):
        for x in range(image.shape[0]):
            kind, col, state = (int(v) for v in image[x, y])
            name, colour = IDX_TO_OBJECT[kind], _COLOUR.get(IDX_TO_COLOR.get(col, "grey"), "white")
            match name:
                case "agent":
                    glyph, style = _HEADING[state] + " ", "bold red"
                case "wall":
                    glyph, style = "██", "grey50"
                case "door":
                    glyph, style = ("[]", "▮▮", "LL")[min(state, 2)], f"bold {colour}"  # open, closed, locked
                case "lava":
                    glyph, style = "≈≈", "bold dark_orange on red"
                case "key" | "ball" | "box":
                    glyph, style = {"key": "⚷ ", "ball": "● ", "box": "■ "}[name], f"bold {colour}"
                case "goal":
                    glyph, style = "GG", "bold green"
                case _:
                    glyph, style = "  ", ""
            if (x, y) == subgoal and name != "agent":
                glyph, style = ("◎ " if glyph == "  " else glyph), f"{style} on dark_green".strip()
            elif (x, y) in on_route and glyph == "  ":
                glyph, style = "· ", "bold cyan"
            text.append(glyph, style=style or None)
        text.append("\n")
    return text


class WorldView(Static):
    """The current observation with the plan drawn over it."""

    DEFAULT_CSS = "WorldView { height: auto; padding: 0 1; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.obs: dict | None = None
        self.route: tuple[tuple[int, int], ...] = ()

    def show(self, obs: dict, route: tuple[tuple[int, int], ...] = ()) -> None:
        """Draw `obs` with `route` (level 1's waypoints; the first is level 0's subgoal)."""
        self.obs, self.route = obs, tuple(route)
        self.update(draw(obs, self.route, self.route[0] if self.route else None))
