"""The command line: every command has --help; pending ones say so and exit 2; defaults and
checkpoints that a command can't serve are handled the same way by every command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hagent.cli import PENDING, main

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = ["collect", "train", "eval", "run", "chat", "scenarios", "show"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "--config" in capsys.readouterr().out


def test_top_level_help_lists_commands(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(c in out for c in COMMANDS)


@pytest.mark.parametrize("command", sorted(PENDING))
def test_pending_commands_say_so(command: str, capsys: pytest.CaptureFixture) -> None:
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert "not available yet" in err and f"issue #{PENDING[command][1]}" in err


def test_show_draws_the_world(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "--world", "rooms:2x2?lava=2", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines[0]) == 2 * 13  # 13 cells, two characters each
    assert "~~" in out and "mission:" in out
    assert sum(line.count(g) for line in lines[:13] for g in (">>", "<<", "vv", "^^")) == 1


def test_unknown_world_is_a_clear_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "--world", "babyai:Nope"]) == 2
    assert "no BabyAI level 'Nope'" in capsys.readouterr().err


def test_collect_into_a_file_is_an_error(tmp_path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["collect", "--out", str(target), "--episodes", "1"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_run_prints_plan_and_outcome(tmp_path, capsys: pytest.CaptureFixture) -> None:
    import json

    out = tmp_path / "ep.json"
    code = main(["run", "--world", "babyai:GoToLocal", "--seed", "1000", "--no-color", "--json", str(out)])
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert code == (0 if doc["success"] else 1)
    assert "plan (" in text and "level 0 plan" in text and "configurator: levels:" in text and "outcome:" in text
    assert doc["steps"] == len(doc["actions"])
    assert main(["run", "fly to the moon"]) == 2
    assert "can't understand" in capsys.readouterr().err
    assert main(["run", "go to the red ball", "--world", "minigrid:MiniGrid-LavaCrossingS9N1-v0"]) == 2


def test_run_json_prints_one_json_document(capsys: pytest.CaptureFixture) -> None:
    import json

    code = main(["run", "go to the red ball", "--world", "rooms:3x3", "--seed", "1", "--json", "--max-steps", "20"])
    doc = json.loads(capsys.readouterr().out)  # stdout is nothing but the document
    assert code == (0 if doc["success"] else 1)
    for key in ("success", "steps", "violations", "explanation", "plan", "trace", "decisions"):
        assert key in doc
    assert doc["steps"] == len(doc["trace"]) and doc["plan"]["stages"] == ["go to the red ball"]


def test_chat_refuses_bad_arguments_before_opening(capsys: pytest.CaptureFixture, tmp_path) -> None:
    assert main(["chat", "--world", "nowhere:1"]) == 2
    assert "unknown world spec" in capsys.readouterr().err
    assert main(["chat", "--checkpoint", str(tmp_path / "missing")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


def test_eval_defaults_to_the_shipped_agent_like_run_and_chat(capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--episodes", "1", "--max-steps", "3", "-q"]) == 0
    assert "checkpoints/default" in capsys.readouterr().out


def test_scenarios_with_one_checkpoint_run_the_worlds_its_agent_acts_in(capsys: pytest.CaptureFixture, tmp_path) -> None:
    mixed = tmp_path / "mixed.toml"
    mixed.write_text(
        '[[scenario]]\nname = "grid"\nworld = "rooms:3x3"\ninstruction = "make me a sandwich"\n'
        '[scenario.expect]\nerror = "understand"\n'
        '[[scenario]]\nname = "point"\nworld = "point:tworooms"\nseed = 3\ninstruction = "go to the kitchen"\n'
        '[scenario.expect]\nerror = "say a place"\n', encoding="utf-8")
    assert main(["scenarios", str(mixed), "--checkpoint", str(ROOT / "checkpoints" / "point"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "left out 1 scenarios" in out and "1 of 1 scenarios passed" in out
    assert main(["scenarios", str(mixed), "-q"]) == 0  # each with its family's shipped agent
    assert "2 of 2 scenarios passed" in capsys.readouterr().out


def test_eval_serves_point_worlds_with_the_point_agent(capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--world", "point:tworooms", "--episodes", "2", "--seed", "44100", "-q"]) == 0
    out = capsys.readouterr().out
    assert "checkpoints/point" in out and "success rate" in out and "per step" in out
    assert main(["eval", "--world", "point:tworooms", "--episodes", "1", "--hierarchy", "full"]) == 2
    assert "point_agent.hierarchy: Input should be 'auto' or 'flat'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "instead"),
    [
        (["eval", "--checkpoint", "checkpoints/point"], "hagent eval --world point:tworooms --checkpoint checkpoints/point"),
        (["eval", "--world", "point:tworooms", "--checkpoint", "checkpoints/default"], "leave out --checkpoint for the agent shipped for point:tworooms"),
        (["chat", "--checkpoint", "checkpoints/point"], "hagent chat --world point:tworooms --checkpoint checkpoints/point"),
        (["chat", "--world", "point:tworooms", "--checkpoint", "checkpoints/default"], "leave out --checkpoint for the agent shipped for point:tworooms"),
        (["run", "--checkpoint", "checkpoints/point"], "hagent run --world point:tworooms --checkpoint checkpoints/point"),
        (["run", "--world", "point:tworooms", "--checkpoint", "checkpoints/default"], "leave out --checkpoint"),
    ],
)
def test_a_checkpoint_a_command_cant_serve_gets_one_line_saying_what_to_run(
    argv: list[str], instead: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and instead in err and "Traceback" not in err


def test_plain_pytest_collects_the_suite_like_python_m_pytest() -> None:
    """`pytest` puts only tests/ on the path, `python -m pytest` also the checkout: both must collect."""
    root = Path(__file__).resolve().parent.parent
    pytest_script = Path(sys.executable).parent / "pytest"
    done = subprocess.run(
        [str(pytest_script), "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=root, capture_output=True, text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_the_agent_shows_only_a_checked_description" in done.stdout


def test_train_preset_default_is_one_command(capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--preset", "default", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith("hagent ")]
    assert len(commands) == 9 and "--set train.threads=2" in commands[-2] and "--normalizer-only" in commands[-1]
    assert "--out checkpoints/default" in commands[-1] and all("--seed 0" in c for c in commands)
    # the preset rebuilds what is shipped: critics taught by the data, as the shipped config says
    shipped = json.loads((Path(__file__).resolve().parent.parent / "checkpoints" / "default" / "config.json").read_text())
    assert shipped["train"]["critic"]["labels"] == "data"
    assert 'train.critic.labels="data"' in commands[1] and 'train.critic.labels="data"' in commands[-2]
    assert not any("oracle" in c for c in commands)
    assert main(["train", "--preset", "default", "--data", "x"]) == 2


def test_train_preset_pointmaze_builds_level_1_s_own_model_too(capsys: pytest.CaptureFixture) -> None:
    """Each maze's checkpoint gets level 0, its readout and landmarks, then `--levels-only`: the
    H-JEPA level 1 that `goal_agent.graph = "hjepa"` plans with; every printed command pastes into
    a shell as it is."""
    import shlex

    assert main(["train", "--preset", "pointmaze", "--dry-run"]) == 0
    commands = [line for line in capsys.readouterr().out.splitlines() if line.startswith("hagent ")]
    levels = [c for c in commands if "--levels-only" in c]
    assert len(commands) == 6 and len(levels) == 2
    for command in levels:
        args = shlex.split(command)
        assert "hierarchy=[{dim=16, hidden=256, period=4, macro_dim=8, codes=64}]" in args and 'train.critic.labels="data"' in args
