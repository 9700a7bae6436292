"""What WordNet says a word of an instruction names: one of the grammar's concepts, or nothing.

`hagent/language/lexicon.json` (built by `scripts/build_lexicon.py` from Debian's wordnet-base)
lists, for each concept of the grammar (the four verbs, four kinds, six colours, the words that
join goals in order ("then") or in any order ("also"), and the guardrails' "avoid"), the English
words and phrases that carry it, and WordNet's irregular inflections of them. `tag` marks each
word of a text with the concept it names, so the normalizer knows "crimson" is a colour it never
saw in training and which one: the model reads the tag next to the word, and the tag comes from
WordNet, not from the phrasings it trained on. Inflections are found with WordNet's own
detachment rules ("grabbing" -> "grab", "boxes" -> "box"); one typo is forgiven in words of five
letters or more.

A tag is a hint, not a reading: "get" is tagged "pick up" in "get to the ball" too, and the model
learns from context when the hint is wrong. Nothing here decides what an instruction means.

The table's words are split once, before any model was trained on them (`HELD_OUT`): training's
phrasings never use the held-out ones, and the held-out bank of `benchmarks/` says instructions
with them, so a score on it measures words the model knows only through WordNet.

    >>> [CONCEPTS[t - 1] if t else "" for t in tag("grab the crimson orb".split())]
    ['pick up', '', 'red', 'ball']
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("lexicon.json")

HELD_OUT = frozenset({
    "travel", "hurry", "draw near", "come near", "locomote", "zip",  # go to
    "seize", "gather up", "lift up", "convey",  # pick up
    "break open", "pose",  # open, put
    "football", "basketball", "bocce ball", "boccie ball", "cricket ball", "field hockey ball", "golf ball",
    "lacrosse ball", "ninepin ball", "ping-pong ball", "polo ball", "punchball", "racquetball", "skittle ball",
    "softball", "tennis ball", "wiffle ball",
    "cigar box", "snuffbox", "alms box", "bandbox", "deedbox", "matchbox", "pencil box", "playbox", "shadow box",
    "strongbox", "tuck box",
    "latchkey", "passkey",
    "car door", "cargo door", "fire door", "interior door", "sliding door", "swing door",
    "carmine", "cherry", "crimson", "ruby", "ruddy", "greenish", "bluish", "violet", "yellowish", "greyish",
    "later on", "subsequently", "additionally", "to boot", "eschew",  # then, also, avoid
})  # fmt: skip
"""Table words training never uses, chosen once by a rule before training: of each concept's
words that the hand-written training phrasings didn't already use (its own name aside), every
second one in the table's order, and every one the old held-out or calibration banks use."""

_ENDINGS = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("ies", "y"),
            ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""))  # fmt: skip
"""WordNet's detachment rules for nouns and verbs (morphy): ending -> what replaces it."""


@lru_cache(maxsize=1)
def _raw() -> dict:
    return json.loads(TABLE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[str, ...], dict[tuple[str, ...], int], dict[str, str], dict[str, int]]:
    raw = _raw()
    concepts = tuple(raw["concepts"])
    phrases = {tuple(row["words"].split()): i + 1 for i, rows in enumerate(raw["concepts"].values()) for row in rows}
    singles = {p[0]: c for p, c in phrases.items() if len(p) == 1 and len(p[0]) >= 5}
    return concepts, phrases, raw["forms"], singles


CONCEPTS: tuple[str, ...] = _table()[0]
"""The concepts, in the table's order; a tag t > 0 is CONCEPTS[t - 1]."""
LONGEST = max(len(p) for p in _table()[1])


def words(concept: str, split: str = "all") -> tuple[str, ...]:
    """The table's words and phrases for `concept`: "all", the "training" ones or the "held-out" ones."""
    raw = _raw()
    rows = [row["words"] for row in raw["concepts"][concept]]
    if split == "all":
        return tuple(rows)
    if split == "held-out":
        return tuple(w for w in rows if w in HELD_OUT)
    # A training word must not carry a held-out one inside it ("cherry-red", "travel rapidly").
    return tuple(w for w in rows if w not in HELD_OUT and not HELD_OUT & set(w.replace("-", " ").split()))


@lru_cache(maxsize=None)
def reader_words(concept: str) -> tuple[tuple[str, ...], ...]:
    """The lexical reader's own senses (`reader` in the table: "beware", "careful", "forbidden",
    "release"), each phrase as its words ("off-limits" -> ("off", "limits")), longest first. The
    normalizer never sees these: it was trained on `CONCEPTS` alone."""
    raw = _raw()
    phrases = {tuple(row["words"].replace("-", " ").split()) for row in raw["reader"][concept]}
    return tuple(sorted(phrases, key=lambda p: (-len(p), p)))


@lru_cache(maxsize=1)
def _english() -> tuple[frozenset[str], frozenset[str]]:
    raw = _raw()["english"]
    return frozenset(raw["words"].split()), frozenset(raw["colourish"].split())


def english(word: str) -> bool:
    """Whether WordNet files `word` (or a form it inflects from) as a word of English: not a typo."""
    return any(b in _english()[0] for b in bases(word))


def colourish(word: str) -> bool:
    """Whether one of the senses of `word` (or of a form it inflects from) names a colour ("lemon", "navy")."""
    return any(b in _english()[1] for b in bases(word))


def near(word: str, token: str) -> bool:
    """Whether `token` is `word` up to one edit (insert, delete, substitute, swap neighbours)."""
    if word == token:
        return True
    if abs(len(word) - len(token)) > 1 or min(len(word), len(token)) < 3:
        return False
    if len(word) == len(token):
        diff = [i for i, (a, b) in enumerate(zip(word, token, strict=True)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == token[diff[1]] and word[diff[1]] == token[diff[0]])
    short, long = sorted((word, token), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def bases(word: str) -> tuple[str, ...]:
    """`word` and the forms WordNet's rules say it may be inflected from ("running" -> "run")."""
    _, _, forms, _ = _table()
    out = [word]
    if word in forms:
        out.append(forms[word])
    for ending, replace in _ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 1:
            stem = word[: -len(ending)] + replace
            out.append(stem)
            if not replace and len(stem) > 2 and stem[-1] == stem[-2]:  # "grabbing" -> "grabb" -> "grab"
                out.append(stem[:-1])
    return tuple(dict.fromkeys(out))


def listed(word: str) -> bool:
    """Whether `word` (or a form it inflects from) is a one-word entry of the table, as spelled."""
    phrases = _table()[1]
    return any((b,) in phrases for b in bases(word))


def clean(word: str) -> str:
    """A whitespace-split word without the punctuation around it, lower-cased."""
    return word.lower().strip(".,;:!?\"'()[]")


def tag(text_words: list[str]) -> list[int]:
    """For each word, the concept (1-based index into CONCEPTS) of the table phrase it is part of,
    or 0: longest phrase first, inflections by WordNet's rules, one typo forgiven in long words."""
    _, phrases, _, singles = _table()
    cleaned = [clean(w) for w in text_words]
    options = [bases(w) for w in cleaned]
    tags = [0] * len(cleaned)
    i = 0
    while i < len(cleaned):
        for n in range(min(LONGEST, len(cleaned) - i), 0, -1):
            # Only the first word of a phrase inflects ("took hold of", "picking up").
            heads = options[i]
            rest = tuple(cleaned[i + 1 : i + n])
            concept = next((phrases[(h, *rest)] for h in heads if (h, *rest) in phrases), 0)
            if concept:
                tags[i : i + n] = [concept] * n
                i += n
                break
        else:
            word = cleaned[i]
            if len(word) >= 5:
                found = {c for w, c in singles.items() if near(w, word)}
                if len(found) == 1:
                    tags[i] = found.pop()
            i += 1
    return tags


def names(text: str, concept: str) -> bool:
    """Whether `text` has a word or phrase the table files under `concept` (up to one typo in long words)."""
    return concept in named(text)


def named(text: str) -> set[str]:
    """Every concept `text` has a word or phrase for (up to one typo in long words)."""
    found = {*tag(text.replace("-", " - ").split()), *tag(text.split())}
    return {CONCEPTS[i - 1] for i in found if i}
