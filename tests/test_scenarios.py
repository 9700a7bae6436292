"""The scenario format and `hagent scenarios`: validation errors, verdicts, exit codes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from hagent.cli import main
from hagent.scenarios import (
    Expect,
    Scenario,
    ScenarioError,
    SeedEpisode,
    Tally,
    check,
    check_seeds,
    judges,
    load_scenarios,
    rule_seeds,
    scenario_files,
)

GOOD = """
[[scenario]]
name = "nonsense is refused"
world = "rooms:3x3"
instruction = "make me a sandwich"
[scenario.expect]
error = "can't understand"
"""

FAILING = """
[[scenario]]
name = "expects the impossible"
world = "rooms:3x3"
instruction = "make me a sandwich"
[scenario.expect]
success = true
"""

RULED = """
[[scenario]]
name = "one step is not enough"
world = "rooms:3x3"
seeds = { first = 2000, count = 2 }
instruction = "go to the red ball"
max_steps = 1
[scenario.expect]
min_success = 1
stages = ["go to the red ball"]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[scenario]\nname = 1", "invalid TOML"),
        ("title = 'x'", "expected one or more [[scenario]] tables"),
        ("[[scenario]]\nname = 'a'", "scenario 1: world: Field required"),
        ("[[scenario]]\nname = 'a'\nworld = 'rooms:3x3'\ncolour = 'red'", "colour: Extra inputs are not permitted"),
        ("[[scenario]]\nname = 'a'\nworld = 'rooms:3x3'\nseed = -1", "seed: Input should be greater than or equal to 0"),
        ("[[scenario]]\nname = 'a'\nworld = 'rooms:3x3'\n[scenario.expect]\nsucess = true", "expect.sucess: Extra inputs"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\n[[scenario]]\nname = 'a'\nworld = 'y'", "duplicate scenario names: a"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseeds = { first = 0, count = 2 }\nseed = 3", "seed: give seed (one seed) or seeds"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseeds = { first = 0, count = 0 }", "seeds.count: Input should be greater than or equal to 1"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseeds = { first = 0, n = 2 }", "seeds.n: Extra inputs"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseeds = { first = 0, count = 2 }\n[scenario.expect]\nsuccess = true", "expect: with seeds, success is counted"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseeds = { first = 0, count = 2 }\n[scenario.expect]\nmin_success = 3", "more than the rule's 2 seeds"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseeds = { first = 0, count = 2 }\n[scenario.expect]\nerror = 'x'", "an error is checked on one seed"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\nseed = 1\n[scenario.expect]\nmin_success = 1", "min_success counts over a seed rule"),
        ("[[scenario]]\nname = 'a'\nworld = 'x'\n[scenario.expect]\nsays = ['{colour}']", "unknown placeholder {colour}"),
    ],
)
def test_a_bad_file_says_where_and_what(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenarios(_write(tmp_path, "s.toml", text))


def test_missing_paths_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        scenario_files([tmp_path / "nope.toml"])
    assert scenario_files([tmp_path]) == []


def _shipped() -> list[Scenario]:
    return [s for f in scenario_files([Path(__file__).parent / "scenarios"]) for s in load_scenarios(f)]


def test_the_shipped_scenarios_cover_what_they_should() -> None:
    scenarios = _shipped()
    assert len(scenarios) >= 30
    assert sum(s.seeds.count if s.seeds else 1 for s in scenarios) >= 80  # episodes
    worlds = {s.world.split(":")[0] for s in scenarios}
    assert {"rooms", "babyai", "minigrid"} <= worlds
    said = " ".join((s.instruction or "") + " " + s.world for s in scenarios)
    for phrase in ("then", "after you", " and ", "stay out of", "don't open", "PickupLoc", "PutNextLocal", "Open"):
        assert phrase in said, phrase
    assert sum(s.expect.error is not None for s in scenarios) >= 4


def _at_least(k: int, n: int, p: float) -> float:
    """P(at least k successes of n), each with probability p."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_shipped_success_claims_are_k_of_n_that_an_agent_of_the_measured_quality_passes() -> None:
    """No scenario claims success on one seed; every "k of n" holds with probability >= 0.95 for an
    agent of its family's measured success (grid worlds 80%; point and PointMaze 96.5%, BENCHMARKS.md)."""
    measured = {"rooms": 0.80, "babyai": 0.80, "minigrid": 0.80, "point": 0.965, "gym": 0.965}
    claims = 0
    for s in _shipped():
        assert s.expect.success is not True, f"{s.name}: success on one seed; write seeds = {{...}} and min_success"
        if s.expect.min_success is not None:
            claims += 1
            p = measured[s.world.split(":")[0]]
            assert 3 <= s.seeds.count <= 5, s.name
            assert _at_least(s.expect.min_success, s.seeds.count, p) >= 0.95, s.name
    assert claims >= 15


def test_a_seed_rule_takes_the_seeds_the_world_can_judge() -> None:
    from hagent.worlds import make_world

    rule = Scenario(name="r", world="rooms:3x3", seeds={"first": 0, "count": 4}, instruction="go to the red ball")
    seeds = rule_seeds(rule)
    assert len(seeds) == 4 and seeds == sorted(seeds) and 3 not in seeds  # seed 3 has no red ball (bad_input.toml)
    for seed in range(seeds[-1] + 1):
        world = make_world("rooms:3x3", seed=seed)
        world.reset()
        has = any((o.kind, o.color) == ("ball", "red") for o in world.symbolic().objects)
        assert has == (seed in seeds), seed
    assert rule_seeds(Scenario(name="m", world="babyai:GoTo", seeds={"first": 7, "count": 3})) == [7, 8, 9]  # its own mission
    assert rule_seeds(Scenario(name="one", world="rooms:3x3", seed=3)) == [3]
    with pytest.raises(ValueError, match="only 0 of 2 seeds in 0..4"):
        rule_seeds(Scenario(name="x", world="minigrid:MiniGrid-LavaCrossingS9N1-v0", seeds={"first": 0, "count": 2, "within": 5},
                            instruction="go to the red ball"))  # a world that can only judge its own mission


def test_a_seed_rule_leaves_out_seeds_where_the_guardrail_forbids_the_goal() -> None:
    from hagent.worlds import make_world

    text = "go to the red key, stay out of the top-left room"
    checked = 0
    for seed in range(40):
        world = make_world("rooms:3x3", seed=seed)
        world.reset()
        state = world.symbolic()
        keys = [world.room_name(o.cell) for o in state.objects if (o.kind, o.color) == ("key", "red")]
        possible = any(room != "top-left" for room in keys) and world.room_name(state.agent) != "top-left"
        assert judges("rooms:3x3", seed, text) == possible, seed
        checked += bool(keys) and not possible
    assert checked >= 1  # some seed has its red keys only in the top-left room, or the agent starts there


def test_seed_rules_count_success_and_check_the_rest_on_every_seed() -> None:
    from hagent.acting.records import Episode

    def episode(success: bool, said: str, violations: tuple[str, ...] = ()) -> Episode:
        return Episode(success=success, steps=9, violations=violations, explanation=said, plan=None, trace=())

    runs = [
        SeedEpisode(1000, "go to a red box", episode(True, "I'll go to the red box.")),
        SeedEpisode(1001, "go to the green key", episode(False, "I'll go to the green key.")),
        SeedEpisode(1002, "go to a grey ball", episode(True, "I'll go to the blue ball.", ("entered lava",))),
    ]
    counted = check_seeds(Expect(min_success=2, violations=0, says=["{object}"]), runs)
    assert counted.tally == Tally(2, 3) and str(counted.tally) == "2/3"
    assert counted.failures == ["seed 1002: violations: at most 0, got ['entered lava']", "seed 1002: explanation lacks 'grey ball'"]
    counted = check_seeds(Expect(min_success=3, max_steps=5), runs)
    assert counted.tally == Tally(0, 3) and counted.failures == ["done within 5 steps on 0 of 3 seeds (none); at least 3 needed"]
    assert check(Expect(stages=["pick up the {object}", "drop it next to the {target}"]), runs[0].episode, "put a red box next to a key") \
        == ["stages: expected ['pick up the red box', 'drop it next to the key'], got []"]
    assert check(Expect(says=["{target}"]), runs[0].episode, "go to a red box") == ["can't fill {target}: 'go to the red box' names no such object"]
    either = Expect(says=["won't open any doors | leave the doors closed"])
    assert check(either, episode(True, "I'll leave the doors closed."), "go to a red box") == []  # one phrasing is enough
    assert check(either, episode(True, "I'll go to the red box."), "go to a red box") == \
        ["explanation lacks \"won't open any doors | leave the doors closed\""]


def test_cli_exit_codes_and_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good, failing = _write(tmp_path, "good.toml", GOOD), _write(tmp_path, "bad.toml", FAILING)
    out = tmp_path / "v.json"
    assert main(["scenarios", str(good), "-q", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "nonsense is refused" in text and "1 of 1 scenarios passed" in text
    assert json.loads(out.read_text())["passed"] == 1
    assert main(["scenarios", str(good), str(failing), "-q"]) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "expected it to run" in text and "1 of 2 scenarios passed" in text
    assert main(["scenarios", str(_write(tmp_path, "broken.toml", "[[scenario]"))]) == 2
    assert "invalid TOML" in capsys.readouterr().err
    ruled = _write(tmp_path, "rule.toml", RULED)
    assert main(["scenarios", str(ruled), "-q"]) == 1  # one step can't reach the ball: 0 of 2 done, 1 needed
    text = capsys.readouterr().out
    assert "0/2" in text and "done on 0 of 2 seeds (none); at least 1 needed" in text and "0 of 1 scenarios passed" in text


def test_check_reports_each_unmet_expectation() -> None:
    from hagent.acting.records import Episode

    episode = Episode(success=False, steps=12, violations=("entered lava",), explanation="I'll go to the red ball.", plan=None, trace=())
    failures = check(Expect(success=True, max_steps=5, violations=0, says=["blue"], never_says=["red"], stages=["x"]), episode)
    assert len(failures) == 6
