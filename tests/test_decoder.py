"""The plan decoder: the description language, the tokenizer, conditioning, verification and fallback,
save/load, the narrator, and the agent's use of it."""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from decoder.config import DecoderConfig, DecoderTrainConfig
from decoder.explain import Explainer
from decoder.facts import Fact, Facts, check, read_claims, render, stated
from decoder.model import PlanDecoder, PlanFeatures, collate
from decoder.tokenizer import BOS, EOS, Tokenizer
from hagent.acting import Agent
from hagent.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_decoder,
    save_decoder,
)
from hagent.cli import main
from hagent.collect import collect
from hagent.config import AgentConfig, CollectConfig
from hagent.acting.narrative import encoder
from hagent.training.decoder import executed_episodes
from hagent.worlds import make_world

TINY_DECODER = [
    "train.decoder.episodes=6", "train.decoder.worlds=[\"babyai:GoToLocal\", \"rooms:2x2\"]", "train.decoder.steps=20",
    "train.decoder.batch_size=8", "decoder.layers=1", "decoder.width=32", "decoder.heads=2", "decoder.max_tokens=40",
    "decoder.beam=2", "decoder.samples=1",
]  # fmt: skip

PLAN_A = Facts((Fact("goal", "go to the red ball"),), (Fact("open", "green"), Fact("enter", "right")), (Fact("avoid", "lava"),))
PLAN_B = Facts((Fact("goal", "pick up the blue key"),), (Fact("enter", "top-left"),), (Fact("forbid", "open"),))


def _random_facts(rng: random.Random) -> Facts:
    colours, places = ["red", "green", "blue", "purple", "yellow", "grey"], ["top-left", "top", "centre", "bottom-right", "left"]
    things = [f"the {c} {k}" for c in colours for k in ("ball", "box", "key")]
    steps = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.choice(["enter", "open", "pickup", "drop"])
        steps.append(Fact(kind, rng.choice(places if kind == "enter" else colours if kind == "open" else things)))
    goal = rng.choice(["go to ", "pick up ", "drop it next to "]) + rng.choice(things)
    guards = rng.sample([Fact("avoid", "lava"), Fact("stay_out", f"the {rng.choice(places)} room"), Fact("forbid", "open"),
                         Fact("forbid", "pickup")], rng.randint(0, 2))
    return Facts((Fact("goal", goal),), tuple(steps), tuple(guards))


# -- the description language ------------------------------------------------------------------


def test_every_phrasing_reads_back_to_its_facts() -> None:
    rng = random.Random(0)
    for _ in range(400):
        facts = _random_facts(rng)
        text = render(facts, rng)
        claims = read_claims(text)
        assert claims is not None, text
        assert check(claims, facts) == (), text
        assert stated(claims, facts) == 1.0 or len(facts.key()) > len(claims), text


@pytest.mark.parametrize(
    "text, false",
    [
        ("I'll open the blue door, then go into the right room, then go to the red ball.", Fact("open", "blue")),
        ("I'll open the green door, then go into the left room, then go to the red ball.", Fact("enter", "left")),
        ("I'll go into the right room, then open the green door, then go to the red ball.", Fact("open", "green")),  # order
        ("I'll go to the red key.", Fact("goal", "go to the red key")),
        ("I'll go to the red ball. I'll stay out of the top room.", Fact("stay_out", "the top room")),
        ("I'll go to the red ball. I won't open any doors.", Fact("forbid", "open")),
    ],
)
def test_check_finds_a_planted_false_fact(text: str, false: Fact) -> None:
    assert check(read_claims(text), PLAN_A) == (false,)


def test_text_outside_the_language_is_unreadable() -> None:
    for text in ("", "I'll teleport to the red ball.", "go to the red ball", "I'll go to the red ball. Lava is safe now."):
        assert read_claims(text) is None
        assert check(read_claims(text), PLAN_A) != ()


# -- tokenizer ------------------------------------------------------------------------------------


def test_tokenizer_encodes_anything_and_round_trips() -> None:
    tok = Tokenizer.train([render(PLAN_A, random.Random(i)) for i in range(40)] + ["go to the red ball"] * 5, vocab_size=300)
    for text in ("I'll go to the red ball.", "go to the 🟥 ball ∂ — זה", "tab\tand\nnewline"):
        ids = tok.encode(text)
        assert ids and all(0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == " ".join(text.split())  # whitespace runs are normalized to one space
    again = Tokenizer(tok.model)
    assert again.encode("I'll open the green door.") == tok.encode("I'll open the green door.")


# -- conditioning, verification, fallback --------------------------------------------------------


def _features(seed: int, goal_bit: int) -> PlanFeatures:
    g = np.random.default_rng(seed)
    goals = np.zeros((1, 6), dtype=np.float32)
    goals[0, goal_bit] = 1.0
    return PlanFeatures(g.normal(size=(3, 10)).astype(np.float32), g.normal(size=(1, 5)).astype(np.float32), goals)


@pytest.fixture(scope="module")
def overfit() -> tuple[Explainer, PlanFeatures, PlanFeatures]:
    """A tiny decoder trained to say PLAN_A's text for one plan and PLAN_B's for another."""
    torch.manual_seed(0)
    texts = [render(PLAN_A), render(PLAN_B)]
    tok = Tokenizer.train(texts * 30, vocab_size=300)
    cfg = DecoderConfig(layers=1, width=32, heads=2, max_tokens=160, beam=2, samples=2)
    fa, fb = _features(1, 0), _features(2, 3)
    dec = PlanDecoder(cfg, fa.dims, tok.vocab_size)
    batch = collate([fa, fb], cfg.max_events)
    rows = [[BOS, *tok.encode(t), EOS] for t in texts]
    tokens = torch.zeros(2, max(map(len, rows)), dtype=torch.long)
    for i, r in enumerate(rows):
        tokens[i, : len(r)] = torch.as_tensor(r)
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    for _ in range(300):
        loss = dec.loss(batch, tokens)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return Explainer(dec, tok, cfg), fa, fb


def test_prefix_conditioning_changes_the_text(overfit) -> None:
    explainer, fa, fb = overfit
    a, b = explainer.greedy(fa), explainer.greedy(fb)
    assert a != b
    assert a == render(PLAN_A) and b == render(PLAN_B)


def test_a_true_candidate_is_shown_verified(overfit) -> None:
    explainer, fa, _ = overfit
    d = explainer.describe(fa, PLAN_A, torch.Generator().manual_seed(0))
    assert d.verified and not d.fallback
    assert check(read_claims(d.text), PLAN_A) == ()


def test_the_verifier_rejects_false_candidates_and_falls_back(overfit) -> None:
    explainer, fa, _ = overfit
    # the decoder says PLAN_A's text for these features, but the plan's facts are PLAN_B's
    d = explainer.describe(fa, PLAN_B, torch.Generator().manual_seed(0))
    assert d.fallback and d.verified
    assert d.text == render(PLAN_B)
    assert d.rejected and "false" in d.rejected[0]
    assert check(read_claims(d.text), PLAN_B) == ()


def test_unverified_mode_shows_the_greedy_text(overfit) -> None:
    explainer, fa, _ = overfit
    raw = Explainer(explainer.decoder, explainer.tokenizer, explainer.cfg.model_copy(update={"verify": False}))
    d = raw.describe(fa, PLAN_B)
    assert not d.verified and not d.fallback and d.text == render(PLAN_A)


def test_decoder_save_load_gives_identical_greedy_text(overfit, tmp_path: Path) -> None:
    explainer, fa, fb = overfit
    save_decoder(tmp_path, explainer)
    assert (tmp_path / "decoder" / "gpt" / "model.safetensors").exists()
    assert (tmp_path / "decoder" / "tokenizer.model").read_bytes() == explainer.tokenizer.model
    loaded = load_decoder(tmp_path / "decoder", explainer.cfg)
    for f in (fa, fb):
        assert loaded.greedy(f) == explainer.greedy(f)
    save_decoder(tmp_path, explainer)  # overwriting swaps the folder in whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoder"]


def test_a_damaged_decoder_is_refused_with_a_reason(overfit, tmp_path: Path) -> None:
    explainer, _, _ = overfit
    save_decoder(tmp_path, explainer)
    weights = tmp_path / "decoder" / "gpt" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="decoder's transformer"):
        load_decoder(tmp_path / "decoder", explainer.cfg)
    save_decoder(tmp_path, explainer)
    (tmp_path / "decoder" / "prefix.safetensors").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        load_decoder(tmp_path / "decoder", explainer.cfg)
    save_decoder(tmp_path, explainer)
    (tmp_path / "decoder" / "tokenizer.model").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="sentencepiece"):
        load_decoder(tmp_path / "decoder", explainer.cfg)


# -- the narrator, training and the agent ----------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tiny_sets: list[str]) -> Path:
    data = tmp_path_factory.mktemp("data")
    collect("babyai:GoToLocal", data, CollectConfig(episodes=8, max_steps=20), seed=1, progress=False)
    out = tmp_path_factory.mktemp("ckpt")
    assert main(["train", "--data", str(data), "--out", str(out), "--steps", "20", "-q", *tiny_sets]) == 0
    sets = [a for item in TINY_DECODER for a in ("--set", item)]
    assert main(["train", "--decoder-only", "--out", str(out), "-q", *sets]) == 0
    return out


def test_the_narrator_tells_what_the_world_logged(checkpoint: Path) -> None:
    """From observations alone, the narrator finds the same rooms, doors and objects as the world's log."""
    ckpt = load_checkpoint(checkpoint)
    examples = executed_episodes(["rooms:3x3", "rooms:3x3?task=any"], 6, 0, encoder(ckpt.level, ckpt.abstract), DecoderTrainConfig(), progress=False)
    assert len(examples) == 12
    assert sum(bool(e.truth.steps) for e in examples) >= 6  # most episodes go somewhere
    for e in examples:
        assert e.plan == e.truth, e.mission


def test_decoder_only_training_writes_a_loadable_decoder(checkpoint: Path) -> None:
    ckpt = load_checkpoint(checkpoint)
    assert ckpt.explainer is not None
    assert ckpt.config.decoder.width == 32
    assert "Plan decoder" in (checkpoint / "README.md").read_text()
    assert main(["train", "--decoder-only", "--out", str(checkpoint), "--data", "x"]) == 2


def test_the_agent_shows_only_a_checked_description(checkpoint: Path) -> None:
    agent = Agent.load(checkpoint, AgentConfig(beam={"horizon": 2, "width": 8}, max_steps=12))
    for seed in range(3):
        ep = agent.run(make_world("babyai:GoToLocal", seed=seed))
        d = ep.description
        assert d is not None and d.verified
        assert ep.explanation.startswith(d.text)
        assert check(read_claims(d.text), ep.narrative.facts) == ()


def test_retraining_the_levels_drops_a_stale_decoder(checkpoint: Path, tmp_path: Path, tiny_sets: list[str]) -> None:
    copy = tmp_path / "c"
    shutil.copytree(checkpoint, copy)
    data = tmp_path / "data"
    collect("babyai:GoToLocal", data, CollectConfig(episodes=4, max_steps=20), seed=2, progress=False)
    assert main(["train", "--data", str(data), "--out", str(copy), "--steps", "5", "-q", *tiny_sets]) == 0
    assert load_checkpoint(copy).explainer is None


def test_a_plan_comes_with_a_checked_description_of_the_route_ahead(checkpoint: Path) -> None:
    agent = Agent.load(checkpoint, AgentConfig(beam={"horizon": 2, "width": 8}, max_steps=12))
    obs, _ = make_world("babyai:GoToLocal", seed=4).reset()
    plan = agent.plan(obs, obs["mission"])
    assert plan.description is not None and plan.description.verified
    assert plan.description.text


def test_run_json_records_the_description(checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    out = tmp_path / "ep.json"
    main(["run", "--world", "babyai:GoToLocal", "--seed", "2", "--checkpoint", str(checkpoint), "--max-steps", "5",
          "--json", str(out), "--set", "agent.beam.horizon=2", "--set", "agent.beam.width=8"])
    doc = json.loads(out.read_text())
    d = doc["description"]
    assert d["verified"] is True and doc["explanation"].startswith(d["text"])
    assert "checked against the plan" in capsys.readouterr().out or d["fallback"]


def test_a_candidate_that_leaves_out_a_goal_is_not_shown(overfit) -> None:
    explainer, fa, _ = overfit
    both = PLAN_A._replace(goals=(*PLAN_A.goals, Fact("goal", "go to the grey box")))
    d = explainer.describe(fa, both, torch.Generator().manual_seed(0))  # the decoder says PLAN_A's text
    assert d.fallback and "grey box" in d.text
    assert any("leaves out the goal" in r for r in d.rejected)


def test_a_decoder_save_cut_between_its_renames_keeps_the_old_decoder(checkpoint: Path, tmp_path: Path) -> None:
    copy = tmp_path / "c"
    shutil.copytree(checkpoint, copy)
    (copy / "decoder").rename(copy / ".decoder.old")  # the state a kill between the two renames leaves
    ckpt = load_checkpoint(copy)
    assert ckpt.explainer is not None
    save_decoder(copy, ckpt.explainer)  # the next save tidies up
    assert (copy / "decoder").is_dir() and not (copy / ".decoder.old").exists()


def test_a_goal_restated_after_the_step_that_achieved_it_is_dropped() -> None:
    """DoorKey's explanation said "pick up the yellow key, then open the yellow door, ... then pick
    up the key, then open the door" (issue #34): the goals, restated less precisely after the
    steps that achieved them, go; every claim left is true and every goal still stated."""
    from decoder.facts import covers, drop_restated

    facts = Facts(
        goals=(Fact("goal", "pick up the key"), Fact("goal", "open the door"), Fact("goal", "go to the goal")),
        steps=(Fact("pickup", "the yellow key"), Fact("open", "yellow"), Fact("enter", "centre")),
        guards=(Fact("avoid", "lava"),),
    )
    said = ("I'll pick up the yellow key, then open the yellow door, then go into the centre room, then pick up the key, "
            "then open the door, then go to the goal. I'll keep clear of the lava.")
    kept = drop_restated(said, facts)
    assert kept == ("I'll pick up the yellow key, then open the yellow door, then go into the centre room, then go to the goal. "
                    "I'll keep clear of the lava.")
    assert check(read_claims(kept), facts) == () and stated(read_claims(kept), facts) == 1.0
    assert covers(Fact("pickup", "the yellow key"), Fact("goal", "pick up the key"))
    assert not covers(Fact("pickup", "the yellow key"), Fact("goal", "pick up the red key"))
    assert not covers(Fact("open", "red"), Fact("goal", "open the yellow door"))
    # a goal stated once, by its own words, stays; so does a text outside the description language
    plain = "I'll open the green door, then go into the right room, then go to the red ball."
    assert drop_restated(plain, Facts((Fact("goal", "go to the red ball"),), (Fact("open", "green"), Fact("enter", "right")), ())) == plain
    assert drop_restated("whatever it says", facts) == "whatever it says"
