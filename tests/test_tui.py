"""The chat UI, driven with Textual's Pilot: instructions, errors, stepping, help, new worlds."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input

from hagent.acting.chat import Chat
from tui.app import HagentApp
from tui.chat_log import ChatLog
from tui.help_screen import HelpScreen
from tui.new_world_screen import NewWorldScreen
from tui.plan_tree import PlanTree
from tui.world_view import WorldView

SHIPPED = str(Path(__file__).resolve().parent.parent / "checkpoints" / "default")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _until(pilot, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.05)


async def _send(pilot, app: HagentApp, text: str) -> None:
    app.query_one("#input", Input).value = text
    await pilot.press("enter")


@pytest.mark.anyio
async def test_an_instruction_fills_the_chat_the_plan_tree_and_moves_the_agent() -> None:
    app = HagentApp(step_delay=0.0)  # what `hagent chat` opens: the shipped agent, rooms:3x3, seed 0
    async with app.run_test(size=(180, 60)) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        start = app.query_one(WorldView).obs["image"].copy()
        await _send(pilot, app, "go to the red ball")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        who, text = app.messages[-1]
        assert who == "agent" and "red ball" in text and "Done in" in text
        assert app.session.last is not None and app.session.last.steps > 0
        tree = app.query_one(PlanTree)
        assert tree.shown is not None and len(tree.root.children) >= 1
        assert not np.array_equal(app.query_one(WorldView).obs["image"], start)  # the agent walked
        await _send(pilot, app, "why?")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        assert app.messages[-1][0] == "agent" and "outcome" in app.messages[-1][1]


@pytest.mark.anyio
async def test_a_point_world_is_drawn_in_half_blocks_and_a_named_place_moves_the_agent() -> None:
    from hagent.acting import Agent

    app = HagentApp(spec="point:tworooms", seed=3, step_delay=0.0, agent=Agent.load(world="point:tworooms"))  # handed its agent
    async with app.run_test(size=(180, 60)) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        view = app.query_one(WorldView)
        start = view.obs["image"].copy()
        assert "▀" in str(view.render())
        await _send(pilot, app, "go to the top-left corner of the left room")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        who, text = app.messages[-1]
        assert who == "agent" and "top-left corner of the left room" in text and "Done in" in text
        assert not np.array_equal(view.obs["image"], start)  # the point moved
        assert app.query_one(PlanTree).shown is not None
        await _send(pilot, app, "go to the kitchen")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        assert app.messages[-1][0] == "error" and "left room or the right room" in app.messages[-1][1]
        await _send(pilot, app, "new world rooms:3x3")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        assert app.messages[-1][0] == "error" and "point worlds" in app.messages[-1][1]


@pytest.mark.anyio
async def test_a_gym_world_is_drawn_in_its_goal_space_and_reach_the_goal_moves_the_agent() -> None:
    import hagent

    spec = "gym:PointMaze_UMaze-v3"
    app = HagentApp(spec=spec, seed=43020, step_delay=0.0, agent=hagent.Agent.load(world=spec))
    async with app.run_test(size=(180, 60)) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        view = app.query_one(WorldView)
        start = view.obs["achieved"].copy()
        assert "●" in str(view.render()) and "◎" in str(view.render())
        await _send(pilot, app, "reach the goal")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        who, text = app.messages[-1]
        assert who == "agent" and "Done in" in text
        assert not np.allclose(view.obs["achieved"], start)  # the point moved
        await _send(pilot, app, "go to the red ball")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        assert app.messages[-1][0] == "error" and "desired_goal" in app.messages[-1][1]


@pytest.mark.anyio
async def test_an_unparseable_instruction_gets_an_error_reply() -> None:
    app = HagentApp(SHIPPED, "rooms:3x3", 2, step_delay=0.0)
    async with app.run_test(size=(180, 60)) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        await _send(pilot, app, "make me a sandwich")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        who, text = app.messages[-1]
        assert who == "error" and "didn't understand" in text
        assert app.session.last is None  # nothing was done


@pytest.mark.anyio
async def test_pause_and_step_take_one_action_at_a_time() -> None:
    app = HagentApp(SHIPPED, "babyai:GoTo", 3, step_delay=0.5)
    async with app.run_test(size=(180, 60)) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        await _send(pilot, app, app.session.obs["mission"])
        await _until(pilot, lambda: app.run_ is not None and len(app.run_.trace) >= 1)
        await pilot.press("f7")
        await _until(pilot, lambda: not app.busy)
        taken = len(app.run_.trace)
        await pilot.press("f5")
        await _until(pilot, lambda: not app.busy and len(app.run_.trace) == taken + 1)
        assert app.status_text.startswith("paused")


@pytest.mark.anyio
async def test_help_and_new_world_screens() -> None:
    app = HagentApp(SHIPPED, "rooms:3x3", 0, step_delay=0.0)
    async with app.run_test(size=(180, 60)) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, NewWorldScreen)
        app.screen.query_one("#spec", Input).value = "rooms:2x2"
        app.screen.query_one("#seed", Input).value = "7"
        await pilot.press("enter")
        await _until(pilot, lambda: app.session.spec == "rooms:2x2")
        assert app.session.seed == 7 and app.messages[-1][0] == "system"
        assert app.query_one(WorldView).obs["image"].shape[0] == 13


def _squeezed(text: str) -> str:
    return "".join(text.split())


@pytest.mark.anyio
@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
async def test_every_reply_is_readable_in_full_at_any_terminal_size(size: tuple[int, int]) -> None:
    app = HagentApp(SHIPPED, "babyai:GoTo", 1, step_delay=0.0)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.session is not None and not app.busy)
        for text in ("help", app.session.obs["mission"], "why?"):
            await _send(pilot, app, text)
            await _until(pilot, lambda: not app.busy and app.messages[-1][0] != "you")
        await pilot.pause(0.1)
        log = app.query_one(ChatLog)
        width = log.scrollable_content_region.width
        assert width > 0 and all(strip.cell_length <= width for strip in log.lines)  # nothing past the edge
        assert log.virtual_size.width <= width  # no horizontal scrolling either
        shown = _squeezed("".join(strip.text for strip in log.lines))
        assert len(app.messages) >= 6 and max(len(text) for _, text in app.messages) > 2 * width
        for who, text in app.messages:
            assert _squeezed(f"{who}: {text}") in shown  # every word of every message, in order
        await pilot.resize_terminal(size[0] // 2 + 20, size[1])  # a narrower terminal wraps everything again
        await pilot.pause(0.2)
        narrow = log.scrollable_content_region.width
        assert narrow < width and all(strip.cell_length <= narrow for strip in log.lines)
        assert _squeezed(app.messages[-1][1]) in _squeezed("".join(strip.text for strip in log.lines))


def test_chat_keeps_its_state_across_turns() -> None:
    from hagent.acting import Agent

    agent = Agent.load(SHIPPED)
    first = agent.chat("why?")
    assert first.kind == "answer" and "haven't done anything" in first.text
    world = agent.chat("new world rooms:3x3 seed 1")
    assert world.kind == "world"
    mission = agent._chat.obs["mission"]
    done = agent.chat(mission)
    assert done.kind == "episode" and done.episode is not None
    why = agent.chat("why?")
    assert why.episode is done.episode and "levels" in why.text
    assert agent.chat("").kind == "error"
    assert agent.chat("new world nowhere:1").kind == "error"
    assert agent.chat("fly to the moon").kind == "error"
    assert agent.chat("help").kind == "help"


def test_a_follow_up_carries_on_in_the_same_world() -> None:
    from hagent.acting import Agent

    agent = Agent.load(SHIPPED)
    chat = Chat(agent, "rooms:3x3", 1)
    reply = chat.say(chat.obs["mission"])
    after = chat.world.observe()["image"].copy()
    follow = chat.say("go to the grey box" if "grey box" not in chat.obs["mission"] else "go to the red ball")
    assert follow.kind in ("episode", "error")
    if follow.kind == "episode":
        first_obs = follow.episode.narrative.moments[0].obs["image"]
        assert np.array_equal(first_obs, after)  # started where the last instruction ended
    assert reply.episode is not None
