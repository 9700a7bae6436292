"""Point worlds through the framework: collection, pixel JEPA training (loss falls, no collapse),
the planning agent (flat MPPI and level 1's imagined graph), the CLI and the benchmark's helpers."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hagent.checkpoint import load_checkpoint
from hagent.cli import main
from hagent.collect import collect
from hagent.config import CollectConfig, PointAgentConfig
from hagent.data import OfflineDataset, PointWindow
from hagent.worlds.point import make_point_world
from hagent.acting import Agent
from hagent.acting.sealed import PeekingError

TINY = [
    "level.encoder.dim=16",
    "level.predictor.hidden=64",
    "level.predictor.blocks=1",
    "train.jepa.inverse_hidden=32",
    "data.batch_size=16",
    "data.window=4",
    "train.warmup=0",
    "train.lr=0.003",
    "train.log_every=5",
    'device="cpu"',
    "train.places_steps=50",
]


def _sets(*extra: str) -> list[str]:
    return [arg for item in (*TINY, *extra) for arg in ("--set", item)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tworooms")
    collect("point:tworooms", out, CollectConfig(episodes=24, max_steps=50, shard_episodes=12), seed=1, progress=False)
    return out


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("point_ckpt")
    assert main(["train", "--data", str(dataset), "--out", str(out), "--steps", "120", "-q", *_sets()]) == 0
    return out


def test_point_data_holds_views_float_actions_and_labels(dataset: Path) -> None:
    data = OfflineDataset(dataset)
    assert data.continuous and data.manifest.world == "point:tworooms" and data.episodes == 24
    batch = data.windows(4)[np.arange(3)]
    assert isinstance(batch, PointWindow)
    assert batch.image.shape == (3, 4, 64, 64, 3) and batch.image.dtype == torch.uint8
    assert batch.action.shape == (3, 4, 2) and batch.action.dtype == torch.float32
    step = batch.action.norm(dim=-1)
    assert float(step.min()) >= 0.2 - 1e-5 and float(step.max()) <= 2.45 + 1e-5  # the explorer's stride range
    moved = (batch.position[:, 1:] - batch.position[:, :-1]).norm(dim=-1)
    assert float(moved.max()) <= 2.45 + 1e-4  # positions are labels of the same steps
    crossed = [np.any(np.diff(data.episode(i)["room"]) != 0) for i in range(data.episodes)]
    assert any(crossed)  # some episodes go through the door


def test_tiny_training_lowers_prediction_loss_without_collapse(trained: Path, metrics_rows) -> None:
    rows = metrics_rows(trained)
    first, last = rows[0], rows[-1]
    assert last["step"] == 120
    assert last["pred_loss"] < 0.5 * first["pred_loss"]
    assert last["eff_rank"] > 2.0, last  # more than a line: not collapsed
    assert last["std"] > 0.1, last
    ckpt = load_checkpoint(trained)
    assert ckpt.config.level.encoder.kind == "pixels" and ckpt.config.level.action_space == "continuous"
    assert ckpt.critic is None and ckpt.abstract == ()  # grid-only parts are not trained on views
    assert ckpt.places is not None  # the place grounding for text goals


def test_the_agent_acts_through_a_sealed_world_in_both_modes(trained: Path) -> None:
    agent = Agent.load(trained, cfg=PointAgentConfig(mppi={"horizon": 4, "samples": 32, "iterations": 2}, depth=4, nodes=60))
    for mode in ("auto", "flat"):
        world = make_point_world("point:tworooms", seed=7)
        ep = agent.reconfigured(hierarchy=mode).run(world, max_steps=5, seed=7)
        assert ep.steps == 5 or ep.success
        assert all(np.hypot(*r.action) <= 2.45 * np.sqrt(2) + 1e-5 and r.calls > 0 and r.ms > 0 for r in ep.trace)
        assert {r.levels for r in ep.trace} == ({2} if mode == "auto" else {1})
        # the explanation is plain words about the plan; the step count is the outcome's (no "24 steps. Done in 24 steps.")
        assert ep.explanation.startswith("I headed for the place the goal image shows")
        assert "level 0" not in ep.explanation and "level 1" not in ep.explanation and "steps" not in ep.explanation
        assert ("upper level" in ep.explanation) == (mode == "auto")


def test_the_agent_never_reads_the_worlds_state(trained: Path, monkeypatch) -> None:
    world = make_point_world("point:tworooms", seed=3)

    def peek(*_):
        raise PeekingError("state() read while acting")

    monkeypatch.setattr(world, "state", peek)
    agent = Agent.load(trained, cfg=PointAgentConfig(mppi={"horizon": 3, "samples": 16, "iterations": 1}, depth=2, nodes=20))
    assert agent.run(world, max_steps=3, seed=3).steps == 3


def test_level_one_graph_merges_nearby_places(trained: Path) -> None:
    agent = Agent.load(trained, cfg=PointAgentConfig(depth=3, nodes=50))
    obs, _ = make_point_world("point:tworooms", seed=2).reset()
    with torch.no_grad():
        s = agent.level.encode(torch.as_tensor(obs["image"][None]))[0]
        stride = agent.actor._stride(s)
        graph = agent.actor.imagine(s, stride)
    n = len(graph.states)
    assert 2 <= n <= 50 and graph.parent[0] == -1 and all(0 <= p < i for i, p in enumerate(graph.parent) if i)
    gaps = torch.cdist(graph.states, graph.states) + torch.eye(n) * 1e9
    assert float(gaps.min()) > agent.cfg.merge * stride  # no two places within the merge radius
    assert max(graph.depth) <= 3


def test_cli_runs_a_point_world_and_refuses_bad_input(trained: Path, tmp_path: Path, capsys) -> None:
    code = main(["run", "--world", "point:tworooms", "--seed", "4", "--checkpoint", str(trained), "--max-steps", "3",
                 "--json", str(tmp_path / "ep.json")])
    assert code in (0, 1)
    doc = json.loads((tmp_path / "ep.json").read_text())
    assert doc["steps"] == 3 and len(doc["trace"]) == 3
    assert "outcome:" in capsys.readouterr().out
    assert main(["run", "--world", "point:maze?rooms=5", "--checkpoint", str(trained)]) == 2
    assert "point:maze?rooms=2|3|4|6|9" in capsys.readouterr().err
    assert main(["run", "go to the kitchen", "--world", "point:tworooms", "--checkpoint", str(trained)]) == 2
    assert "top-left corner of the left room" in capsys.readouterr().err  # says what can be named
    # the world's own mission means the world's own goal (its goal image)
    assert main(["run", "go to the goal", "--world", "point:tworooms", "--checkpoint", str(trained), "--max-steps", "2"]) in (0, 1)


def test_benchmark_distance_is_the_way_through_the_doors() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("point_bench", Path(__file__).parent.parent / "benchmarks" / "point.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    world = make_point_world("point:tworooms?wall=fixed", seed=0)
    world.reset()
    world.position, world.goal = np.array([20.0, 50.0]), np.array([44.0, 50.0])  # door at y = 32
    straight = np.hypot(24.0, 0.0)
    assert bench.shortest_strides(world) > np.ceil((straight - 4.5) / 2.45)  # around through the door, not through the wall


def test_levels_only_gives_a_point_agent_a_level_1_that_plans_with_its_own_model(
    trained: Path, dataset: Path, tmp_path: Path, monkeypatch,
) -> None:
    """`hagent train --levels-only` over a pixel level 0, then `point_agent.graph = "hjepa"`: level 1
    searches its own macro-actions and hands level 0 its predicted states. No colour threshold,
    view lattice, straight-line clearance or straight-line action is on the acting path."""
    import shutil

    import hagent.acting.pixels as pixels
    from hagent.acting.pixels import SUBGOAL_COST

    copy = tmp_path / "ckpt"
    shutil.copytree(trained, copy)
    with pytest.raises(ValueError, match="--levels-only"):
        Agent.load(copy, cfg=PointAgentConfig(graph="hjepa"))
    sets = _sets("hierarchy=[{dim=4, hidden=16, period=2, macro_dim=2, codes=8}]", "train.abstract.steps=10",
                 "train.abstract.batch_size=16", "train.abstract.horizon=2", "train.critic.steps=5", "train.critic.goals_per_episode=2")
    assert main(["train", "--levels-only", "--out", str(copy), "--data", str(dataset), "-q", *sets]) == 0
    level1 = load_checkpoint(copy).abstract[0]
    assert not level1.below_discrete and level1.below_actions == 2 and 1 < len(level1.codes) <= 8

    def baseline(*args, **kwargs):
        raise AssertionError("a view-graph helper ran on the hjepa acting path")

    for name in ("where_agent", "scene", "with_place", "imagine"):
        monkeypatch.setattr(pixels, name, baseline)
    monkeypatch.setattr(pixels.PixelActor, "places_of", baseline)
    monkeypatch.setattr(pixels.PixelActor, "_plan_on_places", baseline)
    monkeypatch.setattr(pixels.MPPIPlanner, "warm", baseline)  # no straight-line warm start either
    cfg = PointAgentConfig(graph="hjepa", hjepa={"arrive": 0.01}, mppi={"horizon": 4, "samples": 32, "iterations": 2})
    episode = Agent.load(copy, cfg=cfg).run(make_point_world("point:tworooms", seed=7), max_steps=6, seed=7)
    assert episode.steps == 6 and {r.levels for r in episode.trace} == {2}
    assert SUBGOAL_COST in episode.plan.costs
    assert any("its own model" in d.choice for d in episode.decisions if d.topic == "levels")
    assert "my own model predicted" in episode.explanation
