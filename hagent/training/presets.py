"""Named recipes that rebuild a shipped checkpoint from nothing with one command:
`hagent train --preset default` runs every collect and train step of the recipe, in order.

Each step is a `hagent` command line, so a recipe can be printed (`--dry-run`) and every step
re-run by hand.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

MIX = ("rooms:3x3?lava=4", "rooms:4x4", "babyai:GoTo", "minigrid:MiniGrid-LavaCrossingS9N1-v0", "babyai:Open")


class Preset(NamedTuple):
    """A recipe: what it builds and the `hagent` commands that build it."""

    name: str
    what: str
    steps: tuple[tuple[str, ...], ...]


DATA_CRITICS = ("--set", 'train.critic.labels="data"')
"""How the shipped critics are taught: by the data alone (hindsight step counts over the recorded
transitions, `hagent.labels.observed_pairs`). The training default too; said explicitly so that a
change of that default can't silently change what a preset rebuilds."""

ORACLE_CRITICS = ("--set", 'train.critic.labels="oracle"', "--set", "train.critic.expectile=0.5",
                  "--set", "train.critic.goals_per_episode=24")
"""The named baseline that benchmarks compare against, never a preset's choice: critics taught the
rule-based labels (BFS over the world's movement rules), plain regression. The shipped agents
before issue #30 were trained this way."""


DATA_CRITIC_ACTING = ("--set", "agent.task_weight=2.0")
"""How the default acts with data-taught critics: the latent energy to the goal weighs 2.0 next to
the critic (0.1 suited the oracle-taught critics). The data-taught critic is noisy over the last
few steps (it can put a move away from a door nearer the door than the move through it), and at
0.1 the energy, which "breaks ties near the goal", could not outweigh that noise. Chosen on
development seeds (rooms:3x3?task=open 1000-1039: 87.5% at 0.1, 90.0% at 0.5, 92.5% at 2.0) and
measured on 300000-300199 (BENCHMARKS.md, "Honest defaults")."""


def _mix_dir(spec: str) -> str:
    return "data/mix/" + spec.replace(":", "_").replace("?", "_").replace("=", "_")


def default_preset(out: str = "checkpoints/default") -> Preset:
    """The shipped agent: level 0 pre-trained on babyai:GoToLocal, then the H-JEPA stack (level 0
    fine-tuned, critics, hazard models, cell probe, level 1) and the plan decoder on five worlds,
    then the language normalizer; seed 0, CPU; about an hour on 2 cores."""
    mix = tuple(a for spec in MIX for a in ("--data", _mix_dir(spec)))
    return Preset(
        "default",
        "the shipped H-JEPA stack with its plan decoder and language normalizer (checkpoints/default)",
        (
            ("collect", "--world", "babyai:GoToLocal", "--episodes", "1000", "--seed", "0", "--out", "data/gotolocal"),
            ("train", "--data", "data/gotolocal", "--out", "checkpoints/gotolocal", "--seed", "0", "--set", "train.decoder.episodes=0",
             *DATA_CRITICS),
            *(("collect", "--world", spec, "--episodes", "600", "--seed", "0", "--workers", "2", "--out", _mix_dir(spec)) for spec in MIX),
            ("train", *mix, "--init", "checkpoints/gotolocal", "--steps", "1500", "--seed", "0", "--out", out, "--set", "train.threads=2",
             *DATA_CRITICS, *DATA_CRITIC_ACTING),
            ("train", "--normalizer-only", "--out", out, "--seed", "0", "--set", "train.threads=2"),
        ),
    )


def point_preset(out: str = "checkpoints/point") -> Preset:
    """The shipped point-world agent: level 0 trained from pixels on reward-free random walks in
    `point:tworooms` (1,500 steps, windows drawn uniformly), then the place grounding for text
    goals; seed 0, CPU, about 12 minutes on one core."""
    data = "data/point_tworooms"
    return Preset(
        "point",
        "the point-world agent for point:tworooms (checkpoints/point)",
        (
            ("collect", "--world", "point:tworooms", "--episodes", "1000", "--seed", "0", "--out", data),
            ("train", "--data", data, "--out", out, "--steps", "1500", "--seed", "0",
             "--set", "data.event_fraction=0", "--set", "train.places_steps=300"),
        ),
    )


def point_maze_preset(out: str = "checkpoints/point-maze") -> Preset:
    """The point-world agent for `point:maze?rooms=4`: 2,000 steps on the four-room maze's
    random walks, a quarter of each batch from windows where a wall stopped a step or the agent
    passed a door; seed 0, CPU."""
    data = "data/point_maze_4"
    return Preset(
        "point-maze",
        "the point-world agent for point:maze?rooms=4 (checkpoints/point-maze)",
        (
            ("collect", "--world", "point:maze?rooms=4", "--episodes", "1000", "--seed", "0", "--out", data),
            ("train", "--data", data, "--out", out, "--steps", "2000", "--seed", "0"),
        ),
    )


POINTMAZES = (("PointMaze_UMaze-v3", 300), ("PointMaze_Medium-v3", 600))
"""The gymnasium-robotics mazes of the shipped gym-world agent, with each env's own step limit."""


POINTMAZE_LEVEL1 = ("--set", "hierarchy=[{dim=16, hidden=256, period=4, macro_dim=8, codes=64}]",
                    "--set", "train.abstract.steps=4000", "--set", "train.abstract.horizon=4")
"""The gym agents' H-JEPA level 1 (`goal_agent.graph = "hjepa"`): 4 level-0 steps (20 env steps)
per macro-step, 4-step rollouts, a 16-wide state (BENCHMARKS.md, "PointMaze: level 1 plans with
its own model")."""


def pointmaze_preset(out: str = "checkpoints/pointmaze") -> Preset:
    """The gym-world agent for gymnasium-robotics' PointMaze (an env no one here wrote): per maze,
    1,000 reward-free episodes of random held actions (the env's step limit each), then level 0
    acting every 5 env steps (2,000 steps), its goal readout and level 1's landmark graph, then
    level 1's own model (`--levels-only`: predictor, macro-action codebook, critic, goal
    embedding); one sub-checkpoint per env id; seed 0, CPU, about 12 minutes on 2 cores."""
    steps = []
    for env_id, limit in POINTMAZES:
        data = f"data/pointmaze/{env_id}"
        steps += [
            ("collect", "--world", f"gym:{env_id}", "--episodes", "1000", "--seed", "0", "--out", data,
             "--set", f"collect.max_steps={limit}"),
            ("train", "--data", data, "--out", f"{out}/{env_id}", "--steps", "2000", "--seed", "0",
             "--set", "level.time_scale=5", "--set", "train.threads=2"),
            ("train", "--levels-only", "--data", data, "--out", f"{out}/{env_id}", "--seed", "0", "--set", "train.threads=2",
             *POINTMAZE_LEVEL1, *DATA_CRITICS),
        ]
    return Preset("pointmaze", f"the gym-world agent for PointMaze UMaze and Medium ({out}/<EnvId>)", tuple(steps))


OGBENCH_MAZES = ("medium", "large", "giant")
"""OGBench's point mazes. hagent collects 1,000 episodes of 1,000 steps in each: OGBench's own
budget (about 1M transitions per maze), here reward-free and task-free (500 episodes left giant's
landmark graph split; BENCHMARKS.md)."""


def ogbench_preset(maze: str, out: str | None = None) -> Preset:
    """The gym-world agent for OGBench's `pointmaze-<maze>-navigate-v0`: reward-free episodes from
    the env's own random starts (random held actions; no task, no goal), then level 0 acting every
    5 env steps (2,000 steps), its goal readout and level 1's landmark graph; seed 0, CPU, a few
    minutes on 2 cores. The checkpoint goes to `checkpoints/ogbench/pointmaze-<maze>-v0`, the env id
    `Agent.load("checkpoints/ogbench", world=...)` looks for.

    Two settings differ from the PointMaze recipe, both chosen on development seeds (BENCHMARKS.md):
    VICReg's covariance term is off (`train.jepa.cov_weight=0`; the variance term still keeps every
    feature from collapsing), so level 0's latent stays as low-rank as the world's 2-D position and
    its predictor about twice as precise (1-step error 0.26 against 0.44 in the giant maze); and one
    move of the data is enough to join two landmarks (`train.landmark_min_count=1`), which keeps
    giant's graph in one piece."""
    out = out or f"checkpoints/ogbench/pointmaze-{maze}-v0"
    data = f"data/ogbench/pointmaze-{maze}"
    return Preset(
        f"ogbench-pointmaze-{maze}",
        f"the gym-world agent for OGBench's pointmaze-{maze}-navigate-v0 ({out})",
        (
            ("collect", "--world", f"ogbench:pointmaze-{maze}-navigate-v0", "--episodes", "1000", "--seed", "0",
             "--out", data, "--set", "collect.max_steps=1000"),
            ("train", "--data", data, "--out", out, "--steps", "2000", "--seed", "0",
             "--set", "level.time_scale=5", "--set", "train.threads=2",
             "--set", "train.jepa.cov_weight=0", "--set", "train.landmark_min_count=1"),
        ),
    )


PRESETS = {"default": default_preset, "point": point_preset, "point-maze": point_maze_preset, "pointmaze": pointmaze_preset,
           **{f"ogbench-pointmaze-{maze}": partial(ogbench_preset, maze) for maze in OGBENCH_MAZES}}
