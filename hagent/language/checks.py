"""Checks on a reading of a text: does it name only what the text names (`unnamed`), and every
colour the text says (`unread`)? They decide nothing; a reading that fails one is asked about,
however it was made (the lexical reader's or the normalizer's).

    >>> from hagent.language import parse
    >>> unnamed("grab me the key hree", parse("pick up the green key"))
    ('green',)
"""

from __future__ import annotations

import unicodedata

from hagent.language import lexicon
from hagent.language.lexicon import near
from hagent.language.paraphrase import TRAINING
from hagent.language.rules import COMPASS, HORIZONTAL, MIDDLE, VERTICAL  # the grammar's place words
from hagent.language.task import COLORS, AvoidHazard, AvoidRegion, Both, GoTo, ObjectRef, Open, PickUp, PutNext, Sequence, Task

# The words the training phrasings use for each kind, and the grammar's words for each part of a
# room's place: what a text must say for a reading to name that kind or place.
_KIND_WORDS = {k: tuple(dict.fromkeys((k, *(w for w in words if " " not in w)))) for k, words in TRAINING.kinds.items() if k != "object"}
_PLACE_WORDS: dict[str, tuple[str, ...]] = {}
for _word, _part in (*VERTICAL.items(), *HORIZONTAL.items(), *((m, "centre") for m in MIDDLE)):
    _PLACE_WORDS[_part] = (*_PLACE_WORDS.get(_part, ()), _word)
_COMPASS_WORDS = {position: (word,) for word, position in COMPASS.items()}


def unnamed(text: str, task: Task | None) -> tuple[str, ...]:
    """The colours, kinds, lava and room places a reading of `text` names that the text doesn't
    mention (up to one typo per word; a WordNet word for it counts, `lexicon.names`): a check on the model, as the plan decoder's texts are
    checked against the plan. Nothing here decides what to do."""
    if task is None:
        return ()
    tokens = "".join(c if c.isalnum() else " " for c in text.lower().replace("-", " ")).split()

    def said(*words: str) -> bool:
        return any(near(w, t) for w in words for t in tokens)

    missing: list[str] = []
    refs = []
    nodes = [task.goal]
    while nodes:
        node = nodes.pop()
        match node:
            case Both(a, b):
                nodes += [a, b]
            case Sequence(first, second):
                nodes += [first, second]
            case PutNext(move, fixed):
                refs += [move, fixed]
            case GoTo(obj) | PickUp(obj) | Open(obj):
                refs.append(obj)
    def colour_said(color: str) -> bool:
        return said(color, *(("gray",) if color == "grey" else ())) or lexicon.names(text, color)

    for ref in refs:
        if ref.color and not colour_said(ref.color):
            missing.append(ref.color)
        if ref.kind and not (said(*_KIND_WORDS[ref.kind]) or (ref.kind in lexicon.CONCEPTS and lexicon.names(text, ref.kind))):
            missing.append(ref.kind)
    for g in task.guardrails:
        match g:
            case AvoidHazard(hazard) if not said(hazard):
                missing.append(hazard)
            case AvoidRegion(region):
                if region.color and not colour_said(region.color):
                    missing.append(f"the {region.color} room")
                position = region.position
                if position and not said(*_COMPASS_WORDS.get(position, ())):
                    parts = ("centre",) if position == "centre" else position.split("-")
                    if not all(said(*_PLACE_WORDS[p]) for p in parts):
                        missing.append(f"the {position} room")
    return tuple(dict.fromkeys(missing))


def unread(text: str, task: Task | None) -> tuple[str, ...]:
    """The colours `text` says (up to one typo per word; a WordNet word for one counts) that a
    reading of it names nowhere: "go to the rde ball" read as "go to the ball" has dropped a
    word the user said, so the reading is not the text's. The converse of `unnamed`; a check,
    deciding nothing."""
    if task is None:
        return ()
    tokens = _tokens(text)
    named: set[str] = set()
    nodes: list[object] = [task.goal, *task.guardrails]
    while nodes:
        node = nodes.pop()
        match node:
            case Both(a, b) | Sequence(a, b) | PutNext(a, b):
                nodes += [a, b]
            case GoTo(obj) | PickUp(obj) | Open(obj):
                nodes.append(obj)
            case AvoidRegion(region):
                named.add(region.color or "")
            case ObjectRef(color=color) if color:
                named.add(color)
    tagged = lexicon.named(text)
    # a word the lexicon files under another concept ("grab": pick up) is not a typo of a colour ("gray")
    maybe = [t for t, tag in zip(tokens, lexicon.tag(tokens), strict=True) if not tag or lexicon.CONCEPTS[tag - 1] in COLORS]
    said = [c for c in COLORS if any(near(w, t) for w in ((c, "gray") if c == "grey" else (c,)) for t in maybe) or c in tagged]
    return tuple(c for c in said if c not in named)


def _tokens(text: str) -> list[str]:
    """Lower-case words of `text`, accents dropped ("re\u0301d" is "red")."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in bare.replace("-", " ")).split()


