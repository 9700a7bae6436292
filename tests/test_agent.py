"""The agent loop: no peeking, deterministic plans, save/load equivalence, clear refusals, eval."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hagent.acting import Agent
from hagent.acting.records import Episode
from hagent.errors import UnsupportedTaskError
from hagent.cli import main
from hagent.collect import collect
from hagent.config import AgentConfig, CollectConfig
from hagent.language import ParseError
from hagent.acting.sealed import PeekingError, SealedWorld
from hagent.worlds import World, make_world

FAST = AgentConfig(beam={"horizon": 2, "width": 8}, max_steps=12)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tiny_sets: list[str]) -> Path:
    data = tmp_path_factory.mktemp("data")
    collect("babyai:GoToLocal", data, CollectConfig(episodes=8, max_steps=20), seed=1, progress=False)
    out = tmp_path_factory.mktemp("ckpt")
    assert main(["train", "--data", str(data), "--out", str(out), "--steps", "20", "-q", *tiny_sets]) == 0
    return out


def test_sealed_world_lets_only_observations_through() -> None:
    sealed = SealedWorld(make_world("babyai:GoToLocal", seed=0))
    obs = sealed.reset()
    assert set(obs) == {"image", "direction", "carried", "mission"}
    step = sealed.step(2)
    assert set(step._fields) == {"obs", "done"}
    for name in ("symbolic", "judge", "agent_labels", "unwrapped", "env", "grid"):
        with pytest.raises(PeekingError):
            getattr(sealed, name)
    with pytest.raises(PeekingError):
        sealed.anything = 1


def test_acting_never_peeks(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """During run(), the symbolic view and the judgement are untouchable; judging happens once, after."""
    calls = []

    def forbidden(self, *args, **kwargs):
        raise AssertionError("the agent read the world's symbolic state")

    monkeypatch.setattr(World, "symbolic", forbidden)
    monkeypatch.setattr(World, "agent_labels", forbidden)
    monkeypatch.setattr(World, "room_of", forbidden)
    real_judge, real_step = World.judge, World.step

    def judge(self):
        calls.append("judge")
        return real_judge(self)

    def step(self, action):
        assert "judge" not in calls, "the success judgement was read while acting"
        calls.append("step")
        return real_step(self, action)

    monkeypatch.setattr(World, "judge", judge)
    monkeypatch.setattr(World, "step", step)
    episode = Agent.load(checkpoint, FAST).run(make_world("babyai:GoToLocal", seed=5))
    assert isinstance(episode, Episode)
    assert calls[-1] == "judge" and calls.count("judge") == 1 and calls.count("step") == episode.steps >= 1


def test_plan_is_deterministic_and_survives_save_load(checkpoint: Path) -> None:
    obs, _ = make_world("babyai:GoToLocal", seed=3).reset()
    first = Agent.load(checkpoint, FAST).plan(obs, obs["mission"])
    again = Agent.load(checkpoint, FAST).plan(obs, obs["mission"])
    assert first.actions == again.actions and len(first.actions) == 2
    assert torch.equal(first.plan.states, again.plan.states)
    assert set(first.costs) == {"task", "critic"}
    assert first.stages[0].startswith("go to")


def test_same_seed_same_episode(checkpoint: Path) -> None:
    runs = [Agent.load(checkpoint, FAST).run(make_world("babyai:GoToLocal", seed=9)) for _ in range(2)]
    assert [r.action for r in runs[0].trace] == [r.action for r in runs[1].trace]
    assert runs[0].explanation == runs[1].explanation


def test_run_plays_the_episode_the_caller_just_reset(checkpoint: Path) -> None:
    """Reading the mission first and then running is what users do: the agent plays that episode."""
    agent = Agent.load(checkpoint, FAST)
    for seed in range(10):
        world = make_world("babyai:GoToRedBlueBall", seed=seed)
        obs, _ = world.reset(seed=seed)
        episode = agent.run(world, obs["mission"])
        assert np.array_equal(episode.narrative.moments[0].obs["image"], obs["image"])
        assert episode.decisions[0].topic == "episode" and episode.decisions[0].choice == "played the episode the caller reset"
        assert episode.steps > 0
    seeded = make_world("babyai:GoToRedBlueBall", seed=4).reset()[0]["image"]
    world = make_world("babyai:GoToRedBlueBall", seed=4)
    assert np.array_equal(agent.run(world).narrative.moments[0].obs["image"], seeded)  # never reset: its seed
    again = agent.run(world)  # played already: the world's next episode
    assert not np.array_equal(again.narrative.moments[0].obs["image"], seeded) and again.decisions[0].choice == "reset the world"
    world.reset(seed=4)
    forced = agent.run(world, reset=True)  # reset=True resets even a freshly reset world
    assert not np.array_equal(forced.narrative.moments[0].obs["image"], seeded)


def test_an_episode_of_no_steps_says_why(checkpoint: Path) -> None:
    episode = Agent.load(checkpoint, FAST).run(make_world("babyai:GoToLocal", seed=2), max_steps=0)
    assert episode.steps == 0 and "no steps" in episode.explanation and "budget was 0" in episode.explanation


def test_bad_and_unsupported_instructions(checkpoint: Path) -> None:
    agent = Agent.load(checkpoint, FAST)
    world = make_world("babyai:GoToLocal", seed=0)
    with pytest.raises(ParseError):
        agent.run(world, "fly to the moon")
    with pytest.raises(UnsupportedTaskError, match="learned no hazard"):
        agent.run(world, "go to the red ball, avoid lava")
    episode = agent.run(make_world("babyai:GoToLocal", seed=0), "go to the purple door")
    assert episode.steps == 0 and "can't see how to go to the purple door" in episode.explanation


def test_eval_cli_writes_json(checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "eval.json"
    code = main(["eval", "--checkpoint", str(checkpoint), "--world", "babyai:GoToLocal", "--episodes", "2",
                 "--seed", "100", "--json", str(out), "-q", "--set", "agent.beam.horizon=2", "--set", "agent.beam.width=8",
                 "--max-steps", "10"])  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["episodes"] == 2 and 0.0 <= doc["success_rate"] <= 1.0 and len(doc["per_episode"]) == 2
    assert {"spl", "violations", "median_planning_ms", "predictor_calls_per_step"} <= doc.keys()
    assert "success rate" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", str(tmp_path / "nope"), "--world", "babyai:GoToLocal"]) == 2
    assert "no such checkpoint directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        main(["eval", "--checkpoint", str(checkpoint), "--hierarchy", "sideways"])
    assert bad.value.code == 2


def test_save_load_round_trip_gives_identical_plans(checkpoint: Path, tmp_path: Path) -> None:
    from hagent.acting.grid import GridActor
    from hagent.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(checkpoint)
    with torch.no_grad():  # perturb so the copy can't pass by matching a fresh init
        for p in ckpt.critic.parameters():
            p.add_(0.01)
    in_memory = Agent(GridActor(ckpt.level, ckpt.critic, FAST))
    save_checkpoint(tmp_path / "copy", ckpt.config, ckpt.jepa, ckpt.step, "copy", critic=ckpt.critic)
    reloaded = Agent.load(tmp_path / "copy", FAST)
    obs, _ = make_world("babyai:PickupLoc", seed=4).reset()
    a, b = in_memory.plan(obs, obs["mission"]), reloaded.plan(obs, obs["mission"])
    assert a.actions == b.actions and torch.equal(a.plan.states, b.plan.states) and a.costs == b.costs


def test_affordances_come_from_what_is_in_front() -> None:
    from hagent.acting.guards import affordances
    from hagent.worlds import DROP, FORWARD, PICKUP, TOGGLE

    obs, _ = make_world("rooms:1x2?open=0&objects=1", seed=2).reset()
    ok = affordances(obs, 6)
    assert ok[FORWARD] and not ok[DROP]  # nothing in hand
    image = obs["image"].copy()
    xs, ys = (image[..., 0] == 10).nonzero()
    front = (xs[0] + (1, 0, -1, 0)[obs["direction"]], ys[0] + (0, 1, 0, -1)[obs["direction"]])
    image[front] = (7, 2, 0)  # a blue box in front: pick it up, never toggle it (that destroys it)
    boxed = dict(obs, image=image)
    assert affordances(boxed, 6)[PICKUP] and not affordances(boxed, 6)[TOGGLE]
    image[front] = (4, 2, 1)  # a closed door
    assert affordances(dict(obs, image=image), 6)[TOGGLE]


def test_public_api_names() -> None:
    import hagent

    assert hagent.Agent is Agent
    with pytest.raises(AttributeError):
        hagent.NoSuchThing  # noqa: B018
