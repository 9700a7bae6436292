"""`point:tworooms`: a point mass in two rooms joined by a door, seen from above as 64x64 RGB.

The continuous-control world the published JEPA planners (PLDM, EB-JEPA, DINO-WM) are judged
on, rebuilt here from the protocol they describe (no code of theirs):

* a square arena of 64x64 pixels with 1-pixel border walls at 4 and 59; a vertical inner wall
  3 pixels thick at `wall_x`, with a 9-pixel door centred on `door_y`. Both are drawn per seed
  (`wall_x` in 20..44, `door_y` in 10..54), or fixed at (32, 32) with `?wall=fixed`;
* the agent is a point; an action is a 2D displacement in pixels whose norm is clipped to
  `max_step` (2.45). A step that would enter a wall stops at the last free point on its way
  (no sliding);
* start and goal lie in different rooms, at least `margin` pixels from every wall; success is
  being within `radius` (4.5 px, DINO-WM's threshold) of the goal, which ends the episode; the
  time limit is 50 steps;
* observations: `image` (64x64x3 uint8: walls white, the agent a red Gaussian dot of sigma 1.3
  px), `goal` (the same view with the dot at the goal: a goal image), `mission` (text). With
  `?goal=text` goals are named places ("the top-left corner of the left room", "the centre of
  the right room") and the mission names it.

The agent plans from `image`, `goal` and `mission` only; `judge()` and `state()` (positions, the
layout) are for scoring and training labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import string

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hagent.worlds import Judgement

SIZE = 64
BORDER = (4.0, 59.0)  # the border walls' pixel rows/columns; the free interior lies strictly between
THICK = 1.5  # half the inner wall's thickness
DOOR = 4.5  # half the door's opening
SIGMA = 1.3  # the dot's Gaussian width (px)
PLACES = ("top-left corner", "top-right corner", "bottom-left corner", "bottom-right corner", "centre")


class PointSpecError(ValueError):
    """A `point:` spec that can't be built; the message says what is allowed."""


@dataclass(frozen=True)
class PointParams:
    """Parameters of `point:tworooms`."""

    wall: str = "random"  # "random": wall and door drawn per seed; "fixed": wall_x = door_y = 32
    goal: str = "image"  # "image": a uniform goal, shown as a goal image; "text": a named place
    max_step: float = 2.45
    radius: float = 4.5
    margin: float = 2.6
    max_steps: int = 50


def parse_point(spec: str) -> PointParams:
    """`point:tworooms[?wall=random|fixed&goal=image|text&steps=N]` -> its parameters."""
    family, _, rest = spec.partition(":")
    name, _, query = rest.partition("?")
    if family != "point" or name != "tworooms":
        raise PointSpecError(f"unknown point world {spec!r} (known: point:tworooms[?wall=random|fixed&goal=image|text&steps=N])")
    params: dict = {}
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key == "wall" and value in ("random", "fixed"):
            params["wall"] = value
        elif key == "goal" and value in ("image", "text"):
            params["goal"] = value
        elif key == "steps" and value.isdigit() and 1 <= int(value) <= 10_000:
            params["max_steps"] = int(value)
        else:
            raise PointSpecError(f"{spec!r}: bad option {item!r} (wall=random|fixed, goal=image|text, steps=1..10000)")
    return PointParams(**params)


@dataclass(frozen=True)
class Layout:
    """Where the inner wall and its door are."""

    wall_x: float
    door_y: float

    def solid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether points (x, y) are inside a wall (borders included)."""
        border = (x <= BORDER[0]) | (x >= BORDER[1]) | (y <= BORDER[0]) | (y >= BORDER[1])
        inner = (np.abs(x - self.wall_x) <= THICK) & (np.abs(y - self.door_y) > DOOR)
        return border | inner

    def room(self, x: float) -> int:
        """0 for the left room, 1 for the right (the door counts as the side of its centre)."""
        return int(x > self.wall_x)


class PointWorld(gym.Env):
    """The two-rooms point-mass world (see the module docstring)."""

    metadata = {"render_modes": ("rgb_array",)}  # noqa: RUF012 - gymnasium's class attribute

    def __init__(
        self, params: PointParams | None = None, spec_text: str = "point:tworooms", seed: int | None = None,
        render_mode: str | None = None,
    ):
        super().__init__()
        self._first_seed = seed
        self.params = params or PointParams()
        self.world_spec = spec_text
        self.render_mode = render_mode
        self.max_steps = self.params.max_steps
        image = spaces.Box(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
        self.observation_space = spaces.Dict(
            {"image": image, "goal": image, "mission": spaces.Text(200, charset=string.ascii_letters + " -")}
        )
        bound = np.float32(self.params.max_step)
        self.action_space = spaces.Box(-bound, bound, (2,), dtype=np.float32)
        self._yy, self._xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        self.layout = Layout(32.0, 32.0)
        self.position = np.zeros(2)
        self.goal = np.zeros(2)
        self.mission = ""
        self.steps = 0
        self._success = False
        self._walls = np.zeros((SIZE, SIZE), dtype=np.uint8)
        self._goal_image = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)

    # -- gymnasium interface -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed  # make_point_world(spec, seed).reset() is seeded
        self._first_seed = None
        super().reset(seed=seed)
        rng = self.np_random
        p = self.params
        if p.wall == "fixed":
            self.layout = Layout(32.0, 32.0)
        else:
            self.layout = Layout(float(rng.integers(20, 45)), float(rng.integers(10, 55)))
        start_room = int(rng.integers(2))
        self.position = self._sample_in(start_room, rng)
        if p.goal == "text":
            place = PLACES[int(rng.integers(len(PLACES)))]
            self.goal = self.place(1 - start_room, place)
            self.mission = f"go to the {place} of the {('left', 'right')[1 - start_room]} room"
        else:
            self.goal = self._sample_in(1 - start_room, rng)
            self.mission = "go to the goal"
        self.steps = 0
        self._success = False
        self._walls = self._draw_walls()
        self._goal_image = self._draw(self.goal)
        return self._observe(), {}

    def step(self, action) -> tuple[dict, float, bool, bool, dict]:
        a = np.asarray(action, dtype=np.float64).reshape(2)
        if not np.all(np.isfinite(a)):
            a = np.zeros(2)
        norm = float(np.linalg.norm(a))
        if norm > self.params.max_step:
            a = a * (self.params.max_step / norm)
        self.position, blocked = self._move(self.position, a)
        self.steps += 1
        self._success = bool(np.linalg.norm(self.position - self.goal) <= self.params.radius)
        truncated = not self._success and self.steps >= self.max_steps
        return self._observe(), float(self._success), self._success, truncated, {"blocked": blocked}

    def render(self) -> np.ndarray:
        return self._observe()["image"]

    # -- scoring and labels (never for planning) -----------------------------------------
    def judge(self) -> Judgement:
        """The world's verdict so far (no guardrails here yet: no violations). Scoring only."""
        return Judgement(self._success, ())

    def state(self) -> dict:
        """Positions and layout, for training labels and scoring only."""
        return {"position": self.position.copy(), "goal": self.goal.copy(), "wall_x": self.layout.wall_x,
                "door_y": self.layout.door_y, "steps": self.steps}

    def place(self, room: int, name: str) -> np.ndarray:
        """The point a named place stands for: a corner (inset by `margin` + 4 px) or a room's centre."""
        lo, hi = self._room_box(room)
        inset = self.params.margin + 4.0
        xs = {"left": lo[0] + inset, "right": hi[0] - inset, "centre": (lo[0] + hi[0]) / 2}
        ys = {"top": lo[1] + inset, "bottom": hi[1] - inset, "centre": (lo[1] + hi[1]) / 2}
        if name == "centre":
            return np.array([xs["centre"], ys["centre"]])
        vertical, horizontal = name.removesuffix(" corner").split("-")
        return np.array([xs[horizontal], ys[vertical]])

    # -- internals -----------------------------------------------------------------------
    def _room_box(self, room: int) -> tuple[np.ndarray, np.ndarray]:
        """Corners of a room's free interior, `margin` from every wall."""
        m = self.params.margin
        if room == 0:
            lo, hi = (BORDER[0] + m, BORDER[0] + m), (self.layout.wall_x - THICK - m, BORDER[1] - m)
        else:
            lo, hi = (self.layout.wall_x + THICK + m, BORDER[0] + m), (BORDER[1] - m, BORDER[1] - m)
        return np.array(lo), np.array(hi)

    def _sample_in(self, room: int, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self._room_box(room)
        return rng.uniform(lo, hi)

    def _move(self, p: np.ndarray, a: np.ndarray, substeps: int = 16) -> tuple[np.ndarray, bool]:
        """Move along p -> p + a, stopping at the last free point before a wall."""
        t = np.linspace(0.0, 1.0, substeps + 1)[1:]
        path = p[None] + t[:, None] * a[None]
        hit = self.layout.solid(path[:, 0], path[:, 1])
        if not hit.any():
            return p + a, False
        first = int(np.argmax(hit))
        return (path[first - 1] if first > 0 else p.copy()), True

    def _draw_walls(self) -> np.ndarray:
        centres = (self._xx + 0.5, self._yy + 0.5)
        return self.layout.solid(*centres).astype(np.uint8) * 255

    def _draw(self, point: np.ndarray) -> np.ndarray:
        dot = np.exp(-((self._xx + 0.5 - point[0]) ** 2 + (self._yy + 0.5 - point[1]) ** 2) / (2 * SIGMA**2))
        image = np.repeat(self._walls[:, :, None], 3, axis=2)
        red = np.maximum(image[:, :, 0], (255 * dot).astype(np.uint8))
        image[:, :, 0] = red
        image[:, :, 1] = np.where(dot > 0.05, 0, image[:, :, 1])
        image[:, :, 2] = np.where(dot > 0.05, 0, image[:, :, 2])
        return image

    def _observe(self) -> dict:
        return {"image": self._draw(self.position), "goal": self._goal_image.copy(), "mission": self.mission}


def make_point_world(spec: str = "point:tworooms", seed: int | None = None) -> PointWorld:
    """Build a point world from its spec; the first `reset()` uses `seed` (as `make_world` does)."""
    return PointWorld(parse_point(spec), spec, seed=seed)
