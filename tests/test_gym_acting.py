"""Planning in gym worlds: the strided data level 0 learns from, level 1's landmark graph, the
goal agent over the shipped PointMaze checkpoint, and the commands that run it."""

from pathlib import Path

import numpy as np
import pytest
import torch

from hagent.checkpoint import CheckpointError
from hagent.collect import DatasetError, collect
from hagent.config import CollectConfig
from hagent.data import OfflineDataset
from hagent import shipped
from hagent.acting import Agent
from hagent.acting.agent import checkpoint_for
from hagent.worlds.gym import make_gym_world
from levels.landmarks import LandmarkGraph, LandmarkPlanner, farthest_points

UMAZE = "gym:PointMaze_UMaze-v3"
SHIPPED = shipped.checkpoint("pointmaze")
TEST_SEEDS = range(43000, 43010)  # development range (< 50,000), not the reported one


def test_strided_data_holds_each_chunks_action(tmp_path: Path) -> None:
    collect(UMAZE, tmp_path / "d", CollectConfig(episodes=3, max_steps=47, shard_episodes=3), seed=0, progress=False)
    data = OfflineDataset(tmp_path / "d")
    strided = data.strided(5)
    assert strided.episodes == 3 and len(strided.arrays["vector"]) == 3 * (47 // 5 + 1)
    raw, seen = data.episode(0), strided.episode(0)
    assert np.array_equal(seen["vector"], raw["vector"][0:46:5])
    # exploration holds actions in whole 5-step chunks, so each chunk's mean is its held action
    assert np.allclose(seen["action"][:-1], raw["action"][0:45:5]) and not seen["action"][-1].any()
    assert data.strided(1) is data


def test_only_gym_data_is_strided(tmp_path: Path) -> None:
    collect("rooms:3x3", tmp_path / "g", CollectConfig(episodes=1, max_steps=8), seed=0, progress=False)
    with pytest.raises(DatasetError, match="gym world"):
        OfflineDataset(tmp_path / "g").strided(5)


def _u_shape() -> list[torch.Tensor]:
    """Walks along a U (down the left arm, across the bottom, up the right arm) and back; the
    arms' tops are close in space but never joined by a move."""
    down = torch.stack([torch.zeros(21), torch.linspace(2, 0, 21)], 1)
    across = torch.stack([torch.linspace(0, 1, 11), torch.zeros(11)], 1)
    up = torch.stack([torch.ones(21), torch.linspace(0, 2, 21)], 1)
    walk = torch.cat([down, across, up])
    return [walk, walk.flip(0)]


def test_landmark_routes_follow_the_moves_the_data_made() -> None:
    graph = LandmarkGraph.build(_u_shape(), spacing=0.3, min_count=2)
    route = graph.route(torch.tensor([1.0, 2.0]))  # top of the right arm
    here = torch.tensor([0.0, 2.0])  # top of the left arm, 1 unit away in a straight line
    sub = graph.subgoal(route, here, hops=2)
    # the way goes down the left arm first, never straight across the gap
    assert sub.point[1] < 2.0 and abs(float(sub.point[0])) < 0.2 and sub.landmark == sub.path[2]
    assert route.lengths[sub.start] > 4.0
    near = graph.subgoal(route, torch.tensor([1.0, 1.9]), hops=3)
    assert torch.equal(near.point, route.goal) and near.landmark == -1  # near the end: the goal itself
    again = LandmarkGraph(**graph.state_dict())
    assert torch.equal(again.points, graph.points) and again.graph.number_of_edges() == graph.graph.number_of_edges()


def test_subgoal_is_the_farthest_stop_in_a_straight_line() -> None:
    """Down the left arm the route is straight: level 1 looks `hops` stops ahead; at the bottom
    it turns, and the subgoal stops at the turn."""
    graph = LandmarkGraph.build(_u_shape(), spacing=0.3, min_count=2)
    route = graph.route(torch.tensor([1.0, 2.0]))
    top = graph.subgoal(route, torch.tensor([0.0, 2.0]), hops=4, bend=0.05)
    assert top.landmark == top.path[4]  # four stops straight down
    low = graph.subgoal(route, torch.tensor([0.0, 0.6]), hops=6, bend=0.05)
    assert abs(float(low.point[0])) < 0.05 and float(low.point[1]) < 0.6  # the last stop down the arm, not past the turn
    wide = graph.subgoal(route, torch.tensor([0.0, 0.6]), hops=6, bend=10.0)
    assert float(wide.point[0]) > 0.3  # with any bend allowed it cuts the corner


def test_from_a_part_of_the_graph_the_route_cant_reach_level_one_heads_back_onto_it() -> None:
    """An island of landmarks the data never joined to the U: from there level 1 hands down the
    nearest landmark that has a way to the goal, not the goal itself (straight at it, through
    whatever lies between)."""
    island = torch.stack([torch.linspace(3, 4, 11), torch.full((11,), 2.0)], 1)
    graph = LandmarkGraph.build(_u_shape() + [island, island.flip(0)], spacing=0.3, min_count=2)
    route = graph.route(torch.tensor([0.0, 2.0]))  # top of the left arm
    sub = graph.subgoal(route, torch.tensor([4.0, 2.0]), hops=3)
    assert sub.start not in route.paths and sub.landmark in route.paths
    assert torch.dist(sub.point, torch.tensor([1.0, 2.0])) < 0.3  # the top of the right arm, the U's nearest landmark


def test_level_one_drops_a_hop_level_zero_cannot_make() -> None:
    """A shortcut the data made (across the U's gap) that level 0 never gets through: level 1
    first hands down the next stop only, then drops the hop and routes the long way round."""
    walks = _u_shape() + [torch.tensor([[0.0, 2.0], [1.0, 2.0]])] * 2  # two jumps across the gap
    graph = LandmarkGraph.build(walks, spacing=0.3, min_count=2)
    goal, here = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 2.0])
    upper = LandmarkPlanner(graph, goal, hops=3, bend=0.3, patience=2, progress=0.01)
    first = upper.plan(here)
    assert torch.equal(first.point, goal)  # the shortcut: one hop to the goal
    subgoals = [upper.plan(here) for _ in range(6)]  # level 0 never moves
    assert upper.dropped and float(subgoals[-1].point[1]) < 2.0  # now down the left arm
    assert upper.route.lengths[subgoals[-1].start] > 4.0


def test_farthest_points_cover_every_point() -> None:
    points = torch.rand(500, 2, generator=torch.Generator().manual_seed(0))
    chosen = farthest_points(points, 0.2)
    assert torch.cdist(points, chosen).min(1).values.max() <= 0.2


def test_bad_landmark_tensors_are_refused() -> None:
    with pytest.raises(ValueError, match="edges"):
        LandmarkGraph(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long))


def test_a_directory_of_checkpoints_serves_each_env_by_id(tmp_path: Path) -> None:
    assert checkpoint_for(SHIPPED, UMAZE) == SHIPPED / "PointMaze_UMaze-v3"
    with pytest.raises(CheckpointError, match="PointMaze_UMaze-v3.*none for gym:PointMaze_Large-v3"):
        checkpoint_for(SHIPPED, "gym:PointMaze_Large-v3")
    with pytest.raises(CheckpointError, match="say which world"):
        Agent.load(SHIPPED)
    with pytest.raises(CheckpointError, match="trained on gym:PointMaze_UMaze-v3, not gym:PointMaze_Medium-v3"):
        Agent.load(SHIPPED / "PointMaze_UMaze-v3", world="gym:PointMaze_Medium-v3")


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(SHIPPED, world=UMAZE)


def test_shipped_agent_reaches_umaze_goals(agent: Agent) -> None:
    episodes = [agent.run(make_gym_world(UMAZE), seed=s) for s in TEST_SEEDS]
    assert sum(e.success for e in episodes) >= 8
    first = episodes[0]
    assert first.plan is not None and first.plan.levels == 2 and first.steps <= 300
    assert all(r.levels == 2 and r.calls > 0 for r in first.trace)
    # level 0 plans once per time scale: 5 env steps per trace row
    assert len(first.trace) == -(-first.steps // agent.level.time_scale)
    assert first.explanation.startswith("I headed for the goal at (") and "landmarks" in first.explanation
    assert "level 0" not in first.explanation and "steps" not in first.explanation and "desired_goal" not in first.explanation


def test_flat_agent_plans_with_level_zero_alone(agent: Agent) -> None:
    flat = agent.reconfigured(hierarchy="flat")
    episode = flat.run(make_gym_world(UMAZE), max_steps=20, seed=TEST_SEEDS[0])
    assert episode.steps <= 20 and episode.plan.levels == 1 and episode.plan.route == ()


def test_same_seed_same_episode(agent: Agent) -> None:
    a = agent.run(make_gym_world(UMAZE), max_steps=30, seed=TEST_SEEDS[1])
    b = agent.run(make_gym_world(UMAZE), max_steps=30, seed=TEST_SEEDS[1])
    assert [r.action for r in a.trace] == [r.action for r in b.trace]


def test_the_goal_comes_from_desired_goal_not_text(agent: Agent) -> None:
    world = make_gym_world(UMAZE, seed=1)
    world.reset()
    with pytest.raises(ValueError, match="desired_goal"):
        agent.run(world, "go to the red ball")


def test_eval_and_run_commands_in_a_gym_world(capsys: pytest.CaptureFixture) -> None:
    from hagent.cli import main

    assert main(["eval", "--world", UMAZE, "--episodes", "2", "--seed", str(TEST_SEEDS[2]), "-q"]) == 0
    out = capsys.readouterr().out
    assert "success rate" in out and "per env step" in out
    code = main(["run", "--world", UMAZE, "--seed", str(TEST_SEEDS[3])])
    out = capsys.readouterr().out
    assert code in (0, 1) and "the goal at (" in out and "outcome:" in out
    assert main(["run", "--world", UMAZE, "go to the red ball"]) == 2
    assert "desired_goal" in capsys.readouterr().err
    assert main(["eval", "--world", "gym:PointMaze_Large-v3", "--episodes", "1"]) == 2
    assert "none for gym:PointMaze_Large-v3" in capsys.readouterr().err


def test_steps_on_gym_data_says_nothing_of_a_critic_it_never_trains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`--steps` on a gym world's data: its recipe trains no critic, hazard model or abstract
    level, so the note that `--steps` leaves them unbounded (grid data) isn't printed."""
    from hagent.cli import main

    collect(UMAZE, tmp_path / "d", CollectConfig(episodes=4, max_steps=60, shard_episodes=4), seed=0, progress=False)
    assert main(["train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "c"), "--steps", "3", "--set", "level.time_scale=5",
                 "--set", "data.batch_size=4", "--set", "train.readout_steps=5"]) == 0
    assert "still trains" not in capsys.readouterr().err


def test_levels_only_gives_a_gym_checkpoint_a_level_1_that_plans_with_its_own_model(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`hagent train --levels-only` over a gym checkpoint's level 0 (continuous actions, data strided
    by its time scale), then `goal_agent.graph = "hjepa"`: level 1 searches its own macro-actions
    and hands level 0 its predicted states; the landmark graph is never consulted."""
    from hagent.acting.vector import SUBGOAL_COST
    from hagent.checkpoint import load_checkpoint
    from hagent.cli import main
    from hagent.config import GoalAgentConfig

    data, ckpt = str(tmp_path / "d"), str(tmp_path / "c")
    collect(UMAZE, data, CollectConfig(episodes=6, max_steps=120, shard_episodes=6), seed=0, progress=False)
    assert main(["train", "--data", data, "--out", ckpt, "--steps", "3", "--set", "level.time_scale=5", "--set", "data.batch_size=4",
                 "--set", "train.readout_steps=5", "-q"]) == 0
    with pytest.raises(ValueError, match="--levels-only"):
        Agent.load(ckpt, GoalAgentConfig(graph="hjepa"))
    sets = ["--set", "hierarchy=[{dim=4, hidden=16, period=2, macro_dim=2, codes=8}]", "--set", "train.abstract.steps=10",
            "--set", "train.abstract.batch_size=16", "--set", "train.abstract.horizon=2", "--set", "train.critic.steps=5",
            "--set", "train.critic.goals_per_episode=2", "--set", "train.readout_steps=5"]  # fmt: skip
    grid = str(tmp_path / "grid")
    collect("rooms:2x2?size=5", grid, CollectConfig(episodes=2, max_steps=20), seed=0, progress=False)
    assert main(["train", "--levels-only", "--out", ckpt, "--data", grid, "-q", *sets]) == 2  # level 0 can't read it
    assert "reads vector; the data holds grid" in capsys.readouterr().err
    assert main(["train", "--levels-only", "--out", ckpt, "--data", data, "-q", *sets]) == 0
    assert "--decoder-only" not in capsys.readouterr().out  # a gym checkpoint has no plan decoder to retrain
    loaded = load_checkpoint(ckpt)
    level1 = loaded.abstract[0]
    assert not level1.below_discrete and level1.below_actions == 2 and 1 < len(level1.codes) <= 8
    assert loaded.goal1 is not None and loaded.goal1(torch.zeros(1, 2)).shape == (1, 4)

    def no_landmarks(*args, **kwargs):
        raise AssertionError("the landmark graph planned")

    monkeypatch.setattr(LandmarkPlanner, "plan", no_landmarks)
    agent = Agent.load(ckpt, GoalAgentConfig(graph="hjepa", hjepa={"arrive": 0.01}))  # never arrives: level 1 always hands one down
    episode = agent.run(make_gym_world(UMAZE), max_steps=30, seed=TEST_SEEDS[4])
    assert episode.trace and all(r.levels == 2 for r in episode.trace)
    assert SUBGOAL_COST in episode.plan.costs
    assert any("its own model" in d.choice for d in episode.decisions if d.topic == "levels")
    assert "my own model predicted" in episode.explanation
