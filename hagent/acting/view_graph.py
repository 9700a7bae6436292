"""What level 1 plans over in the point worlds, imagined from the views (as `hagent.acting.waypoints`
imagines grid waypoints from the remembered grid).

The view shows walls as bright, colourless pixels and the agent as a red blob. The agent
remembers every wall pixel it has seen (its current view and the goal image), cuts its own
sprite out of the view, and imagines itself at every free place of a lattice: those imagined
views, encoded by level 0, are level 1's states. Two places are joined when the straight way
between them keeps clear of every remembered wall pixel, so routes go through doors. Everything
here reads observations only.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

BRIGHT = 200  # a pixel whose darkest channel is above this is a wall (bright and colourless)
REDNESS = 60  # a pixel redder than this (R minus the brighter of G and B) shows the agent


def wall_pixels(view: np.ndarray) -> np.ndarray:
    """[H, W] bool: the bright, colourless pixels of a view."""
    return view.min(axis=-1) > BRIGHT


def agent_pixels(view: np.ndarray) -> np.ndarray:
    """[H, W] float in [0, 1]: how strongly each pixel shows the agent (its redness)."""
    red = view[..., 0].astype(np.float32) - np.maximum(view[..., 1], view[..., 2]).astype(np.float32)
    return np.clip(red / 255.0, 0.0, 1.0) * (red > REDNESS)


def where_agent(view: np.ndarray, walls: np.ndarray | None = None) -> np.ndarray | None:
    """The agent's (x, y) in pixels (the red blob's weighted centre), or None when not in view.
    With the remembered `walls`, the blob's part over a wall (tinted red) is left out, so the
    estimate never lands in a wall the agent touches."""
    weight = agent_pixels(view)
    if walls is not None and (weight * ~walls).sum() > 0:
        weight = weight * ~walls
    if weight.sum() <= 0:
        return None
    ys, xs = np.mgrid[0 : view.shape[0], 0 : view.shape[1]]
    return np.array([(weight * (xs + 0.5)).sum(), (weight * (ys + 0.5)).sum()]) / weight.sum()


@dataclass(frozen=True)
class Scene:
    """Level 1's places: positions on a lattice, the views imagined there, and the ways between them."""

    walls: np.ndarray  # [H, W] bool, remembered wall pixels
    blocked: np.ndarray  # [H, W] bool, pixels closer than the clearance to a wall pixel
    touching: np.ndarray  # [H, W] bool, wall pixels and those touching them (the agent itself may be that close)
    positions: np.ndarray  # [N, 2] (x, y) pixels
    images: np.ndarray  # [N, H, W, 3] the view with the agent imagined at each place
    graph: nx.Graph  # nodes 0..N-1, edges weighted by their length in pixels

    def clear(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the straight way a -> b keeps clear of every wall pixel."""
        return bool(_clear(self.blocked, a[None], b[None])[0])

    def nearest_visible(self, point: np.ndarray) -> int | None:
        """The closest place reachable in a straight line from `point`, which may itself be close
        to a wall (None: none is)."""
        order = np.argsort(np.linalg.norm(self.positions - point, axis=1))[:12]
        ok = self.visible_from(point, order)
        return int(order[np.argmax(ok)]) if ok.any() else None

    def visible_from(self, point: np.ndarray, places: np.ndarray) -> np.ndarray:
        """[len(places)] bool: which of `places` (indices) a straight line from `point` reaches
        without entering a wall. `point` may be as close to a wall as the agent can be, so the
        line is checked against the walls themselves (grown by a pixel), from 1.5 pixels out."""
        if len(places) == 0:
            return np.zeros(0, dtype=bool)
        ends = self.positions[places]
        away = ends - point
        length = np.linalg.norm(away, axis=1, keepdims=True)
        starts = point + away / np.maximum(length, 1e-6) * np.minimum(length, 1.5)
        return _clear(self.touching, starts, ends)


def _dilate(walls: np.ndarray, radius: float) -> np.ndarray:
    """Pixels whose centre lies within `radius` of a wall pixel's centre."""
    out = walls.copy()
    r = int(np.ceil(radius))
    H, W = walls.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if (dx or dy) and dx * dx + dy * dy <= radius * radius:
                shifted = np.zeros_like(walls)
                shifted[max(0, dy) : H + min(0, dy), max(0, dx) : W + min(0, dx)] = walls[
                    max(0, -dy) : H - max(0, dy), max(0, -dx) : W - max(0, dx)
                ]
                out |= shifted
    return out


def _clear(blocked: np.ndarray, a: np.ndarray, b: np.ndarray, step: float = 0.5) -> np.ndarray:
    """[E] bool: whether each segment a[e] -> b[e] ([E, 2] points) crosses no blocked pixel."""
    H, W = blocked.shape
    n = max(2, int(np.ceil(np.linalg.norm(b - a, axis=1).max(initial=0.0) / step)) + 1)
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    points = a[:, None] + t * (b - a)[:, None]  # [E, n, 2]
    x, y = np.floor(points[..., 0]).astype(int), np.floor(points[..., 1]).astype(int)
    inside = (x >= 0) & (x < W) & (y >= 0) & (y < H)
    hit = blocked[np.clip(y, 0, H - 1), np.clip(x, 0, W - 1)] | ~inside
    return ~hit.any(axis=1)


def sprite(view: np.ndarray, size: int = 11) -> tuple[np.ndarray, np.ndarray] | None:
    """The agent's look: its redness in a `size x size` patch centred on the blob's (sub-pixel)
    centre, resampled so the centre sits exactly on the patch's middle; and the agent's centre."""
    centre = where_agent(view)
    if centre is None:
        return None
    red = view[..., 0].astype(np.float32) - np.maximum(view[..., 1], view[..., 2]).astype(np.float32)
    red = np.clip(red, 0.0, 255.0)
    half = size // 2
    # sample the redness at the patch's pixel centres, placed around the blob's centre
    offsets = np.arange(size) - half
    xs = centre[0] - 0.5 + offsets
    ys = centre[1] - 0.5 + offsets
    return _bilinear(red, xs, ys), centre


def _bilinear(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """`image` [H, W] sampled at the grid `ys x xs` (pixel-index coordinates), zero outside."""
    H, W = image.shape
    padded = np.pad(image, 1)
    x = np.clip(xs + 1, 0, W + 0.999)
    y = np.clip(ys + 1, 0, H + 0.999)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    x1, y1 = np.minimum(x0 + 1, W + 1), np.minimum(y0 + 1, H + 1)
    a = padded[np.ix_(y0, x0)] * (1 - fx)[None] + padded[np.ix_(y0, x1)] * fx[None]
    b = padded[np.ix_(y1, x0)] * (1 - fx)[None] + padded[np.ix_(y1, x1)] * fx[None]
    return a * (1 - fy)[:, None] + b * fy[:, None]


def imagine(walls: np.ndarray, look: tuple[np.ndarray, np.ndarray], at: np.ndarray) -> np.ndarray:
    """The view as it would be with the agent at `at` [x, y]: remembered walls on a dark floor,
    the agent's redness resampled to sub-pixel `at` on top (red over white walls where it shows)."""
    patch, _ = look
    size = len(patch)
    half = size // 2
    H, W = walls.shape
    view = np.repeat((walls * 255).astype(np.uint8)[..., None], 3, axis=2)
    # where each view pixel falls in the patch: pixel centre minus `at`, in patch index units
    x0, y0 = int(np.floor(at[0])) - half - 1, int(np.floor(at[1])) - half - 1
    n = size + 2
    px = np.arange(x0, x0 + n) + 0.5 - at[0] + half  # patch coordinates of these pixel centres
    py = np.arange(y0, y0 + n) + 0.5 - at[1] + half
    red = _bilinear(patch, px, py)  # [n, n]
    ys, xs = np.arange(y0, y0 + n), np.arange(x0, x0 + n)
    inside_y, inside_x = (ys >= 0) & (ys < H), (xs >= 0) & (xs < W)
    region = view[np.ix_(ys[inside_y], xs[inside_x])].astype(np.float32)
    r = red[np.ix_(inside_y, inside_x)]
    shown = r > 12.0  # the renderer's faintest red that replaces a wall's colour
    region[..., 0] = np.maximum(region[..., 0], r)
    region[..., 1] = np.where(shown, 0.0, region[..., 1])
    region[..., 2] = np.where(shown, 0.0, region[..., 2])
    view[np.ix_(ys[inside_y], xs[inside_x])] = np.clip(np.round(region), 0, 255).astype(np.uint8)
    return view


def scene(views: list[np.ndarray], spacing: float = 4.0, clearance: float = 1.5) -> Scene | None:
    """Places and ways from what the agent has seen (`views`: its current view first, then the
    goal image or earlier views; the agent's own blob hides the walls under it, which the other
    views show). None when the agent is not in the current view."""
    look = sprite(views[0])
    if look is None:
        return None
    walls = np.zeros(views[0].shape[:2], dtype=bool)
    for view in views:
        walls |= wall_pixels(view)
    blocked = _dilate(walls, clearance)
    H, W = walls.shape
    xs, ys = np.meshgrid(np.arange(0.5 * spacing, W, spacing), np.arange(0.5 * spacing, H, spacing))
    candidates = np.stack([xs.ravel(), ys.ravel()], axis=1)
    positions = candidates[_clear(blocked, candidates, candidates)]
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    i, j = np.nonzero(np.triu(d <= spacing * 1.5, k=1))
    ok = _clear(blocked, positions[i], positions[j])
    graph = nx.Graph()
    graph.add_nodes_from(range(len(positions)))
    graph.add_weighted_edges_from(zip(i[ok].tolist(), j[ok].tolist(), d[i[ok], j[ok]].tolist()))
    images = np.stack([imagine(walls, look, p) for p in positions]) if len(positions) else np.zeros((0, H, W, 3), np.uint8)
    return Scene(walls, blocked, _dilate(walls, 1.0), positions, images, graph)


def with_place(found: Scene, position: np.ndarray, image: np.ndarray, reach: float) -> Scene:
    """`found` plus one more place (e.g. the goal, where the goal image shows the agent), joined
    to every place within `reach` pixels in a clear straight line."""
    positions = np.concatenate([found.positions, position[None]])
    new = len(positions) - 1
    d = np.linalg.norm(found.positions - position, axis=1)
    near = np.nonzero(d <= reach)[0]
    ok = found.visible_from(position, near)
    graph = found.graph.copy()
    graph.add_node(new)
    graph.add_weighted_edges_from((new, int(j), float(d[j])) for j in near[ok])
    return Scene(found.walls, found.blocked, found.touching, positions, np.concatenate([found.images, image[None]]), graph)
