"""`hagent eval`: run the agent on held-out seeded episodes and score it.

The agent acts through a `SealedWorld`; only this scorer reads the world's judgement, and only
after each episode. SPL (success weighted by path length) uses BabyAI's bot, run on a copy of
the world at reset, as the reference path length; worlds the bot can't solve get no SPL.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import statistics
from pathlib import Path
from typing import NamedTuple

from hagent.progress import bar as progress_bar

from hagent.acting import Agent
from hagent.io import atomic_write_text
from hagent.worlds import make_world


class EpisodeScore(NamedTuple):
    """One scored episode."""

    seed: int
    mission: str
    success: bool
    steps: int
    reference_steps: int | None  # the bot's path length, when it solved the episode
    violations: int
    median_ms: float
    calls_per_step: float


class EvalReport(NamedTuple):
    """Aggregates over all episodes (see `summary`)."""

    world: str
    episodes: tuple[EpisodeScore, ...]

    def summary(self) -> dict:
        """success rate, mean steps, SPL, violations, planning ms and predictor calls per step."""
        eps = self.episodes
        n = len(eps)
        spl = [
            (min(1.0, e.reference_steps / max(e.steps, 1)) if e.success else 0.0)
            for e in eps
            if e.reference_steps is not None
        ]
        steps_ms = [e.median_ms for e in eps if e.steps > 0]
        return {
            "world": self.world,
            "episodes": n,
            "success_rate": sum(e.success for e in eps) / n,
            "mean_steps": statistics.fmean(e.steps for e in eps),
            "spl": statistics.fmean(spl) if spl else None,
            "violations": sum(e.violations for e in eps),
            "median_planning_ms": statistics.median(steps_ms) if steps_ms else None,
            "predictor_calls_per_step": statistics.fmean(e.calls_per_step for e in eps if e.steps > 0) if steps_ms else None,
        }


def reference_steps(world, limit: int = 1000) -> int | None:
    """Steps BabyAI's bot needs from the world's current state (on a copy), or None if it can't."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    if not hasattr(getattr(world, "unwrapped", None), "instrs"):  # the bot follows BabyAI's instructions only
        return None
    env = copy.deepcopy(world.unwrapped)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            bot = BabyAIBot(env)
            for n in range(1, limit + 1):
                _, reward, terminated, truncated, _ = env.step(bot.replan())
                if terminated or truncated:
                    return n if reward > 0 else None
    except Exception:  # the bot supports BabyAI's instruction worlds only
        return None
    return None


def evaluate(
    agent: Agent, world_spec: str, episodes: int, seed: int, max_steps: int | None = None, progress: bool = True,
    reference: bool = True,
) -> EvalReport:
    """Run `episodes` episodes on seeds `seed, seed+1, ...` with each world's mission as the
    instruction; `reference` runs BabyAI's bot for SPL's reference path length."""
    scores = []
    bar = progress_bar(range(seed, seed + episodes), desc=f"eval {world_spec}", unit="ep", progress=progress)
    wins = 0
    for s in bar:
        world = make_world(world_spec, seed=s)
        obs, _ = world.reset()
        bot = reference_steps(world) if reference else None
        world = make_world(world_spec, seed=s)  # a fresh copy: the agent resets it itself
        episode = agent.run(world, obs["mission"], max_steps=max_steps)
        ms = [r.ms for r in episode.trace]
        scores.append(
            EpisodeScore(
                seed=s,
                mission=obs["mission"],
                success=episode.success,
                steps=episode.steps,
                reference_steps=bot,
                violations=len(episode.violations),
                median_ms=statistics.median(ms) if ms else 0.0,
                calls_per_step=statistics.fmean(r.calls for r in episode.trace) if ms else 0.0,
            )
        )
        wins += episode.success
        bar.set_postfix(success=f"{wins / len(scores):.1%}")
    bar.close()
    return EvalReport(world_spec, tuple(scores))


def write_report(report: EvalReport, path: str | Path, extra: dict | None = None) -> None:
    """The summary plus every episode as JSON, written atomically."""
    doc = {**report.summary(), **(extra or {}), "per_episode": [e._asdict() for e in report.episodes]}
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
