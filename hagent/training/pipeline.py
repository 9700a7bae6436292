"""`hagent train`: fit level 0's JEPA on an offline dataset, logging collapse diagnostics.

Per logged step a row goes to `metrics.jsonl`: prediction loss (absolute, relative to the target
variance, at the first and last rollout step), the VICReg variance/covariance terms, mean
per-dimension std, effective rank, inverse-dynamics loss/accuracy, learning rate and grad norm.
The checkpoint is rewritten every `train.save_every` steps; a non-finite loss stops training with
`TrainingError` and leaves the last good checkpoint in place.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from hagent.progress import Stages
from hagent.progress import bar as progress_bar

from hagent.checkpoint import (
    METRICS_FILE,
    CheckpointError,
    build_model,
    load_checkpoint,
    load_train_state,
    save_checkpoint,
    save_decoder,
    save_train_state,
    write_readme_section,
)
from hagent import distributed
from hagent.collect import DatasetError
from hagent.config import HagentConfig, save_config
from hagent.data import OfflineDataset, PointWindow, VectorWindow, Window, WindowDataset
from hagent.acting.narrative import encoder
from hagent.errors import TrainingError
from hagent.training.decoder import fit_decoder
from hagent.training.recipes import Trained, recipe_for
from levels.jepa import JEPA, JEPALoss, effective_rank


class TrainResult(NamedTuple):
    """What a finished run did."""

    steps: int
    seconds: float
    final: dict  # the last metrics row
    directory: Path


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bfloat16 autocast on `device` when `precision` is "bf16"; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda if available, else mps, else cpu; anything else is passed to torch."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_threads(requested: int) -> int:
    """Threads for torch: `requested`, or half the cores this process may run on when 0."""
    if requested > 0:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


def train(
    config: HagentConfig,
    data_dir: str | Path | list[str | Path],
    out_dir: str | Path,
    command: str = "",
    progress: bool = True,
    init: str | Path | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train level 0 on the dataset(s) in `data_dir` (one directory or a list: each batch comes
    from one of them, so worlds of different grid sizes mix), then its critic, the hazard
    classifier and the abstract levels with their critics, writing a checkpoint to `out_dir`.

    `init` names a checkpoint to start from; its level config must equal `config.level`.
    `resume` carries on an interrupted run from the checkpoint in `out_dir` (weights, optimizer,
    learning-rate schedule and the place in the data), ending where an uninterrupted run ends.
    """
    cfg = config.train
    if cfg.steps == 0 and init is None:
        raise TrainingError("train.steps=0 trains only the critic; it needs a level to start from (--init CKPT)")
    torch.manual_seed(config.seed)
    torch.set_num_threads(cpu_threads(cfg.threads))
    device = distributed.rank_device(resolve_device(config.device))
    group = distributed.setup(device)  # one process unless launched by torchrun
    main = group.is_main
    progress = progress and main  # rank 0 alone shows progress, logs and writes
    distributed.check_batch("data.batch_size", config.data.batch_size)
    data_dirs = [Path(d) for d in (data_dir if isinstance(data_dir, (list, tuple)) else [data_dir])]
    out_dir = Path(out_dir)

    if config.data.window < 2:
        raise DatasetError("data.window must be at least 2 to have a transition to predict")
    datasets = [OfflineDataset(d) for d in data_dirs]
    config = with_data_worlds(config, datasets)  # the checkpoint says what it was trained on
    recipe = recipe_for(datasets)  # what level 0 reads decides what comes before and after it
    config, datasets = recipe.prepare(config, datasets)
    windows = [d.windows(config.data.window) for d in datasets]
    if sum(len(w) for w in windows) < config.data.batch_size:
        raise DatasetError(
            f"{', '.join(map(str, data_dirs))}: only {sum(len(w) for w in windows)} windows of {config.data.window} observations; "
            f"need at least data.batch_size={config.data.batch_size} (collect more or lower the batch size)"
        )

    model = build_model(config)
    recipe.fit_inputs(model, datasets)
    if init is not None:
        _load_init(model, config, Path(init))
    model = model.to(device)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _lr_factor(step, cfg.warmup, cfg.steps))

    metrics_path = out_dir / METRICS_FILE
    log_path = metrics_path if main else None
    done = 0  # optimizer steps already taken
    if resume:
        done = _resume(model, optimizer, schedule, config, out_dir)
        distributed.barrier()  # every rank has read the checkpoint before rank 0 writes a new one
    elif main:
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics_path.write_text("")  # a new run starts a new log
    objective = distributed.wrap(model, partial(JEPA.loss, gather=distributed.gather))
    batches = _mixed_batches(windows, config.data.batch_size, config.seed, config.data.event_fraction)
    for _ in range(done):
        next(batches)  # the same data, in the same order, as an uninterrupted run
    start, last_saved, row, step = time.perf_counter(), done, {}, done
    stages = Stages(recipe.stages(config), show=progress)
    run = Trained(config, model, datasets, data_dirs, out_dir, command, start, main, device, log_path, progress, stages)

    def checkpoint(step: int) -> None:
        nonlocal last_saved
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            return  # never overwrite a good checkpoint with broken weights
        last_saved = step
        if not main:
            return
        save_checkpoint(out_dir, config, model, step, recipe.readme(run, step, row))
        save_train_state(out_dir, optimizer, schedule, step)

    stages.start("level 0", f"{cfg.steps} steps" + (f", resumed at step {done}" if done else "") + f" on {len(data_dirs)} dataset(s)")
    bar = progress_bar(range(done + 1, cfg.steps + 1), desc="train", unit="step", progress=progress,
               initial=done, total=cfg.steps)
    try:
        for step in bar:
            batch = next(batches)  # this rank's slice of the global batch
            model.train()
            with autocast(device, cfg.precision):
                loss = objective(*_inputs(batch, device))
            if distributed.any_rank(not torch.isfinite(loss.total)):
                kept = (
                    f"the last good checkpoint (step {last_saved}) is in {out_dir}"
                    if last_saved
                    else f"no checkpoint was written (the first save is at step {min(cfg.save_every, cfg.steps)})"
                )
                raise TrainingError(
                    f"non-finite loss at step {step} (prediction={loss.prediction.item():.4g}, "
                    f"variance={loss.variance.item():.4g}, covariance={loss.covariance.item():.4g}); "
                    f"stopped; {kept}. Try a lower train.lr."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            schedule.step()
            model.update_target()
            done = step

            if step % cfg.log_every == 0 or step == cfg.steps or step == 1:
                row = _metrics_row(step, loss, grad_norm, schedule.get_last_lr()[0], time.perf_counter() - start)
                if main:
                    with open(metrics_path, "a", encoding="utf-8") as f:
                        f.write(json.dumps(row) + "\n")
                bar.set_postfix(
                    pred=f"{row['pred_loss']:.3g}", std=f"{row['std']:.2f}", rank=f"{row['eff_rank']:.1f}"
                )
            if step % cfg.save_every == 0 or step == cfg.steps:
                checkpoint(step)
    except KeyboardInterrupt:
        if done > last_saved:
            checkpoint(done)  # keep what was learned so far (resume with --resume); the CLI reports the interruption
        raise
    finally:
        bar.close()
    row = dict(row)
    recipe.after_level0(run, row)  # the parts that build on level 0, then the checkpoint with them
    distributed.barrier()  # no rank finishes before rank 0's files are in place
    return TrainResult(steps=cfg.steps, seconds=time.perf_counter() - start, final=row, directory=out_dir)


def with_data_worlds(config: HagentConfig, datasets: list[OfflineDataset]) -> HagentConfig:
    """`config` whose `world` names the data a run trains on (from the datasets' manifests): the
    first dataset's world as `spec` (the world an agent that reads it acts in by default, whose
    place names or env it learned), every dataset's in `trained_on`."""
    worlds = [d.manifest.world for d in datasets]
    return config.model_copy(update={"world": config.world.model_copy(update={"spec": worlds[0], "trained_on": worlds})})


def train_decoder_only(config: HagentConfig, directory: str | Path, command: str = "", progress: bool = True) -> TrainResult:
    """Train (or retrain) the plan decoder of the checkpoint in `directory`, in place, with the
    `decoder` and `train.decoder` sections of `config`; the levels are left as they are."""
    start = time.perf_counter()
    directory = Path(directory)
    ckpt = load_checkpoint(directory)
    torch.manual_seed(config.seed)
    torch.set_num_threads(cpu_threads(config.train.threads))
    if config.train.decoder.episodes == 0:
        raise TrainingError("train.decoder.episodes=0: nothing to train the decoder on")
    main = distributed.setup(torch.device("cpu")).is_main  # the decoder trains on the CPU
    encode = encoder(ckpt.level, ckpt.abstract)
    fitted = fit_decoder(
        encode, config.decoder, config.train.decoder, config.seed, directory / METRICS_FILE if main else None, progress and main
    )
    if not main:
        distributed.barrier()  # rank 0 writes; the others wait for it
        return TrainResult(steps=config.train.decoder.steps, seconds=time.perf_counter() - start, final=fitted.metrics, directory=directory)
    save_decoder(directory, fitted.explainer)
    updated = ckpt.config.model_copy(
        update={"decoder": config.decoder, "train": ckpt.config.train.model_copy(update={"decoder": config.train.decoder})}
    )
    save_config(updated, directory)
    m = fitted.metrics
    write_readme_section(directory, "Plan decoder", (
        f"Trained on this checkpoint's levels by `{command or 'train_decoder_only'}` "
        f"(seed {config.seed}): {m['decoder_pairs']} (plan, description) pairs from executed episodes in "
        f"{', '.join(config.train.decoder.worlds)}; {config.train.decoder.steps} steps in {m['decoder_seconds']} s; "
        f"tokenizer of {m['tokenizer_vocab']} pieces; held-out greedy faithfulness {m['decoder_val_faithfulness']:.3f}, "
        f"hallucination {m['decoder_val_hallucination']:.3f}, completeness {m['decoder_val_completeness']:.3f}."
    ))
    distributed.barrier()
    return TrainResult(steps=config.train.decoder.steps, seconds=time.perf_counter() - start, final=m, directory=directory)


def train_levels_only(
    config: HagentConfig, directory: str | Path, data_dirs: list[Path], command: str = "", progress: bool = True
) -> TrainResult:
    """Train (or retrain) the abstract levels of the checkpoint in `directory` (grid, point or gym
    world), in place, with their critics and codebooks, on level 0's embeddings of `data_dirs`, with the
    `hierarchy`, `train.abstract` and `train.critic` sections of `config` (the critics' shape and
    the JEPA loss's weights are the checkpoint's own); level 0 and everything reading level-0 states
    are left as they are. A gym world's data is strided by level 0's time scale (level 1's period
    counts level-0 steps), and level 1 gets a goal embedding (goal point -> level-1 state) for its
    planner. The plan decoder reads level 1's states too: retrain it after (`train_decoder_only`)."""
    from hagent.checkpoint import write_abstract_levels
    from hagent.training.critic import dataset_pairs
    from hagent.training.goal import fit_goal_embedding
    from hagent.training.hierarchy import ABSTRACT_CAP, embed, train_abstract_levels

    start = time.perf_counter()
    directory = Path(directory)
    ckpt = load_checkpoint(directory)
    kind = ckpt.config.level.encoder.kind
    if not config.hierarchy or config.train.abstract.steps == 0:
        raise TrainingError("nothing to train: hierarchy is empty or train.abstract.steps is 0")
    torch.manual_seed(config.seed)
    torch.set_num_threads(cpu_threads(config.train.threads))
    datasets = _load_datasets(data_dirs)
    if any(d.reads != kind for d in datasets):
        raise TrainingError(f"{directory}'s level 0 reads {kind}; the data holds {', '.join(sorted({d.reads for d in datasets}))}")
    if kind == "vector":
        datasets = [d.strided(ckpt.level.time_scale) for d in datasets]  # level 0 acts every time_scale env steps
    device = next(ckpt.level.parameters()).device
    embedded = embed(ckpt.level, datasets, device)
    # the critics' shape and the JEPA loss's weights are the checkpoint's own; how the levels' critics
    # are taught is this command's `train.critic` (a gym-world checkpoint trained no critic at level 0)
    cfg, own = config.train, ckpt.config
    pairs = dataset_pairs(datasets, cfg.critic, config.seed, cap=ABSTRACT_CAP * cfg.critic.max_steps)
    log = directory / METRICS_FILE
    levels = train_abstract_levels(
        list(config.hierarchy), ckpt.level, embedded, datasets, own.train.jepa, cfg.abstract, own.critic, cfg.critic,
        config.seed, log, progress, pairs, precision=cfg.precision,
    )
    updated = ckpt.config.model_copy(update={
        "hierarchy": config.hierarchy,
        "train": ckpt.config.train.model_copy(update={"abstract": cfg.abstract}),
    })
    goal1 = None
    if kind == "vector" and cfg.readout_steps > 0:
        with torch.no_grad():
            states1 = torch.cat([levels[0].level.encode(embedded.states[i : i + 8192]) for i in range(0, len(embedded.states), 8192)])
        goal1, fitted = fit_goal_embedding(states1, datasets, cfg.readout_steps, config.seed, progress)
        levels[0] = levels[0]._replace(metrics={**levels[0].metrics, **fitted})
    write_abstract_levels(directory, updated, tuple((r.level, r.critic) for r in levels), goal1)
    final = {}
    parts = []
    for k, r in enumerate(levels, start=1):
        final.update({f"level{k}_{key}": value for key, value in r.metrics.items() if key not in ("stage", "step")})
        parts.append(
            f"level {k} (D={r.level.dim}, period {r.level.period}, {len(r.level.codes)} macro-action codes): relative "
            f"prediction loss {r.metrics['pred_loss_rel']:.3g}, " + critic_words(r.level.cfg.critic, r.metrics['critic_steps'], r.metrics['critic_val_mae'])
            + (f", goal embedding's held-out relative error {r.metrics['goal1_val_error_rel']:.3g}" if "goal1_val_error_rel" in r.metrics else "")
        )
    write_readme_section(directory, "Abstract levels", (
        f"Retrained on this checkpoint's level 0 by `{command or 'train_levels_only'}` (seed {config.seed}) on "
        f"{', '.join(str(d) for d in data_dirs)}: {cfg.abstract.steps} steps each, {cfg.abstract.horizon}-step rollouts; "
        + "; ".join(parts) + "." + (" The plan decoder was trained on the levels before: retrain it with `--decoder-only`." if kind == "grid" else "")
    ))
    return TrainResult(steps=cfg.abstract.steps, seconds=time.perf_counter() - start, final=final, directory=directory)


def train_blocked_step_only(
    config: HagentConfig, directory: str | Path, data_dirs: list[Path], command: str = "", progress: bool = True
) -> TrainResult:
    """Train (or retrain) the blocked-step model of the grid checkpoint in `directory`, in place,
    on `data_dirs`, exactly as a full run's "blocked step" stage does (`train.hazard`, the
    checkpoint's `hazard` shape); nothing else in the checkpoint changes."""
    from hagent.checkpoint import write_blocked_step
    from hagent.training.hierarchy import train_blocked_step

    start = time.perf_counter()
    directory = Path(directory)
    ckpt = load_checkpoint(directory)
    if ckpt.config.level.encoder.kind != "grid":
        raise TrainingError(f"{directory}: the blocked-step model reads grid cells; this checkpoint's level 0 reads "
                            f"{ckpt.config.level.encoder.kind}")
    torch.manual_seed(config.seed)
    torch.set_num_threads(cpu_threads(config.train.threads))
    datasets = _load_datasets(data_dirs)
    result = train_blocked_step(datasets, ckpt.config.hazard, config.train.hazard, config.seed, directory / METRICS_FILE, progress)
    if result is None:
        raise TrainingError("the data holds no grid step that went nowhere (or train.hazard.steps is 0): nothing to learn from")
    write_blocked_step(directory, result.model)
    final = {"blocked_step_recall": result.recall, "blocked_step_false_alarm": result.false_alarm, "blocked_step_count": result.blocked}
    write_readme_section(directory, "Blocked-step model", (
        f"Trained by `{command or 'train_blocked_step_only'}` (seed {config.seed}) on {', '.join(str(d) for d in data_dirs)}: "
        f"{config.train.hazard.steps} steps; on its {result.blocked:,} training steps that went nowhere recall "
        f"{result.recall:.3f}, "
        f"false alarms on the rest {result.false_alarm:.4f}."
    ))
    return TrainResult(steps=config.train.hazard.steps, seconds=time.perf_counter() - start, final=final, directory=directory)


def _load_datasets(data_dirs: list[Path]) -> list[OfflineDataset]:
    try:
        return [OfflineDataset(d) for d in data_dirs]
    except (OSError, ValueError, DatasetError) as err:
        raise TrainingError(f"can't read the data: {err}") from None


def _resume(model: JEPA, optimizer: torch.optim.Optimizer, schedule, config: HagentConfig, out_dir: Path) -> int:
    """Load the interrupted run in `out_dir` into `model`, `optimizer` and `schedule`; the steps it took."""
    ckpt = load_checkpoint(out_dir)
    if ckpt.config.level != config.level or ckpt.config.train.model_copy(update={"steps": 0}) != config.train.model_copy(update={"steps": 0}):
        raise CheckpointError(f"{out_dir}: was trained with other level or train settings; resume it with the same ones")
    model.load_state_dict(ckpt.jepa.state_dict())
    step = load_train_state(out_dir, optimizer, schedule)
    if step != ckpt.step:
        raise CheckpointError(f"{out_dir}: the optimizer state (step {step}) and the weights (step {ckpt.step}) disagree")
    if step >= config.train.steps:
        raise TrainingError(f"{out_dir}: already trained for {step} steps; nothing to resume (raise train.steps to go on)")
    return step


def _load_init(model: JEPA, config: HagentConfig, init: Path) -> None:
    """Start from `init`'s weights: the same level config, or the same one extended with an
    agent-centred window (`level.encoder.local`), whose new weights start where they add nothing."""
    start = load_checkpoint(init)
    extends = start.config.level.encoder.local == 0 < config.level.encoder.local
    theirs = start.config.level
    if extends:
        local = {"local": config.level.encoder.local, "local_channels": config.level.encoder.local_channels}
        theirs = theirs.model_copy(update={"encoder": theirs.encoder.model_copy(update=local)})
    if theirs != config.level or (start.config.train.jepa.ema > 0) != (config.train.jepa.ema > 0):
        raise CheckpointError(
            f"{init}: trained with a different level config (or EMA setting) than this run; "
            "pass the same level.* settings to start from it (adding level.encoder.local is the one change allowed)"
        )
    missing, unexpected = model.load_state_dict(start.jepa.state_dict(), strict=not extends)
    new = [k for k in missing if ".encoder.local." not in k and ".encoder.local_head." not in k]
    if new or unexpected:
        raise CheckpointError(f"{init}: its weights don't fit this model (missing {new[:3]}, unexpected {unexpected[:3]})")


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def _inputs(batch: Window | PointWindow, device: torch.device) -> tuple:
    """`JEPA.loss`'s (image, direction, action, carried) for a batch; views have no heading or hands."""
    if isinstance(batch, VectorWindow):
        return batch.vector.to(device), None, batch.action.to(device), None
    if isinstance(batch, PointWindow):
        return batch.image.to(device), None, batch.action.to(device), None
    return batch.image.to(device), batch.direction.to(device), batch.action.to(device), batch.carried.to(device)


def _batches(windows: WindowDataset, batch_size: int, seed: int, event_fraction: float) -> Iterator[Window]:
    """Endless shuffled batches (epoch e's order comes from (seed, e)); `event_fraction` of each
    batch is replaced by windows drawn from those where something besides the agent changes.
    Under torchrun every rank draws the same global batch and loads only its own shard of it."""
    eventful = windows.eventful()
    n_events = round(event_fraction * batch_size) if len(eventful) else 0
    rng = np.random.default_rng([seed, 7])
    epoch = 0
    while True:
        order = np.random.default_rng(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])).permutation(len(windows))
        step = batch_size - n_events
        for i in range(0, len(order) - step + 1, step):
            picks = order[i : i + step]
            if n_events:
                picks = np.concatenate([picks, eventful[rng.integers(len(eventful), size=n_events)]])
            yield windows[distributed.shard(picks)]
        epoch += 1


def _mixed_batches(windows: list[WindowDataset], batch_size: int, seed: int, event_fraction: float) -> Iterator[Window]:
    """Endless batches, each from one dataset (grids of one size), datasets drawn in proportion to their windows."""
    streams = [_batches(w, batch_size, seed + i, event_fraction) for i, w in enumerate(windows)]
    if len(streams) == 1:
        yield from streams[0]
    weights = np.array([len(w) for w in windows], dtype=np.float64)
    rng = np.random.default_rng([seed, 11])
    while True:
        yield next(streams[rng.choice(len(streams), p=weights / weights.sum())])


def _metrics_row(step: int, loss: JEPALoss, grad_norm: torch.Tensor, lr: float, elapsed: float) -> dict:
    """One log row; per-sample terms are averaged over ranks (the batch statistics already are global)."""
    per_step = loss.prediction_per_step.tolist()
    return {
        "step": step,
        "loss": distributed.mean(loss.total),
        "pred_loss": distributed.mean(loss.prediction),
        "pred_loss_rel": distributed.mean(loss.prediction_relative),
        "pred_loss_first": distributed.mean(per_step[0]),
        "pred_loss_last": distributed.mean(per_step[-1]),
        "var_loss": loss.variance.item(),
        "cov_loss": loss.covariance.item(),
        "delta_loss": loss.delta.item(),
        "inverse_loss": distributed.mean(loss.inverse),
        "inverse_acc": distributed.mean(loss.inverse_accuracy),
        "std": loss.std.item(),
        "eff_rank": effective_rank(loss.embeddings),
        "dim": loss.embeddings.shape[-1],
        "lr": lr,
        "grad_norm": float(grad_norm),
        "elapsed_s": round(elapsed, 3),
    }


def critic_words(kind: str, steps: int, val_mae: float) -> str:
    """A level critic in words: how it was taught (`AbstractLevelConfig.critic`), for how many
    steps, and its held-out error where it had distance labels to miss."""
    match kind:
        case "quasimetric":
            return f"quasimetric critic ({steps} steps, taught without distance labels)"
        case "td":
            return f"temporal-difference critic ({steps} steps, taught without distance labels)"
    return f"critic ({steps} steps) held-out error {val_mae:.2f} steps"
