"""The world drawn in colour, by the kind of observation it gives: a grid world's cells (walls,
doors open/closed/locked, objects, lava, the agent and its heading) or a pixel world's view in
half-block characters (the goal image's dot in green) or a gym world's goal space (the agent,
its goal and level 1's landmarks as points), with level 1's planned route overlaid and the
current subgoal highlighted."""

from __future__ import annotations

import numpy as np
from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT
from rich.text import Text
from textual import events
from textual.message import Message
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


POOL = 2  # pixels per character column (and per half-character row) of a pixel view


def draw_pixels(obs: dict, route: tuple[tuple[float, float], ...] = ()) -> Text:
    """Rich text of an RGB view `obs["image"] [H, W, 3]`, pooled `POOL`x`POOL` (max), two pixel
    rows per character (▀: foreground the upper row, background the lower); the goal image's
    dot is drawn green, `route` places (x, y in pixels) as cyan dots, the first one brighter."""
    image = np.asarray(obs["image"], dtype=np.int32)
    if obs.get("goal") is not None and np.asarray(obs["goal"]).any():
        goal = np.asarray(obs["goal"], dtype=np.int32)
        dot = goal[..., 0] - goal[..., 1]  # the dot is red only; walls are white in every channel
        image = image.copy()
        image[..., 1] = np.maximum(image[..., 1], np.where(image[..., 0] < 128, dot, 0))
    h, w = image.shape[0] // POOL, image.shape[1] // POOL
    small = image[: h * POOL, : w * POOL].reshape(h, POOL, w, POOL, 3).max(axis=(1, 3))
    marks = {}
    for j, (x, y) in enumerate(route):
        marks[(int(y) // (2 * POOL), int(x) // POOL)] = "bold bright_cyan" if j == 0 else "cyan"
    text = Text()
    for row in range(0, h - 1, 2):
        for col in range(w):
            top, low = small[row], small[row + 1]
            style = f"rgb({top[col][0]},{top[col][1]},{top[col][2]}) on rgb({low[col][0]},{low[col][1]},{low[col][2]})"
            mark = marks.get((row // 2, col))
            text.append("•" if mark else "▀", style=f"{mark} on rgb({low[col][0]},{low[col][1]},{low[col][2]})" if mark else style)
        text.append("\n")
    return text


def draw_goal_space(obs: dict, route: tuple = (), extent: tuple[float, float, float, float] | None = None,
                    size: tuple[int, int] = (48, 20)) -> Text:
    """Rich text of a goal-space world (a gym env's `achieved` and `goal` points, `[2]` each):
    the agent ●, the goal ◎ and `route` (level 1's landmarks) as dots, the first brighter, in
    `extent` (x0, y0, x1, y1; y grows upward) on a `size` (columns, rows) character grid."""
    points = [np.asarray(obs["achieved"], dtype=float)[:2], np.asarray(obs["goal"], dtype=float)[:2]]
    points += [np.asarray(p, dtype=float)[:2] for p in route]
    x0, y0, x1, y1 = extent if extent is not None else (*np.min(points, 0), *np.max(points, 0))
    cols, rows = size
    def cell(p: np.ndarray) -> tuple[int, int]:
        c = int(round((p[0] - x0) / max(x1 - x0, 1e-6) * (cols - 1)))
        r = int(round((y1 - p[1]) / max(y1 - y0, 1e-6) * (rows - 1)))
        return min(max(r, 0), rows - 1), min(max(c, 0), cols - 1)
    marks: dict[tuple[int, int], tuple[str, str]] = {}
    for j, p in reversed(list(enumerate(route))):
        marks[cell(np.asarray(p, dtype=float))] = ("•", "bold bright_cyan" if j == 0 else "cyan")
    marks[cell(points[1])] = ("◎", "bold green")
    marks[cell(points[0])] = ("●", "bold red")
    text = Text()
    for r in range(rows):
        for c in range(cols):
            glyph, style = marks.get((r, c), ("·" if (r + c) % 2 == 0 else " ", "grey23"))
            text.append(glyph, style=style)
        text.append("\n")
    return text


class WorldView(Static):
    """The current observation with the plan drawn over it."""

    DEFAULT_CSS = "WorldView { height: auto; padding: 0 1; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.obs: dict | None = None
        self.route: tuple[tuple[int, int], ...] = ()
        self.extent: tuple[float, float, float, float] | None = None  # a goal-space world's frame so far
        self._drawn_at: tuple[int, int] | None = None  # the size a goal-space picture was last drawn at

    class Resized(Message):
        """The view got a new size (a new world, or a resized terminal): the room left below it changed."""

    def on_resize(self, event: events.Resize) -> None:
        if self.obs is not None and "achieved" in self.obs and self._fit() != self._drawn_at:
            self.show(self.obs, self.route)  # a goal-space picture is drawn to the view's width
        self.post_message(self.Resized())

    def _fit(self) -> tuple[int, int]:
        """The goal-space picture's (columns, rows): the view's width (48 before it has one),
        and half as many rows, within 8..24."""
        cols = self.content_region.width or 48
        return max(cols, 8), min(max(cols // 2, 8), 24)

    def show(self, obs: dict, route: tuple = ()) -> None:
        """Draw `obs` with `route` (level 1's waypoints; the first is level 0's subgoal): grid
        cells when the observation is a grid's codes (it has a heading), else pixels."""
        self.obs, self.route = obs, tuple(route)
        if "direction" in obs:
            self.update(draw(obs, self.route, self.route[0] if self.route else None))
        elif "image" in obs:
            self.update(draw_pixels(obs, self.route))
        else:  # a goal-space world: the frame only grows, so the picture doesn't jump as the agent moves
            pts = np.array([obs["achieved"][:2], obs["goal"][:2], *[p[:2] for p in self.route]], dtype=float)
            lo, hi = pts.min(0) - 0.5, pts.max(0) + 0.5
            if self.extent is not None:
                lo, hi = np.minimum(lo, self.extent[:2]), np.maximum(hi, self.extent[2:])
            self.extent = (*lo, *hi)
            self._drawn_at = self._fit()
            self.update(draw_goal_space(obs, self.route, self.extent, self._drawn_at))
