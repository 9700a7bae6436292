"""Reward-free data: collect -> loader round trip, determinism across workers, resume, safe loading."""

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from hagent.config import CollectConfig
from hagent.collect import DatasetError, collect, episode_seed, read_manifest
from hagent.data import OfflineDataset
from hagent.worlds import make_world

CFG = CollectConfig(episodes=5, max_steps=40, shard_episodes=2)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> OfflineDataset:
    out = tmp_path_factory.mktemp("ds")
    collect("rooms:3x3?lava=3", out, CFG, seed=11, progress=False)
    return OfflineDataset(out)


def test_manifest_counts_match_loaded_data(dataset: OfflineDataset) -> None:
    m = dataset.manifest
    assert m.complete and m.episodes == 5 and len(m.shards) == 3
    assert m.steps == int((dataset.arrays["action"] >= 0).sum())
    assert sum(s.observations for s in m.shards) == len(dataset.arrays["image"])
    assert dataset.episodes == 5
    for e in range(5):
        ep = dataset.episode(e)
        assert ep["action"][-1] == -1 and (ep["action"][:-1] >= 0).all()
        assert len(ep["action"]) - 1 <= CFG.max_steps


def test_replaying_stored_actions_reproduces_stored_observations(dataset: OfflineDataset) -> None:
    """The round trip preserves actions exactly: replaying them gives back every stored frame."""
    world = make_world("rooms:3x3?lava=3")
    for e in range(dataset.episodes):
        ep = dataset.episode(e)
        obs, _ = world.reset(seed=episode_seed(11, e))
        assert np.array_equal(obs["image"], ep["image"][0])
        for t, action in enumerate(ep["action"][:-1]):
            obs, *_ = world.step(int(action))
            assert np.array_equal(obs["image"], ep["image"][t + 1]), (e, t)
            assert obs["direction"] == ep["direction"][t + 1]
            labels = world.agent_labels()
            assert tuple(ep["agent"][t + 1]) == labels.agent and bool(ep["on_lava"][t + 1]) == labels.on_lava


def test_windows(dataset: OfflineDataset) -> None:
    windows = dataset.windows(6)
    lengths = np.diff(dataset.episode_offsets) - 1
    assert len(windows) == int(np.clip(lengths - 6 + 1, 0, None).sum())
    batch = windows[[0, 3, len(windows) - 1]]
    assert batch.image.shape == (3, 6, 19, 19, 3) and batch.image.dtype == torch.uint8
    assert batch.action.shape == (3, 6) and (batch.action >= 0).all()
    assert batch.agent.shape == (3, 6, 2)
    # consecutive frames of a window are consecutive steps of one episode
    start = windows.starts[3]
    assert torch.equal(batch.image[1, 2], torch.from_numpy(dataset.arrays["image"][start + 2]))
    one = windows[0]
    assert one.image.shape == (6, 19, 19, 3)
    seen = sum(len(b.action) for b in windows.batches(4, seed=0))
    assert seen == len(windows) // 4 * 4
    first = [b.action for b in windows.batches(4, seed=1)]
    again = [b.action for b in windows.batches(4, seed=1)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_workers_give_the_same_data(tmp_path, dataset: OfflineDataset) -> None:
    cfg = CFG.model_copy(update={"workers": 2})
    collect("rooms:3x3?lava=3", tmp_path, cfg, seed=11, progress=False)
    other = OfflineDataset(tmp_path)
    for key, value in dataset.arrays.items():
        assert np.array_equal(value, other.arrays[key]), key


def test_resume_after_interruption(tmp_path, dataset: OfflineDataset) -> None:
    # A run that stopped after its first shard: the manifest lists one shard, not complete.
    first = CFG.model_copy(update={"episodes": 2})
    collect("rooms:3x3?lava=3", tmp_path, first, seed=11, progress=False)
    assert read_manifest(tmp_path).episodes == 2
    # A half-written temp shard left behind by a killed writer is never read.
    (tmp_path / ".shard-00001.safetensors.abc.tmp").write_bytes(b"\x00" * 100)
    assert OfflineDataset(tmp_path).episodes == 2
    manifest = collect("rooms:3x3?lava=3", tmp_path, CFG, seed=11, progress=False)
    assert manifest.complete and manifest.episodes == 5
    assert np.array_equal(OfflineDataset(tmp_path).arrays["action"], dataset.arrays["action"])


def test_other_settings_in_same_dir_is_refused(tmp_path) -> None:
    collect("rooms:2x2", tmp_path, CFG.model_copy(update={"episodes": 1}), seed=0, progress=False)
    with pytest.raises(DatasetError, match="other settings"):
        collect("rooms:2x2", tmp_path, CFG.model_copy(update={"episodes": 1}), seed=1, progress=False)


def test_bad_datasets_give_clear_errors(tmp_path, dataset: OfflineDataset) -> None:
    with pytest.raises(DatasetError, match="no manifest.json"):
        OfflineDataset(tmp_path)
    good = dataset.directory
    manifest = json.loads((good / "manifest.json").read_text())
    for name, mutate, message in [
        ("version", lambda m: m.update(format_version=99), "format version 99"),
        ("field", lambda m: m.update(world=3), "invalid manifest"),
    ]:
        d = tmp_path / name
        d.mkdir()
        bad = json.loads(json.dumps(manifest))
        mutate(bad)
        (d / "manifest.json").write_text(json.dumps(bad))
        with pytest.raises(DatasetError, match=message):
            OfflineDataset(d)
    d = tmp_path / "truncated"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps(manifest))
    for shard in manifest["shards"]:
        data = (good / shard["file"]).read_bytes()
        (d / shard["file"]).write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="cannot read shard"):
        OfflineDataset(d)
    d = tmp_path / "pickle"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps(manifest))
    import pickle

    for shard in manifest["shards"]:
        (d / shard["file"]).write_bytes(pickle.dumps({"action": np.zeros(3)}))
    with pytest.raises(DatasetError, match="cannot read shard"):
        OfflineDataset(d)
    d = tmp_path / "short"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps(manifest))
    for shard in manifest["shards"]:
        save_file({"action": np.zeros(3, dtype=np.int8)}, str(d / shard["file"]))
    with pytest.raises(DatasetError, match="does not match the manifest"):
        OfflineDataset(d)
