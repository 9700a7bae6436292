"""Text rendering of a grid observation (two characters per cell, optional ANSI colour), and
a line saying what a world that isn't a grid observes.

It reads the observation only, so it shows exactly what the agent sees.
"""

from __future__ import annotations

import numpy as np
from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT

_GLYPH = {"wall": "██", "floor": "··", "goal": "GG", "lava": "~~", "key": "k", "ball": "o", "box": "b"}
_HEADING = (">", "v", "<", "^")
_ANSI = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "purple": 35, "grey": 90}


def render_text(obs: dict, color: bool = False) -> str:
    """Draw `obs["image"] [W, H, 3]` as rows of text; the agent is `>>`, `vv`, `<<` or `^^`.
    An observation that is not a grid's (no heading: an RGB view, a vector) draws as ""."""
    if "direction" not in obs:
        return ""
    image = np.asarray(obs["image"])
    rows = []
    for y in range(image.shape[1]):
        cells = []
        for x in range(image.shape[0]):
            kind, col, state = (int(v) for v in image[x, y])
            name, colour = IDX_TO_OBJECT[kind], IDX_TO_COLOR.get(col, "grey")
            match name:
                case "empty" | "unseen":
                    glyph, colour = "  ", None
                case "agent":
                    glyph, colour = _HEADING[state] * 2, "red"
                case "door":
                    glyph = ("[]", "DD", "LL")[state]  # open, closed, locked
                case "wall":
                    glyph, colour = _GLYPH["wall"], "grey"
                case "lava":
                    glyph, colour = _GLYPH["lava"], "red"
                case "key" | "ball" | "box":
                    glyph = _GLYPH[name] + colour[0].upper()
                case _:
                    glyph = _GLYPH.get(name, "??")
            if color and colour is not None:
                glyph = f"\x1b[{_ANSI[colour]}m{glyph}\x1b[0m"
            cells.append(glyph)
        rows.append("".join(cells))
    return "\n".join(rows)


LEGEND = "legend: >> agent (heading)  ██ wall  [] open door  DD closed door  LL locked door  ~~ lava  kR key  oR ball  bR box (second letter = colour)"


def describe_view(obs: dict) -> str:
    """What `render_text` draws, in one line: the grid's legend, or for a world with no grid to
    draw, what it observes instead (a pixel view and its goal image, or a vector and a goal point)."""
    if "direction" in obs:
        return LEGEND
    if "image" in obs:
        h, w = np.asarray(obs["image"]).shape[:2]
        goal = " and a goal image of the same size" if obs.get("goal") is not None else ""
        return f"no grid to draw: this world observes a {w}x{h} RGB view{goal} (hagent chat draws them)"
    if "vector" in obs and "goal" in obs:
        at = ", ".join(f"{v:.2f}" for v in np.asarray(obs["achieved"]).ravel()) if "achieved" in obs else "?"
        goal = ", ".join(f"{v:.2f}" for v in np.asarray(obs["goal"]).ravel())
        return (f"no grid to draw: this gym world observes a vector of {np.asarray(obs['vector']).size} numbers; "
                f"in its goal space the agent is at ({at}) and the goal at ({goal}) (hagent chat draws them)")
    return "no grid to draw: this world's observation is not a grid"
