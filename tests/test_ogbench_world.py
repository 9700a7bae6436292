"""Worlds whose env gives the goal in reset's info (OGBench's convention): first through `gym:`
on a tiny env defined here (no ogbench needed), then OGBench's own mazes as `ogbench:` worlds."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from hagent.worlds import WorldSpecError, make_world, parse_spec

REACH = "InfoGoalReachTest-v0"
"""A test-only gymnasium id for `InfoGoalReach`."""


class InfoGoalReach(gym.Env):
    """A point on a plane that moves by its action; the goal (a position, i.e. an observation) is
    given in reset's info, success when the point is within 0.5 of it."""

    observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self.goal = self.np_random.uniform(3, 5, 2).astype(np.float32)
        return self.pos.copy(), {"goal": self.goal.copy()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.pos = np.clip(self.pos + action, -10, 10).astype(np.float32)
        success = float(np.linalg.norm(self.pos - self.goal) < 0.5)
        return self.pos.copy(), success, False, False, {"success": success}


if REACH not in gym.registry:
    gym.register(REACH, entry_point=InfoGoalReach, max_episode_steps=50)


def test_an_env_with_its_goal_in_reset_info_is_a_gym_world() -> None:
    world = make_world(f"gym:{REACH}", seed=0)
    obs, info = world.reset()
    assert world.goal_in_info and world.inputs == 2 and world.actions == 2 and world.max_steps == 50
    assert {"vector", "goal", "achieved", "mission"} <= set(obs)
    assert np.array_equal(obs["goal"], info["goal"]) and obs["goal"].dtype == np.float32
    assert np.array_equal(obs["achieved"], obs["vector"])  # the goal lives in observation space
    goal = obs["goal"].copy()
    obs, _, terminated, _, _ = world.step(np.zeros(2))
    assert np.array_equal(obs["goal"], goal) and not terminated and not world.judge().success
    again, _ = make_world(f"gym:{REACH}", seed=0).reset()
    assert np.array_equal(again["vector"], world.reset(seed=0)[0]["vector"])


def test_success_in_step_info_ends_the_episode_and_is_judged() -> None:
    world = make_world(f"gym:{REACH}", seed=1)
    obs, _ = world.reset()
    world.env.unwrapped.pos = obs["goal"].copy()  # a scripted check, not an agent
    _, _, terminated, _, info = world.step(np.zeros(2))
    assert info["success"] and terminated and world.judge().success


def test_exploration_records_observations_as_achieved_goals() -> None:
    world = make_world(f"gym:{REACH}")
    data = world.explore(seed=2, rng=np.random.default_rng(2), max_steps=20)
    assert data["vector"].shape == (21, 2) and data["action"].shape == (21, 2)
    assert np.array_equal(data["achieved"], data["vector"]) and not data["action"][-1].any()
    assert np.abs(np.diff(data["vector"], axis=0)).max() > 0  # the point moved
    assert len(world.explore(seed=2, rng=np.random.default_rng(2), max_steps=80)["vector"]) == 51  # the env's limit


def test_a_box_env_without_a_goal_names_both_accepted_forms() -> None:
    with pytest.raises(WorldSpecError, match=r"Dict observation.*info\['goal'\]"):
        make_world("gym:Pendulum-v1")


MAZE = "ogbench:pointmaze-medium-navigate-v0"


def test_ogbench_maze_evaluation_tasks() -> None:
    pytest.importorskip("ogbench")
    world = make_world(MAZE + "?task=1", seed=0)
    obs, _ = world.reset()
    assert world.max_steps == 1000 and obs["vector"].shape == obs["goal"].shape == (2,)
    assert parse_spec(MAZE + "?task=1").family == "ogbench"
    again, _ = make_world(MAZE + "?task=1", seed=0).reset()
    assert np.array_equal(obs["goal"], again["goal"]) and np.array_equal(obs["vector"], again["vector"])
    # OGBench adds noise of at most a quarter cell (1.0 per axis) to the task's goal cell
    second, _ = world.reset()
    assert np.abs(second["goal"] - obs["goal"]).max() <= 2.0
    other, _ = make_world(MAZE + "?task=2", seed=0).reset()
    assert np.abs(other["goal"] - obs["goal"]).max() > 4.0
    rng = np.random.default_rng(0)
    for _ in range(20):
        step, _, terminated, truncated, info = world.step(rng.uniform(-1, 1, 2))
        assert "success" in info and not truncated
    assert np.array_equal(step["goal"], second["goal"]) and np.array_equal(step["achieved"], step["vector"])


def test_ogbench_world_collects_reward_free_data(tmp_path: Path) -> None:
    pytest.importorskip("ogbench")
    from hagent.collect import collect
    from hagent.config import CollectConfig
    from hagent.data import OfflineDataset

    manifest = collect(MAZE, tmp_path / "data", CollectConfig(episodes=2, max_steps=30), seed=0, progress=False)
    data = OfflineDataset(tmp_path / "data")
    assert manifest.steps == 60 and data.vector and data.arrays["achieved"].shape == (62, 2)


@pytest.mark.parametrize(
    "spec, words",
    [
        (MAZE + "?task=9", "1..5"),
        (MAZE + "?task=0", "1..5"),
        (MAZE + "?seed=1", "unknown option"),
        ("ogbench:no-such-navigate-v0", "no OGBench env or dataset"),
        ("ogbench:CartPole-v1", "no OGBench env or dataset"),
    ],
)
def test_bad_ogbench_specs_say_what_is_wrong(spec: str, words: str) -> None:
    pytest.importorskip("ogbench")
    with pytest.raises(WorldSpecError, match=words):
        parse_spec(spec)
    with pytest.raises(WorldSpecError, match=words):
        make_world(spec)


def test_without_ogbench_its_worlds_are_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from hagent.worlds import WorldUnavailableError

    monkeypatch.setitem(sys.modules, "ogbench", None)  # an import of it raises ImportError
    with pytest.raises(WorldUnavailableError, match=r"pip install 'hagent\[ogbench\]'"):
        make_world(MAZE)


def test_an_agent_trained_on_an_ogbench_env_serves_it_and_no_gym_env() -> None:
    # the agent's family comes from its checkpoint's world spec (it was taken as "gym" and refused)
    pytest.importorskip("ogbench")
    from types import SimpleNamespace

    from hagent.acting import Agent
    from hagent.acting.serving import served, serves

    agent = Agent(SimpleNamespace(env_id="pointmaze-medium-v0", family="ogbench", families=("gym", "ogbench")))
    assert agent.family == "ogbench"
    assert serves(agent, MAZE + "?task=3")
    assert not serves(agent, "ogbench:pointmaze-large-navigate-v0")
    assert served(agent) == "ogbench:pointmaze-medium-v0"
