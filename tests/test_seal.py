"""The seal is structural: every actor (grid, pixels, vector) acts through a `SealedWorld`, and a
world whose state, parameters and judgement raise when read still gets acted in. A text goal in
a point world is reached through the agent's own grounding, never through the goal image the
world draws for its own scoring."""

from typing import Any

import numpy as np
import pytest

from hagent import shipped
from hagent.acting import Agent
from hagent.acting.sealed import PeekingError, SealedWorld
from hagent.worlds import make_world
from hagent.worlds.point import PointWorld, make_point_world, parse_point

DOOR = ("reset", "step", "observe", "action_space", "instruct", "watch", "max_steps", "fresh", "world_spec")
"""What a world offers through its door: observations, actions, the step limit, the reset flag,
the scoring calls and its name."""

SEEDS = {"grid": ("rooms:3x3", 41), "pixels": ("point:tworooms", 41), "vector": ("gym:PointMaze_UMaze-v3", 41)}
"""One development seed (< 50,000) per kind of perception; these tests check that acting works
without the world, not how well."""


class Trapped:
    """A world whose every other attribute (state, parameters, symbolic view, goal, position...)
    raises when read. Its judgement may be read only once no step can follow it: a step after a
    judgement raises, and each judgement records how many steps came before it."""

    def __init__(self, world: Any, judging: bool = True):
        object.__setattr__(self, "_world", world)
        object.__setattr__(self, "_judging", judging)
        object.__setattr__(self, "steps", 0)
        object.__setattr__(self, "judged_at", [])

    def step(self, action: Any) -> Any:
        if self.judged_at:
            raise AssertionError("a step after the world's judgement was read: it was read while acting")
        object.__setattr__(self, "steps", self.steps + 1)
        return self._world.step(action)

    def judge(self) -> Any:
        if not self._judging:
            raise AssertionError("the world's judgement was read")
        self.judged_at.append(self.steps)
        return self._world.judge()

    def __getattr__(self, name: str) -> Any:
        if name in DOOR:
            return getattr(self._world, name)
        raise AssertionError(f"world.{name} was read while acting")


def _agent(kind: str) -> Agent:
    world, _ = SEEDS[kind]
    return Agent.load(world=world)


@pytest.mark.parametrize("kind", ["grid", "pixels", "vector"])
def test_each_actor_acts_with_a_world_it_cannot_read(kind: str) -> None:
    if kind == "vector":
        pytest.importorskip("gymnasium_robotics")
    spec, seed = SEEDS[kind]
    agent = _agent(kind)
    trapped = Trapped(make_world(spec, seed=seed), judging=False)
    run = agent.actor.start(SealedWorld(trapped), None, 4, True, seed)  # the actor alone: nobody judges
    episode = run.finish()
    assert episode.steps >= 1 and episode.success is None and episode.violations == ()
    assert len(run.trace) >= 1 and run.trace[0].calls > 0


@pytest.mark.parametrize("kind", ["grid", "pixels", "vector"])
def test_the_runner_judges_once_after_acting(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "vector":
        pytest.importorskip("gymnasium_robotics")
    spec, seed = SEEDS[kind]
    agent = _agent(kind)
    trapped = Trapped(make_world(spec, seed=seed))
    episode = agent.run(trapped, max_steps=3, seed=seed)
    assert isinstance(episode.success, bool)
    assert trapped.judged_at == [trapped.steps] and trapped.steps >= 1  # once, after the last step


class _BlankOnInstruct(PointWorld):
    """A point world that judges a named place without drawing it: its goal image stays blank."""

    def instruct(self, text: str) -> bool:
        told = super().instruct(text)
        self._goal_image = np.zeros_like(self._goal_image)
        return told


def test_a_text_goal_never_reads_the_goal_image_the_world_draws() -> None:
    agent = Agent.load(world="point:tworooms")
    text = "go to the top-left corner of the left room"
    drawn = make_point_world("point:tworooms", seed=43)
    blank = _BlankOnInstruct(parse_point("point:tworooms"), "point:tworooms", seed=43)
    first = agent.run(drawn, text, max_steps=12, seed=43)
    drawn_view = drawn.observe()["goal"]
    second = agent.run(blank, text, max_steps=12, seed=43)
    assert drawn_view.any() and not blank.observe()["goal"].any()  # the two worlds did differ
    assert [r.action for r in first.trace] == [r.action for r in second.trace]
    assert [r.subgoal for r in first.trace] == [r.subgoal for r in second.trace]


def test_the_door_refuses_the_worlds_parameters_and_judgement() -> None:
    door = SealedWorld(make_point_world("point:tworooms", seed=0))
    for name in ("params", "judge", "state", "goal", "position", "place_views"):
        with pytest.raises(PeekingError):
            getattr(door, name)
    assert door.max_steps == 50 and door.name == "point:tworooms"


def test_the_shipped_pixel_agent_names_places_of_the_world_it_was_trained_in() -> None:
    agent = Agent.load(world="point:tworooms")
    assert agent.default_world == "point:tworooms" and agent.actor.naming.name == "tworooms"
    assert shipped.checkpoint("point").is_dir()
