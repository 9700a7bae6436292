"""What a training run does around level 0, one recipe per kind of observation its data holds.

`hagent train` is one pipeline (`hagent.training.pipeline.train`): level 0's JEPA on the data's
windows. What comes before and after it depends on what level 0 reads, and lives here:

* `grid` (grid codes, discrete actions): after level 0, its critic, the hazard classifier, the
  step-hazard check, the cell probe, the abstract levels with their critics, and the plan decoder;
* `pixels` (RGB views, 2D moves): level 0 reads pixels; after it, the place grounding for text goals;
* `vector` (a gym env's observation vector): level 0 reads vectors, standardized by the data's
  statistics, and acts every `level.time_scale` env steps (the data strided to match); after it,
  the goal readout and level 1's landmark graph.

Every recipe writes the checkpoint's README: what it was trained on and what its files hold.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from hagent.acting.narrative import encoder
from hagent.checkpoint import save_checkpoint, save_decoder
from hagent.collect import DatasetError
from hagent.config import HagentConfig, for_point_world, for_vector_world
from hagent.data import OfflineDataset
from hagent.progress import Stages
from hagent.training.critic import dataset_pairs, train_critic
from hagent.training.decoder import fit_decoder
from hagent.training.goal import train_goal_parts
from hagent.training.hierarchy import (
    ABSTRACT_CAP, embed, marked_cells, train_abstract_levels, train_blocked_step, train_hazard, train_probe, train_step_hazard,
)
from hagent.training.places import train_places

if TYPE_CHECKING:
    from levels.jepa import JEPA


class Trained(NamedTuple):
    """A run whose level 0 has trained: what the recipe's later stages build on and write out."""

    config: HagentConfig
    model: JEPA
    datasets: list[OfflineDataset]
    data_dirs: list[Path]
    out_dir: Path
    command: str
    start: float  # time.perf_counter() when the run started
    main: bool  # this process writes (rank 0)
    device: torch.device
    log_path: Path | None  # metrics.jsonl, on the writing rank
    progress: bool
    stages: Stages  # announces each stage as it starts


class Recipe:
    """The stages of one kind of run around level 0 (the defaults do nothing)."""

    title = ""
    files = ""

    def prepare(self, config: HagentConfig, datasets: list[OfflineDataset]) -> tuple[HagentConfig, list[OfflineDataset]]:
        """The config level 0 trains with, and the data as it sees it."""
        return config, datasets

    def fit_inputs(self, model: JEPA, datasets: list[OfflineDataset]) -> None:
        """Fit what level 0's encoders take from the data before training (its input statistics)."""

    def after_level0(self, run: Trained, row: dict) -> None:
        """Train what builds on level 0 and write the checkpoint with it."""

    def stages(self, config: HagentConfig) -> list[str]:
        """The run's stages in order, level 0 first (skipped ones left out), for "stage k of n" lines."""
        return ["level 0"]

    def level0(self, config: HagentConfig) -> str:
        return f"latent D {config.level.encoder.dim}; window T {config.data.window}; batch B {config.data.batch_size}"

    def before_metrics(self, config: HagentConfig) -> str:
        """README lines of this kind of checkpoint before the metrics line."""
        return ""

    def after_metrics(self, row: dict) -> str:
        """README lines of this kind of checkpoint after the metrics line."""
        return ""

    def readme(self, run: Trained, step: int, row: dict) -> str:
        """The checkpoint's README: data, command, seed, steps, level 0, metrics, files."""
        config = run.config
        keys = ("pred_loss", "pred_loss_rel", "std", "eff_rank", "cov_loss", "inverse_acc", "places_val_accuracy", "critic_val_mae",
                "hazard_recall", "hazard_false_alarm", "step_hazard_recall", "step_hazard_false_alarm", "blocked_step_recall",
                "blocked_step_false_alarm", "probe_accuracy")
        keys += tuple(k for k in row if k.startswith("level"))
        final = ", ".join(f"{k} {row[k]:.4g}" for k in keys if k in row) or "none logged yet"
        data = "\n".join(
            f"  - `{d}` — {m.world}, {m.episodes} episodes, {m.steps} steps (collection seed {m.seed})"
            for d, m in ((d, ds.manifest) for d, ds in zip(run.data_dirs, run.datasets))
        )
        return (
            f"# hagent checkpoint: {self.title}\n\n"
            f"- data:\n{data}\n"
            f"- command: `{run.command or 'hagent.training.pipeline.train(...)'}`\n"
            f"- seed: {config.seed}; device: {config.device}\n"
            f"- steps: {step} of {config.train.steps} ({time.perf_counter() - run.start:.0f} s)\n"
            f"- level 0: {self.level0(config)}\n"
            + self.before_metrics(config)
            + f"- metrics at step {row.get('step', 0)}: {final}\n"
            + self.after_metrics(row)
            + "\n" + self.files
        )


class GridRecipe(Recipe):
    """Grid worlds: level 0, then its critic, hazards, probe, abstract levels and the decoder."""

    title = "an H-JEPA stack (level 0 world model, abstract levels, critics, hazard)"
    files = (
        "Files: `config.json` (resolved config), `level0.safetensors` (level 0 weights), "
        "`critic.safetensors` (level 0's critic), `levelK.safetensors` / `criticK.safetensors` (abstract level K "
        "and its critic), `hazard.safetensors` (the hazard classifier, when the data had hazards), `probe.safetensors` (the cell probe region guardrails read), `step_hazard.safetensors` (the hazard check of the action about to be taken), "
        "`blocked_step.safetensors` (does the action about to be taken go nowhere), "
        "`metrics.jsonl` (one row per logged step). Load with `hagent.checkpoint.load_checkpoint(dir)`.\n"
    )

    def before_metrics(self, config: HagentConfig) -> str:
        levels = ", ".join(f"level {k}: D={c.dim}, period {c.period}" for k, c in enumerate(config.hierarchy, start=1)) or "none"
        return f"- abstract levels: {levels}\n"

    def stages(self, config: HagentConfig) -> list[str]:
        cfg = config.train
        if cfg.critic.steps == 0:
            return ["level 0"]
        names = ["level 0", "critic", "hazard classifier", "step hazard", "blocked step", "cell probe"]
        if cfg.abstract.steps > 0 and config.hierarchy:
            names.append(f"abstract level{'s' if len(config.hierarchy) > 1 else ''} and their critics")
        return names + (["plan decoder"] if cfg.decoder.episodes > 0 else [])

    def after_level0(self, run: Trained, row: dict) -> None:
        config, model, datasets = run.config, run.model, run.datasets
        cfg = config.train
        if cfg.critic.steps == 0:
            return
        model.eval()
        say = run.stages.start
        say("critic", f"{cfg.critic.steps} steps, labels: {cfg.critic.labels}")
        pairs = dataset_pairs(datasets, cfg.critic, config.seed, cap=ABSTRACT_CAP * cfg.critic.max_steps)
        result = train_critic(model.level, datasets, config.critic, cfg.critic, config.seed, run.device, run.log_path, run.progress, pairs)
        row.update(critic_val_mae=result.val_mae, critic_pairs=result.pairs, critic_seconds=round(result.seconds, 1))
        for p in model.parameters():
            p.requires_grad_(False)
        embedded = embed(model.level, datasets, run.device)
        say("hazard classifier", f"at most {cfg.hazard.steps} steps; skipped when the data holds no hazard")
        hazard = train_hazard(model.level, embedded, config.hazard, cfg.hazard, config.seed, run.log_path, run.progress)
        if hazard is not None:
            row.update(hazard_recall=hazard.recall, hazard_false_alarm=hazard.false_alarm)
        say("step hazard", f"at most {cfg.hazard.steps} steps; skipped when the data holds no hazard")
        step_hazard = train_step_hazard(datasets, config.hazard, cfg.hazard, config.seed, run.log_path, run.progress)
        if step_hazard is not None:
            row.update(step_hazard_recall=step_hazard.recall, step_hazard_false_alarm=step_hazard.false_alarm)
        say("blocked step", f"{cfg.hazard.steps} steps")
        blocked = train_blocked_step(datasets, config.hazard, cfg.hazard, config.seed, run.log_path, run.progress)
        if blocked is not None:
            row.update(blocked_step_recall=blocked.recall, blocked_step_false_alarm=blocked.false_alarm)
        cells = torch.cat([torch.as_tensor(marked_cells(d.arrays["image"])).long() for d in datasets]).to(run.device)
        say("cell probe", f"{cfg.hazard.steps} steps")
        probe = train_probe(model.level, embedded, cells, config.hazard, cfg.hazard, config.seed, run.log_path, run.progress)
        if probe is not None:
            row.update(probe_accuracy=probe.accuracy)
        abstract = []
        if cfg.abstract.steps > 0 and config.hierarchy:
            say(self.stages(config)[6], f"{cfg.abstract.steps} steps each, then {cfg.critic.steps} for each critic")
            levels = train_abstract_levels(
                list(config.hierarchy), model.level, embedded, datasets, cfg.jepa, cfg.abstract, config.critic,
                cfg.critic, config.seed, run.log_path, run.progress, pairs, precision=cfg.precision,
            )
            abstract = [(r.level, r.critic) for r in levels]
            for k, r in enumerate(levels, start=1):
                row.update({f"level{k}_{key}": value for key, value in r.metrics.items() if key not in ("stage", "step")})
        explainer = None
        if cfg.decoder.episodes > 0:
            say("plan decoder", f"{cfg.decoder.episodes} episodes per world in {len(cfg.decoder.worlds)} worlds, then {cfg.decoder.steps} steps")
            encode = encoder(model.level, tuple(level for level, _ in abstract))
            fitted = fit_decoder(encode, config.decoder, cfg.decoder, config.seed, run.log_path, run.progress)
            explainer = fitted.explainer
            row.update(fitted.metrics)
        if run.main:
            save_checkpoint(
                run.out_dir, config, model, cfg.steps, self.readme(run, cfg.steps, row), critic=result.critic,
                hazard=None if hazard is None else hazard.model, abstract=tuple(abstract),
                probe=None if probe is None else probe.model,
                step_hazard=None if step_hazard is None else step_hazard.model,
                blocked_step=None if blocked is None else blocked.model,
            )
            if explainer is not None:
                save_decoder(run.out_dir, explainer)


class PixelRecipe(Recipe):
    """Point worlds: level 0 from pixels, then the place grounding for text goals."""

    title = "a point-world agent (level 0 from pixels, place grounding)"
    files = (
        "Files: `config.json` (resolved config), `level0.safetensors` (level 0: pixel encoder, continuous-action "
        "predictor, inverse-dynamics head), `places.safetensors` (grounds named places as goal states), "
        "`metrics.jsonl` (one row per logged step). Load with `hagent.Agent.load(dir)`.\n"
    )

    def prepare(self, config: HagentConfig, datasets: list[OfflineDataset]) -> tuple[HagentConfig, list[OfflineDataset]]:
        return for_point_world(config), datasets

    def stages(self, config: HagentConfig) -> list[str]:
        return ["level 0"] + (["place grounding"] if config.train.places_steps > 0 else [])

    def after_level0(self, run: Trained, row: dict) -> None:
        if not run.main:
            return
        run.model.eval()
        if run.config.train.places_steps > 0:
            run.stages.start("place grounding", f"{run.config.train.places_steps} steps")
        places = train_places(run.model.level, run.datasets, run.config.seed, run.config.train.places_steps, run.log_path, run.progress)
        if places is not None:
            row.update({k: v for k, v in places.metrics.items() if k != "stage"})
            steps = run.config.train.steps
            save_checkpoint(run.out_dir, run.config, run.model, steps, self.readme(run, steps, row), places=places.model)


class VectorRecipe(Recipe):
    """Gym worlds: level 0 from vectors acting every `time_scale` env steps, then the goal readout and landmarks."""

    title = "a gym-world agent (vector observations, continuous actions, goal from the env: desired_goal or info[\"goal\"])"
    files = (
        "Files: `config.json` (resolved config), `level0.safetensors` (level 0: vector encoder with its input "
        "standardization, continuous-action predictor, inverse-dynamics head), `readout.safetensors` (level-0 state "
        "-> goal space), `landmarks.safetensors` (level 1: landmarks and the hops the data made between them), "
        "`metrics.jsonl` (one row per logged step). Act with it: `hagent eval --world <its world.spec in config.json> --checkpoint DIR`.\n"
    )

    def prepare(self, config: HagentConfig, datasets: list[OfflineDataset]) -> tuple[HagentConfig, list[OfflineDataset]]:
        config = for_vector_world(config, datasets[0].arrays["vector"].shape[1], datasets[0].arrays["action"].shape[1])
        return config, [d.strided(config.level.time_scale) for d in datasets]  # level 0 acts every time_scale env steps

    def fit_inputs(self, model: JEPA, datasets: list[OfflineDataset]) -> None:
        vectors = torch.as_tensor(np.concatenate([d.arrays["vector"] for d in datasets]))
        for encoder_ in filter(None, (model.level.encoder, model.target_encoder)):
            encoder_.fit(vectors)

    def level0(self, config: HagentConfig) -> str:
        return (f"{config.level.encoder.inputs} inputs -> latent D {config.level.encoder.dim}, acting every "
                f"{config.level.time_scale} env steps; window T {config.data.window}; batch B {config.data.batch_size}")

    def after_metrics(self, row: dict) -> str:
        if "readout_val_error" not in row:
            return ""
        return (f"- goal readout: held-out error {row['readout_val_error']} (goal-space units); level 1: "
                f"{row['landmarks']} landmarks, {row['landmark_hops']} hops\n")

    def stages(self, config: HagentConfig) -> list[str]:
        return ["level 0"] + (["goal readout and landmarks"] if config.train.readout_steps > 0 else [])

    def after_level0(self, run: Trained, row: dict) -> None:
        cfg = run.config.train
        if cfg.readout_steps == 0 or not run.main:
            return
        run.model.eval()
        run.stages.start("goal readout and landmarks", f"{cfg.readout_steps} steps")
        goal = train_goal_parts(run.model.level, run.datasets, cfg.readout_steps, cfg.landmark_spacing, cfg.landmark_min_count,
                                run.config.seed, run.log_path, run.progress)
        row.update(goal.metrics)
        save_checkpoint(run.out_dir, run.config, run.model, cfg.steps, self.readme(run, cfg.steps, row),
                        readout=goal.readout, landmarks=goal.landmarks)


RECIPES: dict[str, Recipe] = {"grid": GridRecipe(), "pixels": PixelRecipe(), "vector": VectorRecipe()}


def recipe_for(datasets: list[OfflineDataset]) -> Recipe:
    """The recipe for what the datasets hold; they must all hold the same kind (and vector length)."""
    kinds = {d.reads for d in datasets}
    if len(kinds) > 1:
        raise DatasetError(f"datasets of different observation kinds ({', '.join(sorted(kinds))}) can't be mixed in one run")
    if len({d.arrays["vector"].shape[1:] if d.reads == "vector" else None for d in datasets}) > 1:
        raise DatasetError("datasets of different observation kinds or vector lengths can't be mixed in one run")
    return RECIPES[kinds.pop()]
