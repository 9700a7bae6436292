"""Training what sits on top of a trained level 0: the hazard classifier, the step-hazard model,
the cell probe, the abstract levels k >= 1 (each by its own JEPA loss, the levels below frozen)
and a critic per abstract level.

Everything here works on level 0's embeddings of the offline data, so several datasets (worlds
with different grid sizes) are simply concatenated. Reward-free. What teaches each part, and
what it does while acting:

* the abstract levels: the data's own observations and actions (JEPA), nothing else;
* their critics: hindsight step distances (`hagent.labels`; `train.critic.labels`): by default
  the data's own observed transitions, the rule-based `oracle_pairs` only as a named baseline.
  Planners read the critics (level 1's hop lengths and reach);
* the hazard classifier and the step-hazard model: the world's hazard flags (`on_lava`), an
  intrinsic cost (DESIGN.md allows hazard labels): the hazard guardrail while acting;
* the cell probe: the agent's cell, read from its mark in each (fully observed) observation
  (`marked_cells`), not from the world's label: region guardrails read imagined states with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from minigrid.core.constants import OBJECT_TO_IDX
from hagent.progress import bar as progress_bar

from costs.config import CriticConfig, CriticTrainConfig, HazardConfig, HazardTrainConfig
from costs.critic import Critic, QuasimetricCritic
from costs.hazard import BlockedStep, CellProbe, HazardModel, StepHazard, patches
from hagent import distributed
from hagent.data import OfflineDataset
from hagent.training.critic import dataset_pairs, encode_dataset, episode_transitions, fit_critic, fit_quasimetric, fit_td_critic
from levels.abstract import AbstractLevel, abstract_loss
from levels.config import AbstractLevelConfig, AbstractTrainConfig, JEPAConfig
from levels.jepa import effective_rank
from levels.latent import fit_codebook
from levels.level import Level


ABSTRACT_CAP = 3
"""Abstract levels' critics learn distances up to this many times level 0's `max_steps`."""
_AGENT = OBJECT_TO_IDX["agent"]


def marked_cells(images: np.ndarray) -> np.ndarray:
    """The agent's cell in each grid observation, read from its mark as the acting code reads it
    (`hagent.acting.grounding.agent_pose`): `images [N, W, H, 3]` -> `[N, 2]` (x, y)."""
    n, _, h = images.shape[:3]
    first = (images[..., 0] == _AGENT).reshape(n, -1).argmax(1)  # the first marked cell, x-major
    return np.stack([first // h, first % h], 1)


class Embedded(NamedTuple):
    """Level-0 states of every observation of several datasets, concatenated."""

    states: torch.Tensor  # [N, D0]
    actions: torch.Tensor  # [N] long, -1 on each episode's last observation; continuous: [N, A] float, zeros there
    offsets: np.ndarray  # [E+1] first row of each episode
    hazard: torch.Tensor  # [N] bool: the observation shows the agent in a hazard (label)


@torch.no_grad()
def embed(level: Level, datasets: list[OfflineDataset], device: torch.device) -> Embedded:
    """Encode every observation of `datasets` with level 0."""
    states = torch.cat([encode_dataset(level, d, device) for d in datasets])
    actions = torch.cat([torch.as_tensor(d.arrays["action"]) for d in datasets]).to(device)
    actions = actions.float() if level.continuous else actions.long()
    hazard = torch.cat([torch.as_tensor(d.arrays["on_lava"]).bool() if "on_lava" in d.arrays else torch.zeros(len(d.arrays["action"]), dtype=torch.bool)
                        for d in datasets]).to(device)
    offsets, base = [np.zeros(1, dtype=np.int64)], 0
    for d in datasets:
        offsets.append(d.episode_offsets[1:] + base)
        base += len(d.arrays["action"])
    return Embedded(states, actions, np.concatenate(offsets), hazard)


class Stack:
    """Levels 1..L over embedded data: the state and the action of level k at given rows."""

    def __init__(self, levels: list[AbstractLevel], data: Embedded):
        self.levels, self.data = levels, data

    def span(self, k: int) -> int:
        """World steps per step of level k."""
        return int(np.prod([lv.period for lv in self.levels[:k]], dtype=np.int64))

    def state(self, k: int, rows: torch.Tensor) -> torch.Tensor:
        """Level-k states at `rows [B]`: `[B, D_k]`."""
        s = self.data.states[rows]
        for level in self.levels[:k]:
            s = level.encode(s)
        return s

    def action(self, k: int, rows: torch.Tensor) -> torch.Tensor:
        """The action level k takes at `rows [B]`: world action ids (k=0) or macro latents `[B, M]`."""
        if k == 0:
            return self.data.actions[rows]
        level, step = self.levels[k - 1], self.span(k - 1)
        return level.summarize(torch.stack([self.action(k - 1, rows + i * step) for i in range(level.period)], 1))

    def valid_rows(self, k: int, horizon: int) -> np.ndarray:
        """Rows from which `horizon` steps of level k stay inside one episode."""
        need = horizon * self.span(k)
        out = [np.arange(a, b - need) for a, b in zip(self.data.offsets[:-1], self.data.offsets[1:]) if b - 1 - a >= need]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


class LevelResult(NamedTuple):
    """A trained abstract level and its critic."""

    level: AbstractLevel
    critic: Critic | QuasimetricCritic
    metrics: dict


def train_abstract_levels(
    configs: list[AbstractLevelConfig],
    level0: Level,
    data: Embedded,
    datasets: list[OfflineDataset],
    jepa: JEPAConfig,
    cfg: AbstractTrainConfig,
    critic_arch: CriticConfig,
    critic_cfg: CriticTrainConfig,
    seed: int,
    metrics_path: Path | None = None,
    progress: bool = True,
    pairs: tuple | None = None,
    precision: str = "fp32",
) -> list[LevelResult]:
    """Train levels 1..L bottom-up, each with the levels below frozen, then its critic
    (`precision="bf16"`: the JEPA loss under bfloat16 autocast)."""
    results: list[LevelResult] = []
    levels: list[AbstractLevel] = []
    below_dim, below_actions, discrete = level0.dim, level0.actions, not level0.continuous
    pairs, episode = pairs if pairs is not None else dataset_pairs(datasets, critic_cfg, seed, cap=ABSTRACT_CAP * critic_cfg.max_steps)
    episodes = sum(d.episodes for d in datasets)
    for k, lcfg in enumerate(configs, start=1):
        torch.manual_seed(seed + k)
        level = AbstractLevel(lcfg, below_dim, below_actions, discrete).to(data.states.device)
        stack = Stack(levels + [level], data)
        rows = stack.valid_rows(k, cfg.horizon)
        if len(rows) == 0:
            raise ValueError(
                f"level {k}: no episode lasts {cfg.horizon * stack.span(k)} steps (train.abstract.horizon x the "
                "levels' periods); collect longer episodes or shorten hierarchy periods"
            )
        stopped = _stopped_rows(datasets, rows, cfg.horizon * stack.span(k)) if cfg.stopped_fraction > 0 else rows[:0]
        n_stopped = round(cfg.stopped_fraction * cfg.batch_size) if len(stopped) else 0
        optimizer = torch.optim.Adam(level.parameters(), lr=cfg.lr)
        distributed.check_batch("train.abstract.batch_size", cfg.batch_size)
        objective = distributed.wrap(level, lambda lv, b, c: abstract_loss(lv, b, c, jepa, cfg, distributed.gather))
        rng = np.random.default_rng([seed, k])
        step_below = stack.span(k - 1)
        bar = progress_bar(range(1, cfg.steps + 1), desc=f"level {k}", unit="step", progress=progress)
        row: dict = {}
        for step in bar:
            picked = np.concatenate([rows[rng.integers(len(rows), size=cfg.batch_size - n_stopped)],
                                     stopped[rng.integers(max(len(stopped), 1), size=n_stopped)]])
            r = torch.as_tensor(distributed.shard(picked), device=data.states.device)
            span = stack.span(k)
            with torch.no_grad():
                below = torch.stack([stack.state(k - 1, r + t * span) for t in range(cfg.horizon + 1)], 1)
                chunks = torch.stack(
                    [torch.stack([stack.action(k - 1, r + t * span + i * step_below) for i in range(lcfg.period)], 1)
                     for t in range(cfg.horizon)],
                    1,
                )  # (B, H, K, ...)
            with torch.autocast(below.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = objective(below, chunks)
            if distributed.any_rank(not torch.isfinite(loss.total)):
                raise FloatingPointError(f"level {k}: non-finite loss at step {step}; try a lower train.abstract.lr")
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            optimizer.step()
            if step % 100 == 0 or step == cfg.steps:
                row = {
                    "stage": f"level{k}", "step": step, "pred_loss": distributed.mean(loss.prediction),
                    "pred_loss_rel": distributed.mean(loss.prediction_relative), "var_loss": loss.variance.item(),
                    "cov_loss": loss.covariance.item(), "std": loss.std.item(), "eff_rank": effective_rank(loss.embeddings),
                    "dim": lcfg.dim,
                }
                bar.set_postfix(pred=f"{row['pred_loss_rel']:.3g}", rank=f"{row['eff_rank']:.1f}")
                _log(metrics_path, row)
        bar.close()
        level.eval()
        for p in level.parameters():
            p.requires_grad_(False)
        levels.append(level)
        level.codes = _codebook(stack, k, lcfg.codes, seed + k)
        with torch.no_grad():
            states = torch.cat([stack.state(k, torch.arange(i, min(i + 8192, len(data.states)))) for i in range(0, len(data.states), 8192)])
        if lcfg.critic == "quasimetric":  # no distance labels: pushed apart under the data's own steps
            transitions, episode_of = episode_transitions(datasets)
            critic = fit_quasimetric(states, transitions, episode_of, steps=cfg.quasimetric_steps, slack=cfg.quasimetric_slack,
                                     seed=seed + k, progress=progress, name=f"critic{k}")
            row = dict(row, critic_val_mae=float("nan"), critic_steps=cfg.quasimetric_steps)  # nothing to compare with: no labels
        elif lcfg.critic == "td":  # no distance labels: one recorded step at a time, stitched across episodes
            transitions, episode_of = episode_transitions(datasets)
            critic = fit_td_critic(states, transitions, episode_of, critic_arch, critic_cfg, steps=cfg.td_steps,
                                   random_goals=cfg.td_random_goals, polyak=cfg.td_polyak, cap=float(ABSTRACT_CAP * critic_cfg.max_steps),
                                   seed=seed + k, progress=progress, name=f"critic{k}")
            row = dict(row, critic_val_mae=float("nan"), critic_steps=cfg.td_steps)  # shortest ways, not the walks hindsight labels count
        else:
            fitted = fit_critic(states, pairs, episode, episodes, critic_arch, critic_cfg, seed + k, metrics_path, progress, name=f"critic{k}")
            row, critic = dict(row, critic_val_mae=fitted.val_mae, critic_steps=critic_cfg.steps), fitted.critic
        results.append(LevelResult(level, critic, row))
        below_dim, below_actions, discrete = lcfg.dim, lcfg.macro_dim, False
    return results


def _stopped_rows(datasets: list[OfflineDataset], rows: np.ndarray, steps: int) -> np.ndarray:
    """The `rows` (of the datasets' concatenation) whose next `steps` level-0 actions include a
    forward that went nowhere."""
    still = np.concatenate([d.stopped_forwards() for d in datasets])
    before = np.concatenate([[0], np.cumsum(still)])  # before[t]: stopped forwards in rows < t
    return rows[before[rows + steps] > before[rows]]


@torch.no_grad()
def _codebook(stack: Stack, k: int, size: int, seed: int, samples: int = 20000) -> torch.Tensor:
    """Level k's codebook: `size` centroids of the macro-actions the data's chunks summarize to."""
    rows = stack.valid_rows(k, 1)
    if size == 0 or len(rows) == 0:
        return torch.zeros(0, stack.levels[k - 1].cfg.macro_dim, device=stack.data.states.device)
    rng = np.random.default_rng([seed, 7])
    picked = torch.as_tensor(rows[rng.integers(len(rows), size=min(samples, len(rows)))], device=stack.data.states.device)
    latents = torch.cat([stack.action(k, picked[i : i + 4096]) for i in range(0, len(picked), 4096)])
    return fit_codebook(latents, size, seed)


class ProbeResult(NamedTuple):
    """A trained cell probe and its accuracy on imagined next states."""

    model: CellProbe
    accuracy: float  # share of predicted next states whose most likely cell is the true one


def train_probe(
    level0: Level, data: Embedded, cells: torch.Tensor, arch: HazardConfig, cfg: HazardTrainConfig, seed: int,
    metrics_path: Path | None = None, progress: bool = True,
) -> ProbeResult | None:
    """Fit the cell probe on real and predicted next states; `cells [N, 2]` are the agent's cells
    (`marked_cells`: read from the observations)."""
    if cfg.steps == 0:
        return None
    rows = torch.nonzero(data.actions >= 0).squeeze(1)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    model = CellProbe(arch, level0.dim).to(data.states.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    distributed.check_batch("train.hazard.batch_size", cfg.batch_size)
    objective = distributed.wrap(model, _probe_loss)
    bar = progress_bar(range(1, cfg.steps + 1), desc="cell probe", unit="step", progress=progress)
    for step in bar:
        r = distributed.shard(rows[torch.randint(len(rows), (cfg.batch_size,), generator=generator)])
        with torch.no_grad():
            imagined = level0.predict(data.states[r], data.actions[r])
        loss = objective(torch.cat([data.states[r + 1], imagined]), cells[r + 1].repeat(2, 1))
        _descend(optimizer, loss, step, cfg.steps, bar, metrics_path, "probe")
    model.eval()
    with torch.no_grad():
        r = rows[torch.randint(len(rows), (min(len(rows), 50000),), generator=generator)]
        col, row = model.logits(level0.predict(data.states[r], data.actions[r]))
        hit = (col.argmax(1) == cells[r + 1, 0]) & (row.argmax(1) == cells[r + 1, 1])
    return ProbeResult(model, float(hit.float().mean()))


def _probe_loss(model: CellProbe, states: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    col, row = model.logits(states)
    return F.cross_entropy(col, target[:, 0]) + F.cross_entropy(row, target[:, 1])


def _bce(model: torch.nn.Module, *inputs_and_labels: torch.Tensor) -> torch.Tensor:
    *inputs, labels = inputs_and_labels
    return F.binary_cross_entropy_with_logits(model.logits(*inputs), labels)


class HazardResult(NamedTuple):
    """A trained hazard classifier and its held-in accuracy on imagined next states."""

    model: HazardModel
    recall: float  # share of hazard transitions flagged (p > 0.5) from the predicted next state
    false_alarm: float  # share of safe transitions flagged


def train_hazard(
    level0: Level, data: Embedded, arch: HazardConfig, cfg: HazardTrainConfig, seed: int,
    metrics_path: Path | None = None, progress: bool = True,
) -> HazardResult | None:
    """Fit the hazard classifier on real next states and on states imagined 1..`cfg.rollout`
    steps ahead by level 0's predictor (planners judge those); None when the data holds no hazard.
    A quarter of each batch ends in a hazard."""
    rows = torch.nonzero(data.actions >= 0).squeeze(1)  # transitions t -> t+1
    labels = data.hazard[rows + 1]
    positive, negative = rows[labels], rows[~labels]
    if len(positive) == 0 or cfg.steps == 0:
        return None
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = HazardModel(arch, level0.dim).to(data.states.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    n_pos = cfg.batch_size // 4
    distributed.check_batch("train.hazard.batch_size", cfg.batch_size)
    objective = distributed.wrap(model, _bce)
    bar = progress_bar(range(1, cfg.steps + 1), desc="hazard", unit="step", progress=progress)
    for step in bar:
        # end rows: the transition into the labelled state; start rows: k steps earlier in the same episode
        end = torch.cat([
            positive[torch.randint(len(positive), (n_pos,), generator=generator)],
            negative[torch.randint(len(negative), (cfg.batch_size - n_pos,), generator=generator)],
        ])
        k = torch.randint(1, cfg.rollout + 1, (len(end),), generator=generator)
        end, k = distributed.shard(end), distributed.shard(k)  # the global batch is drawn alike on every rank
        first = data.offsets[np.searchsorted(data.offsets, end.numpy(), side="right") - 1]
        k = torch.minimum(k, end - torch.as_tensor(first) + 1)
        start_rows = end + 1 - k
        with torch.no_grad():
            s = data.states[start_rows]
            for i in range(int(k.max())):
                moving = i < k
                s = torch.where(moving[:, None], level0.predict(s, data.actions[(start_rows + i).clamp(max=len(data.actions) - 1)].clamp_min(0)), s)
        y = data.hazard[end + 1].float()
        loss = objective(torch.cat([data.states[end + 1], s]), torch.cat([y, y]))
        _descend(optimizer, loss, step, cfg.steps, bar, metrics_path, "hazard")
    model.eval()
    with torch.no_grad():
        p_pos = model.probability(level0.predict(data.states[positive], data.actions[positive]))
        sample = negative[torch.randint(len(negative), (min(len(negative), 50000),), generator=generator)]
        p_neg = model.probability(level0.predict(data.states[sample], data.actions[sample]))
    return HazardResult(model, float((p_pos > 0.5).float().mean()), float((p_neg > 0.5).float().mean()))


class StepHazardResult(NamedTuple):
    """A trained step-hazard model and its accuracy on the training transitions."""

    model: StepHazard
    recall: float
    false_alarm: float


def _fit_step_model(
    model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], label: torch.Tensor, cfg: HazardTrainConfig, generator_seed: int,
    stage: str, metrics_path: Path | None, progress: bool,
) -> torch.Tensor:
    """Fit a classifier of the step about to be taken (`model.logits(*inputs)`) on `label` [N]
    (bool) with `train.hazard`'s budget, a quarter of each batch drawn from the positives; returns
    its probabilities on every training row."""
    positive, negative = torch.nonzero(label).squeeze(1), torch.nonzero(~label).squeeze(1)
    generator = torch.Generator().manual_seed(generator_seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    n_pos = cfg.batch_size // 4
    distributed.check_batch("train.hazard.batch_size", cfg.batch_size)
    objective = distributed.wrap(model, _bce)
    bar = progress_bar(range(1, cfg.steps + 1), desc=stage, unit="step", progress=progress)
    for step in bar:
        idx = distributed.shard(torch.cat([
            positive[torch.randint(len(positive), (n_pos,), generator=generator)],
            negative[torch.randint(len(negative), (cfg.batch_size - n_pos,), generator=generator)],
        ]))
        loss = objective(*(x[idx] for x in inputs), label[idx].float())
        _descend(optimizer, loss, step, cfg.steps, bar, metrics_path, stage.replace(" ", "_"))
    model.eval()
    with torch.no_grad():
        return torch.cat([model.probability(*(x[i : i + 8192] for x in inputs)) for i in range(0, len(label), 8192)])


def train_step_hazard(
    datasets: list[OfflineDataset], arch: HazardConfig, cfg: HazardTrainConfig, seed: int,
    metrics_path: Path | None = None, progress: bool = True,
) -> StepHazardResult | None:
    """Fit `StepHazard` on (cells around the agent's mark, heading, action) -> the next state is a
    hazard (the `on_lava` label); None when the data holds no hazard."""
    images, cells, headings, actions, labels = [], [], [], [], []
    for d in datasets:
        a = d.arrays
        rows = np.nonzero(a["action"] >= 0)[0]
        hits = a["on_lava"][rows + 1].astype(bool)
        if not hits.any():
            continue
        # every hazard transition plus as many safe ones (kept small: patches are cut on the fly)
        rng = np.random.default_rng([seed, len(images)])
        safe = rng.choice(np.nonzero(~hits)[0], size=min(len(rows) - hits.sum(), 40 * int(hits.sum())), replace=False)
        pick = np.concatenate([rows[hits], rows[safe]])
        images.append(patches(torch.as_tensor(a["image"][pick]), torch.as_tensor(marked_cells(a["image"][pick])).long()))
        cells.append(pick)
        headings.append(torch.as_tensor(a["direction"][pick]).long())
        actions.append(torch.as_tensor(a["action"][pick]).long())
        labels.append(torch.as_tensor(a["on_lava"][pick + 1].astype(bool)))
    if not images or cfg.steps == 0:
        return None
    patch, heading, action, label = torch.cat(images), torch.cat(headings), torch.cat(actions), torch.cat(labels)
    torch.manual_seed(seed)
    model = StepHazard(arch)
    p = _fit_step_model(model, (patch, heading, action), label, cfg, seed + 2, "step hazard", metrics_path, progress)
    return StepHazardResult(model, float((p[label] > 0.5).float().mean()), float((p[~label] > 0.5).float().mean()))


class BlockedStepResult(NamedTuple):
    """A trained blocked-step model and its accuracy on the training transitions."""

    model: BlockedStep
    recall: float  # share of the steps that went nowhere it flags
    false_alarm: float  # share of the steps that changed the view it flags
    blocked: int  # how many of the transitions went nowhere


def went_nowhere(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of one dataset that took an action, and whether each left the view as it was
    (image, heading and what is carried all unchanged): read from the observations alone."""
    rows = np.nonzero(arrays["action"] >= 0)[0]  # an episode's last row takes none, so rows + 1 stays inside it
    still = (arrays["image"][rows + 1] == arrays["image"][rows]).reshape(len(rows), -1).all(1)
    still &= arrays["direction"][rows + 1] == arrays["direction"][rows]
    still &= (arrays["carried"][rows + 1] == arrays["carried"][rows]).reshape(len(rows), -1).all(1)
    return rows, still


def train_blocked_step(
    datasets: list[OfflineDataset], arch: HazardConfig, cfg: HazardTrainConfig, seed: int,
    metrics_path: Path | None = None, progress: bool = True,
) -> BlockedStepResult | None:
    """Fit `BlockedStep` on (cells around the agent's mark, heading, action) -> the step left the
    view as it was; None for data without grid observations or without such a step."""
    patch_parts, heading_parts, action_parts, held_parts, label_parts = [], [], [], [], []
    for d in datasets:
        a = d.arrays
        if "image" not in a or a["image"].ndim != 4 or "carried" not in a:
            continue
        rows, still = went_nowhere(a)
        patch_parts.append(patches(torch.as_tensor(a["image"][rows]), torch.as_tensor(marked_cells(a["image"][rows])).long()))
        heading_parts.append(torch.as_tensor(a["direction"][rows]).long())
        action_parts.append(torch.as_tensor(a["action"][rows]).long())
        held_parts.append(torch.as_tensor(a["carried"][rows, 0]).long())
        label_parts.append(torch.as_tensor(still))
    if not label_parts or cfg.steps == 0:
        return None
    patch, heading, action, held, label = (torch.cat(x) for x in (patch_parts, heading_parts, action_parts, held_parts, label_parts))
    blocked = int(label.sum())
    if blocked in (0, len(label)):
        return None
    torch.manual_seed(seed)
    model = BlockedStep(arch)
    p = _fit_step_model(model, (patch, heading, action, held), label, cfg, seed + 3, "blocked step", metrics_path, progress)
    return BlockedStepResult(model, float((p[label] > 0.5).float().mean()), float((p[~label] > 0.5).float().mean()), blocked)


def _descend(optimizer, loss: torch.Tensor, step: int, steps: int, bar, metrics_path: Path | None, stage: str) -> None:
    """One optimizer step on `loss`; every 250 steps (and the last) the loss goes to the bar and the log."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step % 250 == 0 or step == steps:
        shown = distributed.mean(loss)
        bar.set_postfix(loss=f"{shown:.3g}")
        _log(metrics_path, {"stage": stage, "step": step, f"{stage}_loss": shown})


def _log(path: Path | None, row: dict) -> None:
    if path is not None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
