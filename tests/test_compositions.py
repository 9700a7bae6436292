"""Compositions of any length: every instruction the parser accepts is judged by the world or
refused with a reason before acting, through `agent.chat`, `agent.run` and `hagent run` alike."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from minigrid.envs.babyai.core.verifier import Instr
from minigrid.utils.baby_ai_bot import BabyAIBot

from hagent.acting import Agent
from hagent.errors import UnsupportedTaskError
from hagent.cli import main
from hagent.language import ParseError, parse
from hagent.worlds import make_world
from hagent.worlds.grid import _babyai_instr

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "default"

COLORS = ("", "red ", "green ", "blue ", "purple ", "yellow ", "grey ")
THINGS = ("ball", "box", "key")
WHERE = ("", " on your left", " in front of you", " behind you")
JOINS = (" and ", ", then ", " then ", ", and then ", " and then ")
GUARDS = ("avoid lava", "stay out of the top-left room", "don't open any doors", "don't pick anything up")


def _thing(kinds: tuple[str, ...] = THINGS) -> st.SearchStrategy[str]:
    return st.builds(lambda c, k, w: f"the {c}{k}{w}", st.sampled_from(COLORS), st.sampled_from(kinds), st.sampled_from(WHERE))


ACTIONS = st.one_of(
    _thing((*THINGS, "door")).map("go to {}".format),
    _thing().map("pick up {}".format),
    _thing(("door",)).map("open {}".format),
    st.builds("put {} next to {}".format, _thing(), _thing((*THINGS, "door"))),
)


@st.composite
def instructions(draw) -> str:
    """One to six goals joined by any mix of "and" and "then", sometimes with a guardrail."""
    goals = draw(st.lists(ACTIONS, min_size=1, max_size=6))
    text = goals[0]
    for goal in goals[1:]:
        text += draw(st.sampled_from(JOINS)) + goal
    if draw(st.booleans()):
        text += ", " + draw(st.sampled_from(GUARDS))
    return text


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(SHIPPED).reconfigured(max_steps=2)  # a few steps show the episode starts; no need to finish


class _Scripted(Instr):
    """A stand-in instruction that reports "success" from a given call on."""

    def __init__(self, done_at: int):
        self.done_at, self.calls = done_at, 0

    def surface(self, env) -> str:
        return "scripted"

    def verify(self, action) -> str:
        self.calls += 1
        return "success" if self.calls >= self.done_at else "continue"


def test_any_depth_of_composition_builds_a_verifier() -> None:
    for text in (
        "go to the red ball and go to the blue key and go to the green box",
        "go to the red ball, then open the door, then pick up the key, then go to the box",
        "go to the red ball and open the door, then pick up the key and go to the box, then go to the ball",
    ):
        instr = _babyai_instr(parse(text).goal)
        world = make_world("rooms:3x3", seed=0)
        world.reset()
        assert world.unwrapped.num_navs_needed(instr) == text.count("go to") + text.count("open") + text.count("pick up")


def test_a_long_sequence_succeeds_only_when_its_last_step_is_done_in_order() -> None:
    from hagent.worlds.grid import _InOrder

    a, b, c = _Scripted(1), _Scripted(2), _Scripted(1)
    chain = _InOrder(a, _InOrder(b, c))
    chain.reset_verifier(make_world("rooms:2x2", seed=0).unwrapped)
    assert [chain.verify(None) for _ in range(2)] == ["continue", "success"]
    assert (a.calls, b.calls) == (1, 2)


@pytest.mark.parametrize("join", [", then ", " and "])
def test_the_world_judges_three_goals_done_when_babyais_bot_does_them(join: str) -> None:
    world = make_world("rooms:2x2", seed=3)
    world.reset()
    objects = world.symbolic().objects[:3]
    text = join.join(f"go to the {o.color} {o.kind}" for o in objects)
    assert world.instruct(parse(text).goal, text)
    with contextlib.redirect_stdout(io.StringIO()):
        bot = BabyAIBot(world.unwrapped)
        for _ in range(300):
            _, _, terminated, truncated, _ = world.step(bot.replan())
            if terminated or truncated:
                break
    assert terminated and world.judge().success


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=instructions(), seed=st.integers(0, 40))
def test_no_composition_raises_through_chat_or_run(agent: Agent, text: str, seed: int) -> None:
    reply = agent.chat(text)
    assert reply.kind in ("episode", "error") and reply.text.strip()
    world = make_world("babyai:GoTo" if seed % 2 else "rooms:3x3", seed=seed)
    world.reset()
    try:
        episode = agent.run(world, text)
    except (ParseError, UnsupportedTaskError) as refusal:
        assert str(refusal).strip()  # refused with a reason, before acting
        assert world.fresh
        return
    assert episode.steps > 0 or episode.explanation.strip()


@settings(max_examples=6, deadline=None, derandomize=True)
@given(text=instructions())
def test_no_composition_raises_through_hagent_run(text: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", text, "--world", "babyai:GoTo", "--seed", "1", "--max-steps", "2", "--no-color"])
    assert code in (0, 1, 2)
    assert "Traceback" not in err.getvalue()
    assert (out.getvalue() if code != 2 else err.getvalue()).strip()
