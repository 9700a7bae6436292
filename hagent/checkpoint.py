"""Checkpoints: a directory with `config.json`, `level0.safetensors`, `metrics.jsonl` and `README.md`.

Every file is written atomically. Loading validates the config against this version's pydantic
models and every tensor's name and shape against a model built from that config; it reads
safetensors only and never unpickles anything.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import torch
from pydantic import ValidationError
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from costs.critic import Critic, QuasimetricCritic
from costs.hazard import BlockedStep, CellProbe, HazardModel, StepHazard
from costs.place import PlaceGoal
from costs.readout import GoalEmbedding, GoalReadout
from decoder.config import DecoderConfig
from decoder.explain import Explainer
from decoder.model import PlanDecoder, PrefixDims
from decoder.tokenizer import Tokenizer
from hagent.config import HagentConfig, NormalizerConfig, format_validation_error, save_config
from hagent.io import atomic_write_text, atomic_write_with
from levels.abstract import AbstractLevel
from levels.jepa import JEPA
from levels.landmarks import LandmarkGraph
from levels.level import Level

if TYPE_CHECKING:
    from hagent.language.normalizer import Ensemble, Normalizer

FORMAT = "hagent-checkpoint"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "level0.safetensors"
CRITIC_FILE = "critic.safetensors"
HAZARD_FILE = "hazard.safetensors"
PROBE_FILE = "probe.safetensors"
STEP_HAZARD_FILE = "step_hazard.safetensors"
BLOCKED_STEP_FILE = "blocked_step.safetensors"
PLACES_FILE = "places.safetensors"
READOUT_FILE = "readout.safetensors"
LANDMARKS_FILE = "landmarks.safetensors"
GOAL1_FILE = "goal1.safetensors"
"""Gym worlds with a level 1: goal-space point -> level-1 state (`costs.readout.GoalEmbedding`)."""
DECODER_DIR = "decoder"  # gpt/ (save_pretrained), prefix.safetensors, tokenizer.model
TOKENIZER_FILE = "tokenizer.model"
METRICS_FILE = "metrics.jsonl"
README_FILE = "README.md"


class CheckpointError(ValueError):
    """A checkpoint directory that is missing, damaged, unsafe or from another version."""


class Checkpoint(NamedTuple):
    """A loaded checkpoint: its resolved config, the trained objective (holding the level) and step."""

    config: HagentConfig
    jepa: JEPA
    step: int
    directory: Path
    critic: Critic | None  # None until training has finished the critic stage
    hazard: HazardModel | None = None  # None when the data held no hazard
    abstract: tuple[AbstractLevel, ...] = ()  # levels 1..L, once trained
    abstract_critics: tuple[Critic, ...] = ()  # their critics
    probe: CellProbe | None = None  # where a level-0 state puts the agent (for region guardrails)
    step_hazard: StepHazard | None = None  # does the action about to be taken lead into a hazard
    blocked_step: BlockedStep | None = None  # does the action about to be taken go nowhere
    explainer: Explainer | None = None  # the plan decoder with its tokenizer, once trained
    places: PlaceGoal | None = None  # point worlds: grounds named places as goal states
    readout: GoalReadout | None = None  # gym worlds: level-0 state -> the goal space
    landmarks: LandmarkGraph | None = None  # gym worlds: level 1, landmarks and the hops between them
    goal1: GoalEmbedding | None = None  # gym worlds with a level 1: the goal's level-1 state

    @property
    def level(self) -> Level:
        """The level-0 world model (encoder + predictor) for planning."""
        return self.jepa.level


def build_model(config: HagentConfig) -> JEPA:
    """A freshly initialized level 0 wrapped in its JEPA objective, from the root config."""
    level = Level.build(config.level)
    return JEPA.build(config.train.jepa, level)


def save_checkpoint(
    directory: str | Path,
    config: HagentConfig,
    model: JEPA,
    step: int,
    readme: str,
    critic: Critic | None = None,
    hazard: HazardModel | None = None,
    abstract: tuple[tuple[AbstractLevel, Critic], ...] = (),
    probe: CellProbe | None = None,
    step_hazard: StepHazard | None = None,
    blocked_step: BlockedStep | None = None,
    places: PlaceGoal | None = None,
    readout: GoalReadout | None = None,
    landmarks: LandmarkGraph | None = None,
) -> Path:
    """Write config, weights (all of `model`, EMA target and inverse head included), the critic
    when given, and README.

    `metrics.jsonl` is appended by the trainer as it goes; this leaves it alone.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": str(step)}
    # weights first: a config.json never describes weights that aren't there yet
    _write_tensors(directory / WEIGHTS_FILE, model, metadata)
    if critic is not None:
        _write_tensors(directory / CRITIC_FILE, critic, metadata)
    else:
        (directory / CRITIC_FILE).unlink(missing_ok=True)  # a stale critic belongs to other weights
    if hazard is not None:
        _write_tensors(directory / HAZARD_FILE, hazard, metadata)
    else:
        (directory / HAZARD_FILE).unlink(missing_ok=True)
    for path, module in ((PROBE_FILE, probe), (STEP_HAZARD_FILE, step_hazard), (BLOCKED_STEP_FILE, blocked_step), (PLACES_FILE, places),
                         (READOUT_FILE, readout), (LANDMARKS_FILE, landmarks)):
        if module is not None:
            _write_tensors(directory / path, module, metadata)
        else:
            (directory / path).unlink(missing_ok=True)
    _write_levels(directory, abstract, metadata)
    (directory / GOAL1_FILE).unlink(missing_ok=True)  # it read the old level 1
    shutil.rmtree(directory / DECODER_DIR, ignore_errors=True)  # a decoder reads the old levels' states
    save_config(config, directory)
    atomic_write_text(directory / README_FILE, readme)
    return directory


def write_abstract_levels(
    directory: str | Path, config: HagentConfig, abstract: tuple[tuple[AbstractLevel, Critic], ...], goal1: GoalEmbedding | None = None,
) -> None:
    """Replace the abstract levels and their critics of the checkpoint in `directory` (and level
    1's goal embedding: removed when not given, since it read the old level 1), and its config
    (which must describe them); level 0 and the rest are left as they are, except a plan decoder
    that reads level states of other sizes than the new levels': it is removed."""
    directory = Path(directory)
    before = load_checkpoint(directory)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": str(before.step)}
    _write_levels(directory, abstract, metadata)
    if goal1 is not None:
        _write_tensors(directory / GOAL1_FILE, goal1, metadata)
    else:
        (directory / GOAL1_FILE).unlink(missing_ok=True)
    if [lv.dim for lv in before.abstract] != [lv.dim for lv, _ in abstract]:
        shutil.rmtree(directory / DECODER_DIR, ignore_errors=True)  # it reads states of the old sizes: it could only crash
    save_config(config, directory)


def write_blocked_step(directory: str | Path, blocked_step: BlockedStep) -> None:
    """Add (or replace) the blocked-step model of the checkpoint in `directory`; the rest is left as it is."""
    directory = Path(directory)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": str(load_checkpoint(directory).step)}
    _write_tensors(directory / BLOCKED_STEP_FILE, blocked_step, metadata)


def _write_levels(directory: Path, abstract: tuple[tuple[AbstractLevel, Critic], ...], metadata: dict[str, str]) -> None:
    """Write levels 1..L and their critics; remove the files of any level above L."""
    for k in range(1, 9):
        if k <= len(abstract):
            _write_tensors(directory / f"level{k}.safetensors", abstract[k - 1][0], metadata)
            _write_tensors(directory / f"critic{k}.safetensors", abstract[k - 1][1], metadata)
        else:
            (directory / f"level{k}.safetensors").unlink(missing_ok=True)
            (directory / f"critic{k}.safetensors").unlink(missing_ok=True)


def _write_tensors(path: Path, module: torch.nn.Module | LandmarkGraph, metadata: dict[str, str]) -> None:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    atomic_write_with(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint directory; raises `CheckpointError` saying what is wrong."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such checkpoint directory")
    config = _read_config(directory / CONFIG_FILE)
    model = build_model(config)
    tensors, step = _read_weights(directory / WEIGHTS_FILE)
    _check_shapes(directory / WEIGHTS_FILE, model.state_dict(), tensors)
    model.load_state_dict(tensors)
    critic = None
    if (directory / CRITIC_FILE).exists():
        critic = Critic(config.critic, model.level.dim)
        critic_tensors, _ = _read_weights(directory / CRITIC_FILE)
        _check_shapes(directory / CRITIC_FILE, critic.state_dict(), critic_tensors)
        critic.load_state_dict(critic_tensors)
        critic = critic.to(device).eval()
    hazard = None
    if (directory / HAZARD_FILE).exists():
        hazard = _load_module(directory / HAZARD_FILE, HazardModel(config.hazard, model.level.dim), device)
    probe = None
    if (directory / PROBE_FILE).exists():
        probe = _load_module(directory / PROBE_FILE, CellProbe(config.hazard, model.level.dim), device)
    step_hazard = None
    if (directory / STEP_HAZARD_FILE).exists():
        step_hazard = _load_module(directory / STEP_HAZARD_FILE, StepHazard(config.hazard, model.level.actions), device)
    blocked_step = None
    if (directory / BLOCKED_STEP_FILE).exists():
        blocked_step = _load_module(directory / BLOCKED_STEP_FILE, BlockedStep(config.hazard, model.level.actions), device)
    places = None
    if (directory / PLACES_FILE).exists():
        places = _load_module(directory / PLACES_FILE, PlaceGoal(model.level.dim), device)
    readout = landmarks = None
    if (directory / READOUT_FILE).exists():
        tensors, _ = _read_weights(directory / READOUT_FILE)
        goal_dim = tensors["net.4.bias"].shape[0] if "net.4.bias" in tensors else 0
        readout = GoalReadout(model.level.dim, goal_dim)
        _check_shapes(directory / READOUT_FILE, readout.state_dict(), tensors)
        readout.load_state_dict(tensors)
        readout = readout.to(device).eval()
    if (directory / LANDMARKS_FILE).exists():
        tensors, _ = _read_weights(directory / LANDMARKS_FILE)
        try:
            landmarks = LandmarkGraph(tensors["points"], tensors["edges"])
        except (KeyError, ValueError, IndexError) as err:
            raise CheckpointError(f"{directory / LANDMARKS_FILE}: not a landmark graph ({err})") from None
    abstract, critics = [], []
    below_dim, below_actions, discrete = model.level.dim, model.level.actions, not model.level.continuous
    for k, lcfg in enumerate(config.hierarchy, start=1):
        if not (directory / f"level{k}.safetensors").exists():
            break  # trained up to level k-1 (an older or interrupted run): a shorter stack
        abstract.append(_load_abstract(directory / f"level{k}.safetensors", AbstractLevel(lcfg, below_dim, below_actions, discrete), device))
        cost_to_go = QuasimetricCritic(lcfg.dim) if lcfg.critic == "quasimetric" else Critic(config.critic, lcfg.dim)
        critics.append(_load_module(directory / f"critic{k}.safetensors", cost_to_go, device))
        below_dim, below_actions, discrete = lcfg.dim, lcfg.macro_dim, False
    goal1 = None
    if abstract and (directory / GOAL1_FILE).exists():
        tensors, _ = _read_weights(directory / GOAL1_FILE)
        goal1 = GoalEmbedding(tensors["net.0.weight"].shape[1] if "net.0.weight" in tensors else 0, abstract[0].dim)
        goal1 = _load_module(directory / GOAL1_FILE, goal1, device)
    return Checkpoint(
        config=config, jepa=model.to(device).eval(), step=step, directory=directory, critic=critic,
        hazard=hazard, abstract=tuple(abstract), abstract_critics=tuple(critics), probe=probe,
        step_hazard=step_hazard, blocked_step=blocked_step, explainer=load_decoder(_decoder_dir(directory), config.decoder),
        places=places, readout=readout, landmarks=landmarks, goal1=goal1,
    )


def checkpoint_reads(directory: str | Path) -> str:
    """What a checkpoint's level 0 reads, from its config alone (no weights read): "grid",
    "pixels" or "vector". Raises `CheckpointError` when the directory is not a checkpoint."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such checkpoint directory")
    return _read_config(directory / CONFIG_FILE).level.encoder.kind


def checkpoint_config(directory: str | Path) -> HagentConfig:
    """A checkpoint's resolved config, from its `config.json` alone (no weights read). Raises
    `CheckpointError` when the directory is not a checkpoint."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such checkpoint directory")
    return _read_config(directory / CONFIG_FILE)


TRAIN_STATE_FILE = "train_state.safetensors"


def save_train_state(directory: str | Path, optimizer: torch.optim.Optimizer, schedule, step: int) -> None:
    """Write the optimizer's and the learning-rate schedule's state (what `--resume` needs) as
    safetensors: tensors by name, the rest as JSON in the metadata."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().to("cpu").contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    metadata = {
        "format": FORMAT, "format_version": str(FORMAT_VERSION), "step": str(step),
        "param_groups": json.dumps(state["param_groups"]), "scalars": json.dumps(scalars),
        "schedule": json.dumps({k: v for k, v in schedule.state_dict().items() if k != "lr_lambdas"}),
    }
    atomic_write_with(Path(directory) / TRAIN_STATE_FILE, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_train_state(directory: str | Path, optimizer: torch.optim.Optimizer, schedule) -> int:
    """Load what `save_train_state` wrote into `optimizer` and `schedule`; the step it was at."""
    path = Path(directory) / TRAIN_STATE_FILE
    tensors, step = _read_weights(path)
    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = f.metadata() or {}
    try:
        groups, scalars, sched = json.loads(meta["param_groups"]), json.loads(meta["scalars"]), json.loads(meta["schedule"])
    except (KeyError, ValueError):
        raise CheckpointError(f"{path}: no optimizer state in its metadata") from None
    slots: dict[int, dict] = {}
    for key, value in [*tensors.items(), *scalars.items()]:
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value
    try:
        optimizer.load_state_dict({"state": slots, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"{path}: optimizer state does not fit this model ({err})") from None
    schedule.load_state_dict({**schedule.state_dict(), **sched})
    return step


def _swap_in(tmp: Path, directory: Path, name: str) -> None:
    """Make the folder written at `tmp` the checkpoint's `name/`; the previous one is kept as
    `.name.old` until then, so a reader finds the old folder or the new one."""
    target, old = directory / name, directory / f".{name}.old"
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_readme_section(directory: str | Path, heading: str, body: str) -> None:
    """Put `## heading` with `body` in the checkpoint's README, replacing that section (and only
    that one) if it is there already."""
    path = Path(directory) / README_FILE
    readme = path.read_text(encoding="utf-8") if path.exists() else ""
    parts = readme.split(f"\n## {heading}\n")
    rest = ""
    if len(parts) > 1:  # what follows the old section's next heading stays
        after = parts[1].split("\n## ", 1)
        rest = "\n## " + after[1] if len(after) > 1 else ""
    text = parts[0].rstrip("\n") + f"\n\n## {heading}\n\n{body.strip()}\n" + rest
    atomic_write_text(path, text.lstrip("\n"))


def _decoder_dir(directory: Path) -> Path:
    """The decoder folder; if a save was cut off between its two renames, the previous one."""
    target = directory / DECODER_DIR
    old = directory / ".decoder.old"
    return old if not target.exists() and old.is_dir() else target


def save_decoder(directory: str | Path, explainer: Explainer) -> Path:
    """Write the plan decoder into checkpoint `directory` as `decoder/`: the GPT-2 by
    `save_pretrained` (safetensors), the prefix encoder and the tokenizer's `.model`. The new
    folder is written aside and swapped in, so a reader sees the old decoder or the new one."""
    directory = Path(directory)
    tmp = Path(tempfile.mkdtemp(prefix=".decoder.", dir=directory))
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Writing model shards" bar in the middle of ours
        explainer.decoder.gpt.save_pretrained(tmp / "gpt")
        dims = explainer.decoder.prefix.dims
        metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": "0",
                    "dims": json.dumps(list(dims))}
        _write_tensors(tmp / "prefix.safetensors", explainer.decoder.prefix, metadata)
        (tmp / TOKENIZER_FILE).write_bytes(explainer.tokenizer.model)
        _swap_in(tmp, directory, DECODER_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory / DECODER_DIR


def load_decoder(directory: Path, cfg: DecoderConfig) -> Explainer | None:
    """The plan decoder saved in `directory` (None when there is none); `CheckpointError` when
    it is damaged or does not fit `cfg`."""
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    if not directory.is_dir():
        return None
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on the user's terminal
    try:
        tokenizer = Tokenizer.load(directory / TOKENIZER_FILE)
    except (OSError, RuntimeError) as err:
        raise CheckpointError(f"{directory / TOKENIZER_FILE}: missing or not a sentencepiece model ({err})") from None
    if not (directory / "gpt" / "model.safetensors").exists():
        raise CheckpointError(f"{directory / 'gpt'}: no model.safetensors (hagent loads no other weight format)")
    try:
        gpt = GPT2LMHeadModel.from_pretrained(directory / "gpt", use_safetensors=True, local_files_only=True)
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        raise CheckpointError(f"{directory / 'gpt'}: cannot load the decoder's transformer ({err})") from None
    tensors, _ = _read_weights(directory / "prefix.safetensors")
    with safe_open(str(directory / "prefix.safetensors"), framework="pt", device="cpu") as f:
        try:
            dims = PrefixDims(*json.loads((f.metadata() or {})["dims"]))
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{directory / 'prefix.safetensors'}: no prefix dims in its metadata") from None
    if gpt.config.n_embd != cfg.width or gpt.config.vocab_size != tokenizer.vocab_size:
        raise CheckpointError(
            f"{directory}: decoder width {gpt.config.n_embd} / vocabulary {gpt.config.vocab_size} do not match "
            f"config decoder.width={cfg.width} / the tokenizer's {tokenizer.vocab_size} pieces"
        )
    decoder = PlanDecoder(cfg, dims, tokenizer.vocab_size, gpt=gpt)
    _check_shapes(directory / "prefix.safetensors", decoder.prefix.state_dict(), tensors)
    decoder.prefix.load_state_dict(tensors)
    return Explainer(decoder.eval(), tokenizer, cfg)


NORMALIZER_DIR = "normalizer"  # config.json (its NormalizerConfig), normalizer.safetensors, tokenizer.model, metrics.json


def save_normalizer(directory: str | Path, normalizer: Normalizer | Ensemble, metrics: dict) -> Path:
    """Write the language normalizer into `directory` as `normalizer/`: its config (with the
    calibrated threshold), weights (safetensors), tokenizer `.model` and training metrics. The
    folder is written aside and swapped in, so a reader sees the old one or the new one."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".normalizer.", dir=directory))
    try:
        (tmp / CONFIG_FILE).write_text(normalizer.cfg.model_dump_json(indent=1) + "\n", encoding="utf-8")
        _write_tensors(tmp / "normalizer.safetensors", normalizer, {"format": FORMAT, "format_version": str(FORMAT_VERSION), "step": "0"})
        (tmp / TOKENIZER_FILE).write_bytes(normalizer.tokenizer.model)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        _swap_in(tmp, directory, NORMALIZER_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory / NORMALIZER_DIR


def load_normalizer(directory: str | Path) -> Normalizer | Ensemble | None:
    """The normalizer saved in checkpoint `directory` (None when it has none); `CheckpointError`
    when it is damaged."""
    from hagent.language.normalizer import build as build_normalizer

    folder = Path(directory) / NORMALIZER_DIR
    if not folder.is_dir() and (Path(directory) / ".normalizer.old").is_dir():
        folder = Path(directory) / ".normalizer.old"  # a save cut off between its two renames
    if not folder.is_dir():
        return None
    try:
        raw = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            raw.setdefault("lexicon", False)  # saved before normalizers read WordNet's tags
            raw.setdefault("members", 1)  # ... and before they were ensembles
        cfg = NormalizerConfig.model_validate(raw)
    except (OSError, UnicodeDecodeError, ValueError, ValidationError) as err:
        raise CheckpointError(f"{folder / CONFIG_FILE}: missing or not a normalizer config ({err})") from None
    try:
        tokenizer = Tokenizer.load(folder / TOKENIZER_FILE)
    except (OSError, RuntimeError) as err:
        raise CheckpointError(f"{folder / TOKENIZER_FILE}: missing or not a sentencepiece model ({err})") from None
    return _load_module(folder / "normalizer.safetensors", build_normalizer(cfg, tokenizer), "cpu")


def _load_module(path: Path, module: torch.nn.Module, device: str | torch.device) -> torch.nn.Module:
    tensors, _ = _read_weights(path)
    _check_shapes(path, module.state_dict(), tensors)
    module.load_state_dict(tensors)
    return module.to(device).eval()


def _load_abstract(path: Path, level: AbstractLevel, device: str | torch.device) -> AbstractLevel:
    """An abstract level; its codebook has as many entries as the file holds (k-means may find
    fewer than configured), and a file written before levels had one loads with none."""
    tensors, _ = _read_weights(path)
    codes = tensors.setdefault("codes", torch.zeros(0, level.cfg.macro_dim))
    if codes.ndim != 2 or codes.shape[1] != level.cfg.macro_dim or len(codes) > level.cfg.codes:
        raise CheckpointError(f"{path}: codes is {tuple(codes.shape)}, config allows at most ({level.cfg.codes}, {level.cfg.macro_dim})")
    level.codes = torch.zeros_like(codes)
    _check_shapes(path, level.state_dict(), tensors)
    level.load_state_dict(tensors)
    return level.to(device).eval()


def _read_config(path: Path) -> HagentConfig:
    if (path.parent / "manifest.json").exists():  # `hagent collect`'s dataset also has a config.json
        raise CheckpointError(f"{path.parent}: is a dataset (written by hagent collect), not a checkpoint; train one on it "
                              f"with: hagent train --data {path.parent} --out runs/NAME, then use --checkpoint runs/NAME")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; not a checkpoint directory?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable config: {err}") from None
    hazard = raw.get("hazard") if isinstance(raw, dict) else None
    if isinstance(hazard, dict) and "step_frame" not in hazard:
        hazard["step_frame"] = "world"  # written before the step-hazard model turned its cells to the agent's heading
    try:
        return HagentConfig.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(format_validation_error(err)[:5])
        raise CheckpointError(f"{path}: config does not match this version of hagent ({problems})") from None


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], int]:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing weights file") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read weights: {err}") from None
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        # pickle protocol 2+ starts with 0x80 and a protocol byte; torch.save's zip format with "PK"
        if (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or head[:2] == b"PK":
            raise CheckpointError(
                f"{path}: looks like a pickle/torch.save file, not safetensors; refusing to load it "
                "(hagent never unpickles checkpoint files)"
            ) from None
        raise CheckpointError(f"{path}: truncated or corrupt safetensors file ({err})") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a hagent checkpoint (metadata format={metadata.get('format')!r})")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: checkpoint format version {metadata.get('format_version')!r}, "
            f"this hagent reads version {FORMAT_VERSION}"
        )
    try:
        step = int(metadata.get("step", "0"))
    except ValueError:
        raise CheckpointError(f"{path}: bad step in metadata: {metadata.get('step')!r}") from None
    return tensors, step


def _check_shapes(path: Path, expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    wrong = [
        f"{k} is {tuple(got[k].shape)}, config says {tuple(expected[k].shape)}"
        for k in expected
        if k in got and got[k].shape != expected[k].shape
    ]
    wrong_dtype = [k for k in expected if k in got and got[k].dtype != expected[k].dtype]
    problems = []
    if missing:
        problems.append(f"missing tensors {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors {_few(unexpected)}")
    if wrong:
        problems.append("wrong shapes: " + _few(wrong))
    if wrong_dtype:
        problems.append(f"wrong dtypes for {_few(wrong_dtype)}")
    if problems:
        raise CheckpointError(f"{path}: weights do not match config.json: " + "; ".join(problems))


def _few(items: list[str], n: int = 3) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more
