"""Every shipped checkpoint's config.json is complete and true: every field of the config model is
written out (so a change of a code default never silently changes a shipped agent), and the world
it names is the one its data came from (a point agent reads its place names there, a gym agent
its env)."""

import json
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from hagent.config import HagentConfig, NormalizerConfig
from hagent.worlds import parse_spec

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
FAMILIES = {"grid": ("rooms", "babyai", "minigrid"), "pixels": ("point",), "vector": ("gym", "ogbench")}
"""The world families a checkpoint's level 0 can have been trained in, by what it reads."""


def unwritten(model: type[BaseModel], raw: object, where: str = "") -> list[str]:
    """The fields of `model` that `raw` (its JSON) leaves to a code default, recursively into
    nested models, lists of models and optional models: `["train.critic.labels", ...]`."""
    if not isinstance(raw, dict):
        return [where.rstrip(".") or "(root)"]
    missing = []
    for name, field in model.model_fields.items():
        if name not in raw:
            missing.append(where + name)
        else:
            missing += _unwritten_in(field.annotation, raw[name], where + name)
    return missing


def _unwritten_in(annotation: object, value: object, where: str) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return unwritten(annotation, value, where + ".")
    args = typing.get_args(annotation)
    if isinstance(value, list) and args:  # list[X], tuple[X, ...]
        return [m for i, item in enumerate(value) for m in _unwritten_in(args[0], item, f"{where}[{i}]")]
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    if isinstance(value, dict) and models:  # X | None
        return unwritten(models[0], value, where + ".")
    return []


def _ours() -> list[tuple[Path, type[BaseModel]]]:
    """Every config.json under checkpoints/ that hagent wrote, with the model it is read with."""
    found = []
    for path in sorted(CHECKPOINTS.rglob("config.json")):
        if (path.parent / "level0.safetensors").exists():
            found.append((path, HagentConfig))
        elif path.parent.name == "normalizer":
            found.append((path, NormalizerConfig))
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(CHECKPOINTS))


def test_every_config_json_under_checkpoints_is_checked() -> None:
    """Besides hagent's own, only the plan decoder's transformers config (written and read back by
    transformers' `save_pretrained`/`from_pretrained`, which spell out every field themselves)."""
    ours = {p for p, _ in _ours()}
    others = [p for p in CHECKPOINTS.rglob("config.json") if p not in ours]
    assert all(p.parent.name == "gpt" and p.parent.parent.name == "decoder" for p in others), others
    assert len(ours) >= 5


@pytest.mark.parametrize(("path", "model"), [pytest.param(p, m, id=_name(p)) for p, m in _ours()])
def test_a_shipped_config_spells_out_every_field(path: Path, model: type[BaseModel]) -> None:
    raw = json.loads(path.read_text())
    model.model_validate(raw)  # and nothing unknown (extra="forbid")
    missing = unwritten(model, raw)
    assert not missing, f"{_name(path)} leaves {len(missing)} field(s) to today's code defaults: {', '.join(missing)}"


@pytest.mark.parametrize("path", [p for p, m in _ours() if m is HagentConfig], ids=_name)
def test_a_shipped_config_names_the_worlds_it_was_trained_on(path: Path) -> None:
    """`world.trained_on` lists its data's worlds (each named in its README), `world.spec` is the
    first, and they are worlds its level 0 can read."""
    config = HagentConfig.model_validate(json.loads(path.read_text()))
    worlds = config.world.trained_on
    assert worlds, f"{_name(path)}: records no data (world.trained_on); its world.spec {config.world.spec!r} is a code default"
    assert config.world.spec == worlds[0]
    readme = (path.parent / "README.md").read_text()
    assert all(w in readme for w in worlds), f"{_name(path)}: its README names other data than {worlds}"
    families = FAMILIES[config.level.encoder.kind]
    assert all(parse_spec(w).family in families for w in worlds), (worlds, config.level.encoder.kind)


def test_unwritten_finds_fields_left_to_defaults_at_any_depth() -> None:
    full = HagentConfig().model_dump(mode="json")
    assert unwritten(HagentConfig, full) == []
    del full["train"]["critic"]["labels"], full["hierarchy"][0]["period"], full["eval"]
    assert unwritten(HagentConfig, full) == ["hierarchy[0].period", "train.critic.labels", "eval"]


def test_a_trained_point_agent_names_its_world(tmp_path: Path) -> None:
    """`hagent train` writes the data's world into the config, and the pixel actor opens there."""
    from hagent.acting import Agent
    from hagent.cli import main
    from hagent.collect import collect
    from hagent.config import CollectConfig

    spec = "point:maze?rooms=3"
    collect(spec, tmp_path / "data", CollectConfig(episodes=2, max_steps=20), seed=0, progress=False)
    sets = ["level.encoder.dim=8", "level.encoder.channels=4", "level.predictor.hidden=16", "level.predictor.blocks=1",
            "train.jepa.inverse_hidden=8", "data.batch_size=8", "data.window=3", "train.warmup=1", "device=\"cpu\"",
            "train.places_steps=2"]
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "c"), "--steps", "2", "-q",
                 *[a for s in sets for a in ("--set", s)]]) == 0
    config = HagentConfig.model_validate(json.loads((tmp_path / "c" / "config.json").read_text()))
    assert (config.world.spec, config.world.trained_on) == (spec, [spec])
    assert unwritten(HagentConfig, json.loads((tmp_path / "c" / "config.json").read_text())) == []
    assert Agent.load(tmp_path / "c").default_world == spec


@pytest.mark.parametrize("path", [p for p, m in _ours() if m is HagentConfig and (p.parent / "normalizer").is_dir()], ids=_name)
def test_a_shipped_config_describes_the_normalizer_it_ships(path: Path) -> None:
    """The checkpoint's `normalizer` section is the normalizer it ships (threshold as calibrated)."""
    shipped = json.loads((path.parent / "normalizer" / "config.json").read_text())
    assert json.loads(path.read_text()).get("normalizer") == shipped


def test_training_the_normalizer_writes_its_settings_into_the_checkpoints_config(tmp_path: Path) -> None:
    from hagent.cli import main
    from hagent.config import save_config

    save_config(HagentConfig(), tmp_path)  # a checkpoint's config, the normalizer not yet trained
    sets = ["normalizer.layers=1", "normalizer.width=32", "normalizer.heads=2", "normalizer.vocab_size=300",
            "train.normalizer.steps=5", "train.normalizer.batch_size=8", "train.normalizer.corpus=200",
            "train.normalizer.calibration=100"]  # fmt: skip
    assert main(["train", "--normalizer-only", "--out", str(tmp_path), "-q", *[a for s in sets for a in ("--set", s)]]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["normalizer"] == json.loads((tmp_path / "normalizer" / "config.json").read_text())
    assert config["normalizer"]["width"] == 32 and config["train"]["normalizer"]["steps"] == 5
    assert unwritten(HagentConfig, config) == []
