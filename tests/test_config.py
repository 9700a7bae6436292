"""Config: defaults, TOML, overrides, and readable errors (one `location: message` line each)."""

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from hagent.cli import main
from hagent.config import CollectConfig, ConfigError, HagentConfig, load_config


def test_defaults_and_docs() -> None:
    cfg = HagentConfig()
    assert cfg.world.spec == "rooms:3x3" and cfg.collect.episodes == 200 and cfg.device == "auto"
    with pytest.raises(ValidationError):
        cfg.seed = 3  # frozen
    for model in (HagentConfig, CollectConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"


def test_toml_and_overrides(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('seed = 4\n[world]\nspec = "rooms:2x2"\n[collect]\nepisodes = 10\n[collect.explore]\np_random = 0.5\n')
    cfg = load_config(path, ["collect.episodes=12", "world.spec=babyai:GoToLocal", "collect.explore.p_drop=0.25"])
    assert (cfg.seed, cfg.world.spec, cfg.collect.episodes) == (4, "babyai:GoToLocal", 12)
    assert (cfg.collect.explore.p_random, cfg.collect.explore.p_drop) == (0.5, 0.25)


@pytest.mark.parametrize(
    "toml, overrides, expected",
    [
        ("seed = \n", [], "invalid TOML"),
        ("[collect]\nepisodez = 3\n", [], "collect.episodez: unknown key; the keys in [collect] are: episodes, "),
        ("[collect]\nepisodes = 'many'\n", [], "collect.episodes: Input should be a valid integer"),
        ("", ["collect.episodes=-1"], "collect.episodes: Input should be greater than or equal to 1"),
        ("", ["collect.episodes"], "--set collect.episodes: expected KEY=VALUE"),
        ("", ["=3"], "expected KEY=VALUE"),
        ("", ["collect..x=3"], "bad key"),
        ("", ["seed.x=3"], "seed is not a section"),
        ("", ["world.spec=nowhere:1"], "world.spec: unknown world spec 'nowhere:1'"),
        ("", ["device=tpu"], "device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"),
    ],
)
def test_config_errors_are_one_line_each(tmp_path, toml, overrides, expected) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    assert any(expected in line for line in err.value.lines), err.value.lines
    assert all("\n" not in line for line in err.value.lines)


def test_several_problems_each_get_a_line(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[collect]\nepisodes = 'x'\nworkers = 0\nbogus = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert len(err.value.lines) == 3


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["collect", "--out", "{tmp}/d", "--config", "{tmp}/missing.toml"], "missing.toml: no such config file"),
        (["collect", "--out", "{tmp}/d", "--set", "collect.nope=1"], "hagent collect: collect.nope: unknown key; the keys in [collect] are: episodes, "),
        (["collect", "--out", "{tmp}/d", "--set", "collect.workers=two"], "collect.workers: Input should be a valid integer"),
        (["collect", "--out", "{tmp}/d", "--set", "oops"], "--set oops: expected KEY=VALUE"),
        (["collect", "--out", "{tmp}/d", "--world", "rooms:99x1"], "world.spec: unknown world spec"),
        (["collect", "--out", "{tmp}/d", "--config", "{tmp}/bad.toml"], "bad.toml: invalid TOML"),
    ],
)
def test_cli_config_errors_exit_2(tmp_path, capsys, argv, expected) -> None:
    (tmp_path / "bad.toml").write_text("[collect\n")
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "d" / "manifest.json").exists()


def test_console_script_bad_override_exits_2(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hagent", "collect", "--out", str(tmp_path / "d"), "--set", "collect.episodes=zero"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "hagent collect: collect.episodes: Input should be a valid integer, unable to parse string as an integer"


def test_resolved_config_is_saved(tmp_path) -> None:
    out = tmp_path / "d"
    assert main(["collect", "--out", str(out), "--episodes", "2", "--max-steps", "5", "-q", "--seed", "9"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["seed"] == 9 and saved["collect"]["episodes"] == 2 and saved["collect"]["max_steps"] == 5
    assert HagentConfig.model_validate(saved).world.spec == "rooms:3x3"


def test_acting_settings_change_only_what_they_name_and_are_checked() -> None:
    """`Agent.reconfigured(...)` goes through `with_settings`: a nested section given as a dict
    keeps its other keys, and a misspelt key is refused at once (it once crashed mid-plan)."""
    from hagent.config import GoalAgentConfig, with_settings

    base = GoalAgentConfig(hops=5)
    changed = with_settings(base, graph="hjepa", hjepa={"learn": True})
    assert changed.graph == "hjepa" and changed.hjepa.learn and changed.hjepa.replan == base.hjepa.replan and changed.hops == 5
    assert with_settings(base, hjepa=changed.hjepa).hjepa == changed.hjepa  # a section given whole
    with pytest.raises(ValidationError, match="lern"):
        with_settings(base, hjepa={"lern": True})
