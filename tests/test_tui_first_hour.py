"""The chat UI's rough edges a newcomer meets first, driven with Textual's Pilot at a small
(80x24) and a large (160x45) terminal: the help screen, `help` in the chat, the input's hint,
the plan tree with no room, F5 on a typed instruction, and the status line's words."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, Static

import hagent
from tui.app import HIDDEN_HINT, HagentApp, placeholder
from tui.chat_log import ChatLog
from tui.help_screen import HelpScreen
from tui.plan_tree import PlanTree
from tui.world_view import WorldView

SHIPPED = str(Path(__file__).resolve().parent.parent / "checkpoints" / "default")
SIZES = [(80, 24), (160, 45)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def agent() -> hagent.Agent:
    return hagent.Agent.load(SHIPPED)


async def _until(pilot, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.05)


async def _ready(pilot, app: HagentApp) -> None:
    await _until(pilot, lambda: app.session is not None and not app.busy)
    await pilot.pause(0.1)


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_f1_shows_the_spec_syntax_and_every_world_family(size, agent) -> None:
    app = HagentApp(spec="rooms:3x3", step_delay=0.0, agent=agent)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot, app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        shown = str(app.screen.query_one("#help-text", Static).render())
        assert "new world [SPEC] [seed N]" in shown  # words in brackets, not markup
        for form in ("rooms:RxC[?lava=N", "babyai:<Level>", "minigrid:<EnvId>", "point:tworooms", "point:maze", "gym:<EnvId>"):
            assert form in shown, form


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_help_in_the_chat_reads_as_one_item_a_line(size, agent) -> None:
    app = HagentApp(spec="rooms:3x3", step_delay=0.0, agent=agent)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot, app)
        app.query_one("#input", Input).value = "help"
        await pilot.press("enter")
        await _until(pilot, lambda: not app.busy and app.messages[-1][0] == "system" and "You can say" in app.messages[-1][1])
        await pilot.pause(0.1)
        lines = [strip.text.rstrip() for strip in app.query_one(ChatLog).lines]
        start = next(i for i, line in enumerate(lines) if line.startswith("system: You can say"))
        shown = lines[start:]
        assert sum(line.startswith("- ") for line in shown) == 7  # each item starts a line of its own
        assert not any(re.search(r"\S {3,}\S|^ {2,}\S", line) for line in shown)  # no columns torn apart by wrapping


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_the_input_hint_fits_and_suits_the_world(size, agent) -> None:
    app = HagentApp(spec="rooms:3x3", step_delay=0.0, agent=agent)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot, app)
        field = app.query_one("#input", Input)
        assert field.placeholder == "e.g. go to the red ball"
        assert len(field.placeholder) <= field.content_region.width  # not cut off
    for spec, hint in (("babyai:GoTo", "e.g. go to the red ball"), ("point:maze?rooms=4", "e.g. go to the goal"),
                       ("gym:PointMaze_UMaze-v3", "e.g. reach the goal")):
        assert placeholder(hagent.make_world(spec, seed=0).reset()[0]) == hint


@pytest.mark.anyio
async def test_a_point_world_has_its_own_input_hint() -> None:
    app = HagentApp(spec="point:tworooms", seed=3, step_delay=0.0, agent=hagent.Agent.load(world="point:tworooms"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot, app)
        field = app.query_one("#input", Input)
        assert field.placeholder == "e.g. go to the goal" and len(field.placeholder) <= field.content_region.width


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_a_plan_tree_with_no_room_is_hinted_at(size, agent) -> None:
    app = HagentApp(spec="rooms:3x3", step_delay=0.0, agent=agent)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot, app)
        tree, world = app.query_one(PlanTree), app.query_one(WorldView)
        if size == (80, 24):
            await _until(pilot, lambda: world.border_title == HIDDEN_HINT, timeout=5.0)
            assert tree.size.height < 3
            assert len(HIDDEN_HINT) + 6 <= world.outer_size.width  # the title shows in full
        else:
            assert tree.size.height >= 5 and world.border_title is None
        for other in ((size[0], 69 - size[1]), (240 - size[0], 69 - size[1]), size):  # taller or shorter only, then both
            await pilot.resize_terminal(*other)
            await pilot.pause(0.3)
            await _until(pilot, lambda: (world.border_title == HIDDEN_HINT) == (tree.size.height < 3), timeout=5.0)
            assert (world.border_title == HIDDEN_HINT) == (tree.size.height < 3) == (other[1] == 24)


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_f5_starts_the_instruction_typed_one_step_at_a_time(size, agent) -> None:
    app = HagentApp(spec="rooms:3x3", seed=0, step_delay=0.0, agent=agent)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot, app)
        await pilot.press("f5")
        assert app.run_ is None and "type an instruction" in app.status_text
        app.query_one("#input", Input).value = "go to the red ball"
        await pilot.press("f5")
        await _until(pilot, lambda: not app.busy and app.run_ is not None and len(app.run_.trace) == 1)
        assert app.messages[-1] == ("you", "go to the red ball") and app.query_one("#input", Input).value == ""
        assert app.status_text.startswith("paused after 1 step: ")
        await pilot.press("f5")
        await _until(pilot, lambda: not app.busy and len(app.run_.trace) == 2)
        assert app.status_text.startswith("paused after 2 steps: ")


@pytest.mark.anyio
async def test_a_gym_world_is_drawn_to_the_width_of_its_view() -> None:
    spec = "gym:PointMaze_UMaze-v3"
    app = HagentApp(spec=spec, seed=43020, step_delay=0.0, agent=hagent.Agent.load(world=spec))
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot, app)
        view = app.query_one(WorldView)
        widths = []
        for size in SIZES[::-1] + SIZES:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            lines = str(view.render()).splitlines()
            assert "●" in str(view.render()) and "◎" in str(view.render())
            assert max(len(line) for line in lines) == view.content_region.width  # no line wraps, none falls short
            widths.append(view.content_region.width)
        assert widths[0] > 2 * widths[1]  # the large terminal's picture uses its room
