"""Same seed, same checkpoint: the same episode (actions and explanation), in every world family."""

from __future__ import annotations

import pytest

import hagent
from hagent.acting.chat import Chat


@pytest.fixture(scope="module")
def agents() -> tuple:
    return hagent.Agent.load(), hagent.Agent.load()


@pytest.mark.parametrize(
    "spec, seed, text",
    [
        ("rooms:3x3", 2, None),
        ("rooms:3x3?lava=6", 3, None),
        ("babyai:GoTo", 1, None),
        ("babyai:PickupLoc", 4, None),
        ("minigrid:MiniGrid-LavaCrossingS9N1-v0", 0, None),
        ("rooms:3x3", 1, "go to the red key, stay out of the top-left room"),
    ],
)
def test_same_seed_same_episode(agents: tuple, spec: str, seed: int, text: str | None) -> None:
    first, second = agents
    runs = [first.run(hagent.make_world(spec, seed=seed), text), second.run(hagent.make_world(spec, seed=seed), text),
            first.run(hagent.make_world(spec, seed=seed), text)]  # the same agent again: nothing carried over
    actions = [[r.action for r in ep.trace] for ep in runs]
    assert actions[0] == actions[1] == actions[2] and actions[0]
    assert runs[0].explanation == runs[1].explanation == runs[2].explanation
    assert runs[0].success == runs[1].success and runs[0].violations == runs[1].violations


def test_same_conversation_same_replies(agents: tuple) -> None:
    turns = ["go to the red ball", "why?", "new world babyai:GoToLocal seed 2", "go to the grey ball", "make me a sandwich"]
    replies = []
    for agent in agents:
        chat = Chat(agent, "rooms:3x3", 0)
        replies.append([chat.say(t).text for t in turns])
    assert replies[0] == replies[1]
    assert "Done in" in replies[0][0] and "outcome" in replies[0][1] and "babyai:GoToLocal" in replies[0][2]
