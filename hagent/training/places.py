"""Training `costs.place.PlaceGoal` on point-world data: from a view of an episode's layout,
predict the (frozen) level-0 state of the agent at each named place of that layout."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from hagent.progress import bar as progress_bar

from costs.place import PlaceGoal
from hagent.data import OfflineDataset
from levels.level import Level


class PlaceResult(NamedTuple):
    model: PlaceGoal
    metrics: dict


@torch.no_grad()
def _encode(level: Level, images: np.ndarray, chunk: int = 512) -> torch.Tensor:
    return torch.cat([level.encode(torch.as_tensor(images[i : i + chunk])) for i in range(0, len(images), chunk)])


def train_places(
    level: Level, datasets: list[OfflineDataset], seed: int, steps: int, log_path: Path | None, progress: bool,
    frames_per_episode: int = 8, batch_size: int = 256, lr: float = 1e-3,
) -> PlaceResult | None:
    """Fit the place grounding on every episode's views (the last 10% of episodes held out);
    None when the data carries no place views."""
    data = [d for d in datasets if d.places is not None]
    if not data or steps == 0:
        return None
    start = time.perf_counter()
    rng = np.random.default_rng([seed, 31])
    level.eval()
    frames, places, episode_of = [], [], []
    for d in data:
        for e in range(d.episodes):
            a, b = d.episode_offsets[e], d.episode_offsets[e + 1]
            frames.append(d.arrays["image"][rng.integers(a, b, frames_per_episode)])
            places.append(d.places[e])
            episode_of.append(len(episode_of))
    s = _encode(level, np.concatenate(frames)).view(len(frames), frames_per_episode, -1)  # [E, F, D]
    P = places[0].shape[0]
    targets = _encode(level, np.concatenate(places)).view(len(places), P, -1)  # [E, P, D]
    E = len(places)
    held = max(1, E // 10)
    train_e, val_e = np.arange(E - held), np.arange(E - held, E)
    model = PlaceGoal(s.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    scale = targets.reshape(-1, targets.shape[-1]).var(0).sum().clamp_min(1e-8)

    def batch(episodes: np.ndarray, n: int) -> tuple[torch.Tensor, ...]:
        e = episodes[rng.integers(len(episodes), size=n)]
        f = rng.integers(frames_per_episode, size=n)
        p = rng.integers(P, size=n)
        return s[e, f], torch.as_tensor(p // 5), torch.as_tensor(p % 5), targets[e, p], torch.as_tensor(e), torch.as_tensor(p)

    bar = progress_bar(range(1, steps + 1), desc="place grounding", unit="step", progress=progress)
    for _ in bar:
        x, room, place, y, *_ = batch(train_e, batch_size)
        loss = (model(x, room, place) - y).pow(2).sum(-1).mean() / scale
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    bar.close()
    model.eval()
    with torch.no_grad():
        x, room, place, y, e, p = batch(val_e, 2048)
        guess = model(x, room, place)
        error = float((guess - y).pow(2).sum(-1).mean() / scale)
        nearest = torch.cdist(guess[:, None], targets[e]).squeeze(1).argmin(-1)  # among the episode's own places
        accuracy = float((nearest == p).float().mean())
    metrics = {"stage": "places", "places_val_error": round(error, 4), "places_val_accuracy": round(accuracy, 4),
               "places_episodes": E, "places_seconds": round(time.perf_counter() - start, 1)}
    if log_path is not None:
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(metrics) + "\n")
    return PlaceResult(model, metrics)
