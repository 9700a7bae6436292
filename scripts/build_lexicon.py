"""Build `hagent/language/lexicon.json`: English words for the grammar's concepts, read from WordNet.

    python scripts/build_lexicon.py [--wordnet /usr/share/wordnet] [--out hagent/language/lexicon.json] [--check]

Prior knowledge of English without a download at run time: WordNet's database ships as a Debian
package (`apt-get install wordnet-base`, WordNet 3.0, Princeton University's WordNet licence,
quoted in the table). This script reads its `data.*` and `cntlist.rev` files (no nltk) and writes
one table the project ships: for every concept of the instruction grammar (the verbs, object
kinds and colours, the words that join goals in order or in any order, and the guardrails' verb), the WordNet senses that carry it, each with its synonyms and,
where named below, its direct hyponyms (verbs, nouns) or similar adjectives (colours), and how
often each sense is tagged in WordNet's semantic concordance (`count`; 0 = untagged). A lemma
that lands in two concepts is dropped from both: the table never says which of two meanings a
word has. Two more parts are the lexical reader's alone (the normalizer was trained on
`concepts` and never reads them): `reader`, a few more senses (READER_SEEDS: "mind the lava",
"off limits", "let go of"), and `english`, every one-word lemma of WordNet's indexes with those
that have a colour sense. `--check` rebuilds in memory and exits 1 if the shipped table differs.

Which senses carry a concept is chosen here, by sense, once (SEEDS); everything else is WordNet's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "hagent" / "language" / "lexicon.json"
FILES = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
SS_NUMBER = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}

# concept -> (part of speech, synset offset, relations to follow: "~" hyponyms, "&" similar adjectives)
SEEDS: dict[str, list[tuple[str, str, str]]] = {
    "go to": [("v", "01835514", ""),    # travel, go, move, locomote: change location
              ("v", "01904948", ""),    # walk: advance by steps
              ("v", "01926329", ""),    # run: move fast on foot
              ("v", "02055667", ""),    # travel rapidly, speed, hurry, zip
              ("v", "01935251", ""),    # head: to go or travel towards
              ("v", "02053959", "")],   # approach, near, come on, draw near
    "pick up": [("v", "01976107", ""),  # pick up, lift up, gather up
                ("v", "01207420", ""),  # pick up: take up by hand
                ("v", "01214283", ""),  # take, get hold of: get into one's hands
                ("v", "01439208", ""),  # catch, grab, take hold of
                ("v", "01212590", ""),  # seize, prehend, clutch
                ("v", "01433312", "")],  # bring, get, convey, fetch
    "open": [("v", "01346021", "~")],    # open, open up: cause to open
    "put": [("v", "01494328", "")],      # put, set, place, pose, position, lay
    "ball": [("n", "02778669", "~"), ("n", "02779435", ""), ("n", "13899404", "")],  # game ball, plaything, globe/orb
    "box": [("n", "02883344", "~"), ("n", "03127925", "")],  # box (container), crate
    "key": [("n", "03613294", "~")],
    "door": [("n", "03221720", "~")],
    "red": [("a", "00381097", "&")],
    "green": [("a", "00375969", "&")],
    "blue": [("a", "00370869", "&")],
    "purple": [("a", "00380312", "&")],
    "yellow": [("a", "00385756", "&")],
    "grey": [("a", "00389310", "")],     # (its similar adjectives are "achromatic", "neutral")
    # the joining words and the guardrail verb
    "then": [("r", "00061203", ""),     # subsequently, later, afterwards, after
             ("r", "00054212", "")],    # next: at the time immediately following
    "also": [("r", "00047534", ""),     # besides, too, also, likewise, as well
             ("r", "00046167", "")],    # additionally, to boot
    "avoid": [("v", "00811393", ""),    # avoid: stay clear from, keep away from
              ("v", "00812167", "")],   # shun, eschew: stay away from deliberately
}

# The lexical reader's own senses (`reader` in the table), kept apart from `concepts` because the
# normalizer was trained on those: adding a sense there would change what it was trained to see.
READER_SEEDS: dict[str, list[tuple[str, str, str]]] = {
    "beware": [("v", "00724682", ""),    # beware, mind: be on one's guard ("mind the lava")
               ("v", "02151984", "")],   # watch, look out, watch out: be vigilant
    "careful": [("a", "00309021", ""),   # careful: exercising caution
                ("a", "00325281", "")],  # cautious
    "forbidden": [("s", "02002684", ""),  # off-limits, out-of-bounds: barred ("that area is off-limits")
                  ("s", "01761376", "")],  # forbidden, prohibited, proscribed, taboo, verboten
    "release": [("v", "01474568", "")],  # let go of, let go, release, relinquish: the hand lets go ("drop")
}
"""A hyponym joins its concept only when it names the concept's own word ("billiard ball", "trap
door", "reopen"), not a thing of another shape that WordNet files under it ("revolver", "jack")."""

RELATIONS = {"~": "hyponym", "&": "similar"}
"""The WordNet pointers SEEDS may follow, by symbol."""

LICENCE = (
    "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND DATABASE IS "
    "PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. "
    "Permission to use, copy, modify and distribute this software and database and its documentation for any "
    "purpose and without fee or royalty is granted, provided that this copyright notice and these statements, "
    "including the disclaimer, appear on all copies (https://wordnet.princeton.edu/license-and-commercial-use)."
)


class Synset:
    def __init__(self, line: str):
        fields = line.split("|", 1)[0].split()
        self.offset, self.lex_file, self.pos = fields[0], fields[1], fields[2]
        count = int(fields[3], 16)
        self.words = [(fields[4 + 2 * i], int(fields[5 + 2 * i], 16)) for i in range(count)]
        at = 4 + 2 * count
        pointers = int(fields[at])
        self.pointers = [(fields[at + 1 + 4 * i], fields[at + 2 + 4 * i], fields[at + 3 + 4 * i]) for i in range(pointers)]
        self.gloss = line.split("|", 1)[1].strip() if "|" in line else ""


class WordNet:
    def __init__(self, root: Path):
        self.root = root
        self.counts: dict[str, int] = {}
        for line in (root / "cntlist.rev").read_text(encoding="utf-8").splitlines():
            key, _, count = line.split()
            self.counts[key] = int(count)

    def synset(self, pos: str, offset: str) -> Synset:
        with open(self.root / f"data.{FILES[pos]}", "rb") as f:
            f.seek(int(offset))
            return Synset(f.readline().decode("utf-8"))

    def count(self, synset: Synset, lemma: str, lex_id: int) -> int:
        if synset.pos == "s":
            return 0  # satellites' sense keys name their head; they are rarely tagged
        key = f"{lemma.lower()}%{SS_NUMBER[synset.pos]}:{synset.lex_file}:{lex_id:02d}::"
        return self.counts.get(key, 0)


def _phrase(lemma: str) -> str:
    word = lemma.split("(")[0]  # adjective markers: "red(p)"
    return word.replace("_", " ").lower()


def build(wordnet: Path) -> dict:
    wn = WordNet(wordnet)
    entries = _entries(wn, SEEDS)
    owners: dict[str, set[str]] = {}
    for concept, found in entries.items():
        for phrase in found:
            owners.setdefault(phrase, set()).add(concept)
    ambiguous = sorted(p for p, o in owners.items() if len(o) > 1)
    concepts = {
        concept: [{"words": p, **row} for p, row in sorted(found.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
                  if p not in ambiguous]
        for concept, found in entries.items()
    }
    reader = {concept: [{"words": p, **row} for p, row in sorted(found.items(), key=lambda kv: (-kv[1]["count"], kv[0]))]
              for concept, found in _entries(wn, READER_SEEDS).items()}
    return {
        "source": "WordNet 3.0 (Princeton University), read from the Debian package wordnet-base by scripts/build_lexicon.py",
        "licence": LICENCE,
        "dropped_as_ambiguous": ambiguous,
        "concepts": concepts,
        "forms": irregular_forms(wordnet, concepts),
        "reader": reader,
        "english": english_words(wordnet),
    }


def _entries(wn: WordNet, seeds_by_concept: dict[str, list[tuple[str, str, str]]]) -> dict[str, dict[str, dict]]:
    """Each concept's phrases, from its seed senses and the relations they name."""
    entries: dict[str, dict[str, dict]] = {}
    for concept, seeds in seeds_by_concept.items():
        found = entries.setdefault(concept, {})
        for pos, offset, follow in seeds:
            head = wn.synset(pos, offset)
            heads = [_phrase(w) for w, _ in head.words]
            todo = [(head, "synonym")] + [(wn.synset(p_pos, p_off), RELATIONS[sym])
                                          for sym, p_off, p_pos in head.pointers if sym in follow]
            for synset, relation in todo:
                for lemma, lex_id in synset.words:
                    phrase = _phrase(lemma)
                    if relation == "hyponym" and not any(h in phrase for h in heads):
                        continue
                    row = {"relation": relation, "synset": f"{synset.pos}:{synset.offset}",
                           "count": wn.count(synset, lemma.split("(")[0], lex_id)}
                    if phrase not in found or (found[phrase]["relation"] != "synonym" and relation == "synonym"):
                        found[phrase] = row
    return entries


COLOR = ("n", "04956594")  # color, colour, coloring: a visual attribute (its hyponyms name colours)


def english_words(wordnet: Path) -> dict[str, list[str]]:
    """Every one-word lemma WordNet files (`words`, one string, space-separated: a word of
    English, not a typo), and those of
    them with a sense that names a colour (`colourish`: a hyponym of colour, or an adjective whose
    gloss speaks of colour): "bouncy" and "cardboard" are English and say nothing of colour;
    "lemon", "navy" and "deep" may."""
    wn = WordNet(wordnet)
    words: set[str] = set()
    for name in ("noun", "verb", "adj", "adv"):
        for line in (wordnet / f"index.{name}").read_text(encoding="utf-8").splitlines():
            lemma = line.split(" ", 1)[0]
            if not line.startswith(" ") and lemma.isalpha() and lemma.isascii():
                words.add(lemma.lower())
    colourish: set[str] = set()
    todo, seen = [COLOR[1]], set()
    while todo:  # the colour nouns: hyponyms of colour, all the way down
        synset = wn.synset("n", todo.pop())
        colourish.update(_phrase(w) for w, _ in synset.words)
        for sym, offset, pos in synset.pointers:
            if sym in ("~", "~i") and pos == "n" and offset not in seen:
                seen.add(offset)
                todo.append(offset)
    for line in (wordnet / "data.adj").read_text(encoding="utf-8").splitlines():
        if line[:1].isdigit() and any(c in line.split("|", 1)[-1].lower() for c in ("color", "colour", "hue")):
            colourish.update(_phrase(w) for w, _ in Synset(line).words)
    return {"words": " ".join(sorted(words)), "colourish": " ".join(sorted(w for w in colourish if w in words))}


def irregular_forms(wordnet: Path, concepts: dict[str, list[dict]]) -> dict[str, str]:
    """WordNet's irregular inflections (`verb.exc`, `noun.exc`) of the table's words, and of the
    first word of its phrases ("took" -> "take", for "take hold of"): inflected form -> base. The
    regular ones ("grabbing", "boxes") are WordNet's detachment rules, applied where the table is read."""
    heads = {row["words"].split()[0] for rows in concepts.values() for row in rows}
    forms: dict[str, str] = {}
    for name in ("verb.exc", "noun.exc"):
        for line in (wordnet / name).read_text(encoding="utf-8").splitlines():
            form, *bases = line.split()
            for base in bases:
                if base in heads and form not in heads:
                    forms.setdefault(form, base)
    return dict(sorted(forms.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"), help="WordNet's dict folder (data.noun, cntlist.rev, ...)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--check", action="store_true", help="exit 1 if the table at --out differs from a fresh build")
    args = p.parse_args(argv)
    if not (args.wordnet / "data.verb").exists():
        print(f"build_lexicon: no WordNet database in {args.wordnet} (apt-get install wordnet-base)", file=sys.stderr)
        return 2
    table = json.dumps(build(args.wordnet), indent=1) + "\n"
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == table
        print(f"build_lexicon: {args.out} is {'up to date' if same else 'stale: rebuild it'}")
        return 0 if same else 1
    sys.path.insert(0, str(ROOT))
    from hagent.io import atomic_write_text

    atomic_write_text(args.out, table)
    rows = json.loads(table)["concepts"]
    print(f"build_lexicon: {sum(len(v) for v in rows.values())} entries for {len(rows)} concepts -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
