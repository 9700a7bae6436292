"""The plan decoder on held-out episodes: faithful, complete, fast?

    python benchmarks/plan_decoder.py --checkpoint checkpoints/default --episodes 500 --workers 2

The agent runs each world's own mission on held-out seeds (default 1000 and up), split evenly
over `--worlds`, through a `SealedWorld` as always. Its plan as carried out (the narrative, read
from its observations) is described three ways:

* greedy: the decoder's most likely text, unchecked (the model alone);
* verified: what the agent shows, the best candidate that passes the check against the plan's
  own facts, else the plain template (flagged; its rate is reported);
* template: the plain template written from the plan's facts (a reference, no model).

Each text's claims are read back and scored against what the world logged (labels only, after
the episode): faithfulness = share of stated facts that are true; hallucination = share of texts
with at least one false (or unreadable) claim; completeness = share of the episode's key facts
stated. Also decoding speed (tokens/s, greedy) and time per verified description. Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm

from decoder.facts import Fact, Facts, render
from hagent.io import atomic_write_text

WORLDS = ["rooms:3x3", "rooms:3x3?lava=6", "babyai:GoTo"]
_AGENT = None


def _init(checkpoint: str) -> None:
    global _AGENT
    import torch

    from hagent.acting import Agent

    torch.set_num_threads(1)
    _AGENT = Agent.load(checkpoint)
    if _AGENT.actor.explainer is None:
        raise SystemExit(f"{checkpoint}: has no plan decoder (train one: hagent train --decoder-only --out {checkpoint})")


def _episode(case: tuple[str, int]) -> dict:
    from hagent.language import parse
    from hagent.training.decoder import episode_facts
    from hagent.worlds import make_world

    spec, seed = case
    agent = _AGENT
    world = make_world(spec, seed=seed)
    start = time.perf_counter()
    ep = agent.run(world)
    run_s = time.perf_counter() - start
    task = parse(world.unwrapped.mission)
    guardrails = tuple(dict.fromkeys(agent.actor.configurator.operator))
    truth = episode_facts(world, task, guardrails)
    features, plan = ep.narrative.features, ep.narrative.facts
    t0 = time.perf_counter()
    ids = agent.actor.explainer.decoder.greedy(_collate(features, agent), agent.actor.explainer.cfg.max_tokens)
    greedy_s = time.perf_counter() - t0
    greedy = agent.actor.explainer.tokenizer.decode(ids)
    t0 = time.perf_counter()
    import torch

    verified = agent.actor.explainer.describe(features, plan, torch.Generator().manual_seed(seed))
    verify_s = time.perf_counter() - t0
    return {
        "world": spec, "seed": seed, "success": ep.success, "steps": ep.steps, "mission": task.text,
        "truth": _facts_json(truth), "plan": _facts_json(plan),
        "greedy": greedy, "greedy_tokens": len(ids), "greedy_s": greedy_s,
        "verified": verified.text, "fallback": verified.fallback, "candidates": verified.candidates,
        "verify_s": verify_s, "verify_tokens": verified.tokens, "template": render(plan), "run_s": run_s,
    }


def _collate(features, agent):
    from decoder.model import collate

    return collate([features], agent.actor.explainer.cfg.max_events)


def _facts_json(f: Facts) -> dict:
    return {k: [list(x) for x in getattr(f, k)] for k in ("goals", "steps", "guards")}


def _facts(d: dict) -> Facts:
    return Facts(*(tuple(Fact(*x) for x in d[k]) for k in ("goals", "steps", "guards")))


def score(rows: list[dict], key: str) -> dict:
    """Faithfulness, hallucination and completeness of texts `row[key]` against the logged truth."""
    from hagent.training.decoder import score_texts

    return {**score_texts([r[key] for r in rows], [_facts(r["truth"]) for r in rows]), "texts": len(rows)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default")
    p.add_argument("--worlds", nargs="+", default=WORLDS)
    p.add_argument("--episodes", type=int, default=500, help="episodes in all, split evenly over the worlds")
    p.add_argument("--seed", type=int, default=1000, help="first held-out seed")
    p.add_argument("--workers", type=int, default=1, help="processes running episodes (one torch thread each)")
    p.add_argument("--quick", action="store_true", help="1 episode per world (a smoke run)")
    p.add_argument("--out", default="benchmarks/results/decoder.json")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    per_world = 1 if args.quick else -(-args.episodes // len(args.worlds))
    cases = [(w, args.seed + i) for i in range(per_world) for w in args.worlds][: (per_world * len(args.worlds) if args.quick else args.episodes)]
    start = time.perf_counter()
    rows = []
    bar = tqdm(total=len(cases), desc="episodes", unit="ep", disable=args.quiet, dynamic_ncols=True)
    if args.workers > 1:
        with multiprocessing.get_context("spawn").Pool(args.workers, _init, (args.checkpoint,)) as pool:
            for row in pool.imap_unordered(_episode, cases):
                rows.append(row)
                bar.update()
    else:
        _init(args.checkpoint)
        for case in cases:
            rows.append(_episode(case))
            bar.update()
    bar.close()
    rows.sort(key=lambda r: (r["world"], r["seed"]))
    out: dict = {"checkpoint": args.checkpoint, "seed": args.seed, "episodes": len(rows), "worlds": args.worlds}
    for key in ("greedy", "verified", "template"):
        out[key] = score(rows, key)
        out[key]["by_world"] = {w: score([r for r in rows if r["world"] == w], key) for w in args.worlds}
    out["fallback_rate"] = statistics.fmean(r["fallback"] for r in rows)
    out["greedy_tokens_per_s"] = sum(r["greedy_tokens"] for r in rows) / max(1e-9, sum(r["greedy_s"] for r in rows))
    out["verify_ms_median"] = 1000 * statistics.median(r["verify_s"] for r in rows)
    out["verify_tokens_per_s"] = sum(r["verify_tokens"] for r in rows) / max(1e-9, sum(r["verify_s"] for r in rows))
    out["agent_success"] = statistics.fmean(r["success"] for r in rows)
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["per_episode"] = rows
    print(f"{len(rows)} held-out episodes ({', '.join(args.worlds)}; seeds from {args.seed}); agent success {out['agent_success']:.1%}")
    print(f"{'text':10s} {'faithful':>9s} {'halluc.':>8s} {'complete':>9s}")
    for key in ("greedy", "verified", "template"):
        s = out[key]
        print(f"{key:10s} {s['faithfulness']:9.1%} {s['hallucination']:8.1%} {s['completeness']:9.1%}")
        for w, b in s["by_world"].items():
            print(f"  {w:24s} {b['faithfulness']:9.1%} {b['hallucination']:8.1%} {b['completeness']:9.1%}  (n={b['texts']})")
    print(f"verified texts that fell back to the template: {out['fallback_rate']:.1%}")
    print(f"greedy decoding {out['greedy_tokens_per_s']:.0f} tokens/s; verified description median {out['verify_ms_median']:.0f} ms "
          f"({out['verify_tokens_per_s']:.0f} tokens/s over all candidates)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({out['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
