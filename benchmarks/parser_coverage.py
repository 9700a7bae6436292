"""How much of BabyAI's own instruction language does `hagent.language.parse` cover?

For each level, reset the BabyAI env on seeds 0..N-1, parse its mission text and
compare the goal tree with the one converted from the env's verifier
instruction (`goal_from_babyai`). Exits non-zero if any level is below 100%.

    /tmp/venv/bin/python benchmarks/parser_coverage.py [--seeds N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import gymnasium as gym
import minigrid  # noqa: F401  (importing registers the BabyAI-* env ids)
from tqdm import tqdm

from hagent.io import atomic_write_text
from hagent.language import ParseError, goal_from_babyai, parse

LEVELS = ("GoToLocal", "GoTo", "PickupLoc", "PutNextLocal", "Open", "GoToSeq", "Synth", "BossLevel")
QUICK_SEEDS = 100
MAX_EXAMPLES = 5


class LevelCoverage(NamedTuple):
    """Coverage of one BabyAI level: missions tried, parsed, and parsed to the right tree."""

    level: str
    missions: int
    accepted: int
    matched: int
    failures: tuple[str, ...]  # the first few missions that failed, with why


def measure(level: str, seeds: range, progress: tqdm | None = None) -> LevelCoverage:
    """Parse the mission of `BabyAI-<level>-v0` for every seed and compare trees."""
    env = gym.make(f"BabyAI-{level}-v0")
    accepted = matched = 0
    failures: list[str] = []
    for seed in seeds:
        # The level generator prints "Sampling rejected: ..." on every retry.
        with contextlib.redirect_stdout(io.StringIO()):
            env.reset(seed=seed)
        mission, expected = env.unwrapped.mission, goal_from_babyai(env.unwrapped.instrs)
        try:
            goal = parse(mission).goal
        except ParseError as error:
            if len(failures) < MAX_EXAMPLES:
                failures.append(f"seed {seed}: {mission!r} rejected: {error.reason}")
        else:
            accepted += 1
            if goal == expected:
                matched += 1
            elif len(failures) < MAX_EXAMPLES:
                failures.append(f"seed {seed}: {mission!r} parsed as {goal!r}, expected {expected!r}")
        if progress is not None:
            progress.update(1)
    env.close()
    return LevelCoverage(level, len(seeds), accepted, matched, tuple(failures))


def format_table(rows: list[LevelCoverage]) -> str:
    """A plain-text table: one line per level, accepted and matched as counts and percentages."""
    lines = [f"{'level':<14}{'missions':>9}{'accepted':>16}{'matched':>16}"]
    for r in rows:
        lines.append(
            f"{r.level:<14}{r.missions:>9}"
            f"{r.accepted:>8} {100 * r.accepted / r.missions:6.2f}%"
            f"{r.matched:>8} {100 * r.matched / r.missions:6.2f}%"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 only if every level is parsed to the right tree on every seed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2000, help="seeds 0..N-1 per level (default 2000)")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_SEEDS} seeds per level")
    parser.add_argument("--json", default="benchmarks/results/parser_coverage.json", help="where to write the rows")
    args = parser.parse_args(argv)
    seeds = range(QUICK_SEEDS if args.quick else args.seeds)
    if len(seeds) < 1:
        parser.error("--seeds must be at least 1")

    start = time.perf_counter()
    with tqdm(total=len(LEVELS) * len(seeds), unit="mission", file=sys.stderr) as progress:
        rows = []
        for level in LEVELS:
            progress.set_description(level)
            rows.append(measure(level, seeds, progress))
    print(format_table(rows))
    print(f"({time.perf_counter() - start:.1f} s)")
    for row in rows:
        for failure in row.failures:
            print(f"{row.level}: {failure}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps({"seeds": len(seeds), "levels": [r._asdict() for r in rows]}, indent=1) + "\n")
    return 0 if all(r.matched == r.missions for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
