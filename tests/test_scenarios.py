"""The scenario format and `hagent scenarios`: validation errors, verdicts, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hagent.cli import main
from hagent.scenarios import (
    Expect,
    ScenarioError,
    check,
    load_scenarios,
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
    ],
)
def test_a_bad_file_says_where_and_what(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scenarios(_write(tmp_path, "s.toml", text))


def test_missing_paths_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        scenario_files([tmp_path / "nope.toml"])
    assert scenario_files([tmp_path]) == []


def test_the_shipped_scenarios_cover_what_they_should() -> None:
    scenarios = [s for f in scenario_files([Path(__file__).parent / "scenarios"]) for s in load_scenarios(f)]
    assert len(scenarios) >= 40
    worlds = {s.world.split(":")[0] for s in scenarios}
    assert {"rooms", "babyai", "minigrid"} <= worlds
    said = " ".join((s.instruction or "") + " " + s.world for s in scenarios)
    for phrase in ("then", "after you", " and ", "stay out of", "don't open", "PickupLoc", "PutNextLocal", "Open"):
        assert phrase in said, phrase
    assert sum(s.expect.error is not None for s in scenarios) >= 4


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


def test_check_reports_each_unmet_expectation() -> None:
    from hagent.acting.records import Episode

    episode = Episode(success=False, steps=12, violations=("entered lava",), explanation="I'll go to the red ball.", plan=None, trace=())
    failures = check(Expect(success=True, max_steps=5, violations=0, says=["blue"], never_says=["red"], stages=["x"]), episode)
    assert len(failures) == 6
