"""Failures say why: the object isn't there (and what is), it stands behind a locked door, or the
step budget ran out at a named stage. Each reason comes from the observation, never the world's
symbolic view."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT

import hagent
from hagent.acting.chat import Chat
from hagent.acting.grounding import Memory, stages, why_ungrounded
from hagent.errors import UnsupportedTaskError
from hagent.language import parse

SHIPPED = str(Path(__file__).resolve().parent.parent / "checkpoints" / "default")


@pytest.fixture(scope="module")
def agent() -> hagent.Agent:
    return hagent.Agent.load(SHIPPED)


def _objects_seen(obs: dict) -> set[str]:
    """'colour kind' of every ball, box and key in the observation."""
    codes = np.asarray(obs["image"]).reshape(-1, 3)
    return {f"{IDX_TO_COLOR[c]} {IDX_TO_OBJECT[k]}" for k, c, _ in codes if IDX_TO_OBJECT[k] in ("ball", "box", "key")}


def test_a_missing_object_is_named_with_what_the_agent_sees_instead() -> None:
    obs, _ = hagent.make_world("rooms:3x3", seed=3).reset()
    seen = _objects_seen(obs)
    assert "red ball" not in seen and len(seen) >= 3
    why = why_ungrounded(stages(parse("go to the red ball").goal)[0], Memory(obs))
    assert why.startswith("there is no red ball here; I can see ")
    for thing in seen:  # every object in view is listed, by colour and kind (plural or not)
        assert re.search(rf"\b{thing}(e?s)?\b", why), (thing, why)
    assert "12 doors" in why


def test_location_words_and_open_doors_get_their_own_reasons() -> None:
    obs, _ = hagent.make_world("rooms:3x3", seed=3).reset()
    memory = Memory(obs)
    why = why_ungrounded(stages(parse("go to the purple ball behind you").goal)[0], memory)
    assert why == "there is no purple ball behind you (as seen from where I started, in the room I started in); there is one elsewhere"
    why = why_ungrounded(stages(parse("open the blue door").goal)[0], memory)
    assert why.startswith("there is no blue door here; I can see ") and "doors: grey, green, red, purple, yellow" in why
    drop = stages(parse("put the red box next to the grey box").goal)[1]
    assert why_ungrounded(drop, memory).startswith("I'm not holding anything")


def test_an_object_behind_a_locked_door_says_so(agent: hagent.Agent) -> None:
    world = hagent.make_world("minigrid:MiniGrid-KeyCorridorS3R3-v0", seed=0)
    episode = agent.run(world)  # its own mission: pick up the purple ball, which sits behind a locked door
    assert episode.steps == 0 and not episode.success
    assert "can't see how to pick up the purple ball: the purple ball is behind a locked purple door" in episode.explanation
    obs, _ = hagent.make_world("minigrid:MiniGrid-KeyCorridorS3R3-v0", seed=0).reset()
    with pytest.raises(UnsupportedTaskError, match="behind a locked purple door"):
        agent.plan(obs)


def test_the_chat_says_there_is_no_such_object_and_what_there_is(agent: hagent.Agent) -> None:
    chat = Chat(agent, "rooms:3x3", 3)
    reply = chat.say("go to the red ball")
    assert reply.kind == "episode" and "there is no red ball here; I can see" in reply.text
    assert "purple ball" in reply.text  # what there is
    why = chat.say("why?").text
    assert "- stopped: while I was trying to go to the red ball, because there is no red ball here" in why


def test_a_chain_that_runs_out_of_steps_names_its_stage_and_the_budget(agent: hagent.Agent) -> None:
    text = "go to the purple ball, then go to the grey box, then go to the blue key"
    episode = agent.run(hagent.make_world("rooms:3x3", seed=3), text, max_steps=3)
    assert episode.steps == 3 and not episode.success
    assert episode.explanation.endswith("But the step budget of 3 steps ran out on stage 1 of 3 (go to the purple ball).")
    chat = Chat(agent.reconfigured(max_steps=3), "rooms:3x3", 3)
    reply = chat.say(text)
    assert "step budget of 3 steps ran out on stage 1 of 3" in reply.text
    assert "- stopped: on stage 1 of 3 (go to the purple ball), because the step budget of 3 steps ran out" in chat.say("why?").text


def test_hagent_run_prints_where_the_budget_ran_out(capsys: pytest.CaptureFixture) -> None:
    from hagent.cli import main

    argv = ["run", "go to the purple ball, then go to the grey box", "--world", "rooms:3x3", "--seed", "3", "--max-steps", "3"]
    assert main([*argv, "--no-color"]) == 1
    out = capsys.readouterr().out
    assert "ran out on stage 1 of 2 (go to the purple ball)." in out
    assert "\nstopped on stage 1 of 2 (go to the purple ball): the step budget of 3 steps ran out\n" in out
