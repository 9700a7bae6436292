"""Critic labels: the default is taught by the data's own observed transitions, never by the
world's rules or its symbolic state; the rule-based labels are a named baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import hagent.labels
from hagent.cli import main
from hagent.collect import collect
from hagent.config import CollectConfig
from hagent.data import OfflineDataset
from hagent.labels import observed_pairs, oracle_pairs
from hagent.training.critic import expectile_loss


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    collect("rooms:2x2", out, CollectConfig(episodes=6, max_steps=80), seed=3, progress=False)
    return out


def test_observed_labels_are_recorded_paths_no_longer_than_the_time_between(dataset: Path) -> None:
    data = OfflineDataset(dataset)
    pairs = observed_pairs(data, 6, 500, seed=0)
    assert len(pairs.start) > 100
    same_episode = np.searchsorted(data.episode_offsets, pairs.start, "right") == np.searchsorted(data.episode_offsets, pairs.goal, "right")
    assert same_episode.all()
    ahead = pairs.start <= pairs.goal
    assert (pairs.steps[ahead] <= (pairs.goal - pairs.start)[ahead]).all()  # the episode itself is a path
    assert (pairs.steps[pairs.start == pairs.goal] == 0).all()
    cells = data.arrays["agent"]
    moved = np.abs(cells[pairs.start].astype(int) - cells[pairs.goal]).sum(1)
    assert (pairs.steps >= moved).all()  # a step moves the agent at most one cell (a true bound, scoring only)


def test_observed_labels_read_no_symbolic_state(dataset: Path) -> None:
    data = OfflineDataset(dataset)
    before = observed_pairs(data, 4, 200, seed=1)
    for key in ("agent", "room", "on_lava", "events"):
        data.arrays[key] = np.zeros_like(data.arrays[key])  # scramble every label the world wrote
    after = observed_pairs(data, 4, 200, seed=1)
    for a, b in zip(before, after):
        assert np.array_equal(a, b)
    assert not np.array_equal(oracle_pairs(data, 4, 200, seed=1).steps, oracle_pairs(OfflineDataset(dataset), 4, 200, seed=1).steps)


def test_a_revisited_observation_shortens_the_label() -> None:
    """A walk that comes back to an observation it showed before: later states get the shortcut."""
    from hagent.labels import _observed_graph, _steps_to

    frames = np.array([0, 1, 2, 3, 1, 4], dtype=np.uint8)  # row 4 shows what row 1 showed
    a = {"image": frames.reshape(-1, 1, 1, 1), "direction": np.zeros(6, np.int64), "carried": np.zeros((6, 3), np.uint8)}
    node, into = _observed_graph(a, 0, 6)
    dist = _steps_to(into, int(node[5]), 99)[node]
    assert dist.tolist() == [2, 1, 3, 2, 1, 0]  # from row 0: 0 -> 1(=4) -> 5, not the six-step walk


def test_a_low_expectile_leans_toward_the_shorter_labels() -> None:
    pred = torch.tensor([5.0, 5.0])
    label = torch.tensor([3.0, 7.0])
    assert expectile_loss(pred[:1], label[:1], 0.2) > expectile_loss(pred[1:], label[1:], 0.2)
    assert torch.isclose(expectile_loss(pred, label, 0.5), torch.nn.functional.smooth_l1_loss(pred, label))


def test_training_the_default_stack_never_calls_the_oracle(dataset: Path, tmp_path: Path, tiny_sets: list[str], monkeypatch) -> None:
    def oracle(*_, **__):
        raise AssertionError("the default training read the world's rules")

    monkeypatch.setattr(hagent.labels, "oracle_pairs", oracle)
    monkeypatch.setattr(hagent.labels, "steps_to_pose", oracle)
    monkeypatch.setattr("hagent.training.critic.oracle_pairs", oracle)
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "c"), "--steps", "5", "-q", *tiny_sets]) == 0
    assert (tmp_path / "c" / "critic.safetensors").exists() and (tmp_path / "c" / "critic1.safetensors").exists()
