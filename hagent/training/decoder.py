"""Training the plan decoder on (plan, description) pairs from executed episodes.

Episodes are executed by BabyAI's scripted bot after a few random moves (so routes wander as
the agent's do), some cut short, some given an extra guardrail the episode keeps. Each yields:

* the plan's features, told by a `Narrator` from the observations (what the decoder reads at
  run time too), and
* the episode's facts from the world's own log and symbolic view (labels only: rooms entered,
  doors opened, objects picked up and dropped, guardrails kept), which `decoder.facts.render`
  words in a fresh phrasing every time the pair is drawn.

The sentencepiece tokenizer is trained on those texts and the missions, then the decoder on
the pairs; held-out episodes measure how faithful its greedy texts are.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from hagent.progress import bar as progress_bar

from decoder.config import DecoderConfig, DecoderTrainConfig
from decoder.explain import Explainer
from decoder.facts import Fact, Facts, check, read_claims, render, stated
from decoder.model import PlanDecoder, PlanFeatures, collate
from decoder.tokenizer import BOS, EOS, PAD, Tokenizer
from hagent import distributed
from hagent.acting.grounding import stages
from hagent.errors import TrainingError
from hagent.language import (
    AvoidHazard,
    AvoidRegion,
    ForbidAction,
    Guardrail,
    ParseError,
    RegionRef,
    Task,
    parse,
)
from hagent.acting.narrative import FORBIDDEN_STEPS, Encode, Narrator, guard_fact
from hagent.worlds import FORWARD, LEFT, RIGHT, World, make_world

OPERATOR = (AvoidHazard("lava"),)


class Example(NamedTuple):
    """One executed episode as a training (or test) pair."""

    features: PlanFeatures  # the plan, from observations (decoder input)
    truth: Facts  # what happened, from the world (labels and scoring)
    plan: Facts  # the plan's own facts, from observations (the verifier's reference)
    mission: str


class DecoderResult(NamedTuple):
    """A trained decoder and its held-out measurements."""

    explainer: Explainer
    metrics: dict


# -- what happened, from the world (labels and scoring only) ----------------------------------


def episode_facts(world: World, task: Task, guardrails: tuple[Guardrail, ...]) -> Facts:
    """The facts of the episode `world` has just run, from its log and judgement: the task's
    stages, the rooms entered and doors/objects acted on in order, the guardrails kept."""
    steps, room = [], None
    visited_rooms = set()
    for i, moved in enumerate(world.log()):
        for e in moved.events:
            match e.kind:
                case "opened":
                    steps.append(Fact("open", e.color))
                case "picked_up":
                    steps.append(Fact("pickup", f"the {e.color} {e.obj}"))
                case "dropped":
                    steps.append(Fact("drop", f"the {e.color} {e.obj}"))
        name = world.room_name(moved.cell)
        if name is not None:
            visited_rooms.add(name)
            if room is not None and name != room:
                steps.append(Fact("enter", name))
            room = name
    violations = world.judge().violations
    happened = {s.kind for s in steps}
    guards = []
    for g in guardrails:
        match g:
            case AvoidHazard():
                kept = bool(world.symbolic().lava) and not any("lava" in v for v in violations)
            case AvoidRegion(region):
                kept = not any(region.describe() in v for v in violations) and region.position not in visited_rooms
            case ForbidAction(action):
                kept = not (set(FORBIDDEN_STEPS[action]) & happened)
            case _:
                kept = False
        if kept:
            guards.append(guard_fact(g))
    goals = () if task.goal is None else tuple(Fact("goal", s.describe()) for s in stages(task.goal))
    return Facts(goals, tuple(steps), tuple(dict.fromkeys(guards)))


# -- executed episodes -------------------------------------------------------------------------


def executed_episodes(
    specs: list[str], episodes: int, seed: int, encode: Encode, cfg: DecoderTrainConfig, progress: bool = True
) -> list[Example]:
    """`episodes` bot-executed episodes in each world of `specs` (seeds `seed`, `seed`+1, ...)."""
    rng = random.Random(seed)
    out: list[Example] = []
    bar = progress_bar(total=episodes * len(specs), desc="decoder episodes", unit="ep", progress=progress)
    for spec in specs:
        for i in range(episodes):
            world = make_world(spec, seed=seed + i)
            obs, _ = world.reset()
            try:
                task = parse(obs["mission"])
            except ParseError:
                bar.update()
                continue
            world.watch(OPERATOR)
            narrator = Narrator(task, obs)
            budget = rng.randint(1, 60) if rng.random() < cfg.stop_fraction else 400
            for step, action in enumerate(_executor(world, rng, cfg.wander), start=1):
                prev = obs
                obs, _, terminated, truncated, _ = world.step(action)
                narrator.observe(prev, action, obs)
                if terminated or truncated or step >= budget:
                    break
            truth_task = task
            guardrails = OPERATOR
            if rng.random() < cfg.guardrail_fraction:
                extra = _kept_guardrail(world, task, rng)
                if extra is not None:
                    guardrails = (*OPERATOR, extra)
                    truth_task = Task(task.goal, (extra,), task.text)
            truth = episode_facts(world, truth_task, guardrails)
            narrative = narrator.narrative(encode, obs, guardrails)
            out.append(Example(narrative.features, truth, narrative.facts, obs["mission"]))
            bar.update()
    bar.close()
    return out


def _executor(world: World, rng: random.Random, wander: int) -> Iterator[int]:
    """Actions for `world`: up to `wander` random moves, then BabyAI's bot from wherever they led."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    for _ in range(rng.randint(0, wander)):
        yield rng.choice((LEFT, RIGHT, FORWARD, FORWARD))
    bot = BabyAIBot(world.unwrapped)
    while True:
        try:
            action = int(bot.replan())
        except Exception:  # noqa: BLE001 -- the bot gives up in odd states (boxed in by a random move); end there
            return
        yield action


def _kept_guardrail(world: World, task: Task, rng: random.Random) -> Guardrail | None:
    """A guardrail the episode kept that isn't the task's own goal: a room never entered, or an
    action never taken."""
    log = world.log()
    rooms_seen = {world.room_name(m.cell) for m in log}
    events = {e.kind for m in log for e in m.events}
    verbs = {s.verb for s in stages(task.goal)} if task.goal is not None else set()
    options: list[Guardrail] = []
    w, h = world.unwrapped.width, world.unwrapped.height
    every_room = {world.room_name((x, y)) for x in range(w) for y in range(h)} - {None}
    options += [AvoidRegion(RegionRef(position=p)) for p in sorted(every_room - rooms_seen)]
    if "opened" not in events and "open" not in verbs:
        options.append(ForbidAction("open"))
    if "picked_up" not in events and "pickup" not in verbs:
        options.append(ForbidAction("pickup"))
    if "dropped" not in events and "drop_next" not in verbs:
        options.append(ForbidAction("drop"))
    return rng.choice(options) if options else None


# -- training ------------------------------------------------------------------------------------


def fit_decoder(
    encode: Encode, cfg: DecoderConfig, tcfg: DecoderTrainConfig, seed: int, metrics_path: Path | None = None,
    progress: bool = True,
) -> DecoderResult:
    """Execute `tcfg.episodes` episodes in each of `tcfg.worlds`, then train the decoder on them.
    Under torchrun rank 0 executes the episodes (one sequence of draws, so any number of
    processes sees the same examples) and hands them to the others."""
    examples = executed_episodes(list(tcfg.worlds), tcfg.episodes, seed, encode, tcfg, progress) if distributed.is_main() else None
    examples = distributed.broadcast_object(examples)
    return train_decoder(examples, cfg, tcfg, seed, metrics_path, progress)



def train_decoder(
    examples: list[Example], cfg: DecoderConfig, tcfg: DecoderTrainConfig, seed: int,
    metrics_path: Path | None = None, progress: bool = True,
) -> DecoderResult:
    """Train the tokenizer and the decoder on `examples` (a held-out share measures them)."""
    if len(examples) < 4:
        raise ValueError(f"only {len(examples)} executed episodes: too few to train the decoder")
    start = time.perf_counter()
    rng = random.Random(seed)
    torch.manual_seed(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    n_val = max(1, int(len(examples) * tcfg.val_fraction))
    val = [examples[i] for i in order[:n_val]]
    train = [examples[i] for i in order[n_val:]]

    corpus = [render(e.truth, rng) for e in train for _ in range(3)] + [e.mission for e in train]
    tokenizer = Tokenizer.train(corpus, cfg.vocab_size)
    decoder = PlanDecoder(cfg, train[0].features.dims, tokenizer.vocab_size)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=tcfg.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr(s, tcfg.warmup, tcfg.steps))

    bar = progress_bar(range(1, tcfg.steps + 1), desc="decoder", unit="step", progress=progress)
    metrics: dict = {}
    distributed.check_batch("train.decoder.batch_size", tcfg.batch_size)
    objective = distributed.wrap(decoder, _token_loss)
    for step in bar:
        # every rank draws the same global batch and texts; each trains on its shard
        picked = [train[rng.randrange(len(train))] for _ in range(tcfg.batch_size)]
        texts = [render(e.truth, rng) for e in picked]
        picked, texts = distributed.shard(picked), distributed.shard(texts)
        batch = collate([e.features for e in picked], cfg.max_events)
        tokens = _tokens(texts, tokenizer, cfg.max_tokens)
        decoder.train()
        if distributed.active():
            targets = distributed.mean(int((tokens[:, 1:] != PAD).sum())) * distributed.group().size
            loss = objective(batch, tokens, targets)
        else:
            loss = decoder.loss(batch, tokens)
        if distributed.any_rank(not torch.isfinite(loss)):
            raise TrainingError(f"decoder: non-finite loss at step {step}; nothing was written; try a lower train.decoder.lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == tcfg.steps:
            shown = distributed.mean(loss)
            bar.set_postfix(loss=f"{shown:.3f}")
            if metrics_path is not None:
                with open(metrics_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"stage": "decoder", "step": step, "loss": round(shown, 5)}) + "\n")
    bar.close()
    decoder.eval()
    explainer = Explainer(decoder, tokenizer, cfg)
    with torch.no_grad():
        val_batch = collate([e.features for e in val], cfg.max_events)
        val_tokens = _tokens([render(e.truth) for e in val], tokenizer, cfg.max_tokens)
        metrics["decoder_val_loss"] = round(float(decoder.loss(val_batch, val_tokens)), 4)
    scores = score_texts([explainer.greedy(e.features) for e in val], [e.truth for e in val])
    metrics.update({f"decoder_val_{k}": v for k, v in scores.items()})
    metrics["decoder_seconds"] = round(time.perf_counter() - start, 1)
    metrics["decoder_pairs"] = len(train)
    metrics["tokenizer_vocab"] = tokenizer.vocab_size
    if metrics_path is not None:
        with open(metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"stage": "decoder", **metrics}) + "\n")
    return DecoderResult(explainer, metrics)


def _token_loss(decoder: PlanDecoder, batch, tokens: torch.Tensor, targets: float) -> torch.Tensor:
    """This rank's summed next-token cross-entropy over the global batch's target count, times
    the number of ranks: DDP's average of it is the global batch's mean token loss."""
    logits = decoder.logits(batch, tokens[:, :-1])
    total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD, reduction="sum")
    return total * distributed.group().size / max(targets, 1.0)


def _tokens(texts: list[str], tokenizer: Tokenizer, max_tokens: int) -> torch.Tensor:
    """`[B, T]`: bos + ids + eos, padded."""
    rows = [[BOS, *tokenizer.encode(t)[:max_tokens], EOS] for t in texts]
    out = torch.full((len(rows), max(len(r) for r in rows)), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r)
    return out


def _lr(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def score_texts(texts: list[str], truths: list[Facts]) -> dict:
    """Faithfulness (share of stated facts true of the episode), hallucination (share of texts
    with a false fact; an unreadable text counts), completeness (share of each episode's key
    facts stated, averaged) of `texts` against the episodes' facts `truths`."""
    claims_total, claims_true, hallucinated, complete = 0, 0, 0, 0.0
    for text, truth in zip(texts, truths):
        claims = read_claims(text)
        false = check(claims, truth)
        n = 1 if claims is None else len(claims)
        claims_total += n
        claims_true += n - len(false)
        hallucinated += bool(false)
        complete += stated(claims, truth)
    n = max(1, len(texts))
    return {
        "faithfulness": round(claims_true / max(1, claims_total), 4),
        "hallucination": round(hallucinated / n, 4),
        "completeness": round(complete / n, 4),
    }
