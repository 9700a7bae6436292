"""Soak: many chat turns and episodes in one process; does memory grow, does anything fail?

    python benchmarks/soak.py --turns 1000 --episodes 200

The chat cycles through five kinds of turn: the world's own mission (an episode), "why?",
"help", a piece of bad input, and "new world" (the next seed, in turn rooms:3x3,
rooms:3x3?lava=6, babyai:GoTo, babyai:GoToLocal). Then `agent.run` plays `--episodes`
held-out episodes. Resident memory (RSS) is sampled as it goes; target: no errors and less
than 50 MB of growth after the first 10% of the work (warm-up: caches, allocator pools).
Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm

from hagent.io import atomic_write_text

WORLDS = ("rooms:3x3", "rooms:3x3?lava=6", "babyai:GoTo", "babyai:GoToLocal")
BAD = ("", "make me a sandwich", "go to the red \x00 ball", "new world nowhere:1", "🟥" * 50, "go " * 900)


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/default")
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="10 turns, 2 episodes (a smoke run)")
    p.add_argument("--out", default="benchmarks/results/soak.json")
    args = p.parse_args(argv)
    turns, episodes = (10, 2) if args.quick else (args.turns, args.episodes)

    import hagent
    from hagent.acting.chat import Chat

    agent = hagent.Agent.load(args.checkpoint)
    chat = Chat(agent, WORLDS[0], args.seed)
    samples, errors, kinds = [], [], {}
    start = time.perf_counter()
    world_i = 0
    total = turns + episodes
    bar = tqdm(total=total, desc="soak", unit="op", dynamic_ncols=True)
    for i in range(turns):
        match i % 5:
            case 0:
                text = chat.obs["mission"]
            case 1:
                text = "why?"
            case 2:
                text = "help"
            case 3:
                text = BAD[(i // 5) % len(BAD)]
            case _:
                world_i += 1
                text = f"new world {WORLDS[world_i % len(WORLDS)]} seed {args.seed + world_i}"
        try:
            reply = chat.say(text)
            kinds[reply.kind] = kinds.get(reply.kind, 0) + 1
        except Exception as err:  # noqa: BLE001 -- the point is to count them
            errors.append(f"turn {i} ({text[:40]!r}): {type(err).__name__}: {err}")
        if i % 10 == 0:
            samples.append((i, rss_mb()))
        bar.update()
    for j in range(episodes):
        spec = WORLDS[j % len(WORLDS)]
        try:
            agent.run(hagent.make_world(spec, seed=args.seed + j))
        except Exception as err:  # noqa: BLE001
            errors.append(f"episode {j} ({spec}): {type(err).__name__}: {err}")
        if j % 5 == 0:
            samples.append((turns + j, rss_mb()))
        bar.update()
    bar.close()
    samples.append((total, rss_mb()))
    warm = next(mb for op, mb in samples if op >= total // 10)
    growth = samples[-1][1] - warm
    out = {
        "turns": turns, "episodes": episodes, "reply_kinds": kinds, "errors": errors,
        "rss_start_mb": round(samples[0][1], 1), "rss_after_warmup_mb": round(warm, 1), "rss_end_mb": round(samples[-1][1], 1),
        "rss_growth_after_warmup_mb": round(growth, 1), "seconds": round(time.perf_counter() - start, 1),
        "samples": [(op, round(mb, 1)) for op, mb in samples],
    }
    print(f"{turns} chat turns ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}) and {episodes} episodes in {out['seconds']} s")
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))
    print(f"RSS: {out['rss_start_mb']} MB at start, {out['rss_after_warmup_mb']} MB after warm-up, {out['rss_end_mb']} MB at the end "
          f"-> growth after warm-up {out['rss_growth_after_warmup_mb']} MB (target < 50)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
