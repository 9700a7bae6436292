"""Gym worlds, after level 0: the goal readout (`costs.readout.GoalReadout`) and level 1's
landmark graph (`levels.landmarks.LandmarkGraph`), both from the reward-free data alone.

The readout learns what each level-0 state amounts to in the env's goal space, from the
`achieved_goal` the env reports with every observation (an observation, not a success signal).
The graph is then built on the readout's own points of the data's states, so level 1 remembers
the places and moves as the agent's model sees them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from hagent.progress import bar as progress_bar

from costs.readout import GoalEmbedding, GoalReadout
from hagent.data import OfflineDataset
from levels.landmarks import LandmarkGraph
from levels.level import Level

VALIDATION = 0.1  # share of episodes held out to measure the readout


class GoalParts(NamedTuple):
    """What a gym-world checkpoint plans with above level 0, and how well the readout fits."""

    readout: GoalReadout
    landmarks: LandmarkGraph
    metrics: dict


@torch.no_grad()
def _states(level: Level, data: OfflineDataset, chunk: int = 8192) -> torch.Tensor:
    vectors = torch.as_tensor(data.arrays["vector"])
    return torch.cat([level.encode(vectors[i : i + chunk]) for i in range(0, len(vectors), chunk)])


def train_goal_parts(
    level: Level, datasets: list[OfflineDataset], steps: int, spacing: float, min_count: int, seed: int,
    log_path: Path | None = None, progress: bool = True,
) -> GoalParts:
    """Fit the readout on the datasets' (level-0 state, achieved goal) pairs, then build the
    landmark graph over the readout's points of every episode. `datasets` are as level 0 saw
    them (strided by its time scale), so a hop is one level-0 step."""
    start = time.perf_counter()
    level.eval()
    states = torch.cat([_states(level, d) for d in datasets])
    achieved = torch.cat([torch.as_tensor(d.arrays["achieved"]) for d in datasets]).float()
    generator = torch.Generator().manual_seed(seed)
    val = _held_out(datasets, generator)
    readout = _regress(GoalReadout(level.dim, achieved.shape[1]), states, achieved, val, steps, generator,
                       lambda out, y: (out - y).norm(dim=-1).mean(), "goal readout", progress)
    with torch.no_grad():
        points = readout(states)
        error = (points - achieved).norm(dim=-1)
    offsets = np.concatenate([[0], np.cumsum([len(d.arrays["achieved"]) for d in datasets])])
    episodes = [points[a + d.episode_offsets[i] : a + d.episode_offsets[i + 1]]
                for a, d in zip(offsets[:-1], datasets) for i in range(d.episodes)]
    landmarks = LandmarkGraph.build(episodes, spacing, min_count)
    metrics = {
        "readout_val_error": round(float(error[val].mean()) if val.any() else float("nan"), 4),
        "readout_train_error": round(float(error[~val].mean()), 4),
        "landmarks": len(landmarks),
        "landmark_hops": len(landmarks.edges),
        "goal_parts_seconds": round(time.perf_counter() - start, 1),
    }
    if log_path is not None:
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"stage": "goal", **metrics}) + "\n")
    return GoalParts(readout, landmarks, metrics)


def fit_goal_embedding(
    states: torch.Tensor, datasets: list[OfflineDataset], steps: int, seed: int, progress: bool = True,
) -> tuple[GoalEmbedding, dict]:
    """Fit level 1's goal embedding (`costs.readout.GoalEmbedding`) on the datasets' (achieved
    goal, level-1 state) pairs; `states [N, D1]` are level 1's encodings of the datasets' rows, in
    order. Returns it and its held-out error relative to the states' spread (1: no better than
    their mean; the velocity a goal point leaves open keeps it above 0)."""
    achieved = torch.cat([torch.as_tensor(d.arrays["achieved"]) for d in datasets]).float()
    generator = torch.Generator().manual_seed(seed)
    val = _held_out(datasets, generator)
    model = _regress(GoalEmbedding(achieved.shape[1], states.shape[1]), achieved, states, val, steps, generator,
                     lambda out, y: (out - y).pow(2).mean(), "level-1 goal embedding", progress)
    with torch.no_grad():
        rows = val if val.any() else ~val
        error = (model(achieved[rows]) - states[rows]).pow(2).mean() / states[rows].var(0).sum().clamp_min(1e-8) * states.shape[1]
    return model, {"goal1_val_error_rel": round(float(error), 4)}


def _held_out(datasets: list[OfflineDataset], generator: torch.Generator) -> torch.Tensor:
    """`[N]` bool over the datasets' rows: those of the episodes held out for validation (a
    `VALIDATION` share, drawn per episode)."""
    episode = torch.cat([torch.as_tensor(np.repeat(np.arange(d.episodes), np.diff(d.episode_offsets))) + 1_000_000 * k
                         for k, d in enumerate(datasets)])
    held = torch.rand(int(episode.max()) + 1, generator=generator) < VALIDATION
    return held[episode]


def _regress(
    model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, val: torch.Tensor, steps: int, generator: torch.Generator,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], desc: str, progress: bool,
) -> torch.nn.Module:
    """Fit `model(inputs) -> targets` on the rows not in `val` (AdamW, cosine schedule, 512 rows a step); returns it in eval mode."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))
    train_idx = torch.nonzero(~val).squeeze(1)
    for _ in progress_bar(range(steps), desc=desc, unit="step", progress=progress):
        pick = train_idx[torch.randint(len(train_idx), (512,), generator=generator)]
        value = loss(model(inputs[pick]), targets[pick])
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        schedule.step()
    return model.eval()
