"""`hagent train --refit-level0`: teach level 0's predictor the moves that go nowhere.

A "forward" into a wall, a closed door or an object leaves the agent where it was. Such steps are
about 3% of the default's reward-free data, and a predictor trained on the data as it comes
imagines walking through a wall two times in three (`benchmarks/blocked_moves.py`). The refit
trains the predictor alone on windows of the data, with the windows that hold a stopped forward
(`WindowDataset.stopped`: read from the observations, the view unchanged by the move)
oversampled. The encoder stays frozen, so every module reading the encodings of real
observations (critics, the levels above, the decoder) still reads the same states, and the
targets are its own encodings: no anti-collapse term is needed. The hazard classifier and the
cell probe were trained on the predictor's imagined states too, so after a refit they judge
states a little unlike those they learned from; measured in BENCHMARKS.md ("Level 0 and the
moves that go nowhere"), and why the default preset doesn't refit yet.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from hagent.checkpoint import FORMAT, FORMAT_VERSION, METRICS_FILE, WEIGHTS_FILE, _write_tensors, load_checkpoint, write_readme_section
from hagent.config import HagentConfig, save_config
from hagent.errors import TrainingError
from hagent.progress import Stages
from hagent.progress import bar as progress_bar
from hagent.training.critic import encode_dataset
from hagent.training.pipeline import TrainResult, _load_datasets, cpu_threads


def refit_level0(
    config: HagentConfig, directory: str | Path, data_dirs: list[Path], command: str = "", progress: bool = True
) -> TrainResult:
    """Refit the predictor of the grid or point checkpoint in `directory`, in place, on `data_dirs` with
    `config.train.refit`; its encoder and every other module stay as they are."""
    start = time.perf_counter()
    directory = Path(directory)
    ckpt = load_checkpoint(directory)
    if ckpt.config.level.encoder.kind not in ("grid", "pixels"):
        raise TrainingError(f"{directory}: the refit oversamples the moves a grid's or a point world's views show went nowhere; "
                            f"this checkpoint's level 0 reads {ckpt.config.level.encoder.kind}")
    cfg = config.train.refit
    torch.manual_seed(config.seed)
    torch.set_num_threads(cpu_threads(config.train.threads))
    datasets = _load_datasets(data_dirs)
    stages = Stages(["encode the data", "refit the predictor"], show=progress)
    stages.start("encode the data", f"{sum(len(d.arrays['action']) for d in datasets):,} observations")
    level = ckpt.level
    states, actions, starts, stopped, base = [], [], [], [], 0
    for data in datasets:
        windows = data.windows(cfg.window)
        states.append(encode_dataset(level, data, torch.device("cpu")))
        action = torch.as_tensor(data.arrays["action"])
        actions.append(action.float() if level.continuous else action.long())
        stopped.append(windows.stopped() + sum(len(s) for s in starts))
        starts.append(windows.starts + base)
        base += len(data.arrays["action"])
    s_all, a_all = torch.cat(states), torch.cat(actions)
    starts_all, stopped_all = np.concatenate(starts), np.concatenate(stopped)
    if len(stopped_all) == 0 and cfg.fraction > 0:
        raise TrainingError(f"no window of {', '.join(map(str, data_dirs))} holds a move that went nowhere; nothing to oversample")
    stages.start("refit the predictor", f"{cfg.steps} steps, {len(stopped_all):,} of {len(starts_all):,} windows hold a stopped forward")
    level.encoder.requires_grad_(False)
    optimizer = torch.optim.Adam(level.predictor.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(config.seed)
    n_stopped = round(cfg.fraction * cfg.batch_size)
    offsets = torch.arange(cfg.window)[None]
    loss = torch.zeros(())
    for _ in progress_bar(range(cfg.steps), progress=progress, desc="refit", unit="step"):
        picks = np.concatenate([rng.integers(len(starts_all), size=cfg.batch_size - n_stopped),
                                stopped_all[rng.integers(len(stopped_all), size=n_stopped)]])
        rows = torch.as_tensor(starts_all[picks])[:, None] + offsets
        s, a = s_all[rows], a_all[rows[:, :-1]]
        loss = (level.rollout(s[:, 0], a) - s[:, 1:]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    level.encoder.requires_grad_(True)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": str(ckpt.step)}
    _write_tensors(directory / WEIGHTS_FILE, ckpt.jepa, metadata)
    save_config(ckpt.config.model_copy(update={"train": ckpt.config.train.model_copy(update={"refit": cfg})}), directory)
    seconds = time.perf_counter() - start
    final = {"stage": "refit", "refit_pred_loss": loss.item(), "refit_windows": len(starts_all), "refit_stopped": len(stopped_all),
             "refit_seconds": round(seconds, 1)}
    with open(directory / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(final) + "\n")
    write_readme_section(directory, "Level 0 refit on the moves that go nowhere", (
        f"Level 0's predictor refit by `{command or 'refit_level0'}` (seed {config.seed}) on "
        f"{', '.join(str(d) for d in data_dirs)}, its encoder frozen: {cfg.steps} steps of {cfg.batch_size} windows of "
        f"{cfg.window} observations, {cfg.fraction:.0%} of each batch drawn from the {len(stopped_all):,} windows (of "
        f"{len(starts_all):,}) holding a move that went nowhere; final prediction loss {loss.item():.4f}."
    ))
    return TrainResult(steps=cfg.steps, seconds=seconds, final=final, directory=directory)
