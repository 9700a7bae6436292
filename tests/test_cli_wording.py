"""What the command line says on bad input and what it draws: one line, `hagent <command>: ...`,
exit 2, saying what is wrong and what would be right; a legend for every grid it prints and,
for a world without a grid, what it observes instead."""

from __future__ import annotations

import re

import gymnasium as gym
import pytest

from hagent.cli import main
from hagent.config import HagentConfig


def _one_line(capsys: pytest.CaptureFixture, command: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"hagent {command}: "), err
    return err.strip()


def test_an_unknown_key_lists_the_keys_known_at_its_level(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "--set", "foo.bar=1"]) == 2
    err = _one_line(capsys, "show")
    assert err.startswith("hagent show: foo: unknown key; the keys at the top level are: ")
    assert all(key in err for key in HagentConfig.model_fields)
    assert main(["show", "--set", "agent.beam.widht=3"]) == 2
    keys = ", ".join(HagentConfig.model_fields["agent"].annotation.model_fields["beam"].annotation.model_fields)
    assert _one_line(capsys, "show") == f"hagent show: agent.beam.widht: unknown key; the keys in [agent.beam] are: {keys}"


def test_a_seed_out_of_range_is_a_range_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "go to the red ball", "--seed", "99999999999999999999"]) == 2
    err = _one_line(capsys, "run")
    assert "Overflow" not in err and err == "hagent run: seed: Input should be less than or equal to 4294967295"
    assert main(["show", "--seed", "-1"]) == 2
    assert _one_line(capsys, "show") == "hagent show: seed: Input should be greater than or equal to 0"


@pytest.mark.parametrize("command", [["show"], ["run", "go to the red ball"]])
def test_an_unknown_world_is_one_short_line_with_the_known_forms(command: list[str], capsys: pytest.CaptureFixture) -> None:
    assert main([*command, "--world", "nowhere:1"]) == 2
    err = _one_line(capsys, command[0])
    assert len(err) < 220 and "unknown family 'nowhere'" in err
    assert all(form in err for form in ("rooms:RxC", "babyai:<Level>", "minigrid:<EnvId>", "point:tworooms", "gym:<EnvId>"))


def test_an_unknown_rooms_option_is_named(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "--world", "rooms:3x3?fog=1"]) == 2
    assert "unknown option 'fog' (lava, objects, size, open, task)" in _one_line(capsys, "show")


def test_a_dataset_given_as_a_checkpoint_says_so_and_how_to_train_one(tmp_path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    assert main(["collect", "--world", "rooms:1x1", "--episodes", "1", "--max-steps", "4", "--out", str(data), "-q"]) == 0
    capsys.readouterr()
    assert main(["run", "go to the red ball", "--world", "rooms:1x1", "--checkpoint", str(data)]) == 2
    err = _one_line(capsys, "run")
    assert "is a dataset (written by hagent collect), not a checkpoint" in err and f"hagent train --data {data} --out" in err
    assert "missing weights" not in err


def _broken_env(**kwargs):
    raise AssertionError


def test_an_env_whose_make_raises_is_one_line_and_exit_2(capsys: pytest.CaptureFixture) -> None:
    gym.register("HagentBrokenMake-v0", entry_point=_broken_env)
    try:
        assert main(["show", "--world", "gym:HagentBrokenMake-v0"]) == 2
    finally:
        gym.registry.pop("HagentBrokenMake-v0")
    err = _one_line(capsys, "show")
    assert err == ("hagent show: can't build world 'gym:HagentBrokenMake-v0': HagentBrokenMake-v0's own make raised "
                   "AssertionError (no message): the env itself fails to build with the packages installed here")


def test_run_prints_the_legend_with_its_map(capsys: pytest.CaptureFixture) -> None:
    main(["run", "go to the red ball", "--world", "rooms:1x1", "--seed", "2", "--max-steps", "1", "--no-color"])
    out = capsys.readouterr().out.splitlines()
    grid = [i for i, line in enumerate(out) if line.startswith("██")]
    assert grid and out[grid[-1] + 1].startswith("legend: >> agent (heading)  ██ wall")


@pytest.mark.parametrize(("spec", "says"), [
    ("point:tworooms", "no grid to draw: this world observes a 64x64 RGB view and a goal image"),
    ("gym:PointMaze_UMaze-v3", "no grid to draw: this gym world observes a vector of 4 numbers; in its goal space the agent is at ("),
])
def test_show_says_what_a_world_without_a_grid_observes(spec: str, says: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "--world", spec]) == 0
    out = capsys.readouterr().out
    assert "legend" not in out and "██" not in out and says in out
    assert re.match(rf"world {re.escape(spec)}  seed 0  mission: ", out)  # no blank grid above it


def test_an_unknown_key_in_a_list_of_sections_lists_that_section_s_keys(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "--set", "hierarchy=[{dim=4, foo=1}]"]) == 2
    err = _one_line(capsys, "show")
    assert err.startswith("hagent show: hierarchy.0.foo: unknown key; the keys in [hierarchy.0] are: ") and "dim, hidden, period" in err


def test_a_setting_the_checkpoint_cannot_serve_is_one_line_naming_it(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "go to the red ball", "--set", 'agent.graph="hjepa"']) == 2
    err = _one_line(capsys, "run")
    assert 'agent.graph "hjepa"' in err and "checkpoints/default" in err and "hagent train --levels-only" in err
