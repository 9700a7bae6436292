"""Encoders -> the level-0 state `s [B, D]`: `GridEncoder` (a minigrid observation: cell codes,
heading, object in hand), `PixelEncoder` (an RGB view), `VectorEncoder` (a float vector)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from levels.config import EncoderConfig

# Sizes of minigrid's code tables: OBJECT_TO_IDX has 11 entries (agent = 10), COLOR_TO_IDX 6, and
# the state channel holds door states 0..2 or, on the agent's cell, its heading 0..3.
OBJECTS, COLOURS, STATES, HEADINGS = 11, 6, 4, 4
EMPTY = 1  # minigrid's "empty" object code: what `carried` holds when the hands are free
AGENT = 10  # minigrid's "agent" object code: a full view marks the agent's cell with it
FORWARD = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid's step per heading, in (x, y) cells
MIN_GRID, MAX_GRID = 3, 64
"""Grid sides the encoder accepts; positions are normalized by MAX_GRID for the absolute channels."""


class GridEncoder(nn.Module):
    """Embeds each cell's (object, colour, state) and the heading, mixes them with a conv stack that
    also sees coordinate channels, pools to a fixed `pool x pool` grid and projects to D.

    Works for any grid side in [MIN_GRID, MAX_GRID] with the same weights.
    """

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        c = config
        self.object = nn.Embedding(OBJECTS, c.embed)
        self.colour = nn.Embedding(COLOURS, c.embed)
        self.state = nn.Embedding(STATES, c.embed)
        self.heading = nn.Embedding(HEADINGS, c.embed)
        # What the agent holds is not on the grid; it joins after pooling, like the heading.
        self.held_object = nn.Embedding(OBJECTS, c.embed)
        self.held_colour = nn.Embedding(COLOURS, c.embed)
        # 4 coordinate channels: relative (x, y) in [-1, 1] for layouts, absolute (x, y) / MAX_GRID
        # so a cell keeps its identity across grid sizes.
        convs, width = [], c.embed + 4
        for _ in range(c.layers):
            convs.append(nn.Conv2d(width, c.channels, 3, padding=1))
            width = c.channels
        self.convs = nn.ModuleList(convs)
        self.head = nn.Sequential(
            nn.Linear(c.channels * c.pool * c.pool + 2 * c.embed, 2 * c.dim), nn.GELU(), nn.Linear(2 * c.dim, c.dim)
        )
        # The agent-centred window (config.local), unpooled so a wall next to the agent keeps its
        # cell, adds a residual to the head's output. Its last layer starts at zero, so an encoder
        # given a window by `hagent train --init` starts out encoding exactly what it did before.
        self.local = self.local_head = None
        if c.local:
            self.local = nn.Conv2d(c.channels, c.local_channels, 1)
            self.local_head = nn.Sequential(
                nn.Linear(c.local_channels * c.local * c.local, 2 * c.dim), nn.GELU(), nn.Linear(2 * c.dim, c.dim)
            )
            nn.init.zeros_(self.local_head[-1].weight)
            nn.init.zeros_(self.local_head[-1].bias)
            self.register_buffer("forward_step", torch.tensor(FORWARD), persistent=False)

    @property
    def dim(self) -> int:
        """Latent size D."""
        return self.config.dim

    def encode(self, image: torch.Tensor, direction: torch.Tensor, carried: torch.Tensor | None = None) -> torch.Tensor:
        """image: [B, W, H, 3] integer minigrid codes, direction: [B], carried: [B, 3] code of the
        object in hand (None: hands empty) -> s: [B, D]."""
        if image.ndim != 4 or image.shape[-1] != 3:
            raise ValueError(f"image must be [B, W, H, 3], got {tuple(image.shape)}")
        B, W, H, _ = image.shape
        if not (MIN_GRID <= W <= MAX_GRID and MIN_GRID <= H <= MAX_GRID):
            raise ValueError(f"grid {W}x{H} is outside the supported {MIN_GRID}..{MAX_GRID} cells per side")
        if direction.shape != (B,):
            raise ValueError(f"direction must be [B]={B}, got {tuple(direction.shape)}")
        if carried is None:
            carried = torch.zeros(B, 3, dtype=torch.long, device=image.device)
            carried[:, 0] = EMPTY
        elif carried.shape != (B, 3):
            raise ValueError(f"carried must be [B, 3]=[{B}, 3], got {tuple(carried.shape)}")
        held = carried.long()
        held = self.held_object(held[:, 0]) + self.held_colour(held[:, 1])  # (B, E)
        codes = image.long()
        x = self.object(codes[..., 0]) + self.colour(codes[..., 1]) + self.state(codes[..., 2])  # (B, W, H, E)
        x = x.permute(0, 3, 1, 2)  # (B, E, W, H)
        x = torch.cat([x, self._coords(B, W, H, x)], dim=1)  # (B, E+4, W, H)
        for conv in self.convs:
            x = F.gelu(conv(x))
        pooled = F.adaptive_avg_pool2d(x, self.config.pool)  # (B, C, pool, pool)
        # the heading joins after pooling: broadcast into every cell it drowned out the layout
        s = self.head(torch.cat([pooled.flatten(1), self.heading(direction.long()), held], dim=-1))
        if self.local is not None:
            s = s + self.local_head(self._around_agent(self.local(x), codes[..., 0], direction.long()))
        return s

    def _around_agent(self, x: torch.Tensor, objects: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        """x: [B, L, W, H] features, objects: [B, W, H] object codes, direction: [B] -> the
        `local x local` cells around the agent's cell, turned so that row i is i - r cells ahead
        and column j is j - r cells to its right: [B, L * local * local]. Off the grid reads zero;
        a view without the agent's mark gives zeros."""
        B, _, W, H = x.shape
        r = self.config.local // 2
        marked = (objects == AGENT).flatten(1)  # (B, W * H)
        cell = marked.float().argmax(1)
        ax, ay = cell // H, cell % H
        ahead = self.forward_step[direction]  # (B, 2)
        right = torch.stack([-ahead[:, 1], ahead[:, 0]], dim=1)  # a quarter turn clockwise (y points down)
        off = torch.arange(-r, r + 1, device=x.device)
        i, j = off[None, :, None], off[None, None, :]
        gx = ax[:, None, None] + i * ahead[:, 0, None, None] + j * right[:, 0, None, None]  # (B, k, k)
        gy = ay[:, None, None] + i * ahead[:, 1, None, None] + j * right[:, 1, None, None]
        padded = F.pad(x, (r, r, r, r))  # (B, L, W + 2r, H + 2r)
        window = padded[torch.arange(B, device=x.device)[:, None, None], :, gx + r, gy + r]  # (B, k, k, L)
        return (window * marked.any(1)[:, None, None, None]).flatten(1)

    def forward(self, image: torch.Tensor, direction: torch.Tensor, carried: torch.Tensor | None = None) -> torch.Tensor:
        """Same as `encode`."""
        return self.encode(image, direction, carried)

    @staticmethod
    def _coords(B: int, W: int, H: int, like: torch.Tensor) -> torch.Tensor:
        xs = torch.arange(W, device=like.device, dtype=like.dtype)
        ys = torch.arange(H, device=like.device, dtype=like.dtype)
        gx, gy = torch.meshgrid(xs, ys, indexing="ij")  # (W, H)
        rel = torch.stack([2 * gx / max(W - 1, 1) - 1, 2 * gy / max(H - 1, 1) - 1])
        absolute = torch.stack([gx, gy]) / MAX_GRID
        return torch.cat([rel, absolute]).expand(B, 4, W, H)


class PixelEncoder(nn.Module):
    """An RGB view -> `s [B, D]`.

    A small object in a large view (the point worlds' agent is a dot of a few pixels) barely
    moves pooled features, so colour-opponent channels join the input and the encoder has two paths: spatial-softmax keypoints (per channel
    of a half-resolution feature map, the expected (x, y) of its activation: positions as
    numbers, as in Levine et al.'s deep spatial autoencoders) and a strided conv stack pooled to
    `pool x pool` for the layout. Both join in an MLP head. Any view of at least 8x8 pixels works.
    """

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        c = config
        # RGB, two colour-opponent channels (R-G, B-(R+G)/2: what stands out by colour rather than
        # brightness) and two coordinate channels in; half resolution out
        self.stem = nn.Conv2d(3 + 2 + 2, c.channels, 3, stride=2, padding=1)
        self.keypoints = nn.Conv2d(c.channels, c.channels, 1)
        self.temperature = nn.Parameter(torch.zeros(()))  # log of the softmax's sharpness
        convs = [nn.Conv2d(c.channels, c.channels, 3, stride=2, padding=1) for _ in range(max(c.layers - 1, 1))]
        self.convs = nn.ModuleList(convs)
        self.head = nn.Sequential(
            nn.Linear(2 * c.channels + c.channels * c.pool * c.pool, 2 * c.dim), nn.GELU(), nn.Linear(2 * c.dim, c.dim)
        )

    @property
    def dim(self) -> int:
        """Latent size D."""
        return self.config.dim

    def encode(self, image: torch.Tensor, direction: torch.Tensor | None = None, carried: torch.Tensor | None = None) -> torch.Tensor:
        """image: [B, H, W, 3] uint8 RGB -> s: [B, D]. `direction` and `carried` are accepted for
        the `Level.encode` signature and ignored (a view shows everything there is)."""
        if image.ndim != 4 or image.shape[-1] != 3:
            raise ValueError(f"image must be [B, H, W, 3] RGB, got {tuple(image.shape)}")
        B, H, W, _ = image.shape
        if H < 8 or W < 8:
            raise ValueError(f"image {H}x{W} is smaller than the 8x8 pixels the encoder needs")
        x = image.permute(0, 3, 1, 2).float() / 255.0
        r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
        x = torch.cat([x, r - g, b - (r + g) / 2, self._grid(B, H, W, x)], dim=1)
        x = F.gelu(self.stem(x))  # (B, C, H/2, W/2)
        logits = self.keypoints(x).flatten(2) * self.temperature.exp() * 10.0  # (B, C, HW/4)
        attention = torch.softmax(logits, dim=-1)
        grid = self._grid(1, x.shape[2], x.shape[3], x).flatten(2)  # (1, 2, HW/4)
        points = torch.einsum("bcn,kn->bck", attention, grid[0]).flatten(1)  # (B, 2C): expected (x, y) per channel
        for conv in self.convs:
            x = F.gelu(conv(x))
        pooled = F.adaptive_avg_pool2d(x, self.config.pool).flatten(1)
        return self.head(torch.cat([points, pooled], dim=-1))

    def forward(self, image: torch.Tensor, direction: torch.Tensor | None = None, carried: torch.Tensor | None = None) -> torch.Tensor:
        """Same as `encode`."""
        return self.encode(image, direction, carried)

    @staticmethod
    def _grid(B: int, H: int, W: int, like: torch.Tensor) -> torch.Tensor:
        """Coordinate channels (x, y) in [-1, 1]: [B, 2, H, W]."""
        ys = torch.linspace(-1, 1, H, device=like.device, dtype=like.dtype)
        xs = torch.linspace(-1, 1, W, device=like.device, dtype=like.dtype)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gx, gy]).expand(B, 2, H, W)


class VectorEncoder(nn.Module):
    """A float observation vector (a gymnasium env's `observation`, e.g. PointMaze's position and
    velocity) -> `s [B, D]`: an MLP of `layers` hidden layers of `2 * dim` units.

    Inputs are standardized by statistics of the training data (`fit`), kept as buffers, so the
    encoder sees every coordinate at a comparable scale whatever its units.
    """

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        width = 2 * config.dim
        sizes = [config.inputs] + [width] * config.layers
        hidden = [m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.GELU())]
        self.net = nn.Sequential(*hidden, nn.Linear(sizes[-1], config.dim))
        self.register_buffer("mean", torch.zeros(config.inputs))
        self.register_buffer("scale", torch.ones(config.inputs))

    @property
    def dim(self) -> int:
        """Latent size D."""
        return self.config.dim

    @torch.no_grad()
    def fit(self, vectors: torch.Tensor) -> None:
        """Set the input standardization from data: vectors [N, inputs]."""
        self.mean.copy_(vectors.float().mean(0))
        self.scale.copy_(vectors.float().std(0).clamp_min(1e-3))

    def encode(self, vector: torch.Tensor, direction: torch.Tensor | None = None, carried: torch.Tensor | None = None) -> torch.Tensor:
        """vector: [B, inputs] float -> s: [B, D]. `direction` and `carried` are accepted for the
        `Level.encode` signature and ignored."""
        if vector.ndim != 2 or vector.shape[-1] != self.config.inputs:
            raise ValueError(f"vector must be [B, {self.config.inputs}], got {tuple(vector.shape)}")
        return self.net((vector.float() - self.mean) / self.scale)

    def forward(self, vector: torch.Tensor, direction: torch.Tensor | None = None, carried: torch.Tensor | None = None) -> torch.Tensor:
        """Same as `encode`."""
        return self.encode(vector, direction, carried)


def build_encoder(config: EncoderConfig) -> GridEncoder | PixelEncoder | VectorEncoder:
    """The encoder `config.kind` names."""
    match config.kind:
        case "pixels":
            return PixelEncoder(config)
        case "vector":
            return VectorEncoder(config)
    return GridEncoder(config)
