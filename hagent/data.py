"""Loading reward-free datasets (made by `hagent.collect`) as fixed-length training windows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file

from hagent.collect import DatasetError, read_manifest, step_keys


class Window(NamedTuple):
    """A batch of fixed-length windows. `action[:, t]` is taken in `image[:, t]` and leads to
    `image[:, t + 1]`; the last action leads outside the window. `agent`, `room`, `on_lava` and
    `events` are the world's labels; what each may teach is listed in `hagent.collect`."""

    image: torch.Tensor  # [B, T, W, H, 3] uint8
    direction: torch.Tensor  # [B, T] int64
    carried: torch.Tensor  # [B, T, 3] uint8, the code of the object in hand ("empty" when none)
    action: torch.Tensor  # [B, T] int64
    agent: torch.Tensor  # [B, T, 2] int64
    room: torch.Tensor  # [B, T, 2] int64, -1 outside room worlds
    on_lava: torch.Tensor  # [B, T] bool
    events: torch.Tensor  # [B, T] int64 bit mask of hagent.worlds.EVENT_KINDS caused by action t


class PointWindow(NamedTuple):
    """A batch of windows of a point world: `action[:, t]` (a 2D displacement) is taken in
    `image[:, t]`. `position` and `room` are the world's labels: they only choose which windows
    are oversampled (`WindowDataset.eventful`); no planner and no trained part reads them."""

    image: torch.Tensor  # [B, T, H, W, 3] uint8 RGB
    action: torch.Tensor  # [B, T, 2] float32
    position: torch.Tensor  # [B, T, 2] float32, pixels
    room: torch.Tensor  # [B, T] int64


class VectorWindow(NamedTuple):
    """A batch of windows of a gym world: `action[:, t]` is taken in `vector[:, t]`; `achieved`
    is the achieved goal the env reports with each observation (the goal readout's target)."""

    vector: torch.Tensor  # [B, T, V] float32
    action: torch.Tensor  # [B, T, A] float32
    achieved: torch.Tensor  # [B, T, G] float32


class OfflineDataset:
    """All finished shards of a dataset directory, concatenated in episode order."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.keys = step_keys(self.manifest.world)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in self.keys}
        offsets, base = [np.zeros(1, dtype=np.int64)], 0
        places: list[np.ndarray] = []
        for record in self.manifest.shards:
            path = self.directory / record.file
            try:
                arrays = load_file(str(path))
            except (FileNotFoundError, SafetensorError, OSError) as err:
                raise DatasetError(f"{path}: cannot read shard: {err}") from None
            got = len(arrays.get("action", ()))
            if got != record.observations or any(k not in arrays for k in self.keys):
                raise DatasetError(f"{path}: shard does not match the manifest")
            for k in self.keys:
                parts[k].append(arrays[k])
            if "places" in arrays:
                places.append(arrays["places"])
            offsets.append(arrays["episode_offsets"][1:] + base)
            base += got
        if not self.manifest.shards:
            raise DatasetError(f"{self.directory}: the dataset holds no finished shard yet")
        self.arrays = {k: np.concatenate(v) for k, v in parts.items()}
        self.episode_offsets = np.concatenate(offsets)
        self.places = np.concatenate(places) if len(places) == len(self.manifest.shards) else None
        """Point worlds: each episode's views of every named place, [E, P, H, W, 3] (labels)."""

    @property
    def continuous(self) -> bool:
        """Whether this is a point world's dataset (2D float actions, RGB views)."""
        return self.keys != step_keys("")

    @property
    def vector(self) -> bool:
        """Whether observations are float vectors (a gym world's dataset)."""
        return "vector" in self.keys

    @property
    def reads(self) -> str:
        """What level 0 reads in this data: "grid" codes, "pixels" (RGB views) or a "vector"."""
        return "vector" if self.vector else "pixels" if self.continuous else "grid"

    @property
    def episodes(self) -> int:
        """Number of episodes."""
        return len(self.episode_offsets) - 1

    def episode(self, index: int) -> dict[str, np.ndarray]:
        """Arrays of one episode (L+1 rows; the last row's action is -1)."""
        a, b = self.episode_offsets[index], self.episode_offsets[index + 1]
        return {k: v[a:b] for k, v in self.arrays.items()}

    def strided(self, k: int) -> OfflineDataset:
        """This dataset seen by a level that acts every `k` steps (`level.time_scale`): every
        `k`-th observation of each episode, from its first, with the mean of the `k` actions taken
        meanwhile (exactly the held action when the data was collected in `k`-step chunks). An
        episode's last row keeps its zero action. Gym worlds' data only."""
        if not self.vector:
            raise DatasetError(f"{self.directory}: only a gym world's dataset can be strided")
        if k == 1:
            return self
        parts: dict[str, list[np.ndarray]] = {key: [] for key in self.keys}
        offsets = [0]
        for a, b in zip(self.episode_offsets[:-1], self.episode_offsets[1:]):
            steps = (b - a - 1) // k  # whole chunks of real actions
            rows = a + k * np.arange(steps + 1)
            for key in self.keys:
                parts[key].append(self.arrays[key][rows])
            held = self.arrays["action"][a : a + k * steps]
            chunks = held.reshape(steps, k, held.shape[-1]).mean(1)
            parts["action"][-1] = np.concatenate([chunks, np.zeros((1, held.shape[-1]))]).astype(np.float32)
            offsets.append(offsets[-1] + steps + 1)
        view = object.__new__(OfflineDataset)
        view.__dict__.update(self.__dict__)
        view.arrays = {key: np.concatenate(v) for key, v in parts.items()}
        view.episode_offsets = np.asarray(offsets, dtype=np.int64)
        return view

    def stopped_forwards(self) -> np.ndarray:
        """`[N]` bool: row t took a move that went nowhere (a wall, a closed door or an object in
        the way), its next observation the same as its own: a grid's "forward", a point world's
        displacement. Read from the observations alone; all False for gym worlds (their vectors
        carry velocities, never the same twice)."""
        from hagent.worlds import FORWARD

        a = self.arrays
        still = np.zeros(len(a["action"]), dtype=bool)
        if self.vector:
            return still
        if self.continuous:  # a point world's view: the same picture after a move
            same = (a["image"][1:] == a["image"][:-1]).reshape(len(a["image"]) - 1, -1).all(1)
            still[:-1] = same & (np.abs(a["action"][:-1]).sum(1) > 0)  # an episode's last row: zeros, no move
            return still
        image, direction = a["image"], a["direction"]
        same = (image[1:] == image[:-1]).reshape(len(image) - 1, -1).all(1) & (direction[1:] == direction[:-1])
        still[:-1] = (a["action"][:-1] == FORWARD) & same  # an episode's last row takes no action (-1)
        return still

    def windows(self, length: int) -> WindowDataset:
        """All windows of `length` observations whose actions are all real."""
        return WindowDataset(self, length)


class WindowDataset(torch.utils.data.Dataset):
    """Fixed-length windows over an `OfflineDataset`; index it with an int or a list of ints.

    Indexing with a list returns a whole batch at once, so it pairs with a `BatchSampler`
    (and later a `DistributedSampler`) in a `DataLoader(batch_size=None)`.
    """

    def __init__(self, data: OfflineDataset, length: int):
        if length < 1:
            raise ValueError("window length must be >= 1")
        self.data, self.length = data, length
        starts = []
        offs = data.episode_offsets
        for a, b in zip(offs[:-1], offs[1:]):
            steps = b - a - 1  # real actions in the episode
            if steps >= length:
                starts.append(np.arange(a, a + steps - length + 1))
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int | list[int] | np.ndarray) -> Window | PointWindow | VectorWindow:
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64))
        rows = self.starts[idx][:, None] + np.arange(self.length)[None, :]  # [B, T]
        a = self.data.arrays
        t = {k: torch.from_numpy(a[k][rows]) for k in self.data.keys}
        if self.data.vector:
            window = VectorWindow(vector=t["vector"], action=t["action"], achieved=t["achieved"])
            return VectorWindow(*(v[0] for v in window)) if np.ndim(index) == 0 else window
        if self.data.continuous:
            window = PointWindow(image=t["image"], action=t["action"], position=t["position"], room=t["room"].long())
            return PointWindow(*(v[0] for v in window)) if np.ndim(index) == 0 else window
        window = Window(
            image=t["image"],
            direction=t["direction"].long(),
            carried=t["carried"],
            action=t["action"].long(),
            agent=t["agent"].long(),
            room=t["room"].long(),
            on_lava=t["on_lava"].bool(),
            events=t["events"].long(),
        )
        if np.ndim(index) == 0:
            return Window(*(v[0] for v in window))
        return window

    def eventful(self) -> np.ndarray:
        """Indices of windows whose transitions include an event: a pickup, drop, door toggle or
        lava on grids; in a point world a step a wall stopped (moved less than half the action)
        or a pass through a door. Labels choose what to oversample, nothing else."""
        rows = self.starts[:, None] + np.arange(self.length - 1)[None, :]  # transitions inside the window
        a = self.data.arrays
        if self.data.vector:  # a gym world's data carries no event labels
            return np.zeros(0, dtype=np.int64)
        if self.data.continuous:
            moved = np.linalg.norm(a["position"][rows + 1] - a["position"][rows], axis=-1)
            blocked = moved < 0.5 * np.linalg.norm(a["action"][rows], axis=-1)
            return np.nonzero((blocked | (a["room"][rows + 1] != a["room"][rows])).any(1))[0]
        return np.nonzero((a["events"][rows] != 0).any(1))[0]

    def stopped(self) -> np.ndarray:
        """Indices of windows holding a move that went nowhere (`OfflineDataset.stopped_forwards`);
        empty for gym worlds."""
        still = self.data.stopped_forwards()
        rows = self.starts[:, None] + np.arange(self.length - 1)[None, :]
        return np.nonzero(still[rows].any(1))[0]

    def batches(self, batch_size: int, seed: int, drop_last: bool = True) -> Iterator[Window | PointWindow]:
        """One epoch of shuffled batches, deterministic for `seed`."""
        order = np.random.default_rng(seed).permutation(len(self))
        stop = len(order) - (len(order) % batch_size if drop_last else 0)
        for i in range(0, stop, batch_size):
            yield self[order[i : i + batch_size]]
