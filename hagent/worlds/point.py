"""Point worlds: a point mass in rooms joined by doors, seen from above as 64x64 RGB.

`point:tworooms` is two rooms and one door; `point:maze?rooms=N` lays N rooms on a grid (2x2
for 4, 3x3 for 9) with walls evenly spaced and a random spanning tree of doors, so going from
one room to another may take several doors (longer horizons, for the hierarchy).

The continuous-control world the published JEPA planners (PLDM, EB-JEPA, DINO-WM) are judged
on, rebuilt here from the protocol they describe (no code of theirs):

* a square arena of 64x64 pixels with 1-pixel border walls at 4 and 59; a vertical inner wall
  3 pixels thick at `wall_x`, with a 9-pixel door centred on `door_y`. Both are drawn per seed
  (`wall_x` in 20..44, `door_y` in 10..54), or fixed at (32, 32) with `?wall=fixed`;
* the agent is a point; an action is a 2D displacement in pixels whose norm is clipped to
  `max_step` (2.45). A step that would enter a wall stops at the last free point on its way
  (no sliding);
* start and goal lie in different rooms (in a maze: any two different rooms), at least `margin` pixels from every wall; success is
  being within `radius` (4.5 px, DINO-WM's threshold) of the goal, which ends the episode; the
  time limit is 50 steps;
* observations: `image` (64x64x3 uint8: walls white, the agent a red Gaussian dot of sigma 1.3
  px), `goal` (the same view with the dot at the goal: a goal image), `mission` (text). With
  `?goal=text` the goal image is blank and goals are named places ("the top-left corner of the left room", "the centre of
  the right room"; "room 2,1" in a maze) and the mission names it.

The agent plans from `image`, `goal` and `mission` only; `judge()` and `state()` (positions, the
layout) are for scoring and training labels.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hagent.worlds.config import ExploreConfig, PointExploreConfig
from hagent.worlds.judgement import Judgement

SIZE = 64
BORDER = (4.0, 59.0)  # the border walls' pixel rows/columns; the free interior lies strictly between
THICK = 1.5  # half the inner wall's thickness
DOOR = 4.5  # half the door's opening
SIGMA = 1.3  # the dot's Gaussian width (px)
POINT_KEYS = ("image", "action", "position", "room")
"""Per-step arrays of a point dataset: the view, the 2D action taken from it (zeros on an
episode's last row), and labels for training heads and probes (position in pixels, room)."""
PLACES = ("top-left corner", "top-right corner", "bottom-left corner", "bottom-right corner", "centre")


class PointSpecError(ValueError):
    """A `point:` spec that can't be built; the message says what is allowed."""


MAZE_SHAPES = {2: (1, 2), 3: (1, 3), 4: (2, 2), 6: (2, 3), 9: (3, 3)}
"""`point:maze?rooms=N`: how N rooms are laid out (rows, columns)."""


@dataclass(frozen=True)
class PointParams:
    """Parameters of a point world: `tworooms`, or `maze` with `rooms` rooms."""

    name: str = "tworooms"
    wall: str = "random"  # tworooms: wall and door drawn per seed ("random") or wall_x = door_y = 32 ("fixed")
    goal: str = "image"  # "image": a uniform goal, shown as a goal image; "text": a named place
    rooms: int = 2  # maze: number of rooms (see MAZE_SHAPES)
    max_step: float = 2.45
    radius: float = 4.5
    margin: float = 2.6
    max_steps: int = 50


FORMS = "point:tworooms[?wall=random|fixed&goal=image|text&steps=N], point:maze?rooms=2|3|4|6|9[&goal=image|text&steps=N]"


def parse_point(spec: str) -> PointParams:
    """`point:tworooms[?...]` or `point:maze?rooms=N[&...]` -> its parameters."""
    family, _, rest = spec.partition(":")
    name, _, query = rest.partition("?")
    if family != "point" or name not in ("tworooms", "maze"):
        raise PointSpecError(f"unknown point world {spec!r} (known: {FORMS})")
    params: dict = {"name": name}
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key == "wall" and value in ("random", "fixed") and name == "tworooms":
            params["wall"] = value
        elif key == "goal" and value in ("image", "text"):
            params["goal"] = value
        elif key == "rooms" and name == "maze" and value.isdigit() and int(value) in MAZE_SHAPES:
            params["rooms"] = int(value)
        elif key == "steps" and value.isdigit() and 1 <= int(value) <= 10_000:
            params["max_steps"] = int(value)
        else:
            raise PointSpecError(f"{spec!r}: bad option {item!r} (known: {FORMS})")
    if name == "maze" and "max_steps" not in params:
        params["max_steps"] = 50 * (params.get("rooms", 2) - 1)  # 50 steps per door on the way, at most
    return PointParams(**params)


@dataclass(frozen=True)
class Door:
    """An opening in an inner wall: in the vertical wall at x = `at` (`vertical`) centred on
    y = `centre`, or in a horizontal wall at y = `at` centred on x = `centre`; it joins rooms `a` and `b`."""

    vertical: bool
    at: float
    centre: float
    a: int
    b: int

    def crossing(self, room: int, depth: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
        """Points `depth` px before and after the door, walking out of `room`."""
        sign = -1.0 if room == self.a else 1.0  # a lies before the wall (left / above), b after it
        p = np.array([self.at, self.centre]) if self.vertical else np.array([self.centre, self.at])
        axis = np.array([1.0, 0.0]) if self.vertical else np.array([0.0, 1.0])
        return p + sign * depth * axis, p - sign * depth * axis


@dataclass(frozen=True)
class Layout:
    """Rooms on a grid: inner vertical walls at x in `xs`, horizontal ones at y in `ys`, `doors` in them.

    Room r is (row, col) = divmod(r, len(xs) + 1); rows run down the y axis, columns along x.
    """

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    doors: tuple[Door, ...]

    @property
    def columns(self) -> int:
        return len(self.xs) + 1

    def solid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether points (x, y) are inside a wall (borders included)."""
        out = (x <= BORDER[0]) | (x >= BORDER[1]) | (y <= BORDER[0]) | (y >= BORDER[1])
        for vertical, walls in ((True, self.xs), (False, self.ys)):
            across, along = (x, y) if vertical else (y, x)
            for at in walls:
                wall = np.abs(across - at) <= THICK
                for d in self.doors:
                    if d.vertical == vertical and d.at == at:
                        wall &= np.abs(along - d.centre) > DOOR
                out = out | wall
        return out

    def room(self, x: float, y: float) -> int:
        """The room a point belongs to (a doorway counts as the side of the wall's centre line)."""
        col = int(sum(x > w for w in self.xs))
        row = int(sum(y > w for w in self.ys))
        return row * self.columns + col

    def box(self, room: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
        """Corners of a room's free interior, `margin` px from every wall."""
        row, col = divmod(room, self.columns)
        xs, ys = (BORDER[0], *self.xs, BORDER[1]), (BORDER[0], *self.ys, BORDER[1])
        lo_x = xs[col] + (margin if col == 0 else THICK + margin)
        hi_x = xs[col + 1] - (margin if col == len(xs) - 2 else THICK + margin)
        lo_y = ys[row] + (margin if row == 0 else THICK + margin)
        hi_y = ys[row + 1] - (margin if row == len(ys) - 2 else THICK + margin)
        return np.array([lo_x, lo_y]), np.array([hi_x, hi_y])

    def route(self, a: int, b: int) -> list[Door]:
        """The doors on the way from room a to room b (the doors form a tree; breadth-first)."""
        previous: dict[int, tuple[int, Door] | None] = {a: None}
        frontier = [a]
        while frontier:
            here = frontier.pop(0)
            for d in self.doors:
                if here in (d.a, d.b):
                    there = d.b if here == d.a else d.a
                    if there not in previous:
                        previous[there] = (here, d)
                        frontier.append(there)
        doors, at = [], b
        while previous.get(at) is not None:
            at, door = previous[at]
            doors.append(door)
        return doors[::-1]


def two_rooms(wall_x: float, door_y: float) -> Layout:
    """`point:tworooms`: one vertical wall at `wall_x` with a door centred on `door_y`."""
    return Layout((wall_x,), (), (Door(True, wall_x, door_y, 0, 1),))


def maze(rows: int, cols: int, rng: np.random.Generator) -> Layout:
    """Evenly spaced walls; a random spanning tree of doors (one way between any two rooms),
    each door at a random place along its wall."""
    span = BORDER[1] - BORDER[0]
    xs = tuple(float(round(BORDER[0] + span * c / cols)) for c in range(1, cols))
    ys = tuple(float(round(BORDER[0] + span * r / rows)) for r in range(1, rows))
    edges = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    edges += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    order = rng.permutation(len(edges))
    group = list(range(rows * cols))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    doors = []
    bounds_x, bounds_y = (BORDER[0], *xs, BORDER[1]), (BORDER[0], *ys, BORDER[1])
    for e in order:  # Kruskal's algorithm on random edge order: a uniform-ish random spanning tree
        a, b = edges[e]
        if root(a) == root(b):
            continue
        group[root(a)] = root(b)
        (ra, ca), (rb, _) = divmod(a, cols), divmod(b, cols)
        if ra == rb:  # side by side: a door in the vertical wall between columns ca and cb
            lo, hi = bounds_y[ra] + THICK + DOOR + 1, bounds_y[ra + 1] - THICK - DOOR - 1
            doors.append(Door(True, xs[ca], float(round(rng.uniform(lo, hi))), a, b))
        else:
            lo, hi = bounds_x[ca] + THICK + DOOR + 1, bounds_x[ca + 1] - THICK - DOOR - 1
            doors.append(Door(False, ys[ra], float(round(rng.uniform(lo, hi))), a, b))
    return Layout(xs, ys, tuple(doors))


class PointWorld(gym.Env):
    """The two-rooms point-mass world (see the module docstring)."""

    metadata = {"render_modes": ("rgb_array",)}  # noqa: RUF012 - gymnasium's class attribute
    step_keys = POINT_KEYS
    """The per-step arrays of this world's data."""

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
        self.layout = two_rooms(32.0, 32.0)
        self.position = np.zeros(2)
        self.goal = np.zeros(2)
        self.mission = ""
        self.steps = 0
        self._success = False
        self._walls = np.zeros((SIZE, SIZE), dtype=np.uint8)
        self._goal_image = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        self._fresh = False  # reset, and no step since

    # -- gymnasium interface -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed  # make_point_world(spec, seed).reset() is seeded
        self._first_seed = None
        super().reset(seed=seed)
        rng = self.np_random
        p = self.params
        if p.name == "maze":
            self.layout = maze(*MAZE_SHAPES[p.rooms], rng)
        elif p.wall == "fixed":
            self.layout = two_rooms(32.0, 32.0)
        else:
            self.layout = two_rooms(float(rng.integers(20, 45)), float(rng.integers(10, 55)))
        rooms = len(self.layout.doors) + 1
        start_room = int(rng.integers(rooms))
        goal_room = (start_room + 1 + int(rng.integers(rooms - 1))) % rooms  # any other room
        self.position = self._sample_in(start_room, rng)
        if p.goal == "text":
            place = PLACES[int(rng.integers(len(PLACES)))]
            self.goal = self.place(goal_room, place)
            self.mission = f"go to the {place} of the {self.room_name(goal_room)}"
        else:
            self.goal = self._sample_in(goal_room, rng)
            self.mission = "go to the goal"
        self.steps = 0
        self._success = False
        self._walls = self._draw_walls()
        self._goal_image = self._draw(self.goal)
        self._fresh = True
        return self._observe(), {}

    @property
    def fresh(self) -> bool:
        """Whether the world was reset and has not stepped since: an agent's `run` then plays
        this episode instead of resetting to the next one (`hagent.acting.sealed.resets`)."""
        return self._fresh

    def step(self, action) -> tuple[dict, float, bool, bool, dict]:
        self._fresh = False
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

    def instruct(self, text: str) -> bool:
        """Make the world judge reaching the place `text` names ("go to the top-left corner of the
        left room") instead of its own goal, from now on, with a fresh step limit; the goal image
        shows that place. `PlaceError` when `text` names no place of this world. Call after
        reset, or mid-episode for a follow-up."""
        room, index = parse_place(text, self.params)
        self.goal = self.place(room, PLACES[index])
        self.mission, self.steps, self._success = text, 0, False
        self._goal_image = self._draw(self.goal)
        return True

    def observe(self) -> dict:
        """The current observation, as `reset` and `step` return it."""
        return self._observe()

    def explore(self, seed: int, rng: np.random.Generator, max_steps: int, cfg: ExploreConfig) -> dict[str, np.ndarray]:
        """One reward-free episode of this world's own explorer (`explore_episode`)."""
        return explore_episode(self, seed, rng, max_steps, cfg.point)

    def render(self) -> np.ndarray:
        return self._observe()["image"]

    # -- scoring and labels (never for planning) -----------------------------------------
    def judge(self) -> Judgement:
        """The world's verdict so far (no guardrails here yet: no violations). Scoring only."""
        return Judgement(self._success, ())

    def state(self) -> dict:
        """Positions and layout, for training labels and scoring only."""
        return {"position": self.position.copy(), "goal": self.goal.copy(), "layout": self.layout,
                "room": self.layout.room(*self.position), "goal_room": self.layout.room(*self.goal), "steps": self.steps}

    def room_name(self, room: int) -> str:
        """How text names a room: "left room" / "right room" in two rooms, "room R,C" (row and
        column from 1, top-left first) in a maze."""
        if self.params.name == "tworooms":
            return ("left room", "right room")[room]
        row, col = divmod(room, self.layout.columns)
        return f"room {row + 1},{col + 1}"

    def place(self, room: int, name: str) -> np.ndarray:
        """The point a named place stands for: a corner (inset by `margin` + 4 px) or a room's centre."""
        lo, hi = self.layout.box(room, self.params.margin)
        inset = 4.0
        xs = {"left": lo[0] + inset, "right": hi[0] - inset, "centre": (lo[0] + hi[0]) / 2}
        ys = {"top": lo[1] + inset, "bottom": hi[1] - inset, "centre": (lo[1] + hi[1]) / 2}
        if name == "centre":
            return np.array([xs["centre"], ys["centre"]])
        vertical, horizontal = name.removesuffix(" corner").split("-")
        return np.array([xs[horizontal], ys[vertical]])

    # -- internals -----------------------------------------------------------------------
    def _sample_in(self, room: int, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.layout.box(room, self.params.margin)
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
        # a text goal comes with a blank goal image: the mission alone says where to go
        goal = self._goal_image.copy() if self.params.goal == "image" else np.zeros_like(self._goal_image)
        return {"image": self._draw(self.position), "goal": goal, "mission": self.mission}

    def place_views(self) -> np.ndarray:
        """The view with the agent at every named place of every room, `[rooms x len(PLACES), H,
        W, 3]` (room-major): the labels that teach the place grounding (`costs.place.PlaceGoal`),
        which turns a text goal into the goal state the agent plans toward; no planner reads them."""
        rooms = len(self.layout.doors) + 1
        return np.stack([self._draw(self.place(r, name)) for r in range(rooms) for name in PLACES])


def make_point_world(spec: str = "point:tworooms", seed: int | None = None) -> PointWorld:
    """Build a point world from its spec; the first `reset()` uses `seed` (as `make_world` does)."""
    return PointWorld(parse_point(spec), spec, seed=seed)


def explore_episode(world: PointWorld, seed: int, rng: np.random.Generator, max_steps: int, cfg: PointExploreConfig) -> dict[str, np.ndarray]:
    """One reward-free episode of the point explorer (`PointExploreConfig`); per-step arrays of
    length L+1 under `POINT_KEYS`, and `places`, the episode's views of every named place
    (labels for grounding text goals). The data is task-free: reaching the goal doesn't end it.

    A door episode reads the door's place from `state()`: that is data generation, as a scripted
    explorer, never planning."""
    obs, _ = world.reset(seed=seed)
    heading = rng.uniform(-np.pi, np.pi)
    via: list[np.ndarray] = []
    if rng.random() < cfg.p_door:  # walk through a door of the room it starts in
        room = world.layout.room(*world.position)
        doors = [d for d in world.layout.doors if room in (d.a, d.b)]
        via = list(doors[int(rng.integers(len(doors)))].crossing(room))
    rows: dict[str, list] = {k: [] for k in POINT_KEYS}
    for _ in range(max_steps):
        position = world.position
        if via:
            if np.linalg.norm(via[0] - position) < 1.5:
                via.pop(0)
            if via:
                to = via[0] - position
                heading = np.arctan2(to[1], to[0]) + rng.vonmises(0.0, 4 * cfg.kappa)
        heading += rng.vonmises(0.0, cfg.kappa)
        length = float(np.clip(rng.normal(cfg.step_mean, cfg.step_std), cfg.step_min, cfg.step_max))
        action = np.array([np.cos(heading), np.sin(heading)], dtype=np.float32) * length
        rows["image"].append(obs["image"])
        rows["action"].append(action)
        rows["position"].append(position.astype(np.float32))
        rows["room"].append(world.layout.room(*position))
        obs, _, _, truncated, info = world.step(action)
        if info["blocked"] and not via:
            heading = rng.uniform(-np.pi, np.pi)  # bounce off into a fresh direction
        if truncated:
            break
    rows["image"].append(obs["image"])
    rows["action"].append(np.zeros(2, dtype=np.float32))
    rows["position"].append(world.position.astype(np.float32))
    rows["room"].append(world.layout.room(*world.position))
    return {
        "places": world.place_views()[None],  # [1, P, H, W, 3]: one row per episode, not per step
        "image": np.stack(rows["image"]).astype(np.uint8),
        "action": np.stack(rows["action"]).astype(np.float32),
        "position": np.stack(rows["position"]).astype(np.float32),
        "room": np.asarray(rows["room"], dtype=np.int8),
    }


_PLACE_WORDS = {
    "top-left": "top-left corner", "top left": "top-left corner", "upper left": "top-left corner", "upper-left": "top-left corner",
    "top-right": "top-right corner", "top right": "top-right corner", "upper right": "top-right corner", "upper-right": "top-right corner",
    "bottom-left": "bottom-left corner", "bottom left": "bottom-left corner", "lower left": "bottom-left corner", "lower-left": "bottom-left corner",
    "bottom-right": "bottom-right corner", "bottom right": "bottom-right corner", "lower right": "bottom-right corner", "lower-right": "bottom-right corner",
    "centre": "centre", "center": "centre", "middle": "centre",
}


class PlaceError(ValueError):
    """A text goal that names no place of this world; the message says what can be named."""


def parse_place(text: str, params: PointParams) -> tuple[int, int]:
    """A text goal -> (room index, index into PLACES). Accepts the missions' own wording and
    simple paraphrases: "go to the top left corner of the left room", "the middle of room 2,1"."""
    import re

    t = " ".join(text.lower().replace(",", ", ").split()).replace(", ", ",").rstrip(".!")
    place = next((PLACES.index(v) for k, v in sorted(_PLACE_WORDS.items(), key=lambda kv: -len(kv[0])) if k in t), None)
    room = None
    if params.name == "tworooms":
        side = re.search(r"\b(left|right) room\b", t)
        room = None if side is None else ("left", "right").index(side.group(1))
    else:
        rows, cols = MAZE_SHAPES[params.rooms]
        cell = re.search(r"\broom (\d+),(\d+)\b", t)
        if cell and 1 <= int(cell.group(1)) <= rows and 1 <= int(cell.group(2)) <= cols:
            room = (int(cell.group(1)) - 1) * cols + int(cell.group(2)) - 1
    if place is None or room is None:
        rooms = "the left room or the right room" if params.name == "tworooms" else f"room R,C (R in 1..{MAZE_SHAPES[params.rooms][0]}, C in 1..{MAZE_SHAPES[params.rooms][1]})"
        raise PlaceError(
            f"can't ground {text!r}: say a place (a corner such as top-left, or the centre) of {rooms}, "
            "e.g. \"go to the top-left corner of the left room\""
        )
    return room, place
