"""How well does the language front end understand what people say to it?

Four measurements, printed as tables and written as JSON:

1. **Coverage**: the mission of every registered minigrid/BabyAI environment (5 seeds each)
   parses into a task the world can judge, or is refused with a reason; counted by family.
   Nothing may raise anything else.
2. **Paraphrases**: held-out paraphrases go through
   `hagent.language.understand` (grammar first, normalizer second), from two banks training never
   draws from (seed 7,000,007; 7,000,000-7,000,006 were read while building the readers): `language_heldout_words.json` (issue #33: WordNet words the
   lexicon holds out of training, `hagent.language.lexicon.HELD_OUT`, in constructions no
   training phrasing uses) and `language_heldout.json` (the older bank: phrasings and filler
   words the normalizer never trained on), and `language_heldout_fresh.json` (written on 2026-12-07
   by a helper that never saw the readers; its development seed is 6,200,000). Reported: the share that
   reads as the same task as its canonical form, the share the agent asks about (below the
   threshold), the share of confident wrong readings, and the same for the grammar alone.
3. **Latency**: milliseconds the normalizer adds to an instruction that needed it.
4. **Agent**: success of the shipped agent on the families the grammar newly covers (the
   world's own mission as the instruction, the world's own judgement), on reporting seeds.

    python benchmarks/language.py [--quick] [--checkpoint DIR] [--pairs N] [--episodes N] [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import statistics
import sys
import time
from pathlib import Path

from tqdm import tqdm

from hagent.io import atomic_write_text
from hagent.language import ParseError, UnclearError, parse, same_task, understand
from hagent.language.missions import registered_missions
from hagent.language.paraphrase import TRAINING, Phrasings, paraphrase

HELDOUT = Path(__file__).with_name("language_heldout.json")
HELDOUT_WORDS = Path(__file__).with_name("language_heldout_words.json")
HELDOUT_FRESH = Path(__file__).with_name("language_heldout_fresh.json")
HELDOUT_SEED = 7_000_007  # 7,000,000-7,000,006 were read while building the readers (BENCHMARKS.md)
# The families whose missions the grammar took only after issue #19, one or two sizes each.
NEW_FAMILIES = (
    "minigrid:MiniGrid-SimpleCrossingS9N1-v0", "minigrid:MiniGrid-SimpleCrossingS11N5-v0",
    "minigrid:MiniGrid-DoorKey-5x5-v0", "minigrid:MiniGrid-DoorKey-8x8-v0", "minigrid:MiniGrid-Fetch-8x8-N3-v0",
    "minigrid:MiniGrid-LockedRoom-v0", "minigrid:MiniGrid-MultiRoom-N2-S4-v0", "minigrid:MiniGrid-MultiRoom-N4-S5-v0",
    "minigrid:MiniGrid-RedBlueDoors-8x8-v0",
)  # fmt: skip
REPORT_SEED = 220_000  # first reporting seed of the agent runs (never used while developing)


def coverage(seeds: range, progress: bool) -> dict:
    """Parse every registered mission; count parsed / refused (with the reason) / raised per family."""
    from hagent.worlds.grid import _babyai_instr

    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    refusals: dict[str, set[str]] = collections.defaultdict(set)
    raised: list[str] = []
    missions = list(registered_missions(seeds))
    for m in tqdm(missions, desc="coverage", unit="mission", disable=not progress, leave=False):
        row = rows[m.family]
        row["missions"] += 1
        try:
            task = parse(m.text)
            if task.goal is not None and m.family.startswith("babyai:"):
                _babyai_instr(task.goal)  # the verifier a BabyAI world judges the task with (others judge their own mission)
            row["parsed"] += 1
        except ParseError as err:
            row["refused"] += 1
            refusals[m.family].add(f"{m.text!r}: {err.reason}")
        except Exception as err:  # noqa: BLE001 -- counting these is the point
            row["raised"] += 1
            raised.append(f"{m.env_id} seed {m.seed}: {m.text!r}: {type(err).__name__}: {err}")
    families = {f: {**dict(c), "refusals": sorted(refusals[f])[:3]} for f, c in sorted(rows.items())}
    total = collections.Counter()
    for c in rows.values():
        total.update(c)
    environments = len({m.env_id for m in missions})
    return {"seeds": len(seeds), "environments": environments, "total": dict(total), "families": families, "raised": raised}


def paraphrases(normalizer, pairs: int, progress: bool, bank: Phrasings, seed: int, lexical: bool = True) -> dict:
    """Paraphrases from `bank` through the grammar alone and through grammar + normalizer."""
    rng = random.Random(seed)
    counts = collections.Counter()
    grammar = collections.Counter()
    by_reader: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    added_ms: list[float] = []
    wrong: list[str] = []
    for _ in tqdm(range(pairs), desc="paraphrases", unit="text", disable=not progress, leave=False):
        pair = paraphrase(rng, bank)
        try:
            g = parse(pair.text)
            grammar["same" if same_task(g, pair.task) else "wrong"] += 1
        except ParseError:
            grammar["same" if pair.task is None else "not understood"] += 1
        t0 = time.perf_counter()
        try:
            task, outcome = understand(pair.text, normalizer, **({} if lexical else {"lexical": None})), None
        except UnclearError:
            task, outcome = None, "asked"
        except ParseError:
            task, outcome = None, "not understood"
        if normalizer is not None and (task is None or task.read_as):
            added_ms.append(1000 * (time.perf_counter() - t0))
        if pair.task is None:  # a non-instruction is read right when nothing is acted on
            outcome = "same" if task is None else "wrong"
        elif outcome is None:
            outcome = "same" if same_task(task, pair.task) else "wrong"
        counts[outcome] += 1
        reader = "asked" if task is None else (task.read_by or "grammar")
        by_reader[reader][outcome] += 1
        if outcome == "wrong" and len(wrong) < 10:
            said = "nothing" if task is None else repr(task.read_as or task.describe())
            wrong.append(f"{pair.text!r} -> {said}, meant {pair.canonical!r}")
    n = pairs

    def shares(c: collections.Counter) -> dict:
        return {k: c[k] / n for k in ("same", "wrong", "asked", "not understood")}

    latency = {}
    if added_ms:
        ordered = sorted(added_ms)
        latency = {"median_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))], "n": len(ordered)}
    return {"pairs": n, "seed": seed, "front_end": shares(counts), "grammar_alone": shares(grammar),
            "normalizer_latency": latency, "wrong_examples": wrong,
            "by_reader": {r: {k: c[k] / n for k in ("same", "wrong")} for r, c in sorted(by_reader.items()) if r != "asked"}}  # fmt: skip


def agent_success(checkpoint: str | None, episodes: int, seed: int, worlds: tuple[str, ...], progress: bool) -> list[dict]:
    """The shipped agent on each world's own mission: success, steps and planning time."""
    from hagent.acting.agent import DEFAULT_CHECKPOINT
    from hagent.acting import Agent
    from hagent.evaluate import evaluate

    agent = Agent.load(checkpoint or DEFAULT_CHECKPOINT)
    rows = []
    for world in worlds:
        s = evaluate(agent, world, episodes, seed, progress=progress, reference=False).summary()
        rows.append({"world": world, "episodes": episodes, "seeds": f"{seed}..{seed + episodes - 1}",
                     "success": s["success_rate"], "mean_steps": s["mean_steps"], "median_ms": s["median_planning_ms"] or 0.0,
                     "violations": s["violations"]})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 1 if any mission raised something other than a refusal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed per environment, 300 paraphrases, 2 episodes of 2 worlds")
    parser.add_argument("--checkpoint", metavar="DIR", help="checkpoint whose normalizer and agent to use (default: the shipped one)")
    parser.add_argument("--pairs", type=int, default=5000, help="held-out paraphrases (default 5000)")
    parser.add_argument("--episodes", type=int, default=20, help="agent episodes per newly covered world (default 20; 0 skips)")
    parser.add_argument("--seed", type=int, default=REPORT_SEED, help=f"first agent seed (default {REPORT_SEED})")
    parser.add_argument("--text-seed", type=int, default=HELDOUT_SEED, help=f"seed of the paraphrases (default {HELDOUT_SEED})")
    parser.add_argument("--no-lexical", action="store_true", help="grammar + normalizer only, as before the lexical reader")
    parser.add_argument("--json", default="benchmarks/results/language.json", help="where to write the results")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.episodes < 0:
        parser.error("--pairs must be at least 1 and --episodes at least 0")
    from hagent.acting.agent import DEFAULT_CHECKPOINT
    from hagent.checkpoint import load_normalizer

    progress = not args.quiet
    seeds, pairs = (range(1), 300) if args.quick else (range(5), args.pairs)
    episodes, worlds = (2, NEW_FAMILIES[:2]) if args.quick else (args.episodes, NEW_FAMILIES)
    normalizer = load_normalizer(args.checkpoint or DEFAULT_CHECKPOINT)

    start = time.perf_counter()
    cov = coverage(seeds, progress)
    print(f"Coverage: {cov['environments']} registered environments x {len(seeds)} seeds = {cov['total']['missions']} missions: "
          f"{cov['total'].get('parsed', 0)} parsed, {cov['total'].get('refused', 0)} refused with a reason, "
          f"{cov['total'].get('raised', 0)} raised")  # fmt: skip
    print(f"  {'family':<28}{'missions':>9}{'parsed':>8}{'refused':>8}")
    for fam, row in cov["families"].items():
        print(f"  {fam:<28}{row['missions']:>9}{row.get('parsed', 0):>8}{row.get('refused', 0):>8}")
        for r in row["refusals"] if row.get("refused") else ():
            print(f"      refused: {r[:150]}")
    for r in cov["raised"]:
        print(f"  RAISED {r}")

    words = paraphrases(normalizer, pairs, progress, Phrasings.load(HELDOUT_WORDS), args.text_seed, not args.no_lexical)
    para = paraphrases(normalizer, pairs, progress, Phrasings.load(HELDOUT), args.text_seed, not args.no_lexical)
    # The training phrasings on seeds training never drew (it used seeds 0-2): new combinations and typos.
    known = paraphrases(normalizer, pairs, progress, TRAINING, args.text_seed, not args.no_lexical)
    # Written on 2026-12-07 by a helper that never saw the readers, before they were changed that day.
    fresh = paraphrases(normalizer, pairs, progress, Phrasings.load(HELDOUT_FRESH), args.text_seed, not args.no_lexical)
    print(f"\nParaphrases ({pairs} each, seed {args.text_seed}{', no lexical reader' if args.no_lexical else ''}):")
    print(f"  {'':<54}{'same task':>10}{'asked':>8}{'not read':>9}{'wrong':>8}")
    for name, row in (("held-out words + constructions, grammar alone", words["grammar_alone"]),
                      ("held-out words + constructions, grammar + normalizer", words["front_end"]),
                      ("held-out phrasings, grammar alone", para["grammar_alone"]),
                      ("held-out phrasings, grammar + normalizer", para["front_end"]),
                      ("training phrasings (new seeds), grammar alone", known["grammar_alone"]),
                      ("training phrasings (new seeds), grammar + normalizer", known["front_end"]),
                      ("fresh bank (2026-12-07), grammar alone", fresh["grammar_alone"]),
                      ("fresh bank (2026-12-07), grammar + normalizer", fresh["front_end"])):  # fmt: skip
        print(f"  {name:<54}{row['same']:>10.4f}{row['asked']:>8.4f}{row['not understood']:>9.4f}{row['wrong']:>8.4f}")
    print("  read by (share of all texts: same / wrong):")
    for name, run in (("held-out words", words), ("held-out phrasings", para), ("training phrasings", known), ("fresh bank", fresh)):
        parts = ", ".join(f"{r} {v['same']:.4f} / {v['wrong']:.4f}" for r, v in run["by_reader"].items())
        print(f"    {name:<22}{parts}")
    for name, run in (("held-out words", words), ("held-out phrasings", para), ("fresh bank", fresh)):
        if run["normalizer_latency"]:
            lat = run["normalizer_latency"]
            print(f"  normalizer adds {lat['median_ms']:.1f} ms (median; p95 {lat['p95_ms']:.1f} ms) to the {lat['n']} {name} instructions that needed it")
    if normalizer is None:
        print("  (this checkpoint has no normalizer: hagent train --normalizer-only --out DIR)")
    for w in words["wrong_examples"] + para["wrong_examples"] + fresh["wrong_examples"]:
        print(f"  wrong: {w}")

    rows = agent_success(args.checkpoint, episodes, args.seed, worlds, progress) if episodes else []
    if rows:
        print(f"\nAgent on the newly covered families (the world's own mission; {episodes} episodes each):")
        for r in rows:
            print(f"  {r['world']:<44}{100 * r['success']:>6.1f}%  mean steps {r['mean_steps']:.1f}  median {r['median_ms']:.0f} ms/step  seeds {r['seeds']}")
    print(f"({time.perf_counter() - start:.0f} s)")
    out = {"coverage": cov, "heldout_words": words, "paraphrases": para, "training_phrasings": known, "fresh_bank": fresh,
           "agent": rows, "quick": args.quick}  # fmt: skip
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps(out, indent=1) + "\n")
    return 1 if cov["raised"] else 0


if __name__ == "__main__":
    sys.exit(main())
