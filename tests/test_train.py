"""`hagent train` end to end, non-finite loss handling, checkpoint round trip and failure modes."""

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from hagent.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, build_model, load_checkpoint, save_checkpoint
from hagent.cli import main
from hagent.collect import collect
from hagent.config import CollectConfig, load_config
from levels.jepa import JEPA

TINY = [
    "level.encoder.dim=8",
    "level.encoder.embed=4",
    "level.encoder.channels=8",
    "level.encoder.layers=2",
    "level.encoder.pool=2",
    "level.predictor.hidden=32",
    "level.predictor.blocks=1",
    "train.jepa.inverse_hidden=16",
    "data.batch_size=16",
    "data.window=4",
    "train.warmup=5",
    "train.log_every=5",
    "device=\"cpu\"",
    "critic.hidden=16",
    "critic.layers=1",
    "train.critic.steps=300",
    "train.critic.batch_size=64",
    "train.critic.goals_per_episode=4",
    "train.hazard.steps=20", "train.hazard.batch_size=32", "hazard.hidden=16", "train.abstract.steps=30",
    "train.abstract.batch_size=32", "hierarchy=[{dim=4, hidden=16, period=2, macro_dim=2}]", "train.decoder.episodes=0",
]
REQUIRED_KEYS = {"step", "pred_loss", "std", "cov_loss", "var_loss", "eff_rank", "inverse_acc", "dim"}


def _sets(*extra: str) -> list[str]:
    return [arg for item in (*TINY, *extra) for arg in ("--set", item)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gotolocal")
    collect("babyai:GoToLocal", out, CollectConfig(episodes=16, max_steps=24), seed=3, progress=False)
    return out


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ckpt")
    assert main(["train", "--data", str(dataset), "--out", str(out), "--steps", "60", "-q", *_sets("train.save_every=20")]) == 0
    return out


def test_train_lowers_prediction_loss_and_logs_metrics(trained: Path, capsys: pytest.CaptureFixture, metrics_rows) -> None:
    rows = metrics_rows(trained)
    assert [r["step"] for r in rows] == [1, *range(5, 61, 5)]
    assert all(REQUIRED_KEYS <= r.keys() for r in rows)
    assert all(1.0 <= r["eff_rank"] <= 8.0 + 1e-6 and r["dim"] == 8 for r in rows)
    late = sum(r["pred_loss"] for r in rows[-3:]) / 3
    assert late < 0.5 * rows[0]["pred_loss"]
    for name in ("config.json", "level0.safetensors", "critic.safetensors", "README.md"):
        assert (trained / name).is_file()
    readme = (trained / "README.md").read_text()
    assert "babyai:GoToLocal" in readme and "seed: 0" in readme and "hagent train" in readme


def test_training_is_seeded(dataset: Path, tmp_path: Path, metrics_rows) -> None:
    def run(out: Path) -> list[float]:
        assert main(["train", "--data", str(dataset), "--out", str(out), "--steps", "10", "-q", *_sets()]) == 0
        return [r["pred_loss"] for r in metrics_rows(out)]

    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_round_trip_gives_identical_outputs(trained: Path, tmp_path: Path) -> None:
    first = load_checkpoint(trained)
    assert first.step == 60 and first.config.level.encoder.dim == 8
    save_checkpoint(tmp_path, first.config, first.jepa, first.step, "readme")
    second = load_checkpoint(tmp_path)
    image = torch.randint(0, 4, (3, 8, 8, 3), dtype=torch.uint8)
    direction, actions = torch.tensor([0, 1, 3]), torch.randint(0, 6, (3, 4))
    with torch.no_grad():
        s1, s2 = first.level.encode(image, direction), second.level.encode(image, direction)
        assert torch.equal(s1, s2)
        assert torch.equal(first.level.rollout(s1, actions), second.level.rollout(s2, actions))


def test_round_trip_with_ema_target(tmp_path: Path) -> None:
    cfg = load_config(None, [*TINY, "train.jepa.ema=0.99"])
    model = build_model(cfg)
    save_checkpoint(tmp_path, cfg, model, 7, "readme")
    loaded = load_checkpoint(tmp_path)
    assert loaded.jepa.target_encoder is not None
    for (k, a), b in zip(model.state_dict().items(), loaded.jepa.state_dict().values()):
        assert torch.equal(a, b), k


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    original, calls = JEPA.loss, {"n": 0}

    def poisoned(self, *args, **kwargs):
        calls["n"] += 1
        out = original(self, *args, **kwargs)
        if calls["n"] >= 13:
            return out._replace(total=out.total * float("nan"))
        return out

    monkeypatch.setattr(JEPA, "loss", poisoned)
    out = tmp_path / "run"
    code = main(["train", "--data", str(dataset), "--out", str(out), "--steps", "40", "-q", *_sets("train.save_every=5")])
    assert code == 2
    err = capsys.readouterr().err
    assert "non-finite loss at step 13" in err and "last good checkpoint (step 10)" in err
    assert "Traceback" not in err
    ckpt = load_checkpoint(out)
    assert ckpt.step == 10
    assert all(torch.isfinite(v).all() for v in ckpt.jepa.state_dict().values())


def test_absurd_learning_rate_is_reported_not_crashed(dataset: Path, tmp_path: Path, capsys) -> None:
    code = main(
        ["train", "--data", str(dataset), "--out", str(tmp_path / "r"), "--steps", "30", "-q",
         *_sets("train.lr=1e30", "train.warmup=0", "train.grad_clip=1e30")]
    )
    err = capsys.readouterr().err
    # AdamW steps are bounded by lr, so a huge lr blows the weights up within a few steps
    assert code == 2 and "non-finite loss" in err


# -- checkpoint failure modes --------------------------------------------------------------


@pytest.fixture()
def copy(trained: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ckpt"
    target.mkdir()
    for f in trained.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    return target


def _config(directory: Path) -> dict:
    return json.loads((directory / CONFIG_FILE).read_text())


def _break_missing_config(d: Path) -> None:
    (d / CONFIG_FILE).unlink()


def _break_missing_weights(d: Path) -> None:
    (d / WEIGHTS_FILE).unlink()


def _break_truncated(d: Path) -> None:
    data = (d / WEIGHTS_FILE).read_bytes()
    (d / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])


def _break_shapes(d: Path) -> None:
    cfg = _config(d)
    cfg["level"]["encoder"]["dim"] = 12
    (d / CONFIG_FILE).write_text(json.dumps(cfg))


def _break_version(d: Path) -> None:
    cfg = _config(d)
    cfg["level"]["encoder"]["resolution"] = 3  # a field this version doesn't know
    del cfg["train"]
    (d / CONFIG_FILE).write_text(json.dumps(cfg))


def _break_pickle(d: Path) -> None:
    (d / WEIGHTS_FILE).write_bytes(pickle.dumps({"weights": [1, 2, 3]}))


def _break_torch_save(d: Path) -> None:
    torch.save({"w": torch.zeros(2)}, d / WEIGHTS_FILE)


def _break_foreign_safetensors(d: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(d / WEIGHTS_FILE))


def _break_missing_tensor(d: Path) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(d / WEIGHTS_FILE))
    tensors.pop(next(iter(tensors)))
    save_file(tensors, str(d / WEIGHTS_FILE), metadata={"format": "hagent-checkpoint", "format_version": "1"})


FAILURES = {
    "missing config": (_break_missing_config, "config.json: missing"),
    "missing weights": (_break_missing_weights, "missing weights file"),
    "truncated": (_break_truncated, "truncated or corrupt"),
    "wrong shapes": (_break_shapes, "wrong shapes"),
    "other version": (_break_version, "does not match this version"),
    "pickle": (_break_pickle, "refusing to load it"),
    "torch.save": (_break_torch_save, "refusing to load it"),
    "foreign safetensors": (_break_foreign_safetensors, "not a hagent checkpoint"),
    "missing tensor": (_break_missing_tensor, "missing tensors"),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_checkpoint_failures_are_clear(name: str, copy: Path, dataset: Path, tmp_path: Path, capsys) -> None:
    breaker, message = FAILURES[name]
    breaker(copy)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(copy)
    code = main(["train", "--data", str(dataset), "--out", str(tmp_path / "o"), "--init", str(copy), "--steps", "1", "-q", *_sets()])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_checkpoint_dir(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        load_checkpoint(tmp_path / "nope")


def test_init_from_checkpoint_continues(trained: Path, dataset: Path, tmp_path: Path, metrics_rows) -> None:
    out = tmp_path / "more"
    assert main(["train", "--data", str(dataset), "--out", str(out), "--init", str(trained), "--steps", "1", "-q", *_sets()]) == 0
    start = metrics_rows(trained)[-1]["pred_loss"]
    assert metrics_rows(out)[0]["pred_loss"] < 3 * start + 1e-3  # starts trained, not from scratch


def test_init_can_add_an_agent_centred_window(trained: Path, dataset: Path, tmp_path: Path, capsys, metrics_rows) -> None:
    """A checkpoint without `level.encoder.local` extends to one with it: the old weights load, the
    window's residual starts at zero (so the first step starts from the old model's loss), and
    any other change of the level config is still refused."""
    out = tmp_path / "local"
    sets = _sets("level.encoder.local=3", "level.encoder.local_channels=2")
    assert main(["train", "--data", str(dataset), "--out", str(out), "--init", str(trained), "--steps", "1", "-q", *sets]) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.config.level.encoder.local == 3 and ckpt.level.encoder.local_head is not None
    assert metrics_rows(out)[0]["pred_loss"] < 3 * metrics_rows(trained)[-1]["pred_loss"] + 1e-3
    code = main(["train", "--data", str(dataset), "--out", str(tmp_path / "o"), "--init", str(trained), "--steps", "1", "-q",
                 *_sets("level.encoder.local=3", "level.encoder.channels=4")])
    assert code == 2 and "different level config" in capsys.readouterr().err


def test_user_errors_exit_2(dataset: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "-q"]) == 2
    assert "no such dataset directory" in capsys.readouterr().err
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "o"), "-q", *_sets("data.batch_size=100000")]) == 2
    assert "need at least data.batch_size" in capsys.readouterr().err
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "o"), "--set", "train.jepa.var_weight=-1"]) == 2
    assert "train.jepa.var_weight" in capsys.readouterr().err


def test_critic_learns_step_distances(trained: Path, metrics_rows) -> None:
    rows = metrics_rows(trained, "critic")
    assert rows and rows[-1]["step"] == 300
    assert rows[-1]["critic_loss"] < rows[0]["critic_loss"]
    ckpt = load_checkpoint(trained)
    assert ckpt.critic is not None
    s = torch.randn(5, 8)
    d = ckpt.critic.distance(s, s.flip(0))
    assert d.shape == (5,) and (d >= 0).all()
    assert ckpt.critic.nearest(s, s[:2]).shape == (5,)


def test_critic_only_retraining_keeps_the_level(trained: Path, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "critic-only"
    sets = _sets("train.critic.steps=20")
    assert main(["train", "--data", str(dataset), "--out", str(out), "--init", str(trained), "--steps", "0", "-q", *sets]) == 0
    before, after = load_checkpoint(trained), load_checkpoint(out)
    for (name, a), (_, b) in zip(before.jepa.state_dict().items(), after.jepa.state_dict().items()):
        assert torch.equal(a, b), name
    assert after.critic is not None
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "x"), "--steps", "0", "-q", *sets]) == 2


def test_an_interrupted_run_resumes_to_the_same_weights(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    import hagent.training.pipeline as train_module
    from hagent.checkpoint import load_checkpoint

    sets = _sets("train.save_every=50", "train.critic.steps=0")
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main(["train", "--data", str(dataset), "--out", str(whole), "--steps", "24", "-q", *sets]) == 0

    real = train_module._mixed_batches

    def interrupted(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == 13:
                raise KeyboardInterrupt  # as if ctrl+c arrived while step 14 fetched its batch
            yield batch

    monkeypatch.setattr(train_module, "_mixed_batches", interrupted)
    assert main(["train", "--data", str(dataset), "--out", str(cut), "--steps", "24", "-q", *sets]) == 130
    assert load_checkpoint(cut).step == 13
    monkeypatch.setattr(train_module, "_mixed_batches", real)
    assert main(["train", "--data", str(dataset), "--out", str(cut), "--steps", "24", "-q", "--resume", *sets]) == 0
    a, b = load_checkpoint(whole).jepa.state_dict(), load_checkpoint(cut).jepa.state_dict()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-5), name
    assert main(["train", "--data", str(dataset), "--out", str(cut), "--steps", "24", "-q", "--resume", *sets]) == 2  # done already
