"""Bad input wherever a user types: a clear message and exit 2 (CLI), a documented exception
(API) or an error reply (chat); never a traceback."""

from __future__ import annotations

import pytest

import hagent
from hagent.cli import main
from hagent.language import ParseError

NASTY = {
    "empty": "",
    "whitespace": " \t \n ",
    "1 MB": "go to the red ball " * 55_000,
    "NUL byte": "go to the red\x00 ball",
    "control bytes": "go to the \x1b[31mred ball",
    "lone surrogate": "go to the red \ud800 ball",
    "emoji": "go to the 🟥 ball",
    "right-to-left": "לך לכדור האדום",
    "combining": "go to the re\u0301d ball",
    "very long word": "go to the " + "a" * 5000 + " ball",
    "SQL": "go to the red ball'; DROP TABLE worlds; --",
    "shell": "$(rm -rf ~) go to the red ball",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_the_cli_refuses_bad_instructions_plainly(name: str, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", NASTY[name], "--world", "rooms:2x2", "--max-steps", "3"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("hagent run: ") and "Traceback" not in err


@pytest.mark.parametrize("name", sorted(NASTY))
def test_the_api_raises_parse_error(name: str) -> None:
    with pytest.raises(ParseError):
        hagent.parse(NASTY[name])


@pytest.mark.parametrize(
    "argv, says",
    [
        (["run", "go to the red ball", "--world", "rooms:0x3"], "rooms per side"),
        (["run", "go to the red ball", "--world", "babyai:Nope"], "no BabyAI level"),
        (["run", "go to the red ball", "--set", "agent.beam.width=-1"], "agent.beam.width"),
        (["run", "go to the red ball", "--set", "nonsense"], "expected KEY=VALUE"),
        (["run", "go to the red ball", "--checkpoint", "/nonexistent"], "no such checkpoint directory"),
        (["scenarios", "/nonexistent.toml"], "no such file"),
        (["chat", "--world", "minigrid:Nope"], "no minigrid environment"),
    ],
)
def test_bad_worlds_settings_and_paths_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
