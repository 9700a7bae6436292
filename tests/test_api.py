"""The public API as DESIGN.md states it, through the shipped default agent."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import hagent
from hagent.acting.agent import DEFAULT_CHECKPOINT


def test_the_shipped_agent_loads_with_no_argument_and_solves_rooms() -> None:
    agent = hagent.Agent.load()
    assert agent.actor.explainer is not None and len(agent.actor.abstract) >= 1  # the H-JEPA stack with its decoder
    wins = 0
    for seed in range(10):  # fixed seeds 0..9
        world = hagent.make_world("rooms:3x3", seed=seed)
        mission = world.reset()[0]["mission"]
        episode = agent.run(hagent.make_world("rooms:3x3", seed=seed), mission)
        wins += episode.success
        assert episode.violations == ()
        assert episode.explanation and episode.steps == len(episode.trace)
    assert wins >= 9


def test_the_shipped_checkpoint_is_small_and_documented() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.rglob("*") if p.is_file())
    assert size <= 30 * 2**20
    readme = (DEFAULT_CHECKPOINT / "README.md").read_text()
    assert "seed 0" in readme and "hagent train" in readme


def test_plan_without_acting() -> None:
    agent = hagent.Agent.load()
    obs, _ = hagent.make_world("rooms:3x3", seed=3).reset()
    plan = agent.plan(obs, obs["mission"])
    assert plan.actions and len(plan.stages) == 1
    assert plan.description is not None and plan.description.text


_CHAT_AGENT = []


def _chat():
    from hagent.acting.chat import Chat

    if not _CHAT_AGENT:
        _CHAT_AGENT.append(hagent.Agent.load())
    return Chat(_CHAT_AGENT[0], "rooms:2x2", 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.sampled_from(["why?", "help", "new world", "restart", "world seed 3", "new world rooms:9x9"])))
@example("0" * 62)  # the normalizer's best reading names a ball nobody mentioned: a question
def test_a_chat_turn_never_raises(text: str) -> None:
    reply = _chat().say(text)
    assert reply.kind in ("episode", "world", "answer", "help", "question", "error") and reply.text
    if reply.kind == "question":
        assert reply.episode is None


def test_one_agent_class_loads_every_checkpoint_with_the_same_records() -> None:
    """`hagent.Agent.load` serves every world family: the checkpoint (or the world's shipped one)
    says what level 0 reads, and the agent acts there with the same verbs and records."""
    from hagent import shipped
    from hagent.acting.pixels import PixelActor
    from hagent.acting.records import AgentPlan, Episode, StepRecord
    from hagent.acting.vector import VectorActor

    grid = hagent.Agent.load(world="rooms:3x3")
    point = hagent.Agent.load(world="point:tworooms")
    maze = hagent.Agent.load(world="gym:PointMaze_UMaze-v3")
    assert type(grid) is type(point) is type(maze) is hagent.Agent
    assert isinstance(point.actor, PixelActor) and isinstance(hagent.Agent.load(shipped.checkpoint("point")).actor, PixelActor)
    assert isinstance(maze.actor, VectorActor) and maze.actor.landmarks is not None and maze.env_id == "PointMaze_UMaze-v3"
    for agent, spec in ((point, "point:tworooms"), (maze, "gym:PointMaze_UMaze-v3")):
        episode = agent.run(hagent.make_world(spec, seed=43007), max_steps=6)
        assert isinstance(episode, Episode) and isinstance(episode.plan, AgentPlan)
        assert episode.trace and all(isinstance(r, StepRecord) and isinstance(r.action, tuple) for r in episode.trace)
        assert episode.plan.stages == ("reach the goal",) and episode.plan.task is None
        levels = [d for d in episode.decisions if d.topic == "levels"]  # the configurator's choices, as in grid worlds
        assert levels and levels[0].choice.startswith("level 1") and {"costs", "budget", "rules"} <= {d.topic for d in episode.decisions}
    with pytest.raises(TypeError, match="world="):
        hagent.Agent.load(shipped.checkpoint("pointmaze"), "gym:PointMaze_UMaze-v3")
    with pytest.raises(AttributeError):
        point.normalizer = None  # the trained parts are the actor's: no silent no-op on the agent
