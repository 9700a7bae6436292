"""`gym:<EnvId>`: any registered gymnasium env as a world (gymnasium-robotics' PointMaze here),
collected reward-free and trained on with the same commands as every world."""

from pathlib import Path

import numpy as np
import pytest
import torch

from hagent.collect import collect
from hagent.config import CollectConfig, HagentConfig
from hagent.data import OfflineDataset, VectorWindow
from hagent.worlds.gym import GymSpecError, parse_gym
from hagent.training.pipeline import train
from hagent.worlds import WorldSpecError, make_world, parse_spec
from levels.config import EncoderConfig
from levels.encoder import VectorEncoder

UMAZE = "gym:PointMaze_UMaze-v3"


def test_spec_parses_with_keyword_arguments() -> None:
    params = parse_gym(UMAZE + "?continuing_task=false&maze_size_scaling=1.5&reward_type=dense")
    assert params.env_id == "PointMaze_UMaze-v3"
    assert dict(params.kwargs) == {"continuing_task": False, "maze_size_scaling": 1.5, "reward_type": "dense"}
    assert parse_spec(UMAZE).family == "gym"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("gym:NoSuchEnv-v0", "no registered gymnasium env"),
        ("gym:PointMaze_UMaze-v3?oops", "is not key=value"),
        ("gym:CartPole-v1", "Dict observation"),
        ("gym:PointMaze_UMaze-v3?no_such_option=1", "no_such_option"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, words: str) -> None:
    with pytest.raises(WorldSpecError, match=words):
        make_world(spec)


def test_unknown_ids_are_refused_when_the_spec_is_parsed() -> None:
    with pytest.raises(GymSpecError, match="no registered"):
        parse_gym("gym:NoSuchEnv-v0")
    with pytest.raises(WorldSpecError, match="no registered"):
        parse_spec("gym:NoSuchEnv-v0")


def test_world_observes_vectors_and_goal_and_judges_with_the_envs_success() -> None:
    world = make_world(UMAZE, seed=3)
    obs, _ = world.reset()
    assert obs["vector"].shape == (4,) and obs["goal"].shape == (2,) and obs["vector"].dtype == np.float32
    assert world.max_steps == 300 and world.actions == 2
    again, _ = make_world(UMAZE, seed=3).reset()
    assert np.array_equal(obs["vector"], again["vector"]) and np.array_equal(obs["goal"], again["goal"])
    assert not world.judge().success
    # drive the point onto its goal with the env's own physics (a scripted check, not an agent)
    world.env.unwrapped.point_env.data.qpos[:2] = obs["goal"]
    _, _, terminated, _, info = world.step(np.zeros(2))
    assert info["success"] and terminated and world.judge().success


def test_vector_encoder_standardizes_its_inputs() -> None:
    encoder = VectorEncoder(EncoderConfig(kind="vector", inputs=3, dim=8))
    data = torch.randn(500, 3) * torch.tensor([100.0, 1.0, 0.01]) + 7
    encoder.fit(data)
    assert torch.allclose(((data - encoder.mean) / encoder.scale).std(0), torch.ones(3), atol=1e-3)
    assert encoder.encode(data[:5]).shape == (5, 8)
    with pytest.raises(ValueError, match=r"\[B, 3\]"):
        encoder.encode(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="encoder.inputs"):
        EncoderConfig(kind="vector")


def test_collect_then_train_level_zero(tmp_path) -> None:
    manifest = collect(UMAZE, tmp_path / "data", CollectConfig(episodes=6, max_steps=60, shard_episodes=3), seed=0, progress=False)
    assert manifest.complete and manifest.steps == 360 and manifest.image_shape == (4,)
    data = OfflineDataset(tmp_path / "data")
    assert data.vector and data.continuous and data.arrays["achieved"].shape == (366, 2)
    # reward-free: actions are held for several steps, and the point travels
    moved = np.linalg.norm(data.arrays["achieved"][60] - data.arrays["achieved"][0])
    assert moved > 0.1
    window = data.windows(4)[[0, 1]]
    assert isinstance(window, VectorWindow) and window.vector.shape == (2, 4, 4) and window.action.shape == (2, 4, 2)
    cfg = HagentConfig().model_copy(
        update={"train": HagentConfig().train.model_copy(update={"steps": 20, "log_every": 10, "save_every": 20, "readout_steps": 20})}
    )
    result = train(cfg, tmp_path / "data", tmp_path / "ckpt", progress=False)
    from hagent.checkpoint import load_checkpoint

    ckpt = load_checkpoint(tmp_path / "ckpt")
    assert ckpt.config.level.encoder.kind == "vector" and ckpt.config.level.continuous
    assert torch.allclose(ckpt.level.encoder.mean, torch.as_tensor(data.arrays["vector"]).mean(0), atol=1e-5)
    s = ckpt.level.encode_observations([make_world(UMAZE, seed=1).reset()[0]])
    assert s.shape == (1, ckpt.level.dim) and np.isfinite(result.final["pred_loss"])
    assert ckpt.readout is not None and ckpt.readout(s).shape == (1, 2)
    assert ckpt.landmarks is not None and len(ckpt.landmarks) >= 1 and "readout_val_error" in result.final


def test_a_gym_checkpoint_in_a_grid_world_gets_one_line_naming_its_world(capsys: pytest.CaptureFixture) -> None:
    from hagent.cli import main

    umaze = str(Path(__file__).resolve().parent.parent / "checkpoints" / "pointmaze" / "PointMaze_UMaze-v3")
    assert main(["chat", "--world", "rooms:3x3", "--checkpoint", umaze]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "acts in gym:PointMaze_UMaze-v3, not in rooms:3x3" in err
    assert "hagent chat --world gym:PointMaze_UMaze-v3 --checkpoint" in err
    assert main(["chat", "--world", UMAZE, "--checkpoint", str(Path(umaze).parent.parent / "point")]) == 2
    assert "acts in point worlds, not in gym:PointMaze_UMaze-v3" in capsys.readouterr().err


def test_a_world_whose_package_is_missing_is_skipped_by_scenarios_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the package that may register an env, a scenario there is skipped with the reason;
    with every such package installed, an unknown id is a plain spec error."""
    import hagent.worlds.gym as gym_world
    from hagent.scenarios import Scenario, run_scenario
    from hagent.worlds import WorldSpecError, WorldUnavailableError, parse_spec

    with pytest.raises(WorldSpecError) as err:
        parse_spec("gym:NoSuchEnv-v0")
    assert not isinstance(err.value, WorldUnavailableError)
    monkeypatch.setattr(gym_world, "PLUGINS", ("no_such_plugin_package",))
    with pytest.raises(WorldUnavailableError, match="no_such_plugin_package"):
        parse_spec("gym:NoSuchEnv-v0")
    verdict = run_scenario(None, Scenario(name="elsewhere", world="gym:NoSuchEnv-v0", instruction="reach the goal"))
    assert verdict.skipped and verdict.passed and "no_such_plugin_package" in verdict.explanation
