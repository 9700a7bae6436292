"""Training the language normalizer on paraphrase pairs the project generates.

1. A sentencepiece tokenizer is trained on generated texts and their canonical forms.
2. The normalizer's members (`hagent.language.normalizer`; two by default, one process each)
   learn text -> slot labels on fresh pairs every step (`hagent.language.paraphrase.TRAINING`),
   each on its own seed and augmentation strength; they are read as one (`Ensemble`).
3. Its confidence threshold is set on texts the grammar doesn't take, from the training
   phrasings on other seeds and from `hagent/phrasings_calibration.json` (phrasings training
   never sees): the lowest confidence at which confident wrong readings stay within
   `wrong_rate` on both. The held-out phrasings (benchmarks/) are never read here.

    hagent train --normalizer-only --out checkpoints/default
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import random
import time
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace
from pathlib import Path
from typing import NamedTuple

import sentencepiece
import torch
from hagent.progress import bar as progress_bar

from decoder.tokenizer import Tokenizer
from hagent.config import HagentConfig, NormalizerConfig, NormalizerTrainConfig, save_config
from hagent.language import ParseError, parse, same_task
from hagent.language.normalizer import Ensemble, Normalizer, Slots, build, task_slots
from hagent.language.paraphrase import TRAINING, Pair, Phrasings, add_noise, paraphrase, word_salad
from hagent.training.pipeline import cpu_threads


class NormalizerResult(NamedTuple):
    """A trained normalizer (its config holds the calibrated threshold) and its measurements."""

    normalizer: Normalizer | Ensemble
    metrics: dict


def labelled(rng: random.Random, bank: Phrasings, none_fraction: float, noise: float = 0.0) -> tuple[Pair, Slots]:
    """A random pair whose task the slots can hold, with its slot labels. With `noise` > 0,
    that share of texts gets 1-3 noise words, and a third of the non-instructions are word
    salad: words the model has never seen then read as noise, not as meaning."""
    while True:
        pair = paraphrase(rng, bank, none_fraction)
        slots = task_slots(pair.task)
        if slots is None:
            continue
        if noise and pair.task is None and rng.random() < 0.35:
            pair = pair._replace(text=word_salad(rng))
        elif noise and rng.random() < noise:
            pair = pair._replace(text=add_noise(pair.text, rng, rng.randint(1, 3)))
        return pair, slots


CALIBRATION = Phrasings.load(Path(__file__).resolve().parent.parent / "phrasings_calibration.json")
"""Phrasings used only to set the threshold (never trained on, never reported as results)."""


def _readings(model: Normalizer | Ensemble, bank: Phrasings, rng: random.Random, n: int, none_fraction: float) -> tuple[list[float], list[bool]]:
    """Confidences and rightness of the model's readings of `n` texts from `bank` that the
    grammar doesn't take; a reading the names check stops counts as confidence 0 (never acted on)."""
    pairs = []
    while len(pairs) < n:
        pair = paraphrase(rng, bank, none_fraction)
        try:
            parse(pair.text)
        except ParseError:
            pairs.append(pair)
    confidences, right = [], []
    for k in range(0, len(pairs), 256):
        for pair, reading in zip(pairs[k : k + 256], model.read_many([p.text for p in pairs[k : k + 256]]), strict=True):
            confidences.append(0.0 if reading.unnamed or reading.unread else reading.confidence)
            right.append(same_task(reading.task, pair.task))
    return confidences, right


def calibrate(confidences: list[float], right: list[bool], wrong_rate: float) -> float:
    """The lowest threshold at which readings at or above it are wrong for at most `wrong_rate`
    of all readings (1.0 when even the most confident one is too often wrong)."""
    order = sorted(zip(confidences, right, strict=True), reverse=True)
    allowed, wrong, threshold = wrong_rate * len(order), 0, 1.0
    for k, (conf, ok) in enumerate(order):
        wrong += not ok
        if wrong > allowed:
            break
        # Ties share a threshold: only accept `conf` if every reading at it is allowed in.
        if k + 1 == len(order) or order[k + 1][0] < conf:
            threshold = conf
    return threshold


def _train_member(cfg: NormalizerConfig, tcfg: NormalizerTrainConfig, tokenizer_model: bytes, seed: int, bank: Phrasings,
                  threads: int, ticks=None, k: int = 0) -> tuple[dict, list[float]]:
    """Train member `k` from scratch on fresh pairs (seeded by `seed`); its weights and losses.
    `ticks` (a queue) is told of every 50 steps done, for the parent's progress bar."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    sentencepiece.set_random_generator_seed(seed)  # BPE dropout's draws
    tcfg = tcfg.model_copy(update={"noise": min(0.9, tcfg.noise * (1 + tcfg.spread * k)), "mask": min(0.9, tcfg.mask * (1 + 2 * tcfg.spread * k))})
    model = Normalizer(cfg, Tokenizer(tokenizer_model))
    optimizer = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=0.01)

    def lr_at(step: int) -> float:
        if step < tcfg.warmup:
            return (step + 1) / tcfg.warmup
        t = (step - tcfg.warmup) / max(1, tcfg.steps - tcfg.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    rng = random.Random(seed + 1)
    losses: list[float] = []
    model.train()
    for step in range(tcfg.steps):
        batch = [labelled(rng, bank, tcfg.none_fraction, tcfg.noise) for _ in range(tcfg.batch_size)]
        ids, tags = model.token_ids([p.text for p, _ in batch], tcfg.dropout, tcfg.mask, rng)
        loss = model.loss(ids, tags, [s for _, s in batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if ticks is not None and (step + 1) % 50 == 0:
            ticks.put(50)
    return model.state_dict(), losses


def train_normalizer(
    cfg: NormalizerConfig, tcfg: NormalizerTrainConfig, seed: int = 0, bank: Phrasings = TRAINING, progress: bool = True,
    threads: int = 1,
) -> NormalizerResult:
    """Train a normalizer (or `cfg.members` of them, side by side in one process each, on
    `threads` cores between them) from scratch on `bank`'s paraphrases and calibrate its threshold."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    corpus_rng = random.Random(seed)
    corpus = []
    for _ in range(tcfg.corpus):
        pair = paraphrase(corpus_rng, bank, tcfg.none_fraction)
        corpus += [pair.text.lower(), pair.canonical] if pair.canonical else [pair.text.lower()]
    tokenizer = Tokenizer.train(corpus, cfg.vocab_size)
    model = build(cfg, tokenizer)
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    seeds = [seed + 1000 * k for k in range(len(members))]  # member 0 trains as a lone normalizer would
    bar = progress_bar(total=tcfg.steps * len(members), desc="normalizer", unit="step", progress=progress, leave=False)
    if len(members) == 1:
        ticks = SimpleNamespace(put=bar.update)  # in this process: the bar itself
        results = [_train_member(cfg, tcfg, tokenizer.model, seeds[0], bank, torch.get_num_threads(), ticks)]
    else:
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, ProcessPoolExecutor(len(members), mp_context=context) as pool:
            ticks = manager.Queue()
            each = max(1, threads // len(members))
            futures = [pool.submit(_train_member, cfg, tcfg, tokenizer.model, s, bank, each, ticks, k) for k, s in enumerate(seeds)]
            while not all(f.done() for f in futures):
                try:
                    bar.update(ticks.get(timeout=0.5))
                except queue.Empty:
                    pass
            results = [f.result() for f in futures]
    bar.close()
    losses = [sum(col) / len(col) for col in zip(*(r[1] for r in results), strict=True)]
    for member, (state, _) in zip(members, results, strict=True):
        member.load_state_dict(state)
    model.eval()
    trained_s = time.perf_counter() - start

    # Calibration: texts the grammar doesn't take (the only ones the model is asked about),
    # half in the training phrasings (another seed) and half in phrasings training never saw
    # (CALIBRATION), whose errors are the ones to fear. The threshold keeps both within the rate.
    thresholds, confidences, right = [], [], []
    for k, calibration_bank in enumerate((bank, CALIBRATION)):
        conf, ok = _readings(model, calibration_bank, random.Random(seed + 2 + k), tcfg.calibration // 2, tcfg.none_fraction)
        thresholds.append(calibrate(conf, ok, tcfg.wrong_rate))
        confidences += conf
        right += ok
    threshold = max(thresholds)
    model.cfg = cfg.model_copy(update={"threshold": threshold})
    accepted = [ok for c, ok in zip(confidences, right, strict=True) if c >= threshold]
    metrics = {
        "normalizer_steps": tcfg.steps,
        "normalizer_members": len(members),
        "normalizer_first_loss": sum(losses[:10]) / len(losses[:10]),
        "normalizer_final_loss": sum(losses[-50:]) / len(losses[-50:]),
        "normalizer_pieces": tokenizer.vocab_size,
        "normalizer_train_seconds": round(trained_s, 1),
        "normalizer_seconds": round(time.perf_counter() - start, 1),
        "normalizer_calibration_pairs": len(right),
        "normalizer_thresholds": {"training phrasings": thresholds[0], "calibration phrasings": thresholds[1]},
        "normalizer_calibration_accuracy": sum(right) / len(right),
        "normalizer_threshold": threshold,
        "normalizer_calibration_accepted": len(accepted) / len(right),
        "normalizer_calibration_confident_wrong": (len(accepted) - sum(accepted)) / len(right),
    }
    return NormalizerResult(model, metrics)


def train_normalizer_only(config: HagentConfig, directory: str | Path, command: str = "", progress: bool = True) -> NormalizerResult:
    """Train the language normalizer with the `normalizer` and `train.normalizer` sections of
    `config` and save it into checkpoint `directory` as `normalizer/` (the levels, if any, are
    left as they are); the checkpoint's README gets a section on it, and its `config.json`, when
    it has one, the normalizer's settings as trained (the threshold as calibrated)."""
    from hagent.checkpoint import CONFIG_FILE, save_normalizer, write_readme_section

    torch.set_num_threads(cpu_threads(config.train.threads))
    threads = cpu_threads(config.train.threads)
    result = train_normalizer(config.normalizer, config.train.normalizer, config.seed, progress=progress, threads=threads)
    directory = Path(directory)
    save_normalizer(directory, result.normalizer, result.metrics)
    if (directory / CONFIG_FILE).exists():  # the checkpoint's config says what it ships
        ckpt = HagentConfig.model_validate_json((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        train = ckpt.train.model_copy(update={"normalizer": config.train.normalizer})
        save_config(ckpt.model_copy(update={"normalizer": result.normalizer.cfg, "train": train}), directory)
    m = result.metrics
    write_readme_section(directory, "Language normalizer", (
        f"Trained by `{command or 'train_normalizer_only'}` (seed {config.seed}) on "
        f"{m['normalizer_steps']} x {config.train.normalizer.batch_size} generated paraphrase pairs per member "
        f"({m['normalizer_members']} member(s), read as one) "
        f"(`hagent.language.paraphrase.TRAINING`) in {m['normalizer_seconds']} s; tokenizer of {m['normalizer_pieces']} pieces. "
        f"Threshold {m['normalizer_threshold']:.3f}, set on {m['normalizer_calibration_pairs']} texts the grammar doesn't "
        "take (the training phrasings on another seed, and `hagent/phrasings_calibration.json`): at it "
        f"{m['normalizer_calibration_accepted']:.4f} of them are acted on, {m['normalizer_calibration_confident_wrong']:.4f} "
        "wrongly. Held-out numbers: `python benchmarks/language.py`."
    ))
    return result
