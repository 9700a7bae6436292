"""Critic labels: the default is taught by the data's own observed transitions, never by the
world's rules or its symbolic state; the rule-based labels are a named baseline that neither the
default preset nor any shipped checkpoint uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import hagent.labels
from hagent.cli import main
from hagent.collect import collect
from hagent.config import CollectConfig
from hagent.data import OfflineDataset
from hagent.labels import observed_pairs, oracle_pairs
from hagent.training.critic import expectile_loss
from hagent.training.hierarchy import marked_cells
from hagent.training.presets import MIX, default_preset

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


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


def _refuse(*_args, **_kwargs):
    raise AssertionError("training read labels computed with the world's rules")


RULE_LABELS = (("hagent.labels", "oracle_pairs"), ("hagent.labels", "steps_to_pose"), ("hagent.training.critic", "oracle_pairs"))
"""Every rule-based label function training can reach, where it is looked up: the BFS over the
world's movement rules (`steps_to_pose`) and the baseline pairs built on it, in `hagent.labels`
and as `hagent.training.critic` imported it. (The other world labels training reads are recorded
in the data, the hazard flags and the events; no function computes them: see `hagent.collect`.)"""


def _tiny_preset(tmp: Path, tiny_sets: list[str]) -> tuple[list[list[str]], list[list[str]], dict[str, Path]]:
    """The default preset's collect and train commands, made tiny: every path moved under `tmp`,
    a few short episodes, a few steps, the tiny stack; every other setting the preset passes
    (its `--set`s among them) kept as it is. The language normalizer's step is left out: it trains
    on generated paraphrases, no critic. Returns (collect commands, train commands, path map)."""
    where: dict[str, Path] = {}

    def moved(path: str) -> str:
        return str(where.setdefault(path, tmp / path.replace("/", "_")))

    collects, trains = [], []
    for step in default_preset().steps:
        args, out = list(step), []
        while args:
            a = args.pop(0)
            if a in ("--out", "--data", "--init"):
                out += [a, moved(args.pop(0))]
            elif a == "--episodes":
                out += [a, "3"]
                args.pop(0)
            elif a == "--workers":
                out += [a, "1"]
                args.pop(0)
            elif a == "--steps":
                out += [a, "5"]
                args.pop(0)
            else:
                out.append(a)
        if out[0] == "collect":
            collects.append([*out, "--set", "collect.max_steps=40", "-q"])
        elif "--data" in out:
            steps = [] if "--steps" in out else ["--steps", "5"]  # the preset's GoToLocal run takes the default
            trains.append([*out, *steps, "-q", *tiny_sets])
    return collects, trains, where


def test_training_the_default_preset_never_calls_the_oracle(tmp_path: Path, tiny_sets: list[str], monkeypatch, metrics_rows) -> None:
    """The preset's own train steps, on tiny data of the preset's own worlds, with every rule-based
    label function made to fail: the critics of every level are trained, taught by the data."""
    collects, trains, where = _tiny_preset(tmp_path, tiny_sets)
    assert len(collects) == 6 and len(trains) == 2  # GoToLocal, then the five-world mix from it
    for command in collects:
        assert main(command) == 0
    for module, name in RULE_LABELS:
        monkeypatch.setattr(f"{module}.{name}", _refuse)
    taught = []
    data_pairs = hagent.training.critic.observed_pairs
    monkeypatch.setattr("hagent.training.critic.observed_pairs", lambda *a, **k: taught.append(1) or data_pairs(*a, **k))
    for command in trains:
        assert main(command) == 0, " ".join(command)
    out = where["checkpoints/default"]
    for name in ("critic.safetensors", "critic1.safetensors", "level1.safetensors"):
        assert (out / name).exists(), name
    assert metrics_rows(out, "critic") and metrics_rows(out, "critic1")
    assert len(taught) == 1 + len(MIX)  # each run's critics (every level's) learn each dataset's observed pairs
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["critic"]["labels"] == "data"
    assert config["world"] == {"spec": MIX[0], "trained_on": list(MIX)}  # what it was trained on, in the preset's order


def test_the_cell_probe_and_the_step_hazard_read_the_agent_from_the_observation(tmp_path: Path, tiny_sets: list[str], monkeypatch) -> None:
    """The parts that region and hazard guardrails act with find the agent where the acting code
    does, by its mark in the observation: the world's `agent` label can be anything."""
    data = tmp_path / "lava"
    collect("minigrid:MiniGrid-LavaCrossingS9N1-v0", data, CollectConfig(episodes=8, max_steps=60), seed=0, progress=False)
    loaded = OfflineDataset(data)
    assert loaded.arrays["on_lava"].any()  # a step hazard to learn
    assert np.array_equal(marked_cells(loaded.arrays["image"]), loaded.arrays["agent"])  # fully observed: the same cells

    def trained(out: Path) -> list[torch.Tensor]:
        assert main(["train", "--data", str(data), "--out", str(out), "--steps", "5", "-q", *tiny_sets]) == 0
        return [t for name in ("probe", "step_hazard") for t in load_file(out / f"{name}.safetensors").values()]

    honest = trained(tmp_path / "a")
    load = OfflineDataset.__init__

    def scrambled(self, *args, **kwargs) -> None:
        load(self, *args, **kwargs)
        self.arrays["agent"] = np.zeros_like(self.arrays["agent"])

    monkeypatch.setattr(OfflineDataset, "__init__", scrambled)
    assert all(torch.equal(a, b) for a, b in zip(trained(tmp_path / "b"), honest, strict=True))


def _checkpoint_configs() -> list[Path]:
    """The config.json of every shipped checkpoint (a directory holding level 0's weights)."""
    return sorted(p for p in CHECKPOINTS.rglob("config.json") if (p.parent / "level0.safetensors").exists())


@pytest.mark.parametrize("path", _checkpoint_configs(), ids=lambda p: str(p.parent.relative_to(CHECKPOINTS)))
def test_no_shipped_checkpoint_was_taught_by_the_oracle(path: Path) -> None:
    """What the config records is what taught the critics (a point or gym checkpoint records
    "data" and trained no critic: `train.critic.steps` is 0)."""
    config = json.loads(path.read_text())
    assert config["train"]["critic"].get("labels", "data") == "data", f"{path}: critics taught by the rule-based labels"
