"""Training the critic (a learned cost-to-go) on a trained level's embeddings of the offline data.

The level is frozen: the critic learns on `s = level.encode(obs)` for hindsight (state, goal)
pairs labelled with the steps between them (`hagent.labels`): by default the fewest recorded
steps over the data's own observed transitions. Reward-free: no task, no success.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from hagent.progress import bar as progress_bar

from costs.config import CriticConfig, CriticTrainConfig
from costs.critic import Critic, QuasimetricCritic
from hagent import distributed
from hagent.data import OfflineDataset
from hagent.labels import CriticPairs, observed_pairs, oracle_pairs
from levels.level import Level


class CriticResult(NamedTuple):
    """A trained critic and how well it predicts held-out step distances."""

    critic: Critic
    val_mae: float  # mean absolute error in steps on held-out episodes
    pairs: int
    seconds: float


@torch.no_grad()
def encode_dataset(level: Level, data: OfflineDataset, device: torch.device, chunk: int = 2048) -> torch.Tensor:
    """Every observation of `data` encoded by `level`: `[N, D]`."""
    a = data.arrays
    level.eval()
    out = []
    if data.vector or data.continuous:  # a gym world's vectors, a point world's RGB views: the observation alone
        key = "vector" if data.vector else "image"
        return torch.cat([level.encode(torch.as_tensor(a[key][i : i + chunk], device=device)) for i in range(0, len(a[key]), chunk)])
    for i in range(0, len(a["image"]), chunk):
        image = torch.as_tensor(a["image"][i : i + chunk], device=device)
        direction = torch.as_tensor(a["direction"][i : i + chunk], device=device).long()
        carried = torch.as_tensor(a["carried"][i : i + chunk], device=device)
        out.append(level.encode(image, direction, carried))
    return torch.cat(out)


def dataset_pairs(datasets: list[OfflineDataset], cfg: CriticTrainConfig, seed: int, cap: int | None = None) -> tuple[CriticPairs, np.ndarray]:
    """Hindsight pairs over several datasets (rows index their concatenation) and the global
    episode of each pair: `(pairs, episode [P])`."""
    match cfg.labels:
        case "data":
            label = observed_pairs
        case "oracle":
            label = oracle_pairs
    starts, goals, steps, episodes = [], [], [], []
    row_base, episode_base = 0, 0
    for i, data in enumerate(datasets):
        pairs = label(data, cfg.goals_per_episode, cap or cfg.max_steps, seed + i)
        episodes.append(np.searchsorted(data.episode_offsets, pairs.start, side="right") - 1 + episode_base)
        starts.append(pairs.start + row_base)
        goals.append(pairs.goal + row_base)
        steps.append(pairs.steps)
        row_base += len(data.arrays["action"])
        episode_base += data.episodes
    pairs = CriticPairs(np.concatenate(starts), np.concatenate(goals), np.concatenate(steps))
    return pairs, np.concatenate(episodes)


def train_critic(
    level: Level,
    data: OfflineDataset | list[OfflineDataset],
    arch: CriticConfig,
    cfg: CriticTrainConfig,
    seed: int,
    device: torch.device,
    metrics_path: Path | None = None,
    progress: bool = True,
    pairs: tuple[CriticPairs, np.ndarray] | None = None,
) -> CriticResult:
    """Fit a critic on level 0's states to hindsight step distances between states of the same
    episode; `pairs` (from `dataset_pairs`) are reused when given, else drawn here."""
    datasets = data if isinstance(data, list) else [data]
    states = torch.cat([encode_dataset(level, d, device) for d in datasets])
    pairs, episode = pairs if pairs is not None else dataset_pairs(datasets, cfg, seed)
    near = pairs.steps <= cfg.max_steps
    pairs, episode = CriticPairs(pairs.start[near], pairs.goal[near], pairs.steps[near]), episode[near]
    return fit_critic(states, pairs, episode, sum(d.episodes for d in datasets), arch, cfg, seed, metrics_path, progress)


def fit_critic(
    states: torch.Tensor,
    pairs: CriticPairs,
    episode: np.ndarray,
    episodes: int,
    arch: CriticConfig,
    cfg: CriticTrainConfig,
    seed: int,
    metrics_path: Path | None = None,
    progress: bool = True,
    name: str = "critic",
) -> CriticResult:
    """Fit a critic on `states [N, D]` (any level) to the labelled `pairs` of rows; episodes
    drawn with probability `cfg.holdout` are held out for the validation error."""
    start = time.perf_counter()
    device = states.device
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    held_out = np.random.default_rng(seed).random(episodes) < cfg.holdout
    train_idx = np.nonzero(~held_out[episode])[0]
    val_idx = np.nonzero(held_out[episode])[0][:20000]
    if len(train_idx) == 0:
        raise ValueError("no critic training pairs: collect more data")
    labels = torch.as_tensor(pairs.steps, device=device)
    start_rows = torch.as_tensor(pairs.start, device=device)
    goal_rows = torch.as_tensor(pairs.goal, device=device)

    critic = Critic(arch, states.shape[1]).to(device)
    optimizer = torch.optim.Adam(critic.parameters(), lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=max(cfg.steps, 1))
    bar = progress_bar(range(1, cfg.steps + 1), desc=name, unit="step", progress=progress)
    val_mae = float("nan")
    distributed.check_batch(f"{name} batch_size", cfg.batch_size)
    objective = distributed.wrap(critic, lambda c, s, g, y: expectile_loss(c.distance(s, g), y, cfg.expectile))
    for step in bar:
        # the global batch (and its noise) is drawn alike on every rank; each rank fits its shard
        batch = torch.as_tensor(train_idx[torch.randint(len(train_idx), (cfg.batch_size,), generator=generator).numpy()])
        s = states[start_rows[batch]]
        s = s + cfg.noise * torch.randn(s.shape, generator=generator).to(device)
        mine = distributed.shard
        loss = objective(mine(s), mine(states[goal_rows[batch]]), mine(labels[batch]))
        if distributed.any_rank(not torch.isfinite(loss)):
            raise FloatingPointError(f"non-finite {name} loss at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 250 == 0 or step == cfg.steps:
            val_mae = _mae(critic, states, start_rows, goal_rows, labels, val_idx)
            shown = distributed.mean(loss)
            bar.set_postfix(loss=f"{shown:.3g}", val_mae=f"{val_mae:.2f}")
            if metrics_path is not None:
                row = {"stage": name, "step": step, "critic_loss": shown, "critic_val_mae": val_mae}
                with open(metrics_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
    bar.close()
    critic.eval()
    return CriticResult(critic, val_mae, len(pairs.start), time.perf_counter() - start)


def expectile_loss(pred: torch.Tensor, label: torch.Tensor, expectile: float) -> torch.Tensor:
    """Smooth-L1 regression of `pred [B]` on `label [B]`, an over-estimate weighted by
    `1 - expectile` and an under-estimate by `expectile` (scaled so 0.5 is plain smooth L1)."""
    weight = torch.where(pred > label, 1.0 - expectile, expectile) * 2.0
    return (weight * F.smooth_l1_loss(pred, label, reduction="none")).mean()


@torch.no_grad()
def _mae(critic: Critic, states, start_rows, goal_rows, labels, idx: np.ndarray) -> float:
    if len(idx) == 0:
        return float("nan")
    idx = torch.as_tensor(idx)
    pred = critic.distance(states[start_rows[idx]], states[goal_rows[idx]])
    return float((pred - labels[idx]).abs().mean())


def episode_transitions(datasets: list[OfflineDataset]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the datasets' concatenation whose next row is the same episode's next step, and
    each row's episode: `(rows [T], episode_of_row [N])`."""
    rows, episode_of = [], []
    row_base, episode_base = 0, 0
    for data in datasets:
        offsets = data.episode_offsets
        n = int(offsets[-1])
        of = np.searchsorted(offsets, np.arange(n), side="right") - 1
        last = np.zeros(n, dtype=bool)
        last[np.asarray(offsets[1:]) - 1] = True
        rows.append(np.nonzero(~last)[0] + row_base)
        episode_of.append(of + episode_base)
        row_base += n
        episode_base += data.episodes
    return np.concatenate(rows), np.concatenate(episode_of)


def fit_quasimetric(
    states: torch.Tensor,
    transitions: np.ndarray,
    episode_of: np.ndarray,
    *,
    steps: int = 3000,
    batch_size: int = 512,
    lr: float = 1e-3,
    offset: float = 150.0,
    sharpness: float = 0.05,
    slack: float = 0.25,
    noise: float = 0.05,
    pace: float = 10.0,
    seed: int = 0,
    progress: bool = True,
    name: str = "quasimetric",
) -> QuasimetricCritic:
    """Fit a `QuasimetricCritic` on `states [N, D]` the QRL way, with no distance labels at all:
    push apart random pairs of states of one episode (a concave, saturating reward for distance,
    `-softplus(offset - d)`), subject to every recorded step `(row, row + 1)` of `transitions`
    costing at most one step (`E relu(d - 1)^2 <= slack^2`, a Lagrange multiplier enforcing it,
    learning `pace` times faster than the critic).
    The triangle inequality then makes the largest distance consistent with the data's steps the
    shortest way through them: walls are respected because no recorded step crosses one."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    critic = QuasimetricCritic(states.shape[1])
    raw_multiplier = torch.zeros((), requires_grad=True)  # softplus(0) = 0.69
    optimizer = torch.optim.Adam([{"params": critic.parameters(), "lr": lr}, {"params": [raw_multiplier], "lr": pace * lr}])
    batch_size = int(batch_size)
    episode_of_t = torch.as_tensor(episode_of)
    starts_of = torch.as_tensor(np.searchsorted(episode_of, np.arange(episode_of.max() + 1)))  # first row of each episode
    ends_of = torch.as_tensor(np.searchsorted(episode_of, np.arange(episode_of.max() + 1), side="right"))
    transitions_t = torch.as_tensor(transitions)
    bar = progress_bar(range(1, steps + 1), desc=name, unit="step", progress=progress)
    for step in bar:
        t = transitions_t[torch.randint(len(transitions_t), (batch_size,), generator=generator)]
        a = torch.randint(len(states), (batch_size,), generator=generator)
        ep = episode_of_t[a]
        lo, hi = starts_of[ep], ends_of[ep]
        b = lo + (torch.rand(batch_size, generator=generator) * (hi - lo)).long()
        jitter = lambda x: x + noise * torch.randn(x.shape, generator=generator)  # noqa: E731
        far = critic.distance(jitter(states[a]), jitter(states[b]))
        near = critic.distance(jitter(states[t]), jitter(states[t + 1]))
        violation = F.relu(near - 1.0).pow(2).mean()
        multiplier = F.softplus(raw_multiplier)
        loss = F.softplus(offset - far, beta=sharpness).mean() / offset + multiplier.detach() * violation
        loss = loss - multiplier * (violation.detach() - slack**2)  # the multiplier rises while the steps cost too much
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 250 == 0:
            bar.set_postfix(far=f"{float(far.detach().mean()):.1f}", step_cost=f"{float(near.detach().mean()):.2f}", mult=f"{float(multiplier.detach()):.2f}")
    bar.close()
    critic.eval()
    return critic


def fit_td_critic(
    states: torch.Tensor,
    transitions: np.ndarray,
    episode_of: np.ndarray,
    arch: CriticConfig,
    cfg: CriticTrainConfig,
    *,
    steps: int = 20000,
    random_goals: float = 0.3,
    cap: float = 180.0,
    polyak: float = 0.05,
    seed: int = 0,
    progress: bool = True,
    name: str = "critic",
) -> Critic:
    """Fit a `Critic` on `states [N, D]` by goal-conditioned temporal differences over the data's
    recorded steps (`transitions`: rows whose next row is the same episode's next step), the way
    IQL/HIQL learn their value, with no distance labels: a state's distance to a goal is one more
    than the next state's, `d(s_t, g) <- 1 + d'(s_{t+1}, g)` (`d'` a slowly following copy), read
    at a low expectile (`cfg.expectile`), so the critic leans toward the best of the data's ways
    on from `s_t`. Goals are the start itself (distance 0), a later state of the episode (then the
    recorded steps between them also bound the target from above), or, with probability
    `random_goals`, any state of the data: those distances only exist by stitching episodes
    together where they pass the same places, which hindsight labels can't do. Targets stop at
    `cap` steps (goals the data never joins up)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    critic = Critic(arch, states.shape[1])
    target = Critic(arch, states.shape[1])
    target.load_state_dict(critic.state_dict())
    target.requires_grad_(False)
    optimizer = torch.optim.Adam(critic.parameters(), lr=cfg.lr)
    episode_of_t = torch.as_tensor(episode_of)
    ends_of = torch.as_tensor(np.searchsorted(episode_of, np.arange(episode_of.max() + 1), side="right"))
    transitions_t = torch.as_tensor(transitions)
    batch = int(cfg.batch_size)
    bar = progress_bar(range(1, steps + 1), desc=name, unit="step", progress=progress)
    for step in bar:
        t = transitions_t[torch.randint(len(transitions_t), (batch,), generator=generator)]
        end = ends_of[episode_of_t[t]]  # one past the episode's last row
        later = t + 1 + (torch.rand(batch, generator=generator) * (end - t - 1)).long()  # t+1 .. end-1
        draw = torch.rand(batch, generator=generator)
        itself = draw < 0.2
        anywhere = draw > 1.0 - random_goals
        goal = torch.where(itself, t, torch.where(anywhere, torch.randint(len(states), (batch,), generator=generator), later))
        with torch.no_grad():
            y = 1.0 + target.distance(states[t + 1], states[goal])
            y = torch.where(anywhere, y, torch.minimum(y, (goal - t).float()))  # same episode: the recorded steps bound it
            y = torch.where(itself, torch.zeros_like(y), y).clamp(max=cap)
        s = states[t] + cfg.noise * torch.randn(states[t].shape, generator=generator)
        loss = expectile_loss(critic.distance(s, states[goal]), y, cfg.expectile)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite {name} loss at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for p, q in zip(target.parameters(), critic.parameters()):
                p.lerp_(q, polyak)
        if step % 250 == 0:
            bar.set_postfix(loss=f"{float(loss.detach()):.3g}", to_any=f"{float(y[anywhere].mean()) if anywhere.any() else 0:.1f}")
    bar.close()
    critic.eval()
    return critic
