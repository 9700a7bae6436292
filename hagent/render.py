"""Text rendering of a grid observation (two characters per cell, optional ANSI colour).

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
