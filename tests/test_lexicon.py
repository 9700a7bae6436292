"""WordNet's words for the grammar's concepts (`hagent.language.lexicon`): what the tags say, and
that the words held out of training stay out of it (issue #33's held-out bank is split by word)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hagent.language import COLORS
from hagent.language.lexicon import CONCEPTS, HELD_OUT, bases, names, tag, words
from hagent.language.paraphrase import NOISE_PHRASES, NOISE_WORDS, TRAINING, Phrasings

HELDOUT_WORDS = Path(__file__).resolve().parents[1] / "benchmarks" / "language_heldout_words.json"


def _concepts(text: str) -> list[str]:
    return [CONCEPTS[t - 1] if t else "" for t in tag(text.split())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grab the crimson orb", ["pick up", "", "red", "ball"]),
        ("took hold of a latchkey", ["pick up"] * 3 + ["", "key"]),  # an irregular form, a phrase
        ("Picking up the greyish strongbox!", ["pick up", "pick up", "", "grey", "box"]),  # -ing, punctuation
        ("zip to the crimsn basketballs", ["go to", "", "", "red", "ball"]),  # a typo, a plural
        ("the tennis ball", ["", "ball", "ball"]),  # the longest phrase wins
        ("hello there friend", ["", "", ""]),
    ],
)
def test_tags_name_the_concept_each_word_carries(text: str, expected: list[str]) -> None:
    assert _concepts(text) == expected


def test_inflections_follow_wordnets_rules() -> None:
    assert "grab" in bases("grabbing") and "box" in bases("boxes") and "go" in bases("went")
    assert names("the red-coloured ball", "red") and names("a scarlet box", "red") and not names("the ball", "red")


def test_held_out_words_are_the_tables_and_training_never_says_them() -> None:
    table = {w for c in CONCEPTS for w in words(c)}
    assert HELD_OUT <= table
    for concept in CONCEPTS:
        training = words(concept, "training")
        assert training and not set(training) & HELD_OUT
        for w in training:  # nor inside a training phrase ("cherry-red" holds "cherry")
            assert not set(w.replace("-", " ").split()) & HELD_OUT, w
    said = " | ".join(sorted(TRAINING.phrases() | set(NOISE_WORDS) | set(NOISE_PHRASES)))
    leaked = [w for w in HELD_OUT if re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", said)]
    assert not leaked


def test_the_held_out_bank_says_held_out_words_for_every_colour_and_kind() -> None:
    bank = Phrasings.load(HELDOUT_WORDS)
    for color in COLORS:
        assert set(bank.colors[color]) & HELD_OUT, color
    for kind in ("ball", "box", "key", "door"):
        assert set(bank.kinds[kind]) & HELD_OUT, kind
    verbs = " | ".join(bank.goto + bank.pickup + bank.open + bank.put)
    for concept in ("go to", "pick up", "open", "put"):
        assert any(w in verbs for w in words(concept, "held-out")), concept
