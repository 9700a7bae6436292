"""Typed configuration: pydantic models for every part, loaded from TOML plus `--set` overrides.

Every default lives here. A constructor takes its own config section, never the root.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from costs.config import CriticConfig, CriticTrainConfig, HazardConfig, HazardTrainConfig
from decoder.config import DecoderConfig, DecoderTrainConfig
from hagent.worlds.config import ExploreConfig, PointExploreConfig  # the worlds' own section, here for every caller
from levels.config import (
    LatentPlanConfig,
    AbstractLevelConfig,
    AbstractTrainConfig,
    BeamConfig,
    CategoricalCEMConfig,
    ImaginedConfig,
    JEPAConfig,
    LevelConfig,
    MPPIConfig,
)


MAX_SEED = 2**32 - 1
"""The largest seed: numpy's legacy seeding and every generator hagent seeds take it."""


class ConfigError(ValueError):
    """A config file or override is invalid; `lines` holds one `location: message` per problem."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


_M = TypeVar("_M", bound=BaseModel)


class WorldConfig(_Frozen):
    """Which world to build (see `hagent.make_world`)."""

    spec: str = "rooms:3x3"
    """World spec: `rooms:RxC[?lava=N&...]`, `babyai:<Level>`, `minigrid:<EnvId>`, `point:...`,
    `gym:<EnvId>` or `ogbench:<dataset>`. In a checkpoint's config, the world of the first dataset
    it was trained on (`hagent train` writes it from the data's manifest): a point agent reads its
    place names there, a gym agent its env."""
    trained_on: list[str] = []
    """In a checkpoint's config: the worlds of every dataset that run trained on (`hagent train
    --data ...`, in order; `spec` is the first), from the data's manifests. A run started from
    `--init` went on from that checkpoint's weights, whose own config lists its data. Empty in a
    config that no training wrote."""

    @field_validator("spec")
    @classmethod
    def _known_spec(cls, spec: str) -> str:
        return _known_world(spec)

    @field_validator("trained_on")
    @classmethod
    def _known_specs(cls, specs: list[str]) -> list[str]:
        return [_known_world(spec) for spec in specs]


def _known_world(spec: str) -> str:
    from hagent.worlds import parse_spec  # local: worlds imports minigrid, which is slow

    parse_spec(spec)  # raises ValueError with the known forms
    return spec


class CollectConfig(_Frozen):
    """`hagent collect`: how much reward-free data to gather and how to store it."""

    episodes: int = Field(200, ge=1)
    """Number of episodes to collect."""
    max_steps: int = Field(128, ge=1)
    """Steps per episode; an episode ends earlier only when the world terminates it."""
    workers: int = Field(1, ge=1, le=256)
    """Worker processes collecting in parallel."""
    shard_episodes: int = Field(64, ge=1)
    """Episodes per shard file."""
    explore: ExploreConfig = ExploreConfig()
    """The exploration policy."""


class DataConfig(_Frozen):
    """How training reads the offline dataset."""

    window: int = Field(8, ge=1)
    """Observations per training window (T)."""
    batch_size: int = Field(64, ge=1)
    """Windows per batch (B)."""
    event_fraction: float = Field(0.25, ge=0.0, le=1.0)
    """Share of each batch drawn from windows in which something changes besides the agent's
    pose (a pickup, drop or door toggle; in point worlds, a step a wall stopped or a pass through
    a door): such transitions are rare in exploration data, and a world model that never sees
    them can't plan with them. 0 samples windows uniformly."""


class NormalizerConfig(_Frozen):
    """The language normalizer (`hagent.language.normalizer`): its model, and the confidence it needs to act."""

    layers: int = Field(2, ge=1, le=12)
    """Encoder blocks."""
    width: int = Field(128, ge=16)
    """Hidden width (a multiple of `heads`)."""
    heads: int = Field(4, ge=1)
    """Attention heads."""
    vocab_size: int = Field(800, ge=300, le=8000)
    """Sentencepiece vocabulary asked for (byte pieces included, so any text encodes)."""
    max_tokens: int = Field(64, ge=8, le=512)
    """Longest text read, in tokens (longer text keeps its end, where the goal usually is)."""
    members: int = Field(2, ge=1, le=8)
    """Normalizers trained apart and read as one (the mean of their slot probabilities): where
    they disagree the reading is unsure, and the agent asks. 1: a single model."""
    lexicon: bool = True
    """Each token also carries the concept WordNet files its word under (`hagent.language.lexicon`);
    False: text only, as normalizers trained before the lexicon."""
    threshold: float = Field(0.9, ge=0.0, le=1.0)
    """Readings less probable than this are not acted on: the agent says what it understood and
    asks. Training sets it on its calibration set (`train.normalizer.wrong_rate`)."""


class NormalizerTrainConfig(_Frozen):
    """Training the normalizer on paraphrase pairs generated here (`hagent.language.paraphrase.TRAINING`)."""

    steps: int = Field(5500, ge=1)
    """Optimizer steps of each member (the members train side by side, one process each)."""
    batch_size: int = Field(64, ge=1)
    """Pairs per step, each freshly generated."""
    lr: float = Field(2e-3, gt=0.0)
    """Peak AdamW learning rate (linear warm-up, cosine decay to 10%)."""
    warmup: int = Field(150, ge=0)
    """Linear warm-up steps."""
    corpus: int = Field(20000, ge=100)
    """Generated texts the sentencepiece tokenizer is trained on."""
    calibration: int = Field(4000, ge=100)
    """Texts the confidence threshold is set on: half in the training phrasings (another seed),
    half in `hagent/phrasings_calibration.json` (phrasings training never sees)."""
    wrong_rate: float = Field(0.001, ge=0.0, le=1.0)
    """Most confident wrong readings allowed in each half of the calibration set, as a share of
    it; the threshold is the lowest confidence that keeps to it on both. A third of the 0.3% that
    phrasings never seen may reach: the calibration phrasings are one sample of the unseen, and
    the phrasings a user says are another."""
    none_fraction: float = Field(0.1, ge=0.0, le=0.5)
    """Share of pairs that are not instructions (chit-chat, word salad): their reading is empty."""
    noise: float = Field(0.4, ge=0.0, le=1.0)
    """Share of training texts given 1-3 noise words (common fillers or made-up words), so that
    words never seen in training read as noise."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    """BPE dropout while training: words are split many ways, as typos split them."""
    mask: float = Field(0.15, ge=0.0, le=1.0)
    """Chance that a word the lexicon tags is shown as random pieces with its tag kept, so the
    model learns what the tag says and reads words it never trained on by their tag."""
    spread: float = Field(0.5, ge=0.0, le=2.0)
    """How much the members' augmentations differ: member k trains with `noise` and `mask`
    times 1 + spread * k and 1 + 2 * spread * k (at most 0.9), so they are wrong in different places."""


class RefitConfig(_Frozen):
    """`hagent train --refit-level0`: level 0's predictor trained on, its encoder frozen, with the
    windows where a "forward" went nowhere oversampled (a wall, a door or an object stopped it)."""

    steps: int = Field(3000, ge=1)
    """Adam steps."""
    lr: float = Field(3e-4, gt=0.0)
    """Adam learning rate."""
    batch_size: int = Field(512, ge=2)
    """Windows per batch."""
    window: int = Field(4, ge=2)
    """Observations per window: the predictor rolls out `window - 1` actions."""
    fraction: float = Field(0.1, ge=0.0, le=1.0)
    """Share of each batch drawn from windows holding a stopped forward (about 3% of all windows
    in the default's data). 0.1 was the only share of 0.1, 0.25 and 0.5 better than no refit on
    every kind of step of `benchmarks/blocked_moves.py` (BENCHMARKS.md, "Level 0 and the moves
    that go nowhere"); more fixes walls further and blurs the moves that went somewhere."""


class TrainConfig(_Frozen):
    """`hagent train`: optimizing a level's JEPA objective on an offline dataset."""

    steps: int = Field(4000, ge=0)
    """Optimizer steps of the level's JEPA; 0 (with `--init`) keeps the level and retrains only the critic."""
    lr: float = Field(1e-3, gt=0.0)
    """Peak AdamW learning rate (linear warm-up, then cosine decay to 10%)."""
    warmup: int = Field(100, ge=0)
    """Linear warm-up steps."""
    weight_decay: float = Field(1e-4, ge=0.0)
    """AdamW weight decay."""
    grad_clip: float = Field(1.0, gt=0.0)
    """Gradient norm clip."""
    log_every: int = Field(25, ge=1)
    """Append a `metrics.jsonl` row every N steps (and at the last step)."""
    save_every: int = Field(500, ge=1)
    """Write the checkpoint every N steps (and at the end), so an interruption keeps a recent one."""
    threads: int = Field(0, ge=0)
    """Torch CPU threads; 0 uses half the cores this process may run on (at least 1): on small
    shared machines, oversubscribed intra-op threads spin and run several times slower."""
    places_steps: int = Field(1500, ge=0)
    """Point worlds: optimizer steps of the place grounding (text goals -> goal states); 0 skips it."""
    readout_steps: int = Field(2000, ge=0)
    """Gym worlds: optimizer steps of the goal readout (level-0 state -> achieved goal); 0 skips
    it and the landmark graph above it."""
    landmark_spacing: float = Field(0.4, gt=0.0)
    """Gym worlds: goal-space distance between level 1's landmarks (every state the data saw
    lies this close to one)."""
    landmark_min_count: int = Field(2, ge=1)
    """Gym worlds: a hop between two landmarks joins level 1's graph once the data made it this often."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """"bf16" runs the JEPA forward passes (level 0 and the abstract levels) under bfloat16
    autocast: faster on GPUs with bf16 units (Ampere and later); on CPU it is usually slower.
    VICReg's statistics are always taken in float32."""
    jepa: JEPAConfig = JEPAConfig()
    """The JEPA objective's weights."""
    critic: CriticTrainConfig = CriticTrainConfig()
    """Training the critic after the level."""
    hazard: HazardTrainConfig = HazardTrainConfig()
    """Training the hazard classifier (skipped when the data holds no hazard)."""
    abstract: AbstractTrainConfig = AbstractTrainConfig()
    """Training the abstract levels k >= 1 and their critics."""
    decoder: DecoderTrainConfig = DecoderTrainConfig()
    """Training the plan decoder after the levels (episodes=0 skips it)."""
    normalizer: NormalizerTrainConfig = NormalizerTrainConfig()
    """Training the language normalizer (`hagent train --normalizer-only`)."""
    refit: RefitConfig = RefitConfig()
    """Refitting level 0's predictor on the moves that went nowhere (`hagent train --refit-level0`)."""


class PointAgentConfig(_Frozen):
    """How the agent plans in the point worlds (its pixel actor, `hagent.acting.pixels`; continuous actions)."""

    hierarchy: Literal["auto", "flat"] = "auto"
    """`auto`: level 1's imagined graph hands level 0 its subgoals; `flat`: level 0's MPPI alone,
    straight at the goal."""
    mppi: MPPIConfig = MPPIConfig(horizon=8, samples=128, iterations=3, noise_std=0.5, temperature=0.5, action_bound=2.45)
    """Level 0's MPPI (actions in pixels; the world clips each step's norm to its bound)."""
    graph: Literal["view", "model", "hjepa"] = "view"
    """How level 1 plans: "view", over places imagined from the views (the agent's sprite on every
    free place of a lattice; ways that keep clear of the walls it has seen; a named baseline, with
    its straight-line warm start and stalled override); "model", over places imagined with level
    0's predictor alone (headings held for `macro` strides, merged within `merge` strides);
    "hjepa", with its own model: a search over its macro-actions through its predictor under its
    critic (`levels.latent`; a checkpoint whose level 1 `hagent train --levels-only` trained),
    the first predicted level-1 state handed down."""
    hjepa: LatentPlanConfig = LatentPlanConfig()
    """Level 1's search over its own macro-actions (graph "hjepa"); `replan` counts level-0 steps."""
    spacing: float = Field(4.0, gt=0.0)
    """View graph: pixels between lattice places."""
    clearance: float = Field(2.5, ge=0.0)
    """View graph: pixels every place and way keeps from the walls seen (doors are 9 wide)."""
    lookahead: float = Field(8.0, gt=0.0)
    """View graph: level 0's subgoal is the furthest place on the route within this many pixels
    in a clear straight line."""
    directions: int = Field(8, ge=3)
    """Level 1's abstract actions: this many headings, evenly spaced."""
    macro: int = Field(2, ge=1)
    """World steps per level-1 move (a heading held at full stride)."""
    merge: float = Field(1.0, gt=0.0)
    """Imagined states closer than this many strides (latent length of one full step) are one place."""
    depth: int = Field(16, ge=1)
    """Most level-1 moves imagined ahead."""
    nodes: int = Field(400, ge=2)
    """Most places in level 1's graph."""
    arrive: float = Field(1.5, gt=0.0)
    """Level 1 counts an imagined place within this many strides of the goal state as arrived."""
    goal_weight: float = Field(1.0, ge=0.0)
    """With no place arrived, level 1's route ends at the place minimizing steps to get there +
    this x strides left to the goal."""
    bump: float = Field(0.3, ge=0.0, lt=1.0)
    """Model graph: a step whose view moved less than this share of the move level 0 imagined is a bump (a
    wall the model missed): level 1 leaves that heading out near that place for the rest of the
    episode. 0 turns the memory off."""
    threads: int = Field(1, ge=1)
    """Torch CPU threads while planning."""


class GoalAgentConfig(_Frozen):
    """How the agent plans in gym worlds (its vector actor, `hagent.acting.vector`; a goal in the env's goal space)."""

    hierarchy: Literal["auto", "flat"] = "auto"
    """`auto`: level 1 hands level 0 its subgoals (`graph` says how it plans); `flat`: level 0's
    MPPI alone, straight at the goal."""
    graph: Literal["landmarks", "hjepa"] = "landmarks"
    """How level 1 plans: "landmarks", Dijkstra over its landmark graph of the data's points (a
    named baseline); "hjepa", with its own model: a search over its macro-actions through its
    predictor under its critic (`levels.latent`; a checkpoint whose level 1 was trained by
    `hagent train --levels-only`), the first predicted level-1 state handed down."""
    hjepa: LatentPlanConfig = LatentPlanConfig()
    """Level 1's search over its own macro-actions (graph "hjepa"); `replan` counts level-0 plans
    (4, one macro-step of the shipped level 1: 88–92% on development seeds for 1, 2, 4 and 8)."""
    subgoal_energy: float = Field(1.0, ge=0.0)
    """Graph "hjepa": weight of level 0's energy to level 1's subgoal, in level 1's space (level 1's
    encoding of each imagined state against the predicted level-1 state)."""
    subgoal_critic: float = Field(0.0, ge=0.0)
    """Graph "hjepa": weight of level 1's critic from each imagined state to the subgoal (steps)."""
    mppi: MPPIConfig = MPPIConfig(horizon=8, samples=128, iterations=3, noise_std=0.6, temperature=0.05, action_bound=1.0)
    """Level 0's MPPI over its actions (each held for the level's `time_scale` env steps)."""
    hops: int = Field(3, ge=1)
    """Level 1's action looks at most this many stops (landmarks, then the goal) along the route."""
    bend: float = Field(0.3, gt=0.0)
    """Level 1 hands down the farthest of those stops that the agent sees in a straight line: every
    stop before it lies within this goal-space distance of the segment toward it."""
    patience: int = Field(4, ge=1)
    """Plans without getting `progress` closer to a subgoal before level 1 hands down the next stop
    only, and then drops the hop toward it."""
    progress: float = Field(0.05, ge=0.0)
    """Goal-space distance that counts as getting closer to a subgoal."""
    threads: int = Field(1, ge=1)
    """Torch CPU threads while planning."""


class EvalConfig(_Frozen):
    """How `hagent eval` scores an agent."""

    episodes: int = Field(200, ge=1)
    """Held-out episodes, on seeds `seed`, `seed + 1`, ... (200 or more: with 60 a success rate
    moves about 5 points from noise alone)."""


class AgentConfig(_Frozen):
    """How the agent plans and acts (Mode 2: model-predictive control over level 0)."""

    planner: Literal["beam", "cem"] = "beam"
    """Discrete planner: beam search (A*-like, with the critic as heuristic) or categorical CEM."""
    beam: BeamConfig = BeamConfig(horizon=6, width=64, reach=True)
    """Beam search settings."""
    cem: CategoricalCEMConfig = CategoricalCEMConfig(horizon=6, reach=True)
    """Categorical CEM settings."""
    task_weight: float = Field(0.1, ge=0.0)
    """Weight of the task energy (latent distance to the nearest goal state)."""
    critic_weight: float = Field(1.0, ge=0.0)
    """Weight of the critic's steps-to-goal estimate on every imagined step."""
    critic_terminal: bool = False
    """Also charge the critic's estimate once more after the horizon (cost-to-go)."""
    max_steps: int = Field(200, ge=1)
    """Default step budget of `Agent.run` (the world may end an episode sooner)."""
    threads: int = Field(1, ge=1)
    """Torch CPU threads while planning; small batches run fastest on one."""
    hierarchy: Literal["auto", "flat", "full"] = "auto"
    """Which levels run: `auto` lets the configurator use the abstract levels only when the goal
    looks beyond level 0's reach; `flat` runs level 0 alone; `full` always runs every level."""
    reach: float = Field(6.0, gt=0.0)
    """Level 0's reach in world steps (by its critic): level 1 only hands down subgoals this close."""
    upper_reach: float = Field(24.0, gt=0.0)
    """Level 1's reach in world steps (by its critic), for the routes of level 2 and above."""
    spacing: int = Field(2, ge=1)
    """Cells between level-1 waypoints (besides doorways; graph "rules" only)."""
    graph: Literal["rules", "imagined", "hjepa"] = "rules"
    """What level 1 plans over: "rules" is a lattice of waypoints drawn into the remembered grid,
    with hops only within a flood-filled room (hand-written; today's default); "imagined" is
    hops imagined with level 0's own predictor and judged by the learned critic
    (`levels.imagined`), which needs no grid; "hjepa" is level 1 planning with its own model:
    macro-actions searched through level 1's predictor under level 1's critic (`levels.latent`),
    the first predicted level-1 state handed down as level 0's subgoal."""
    hjepa: LatentPlanConfig = LatentPlanConfig()
    """Level 1's search over its own macro-actions (graph "hjepa")."""
    recall: bool = False
    """Level 0 recalls the transitions the episode showed instead of imagining them
    (`levels.recall`): from a state the agent was in, an action it took there leads where it led
    (a bumped box stays in the way); elsewhere the predictor imagines. Off: the predictor alone."""
    imagined: ImaginedConfig = ImaginedConfig(prior=(0.2, 0.2, 0.5, 0.0, 0.0, 0.1))
    """Level 1's search over imagined hops (graph "imagined"); the prior over level 0's actions
    (left, right, forward, pickup, drop, toggle) is about the mix the data was collected with."""
    subgoal_beam: BeamConfig = BeamConfig(horizon=6, width=16, reach=True)
    """Level 0's search budget when it pursues a nearby subgoal from the level above."""
    verify: float = Field(2.0, gt=0.0)
    """Level 1 hands a subgoal down only when level 0's best imagined plan gets within this step
    cost of it (else the hop counts as infeasible and level 1 routes around it)."""
    period: int = Field(10, ge=1)
    """Level 1 re-plans when its subgoal is not reached after this many steps."""
    error_threshold: float = Field(0.75, gt=0.0)
    """Level 1 re-plans when its predictor's relative error over the last period exceeds this: the
    squared error over the mean square of the state reached, read like training's `pred_loss_rel`
    (1: no better than predicting the mean state). The shipped agent on rooms:3x3 errs 0.13 in the
    median period, 0.47 at the 95th percentile; actions other than those taken err 1.5 (median)."""
    guardrails: list[str] = ["avoid lava"]
    """Operator guardrails (the instruction language's guardrail phrases); always hard, always on:
    no instruction can remove them, instructions can only add more."""
    instruction_guardrails: Literal["hard", "soft"] = "hard"
    """How guardrails stated in the instruction are enforced: hard (reject violating plans) or soft (weighted cost)."""
    soft_weight: float = Field(5.0, ge=0.0)
    """Weight of a soft guardrail's violation probability per step."""
    imagined_hazard_weight: float = Field(0.0, ge=0.0)
    """With a step-hazard model in the checkpoint, a hard hazard guardrail checks the action about
    to be taken exactly, and charges imagined hazards further on this much per step. 0 since
    2026-12-07 (50 before): the hazard classifier can't see lava under the agent and its false
    alarms steered plans the wrong way; off, LavaCrossingS9N1 went from 84.5% to 97.0% on
    490000-490199 with no lava entered (BENCHMARKS.md, "Moves that go nowhere, told before")."""
    hazard_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    """A hard hazard guardrail rejects imagined states whose hazard probability exceeds this."""
    skip_blocked: bool = True
    """With a blocked-step model in the checkpoint (`costs.hazard.BlockedStep`, learned from the
    data's views before and after each step), the action about to be taken is one it expects to go
    nowhere (a forward into a wall, a closed door or an object) only when nothing else is left.
    Off: level 0's plan alone picks it, and its predictor often imagines walking through."""
    blocked_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    """The blocked-step model's probability above which an action counts as going nowhere."""

    @field_validator("guardrails")
    @classmethod
    def _guardrail_phrases(cls, phrases: list[str]) -> list[str]:
        from hagent.language import parse  # local: keeps config import light

        for phrase in phrases:
            task = parse(phrase)  # ParseError (a ValueError) names what it can't read
            if task.goal is not None or not task.guardrails:
                raise ValueError(f"{phrase!r} is not a guardrail (e.g. 'avoid lava', \"don't open any doors\")")
        return phrases


_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


class HagentConfig(_Frozen):
    """The root config: one section per part."""

    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Master seed; every random choice derives from it."""
    device: str = "auto"
    """Torch device: `auto`, `cpu`, `cuda`, `cuda:N` or `mps`."""
    world: WorldConfig = WorldConfig()
    """The world."""
    collect: CollectConfig = CollectConfig()
    """Reward-free data collection."""
    data: DataConfig = DataConfig()
    """Offline data loading."""
    level: LevelConfig = LevelConfig()
    """The level-0 world model (encoder, predictor, latent, action space)."""
    critic: CriticConfig = CriticConfig()
    """The critic (learned cost-to-go)."""
    hazard: HazardConfig = HazardConfig()
    """The learned hazard classifier (a guardrail cost)."""
    hierarchy: list[AbstractLevelConfig] = [AbstractLevelConfig()]
    """The abstract levels 1..L above level 0, bottom-up (empty: a flat, level-0-only agent)."""
    decoder: DecoderConfig = DecoderConfig()
    """The plan -> text decoder and how its texts are chosen."""
    normalizer: NormalizerConfig = NormalizerConfig()
    """The language normalizer: free text the grammar doesn't take -> its canonical form."""
    train: TrainConfig = TrainConfig()
    """Training."""
    agent: AgentConfig = AgentConfig()
    """Planning and acting."""
    point_agent: PointAgentConfig = PointAgentConfig()
    """Planning and acting in point worlds (`hagent.acting.pixels`)."""
    goal_agent: GoalAgentConfig = GoalAgentConfig()
    """Planning and acting in gym worlds (`hagent.acting.vector`)."""
    eval: EvalConfig = EvalConfig()
    """Scoring (`hagent eval`)."""

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: str) -> str:
        if not _DEVICE.match(device):
            raise ValueError("expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
        return device


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split `a.b=value` into its key path and value; the value is read as TOML, else as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([f"--set {text}: expected KEY=VALUE, e.g. collect.episodes=50"])
    path = key.split(".")
    if any(not part or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in path):
        raise ConfigError([f"--set {text}: bad key {key!r}; use dotted names like collect.episodes"])
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # bare words such as rooms:3x3 are strings
    return path, value


def _apply(tree: dict[str, Any], path: list[str], value: Any, text: str) -> None:
    node, model = tree, HagentConfig
    for i, part in enumerate(path[:-1]):
        field = model.model_fields.get(part) if model is not None else None
        model = field.annotation if field is not None and isinstance(field.annotation, type) else None
        if field is not None and not (model and issubclass(model, BaseModel)):
            raise ConfigError([f"--set {text}: {'.'.join(path[: i + 1])} is not a section"])
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError([f"--set {text}: {'.'.join(path[: i + 1])} is not a section"])
        node = child
    node[path[-1]] = value


def with_settings(settings: _M, **updates: Any) -> _M:
    """`settings` (a config section) with `updates`, validated like a config file: a nested
    section given as a dict changes only the keys it names (`hjepa={"learn": True}`), and a bad
    key or value raises `ValidationError` here, not deep inside a planner."""

    def merged(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in new.items():
            out[key] = merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        return out

    new = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in updates.items()}
    return type(settings).model_validate(merged(settings.model_dump(), new))


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> HagentConfig:
    """Build the resolved config from an optional TOML file and `a.b=value` overrides.

    Raises `ConfigError` listing every problem as `location: message`.
    """
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            tree = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such config file"]) from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError([f"{path}: cannot read: {err}"]) from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError([f"{path}: invalid TOML: {err}"]) from None
    return _validated(tree, overrides)


def with_overrides(config: HagentConfig, overrides: list[str]) -> HagentConfig:
    """`config` with `a.b=value` overrides applied on top, validated again (e.g. a checkpoint's
    own settings changed for one run). Raises `ConfigError` like `load_config`."""
    return _validated(config.model_dump(mode="json"), overrides)


def _validated(tree: dict[str, Any], overrides: list[str]) -> HagentConfig:
    for text in overrides:
        key_path, value = parse_override(text)
        _apply(tree, key_path, value, text)
    try:
        return HagentConfig.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, HagentConfig)) from None


def format_validation_error(err: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One `location: message` line per pydantic error; with the validated `model`, an unknown
    key's line lists the keys known at its level."""
    lines = []
    for problem in err.errors():
        loc = ".".join(str(part) for part in problem["loc"]) or "config"
        msg = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden" and model is not None:
            msg = _unknown_key(model, problem["loc"])
        lines.append(f"{loc}: {msg}")
    return lines


def _unknown_key(model: type[BaseModel], loc: tuple) -> str:
    """What to say of the key at `loc` that `model` has no field for: the keys it has there."""
    section = model
    for part in loc[:-1]:
        if isinstance(part, int):  # an item of a list of sections, e.g. hierarchy.0
            continue
        field = section.model_fields.get(part)
        kind = field.annotation if field is not None else None
        if get_origin(kind) in (list, tuple):
            kind = get_args(kind)[0]
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return "unknown key"
        section = kind
    where = "at the top level" if len(loc) == 1 else f"in [{'.'.join(map(str, loc[:-1]))}]"
    return f"unknown key; the keys {where} are: {', '.join(section.model_fields)}"


QUICK_STEPS = 300
"""`hagent train --quick`'s bound on every stage when `--steps` isn't given."""
QUICK_DECODER_EPISODES = 20
"""`hagent train --quick`'s bound on the plan decoder's executed episodes per world."""


def bounded(config: HagentConfig, steps: int) -> HagentConfig:
    """`config` with every training stage at most `steps` optimizer steps: level 0 (set to
    `steps`), its critic, the hazard models and the cell probe, the abstract levels, the place
    grounding, the goal readout, the plan decoder (also on at most `QUICK_DECODER_EPISODES`
    episodes per world), the normalizer and level 0's refit. For a quick model to try things with, not to ship."""
    t = config.train

    def cap(n: int) -> int:
        return min(n, steps)

    train = t.model_copy(update={
        "steps": steps,
        "places_steps": cap(t.places_steps),
        "readout_steps": cap(t.readout_steps),
        "warmup": min(t.warmup, max(steps // 10, 1)),
        "critic": t.critic.model_copy(update={"steps": cap(t.critic.steps)}),
        "hazard": t.hazard.model_copy(update={"steps": cap(t.hazard.steps)}),
        "abstract": t.abstract.model_copy(update={"steps": cap(t.abstract.steps)}),
        "decoder": t.decoder.model_copy(update={"steps": max(1, cap(t.decoder.steps)),
                                                "episodes": min(t.decoder.episodes, QUICK_DECODER_EPISODES)}),
        "normalizer": t.normalizer.model_copy(update={"steps": max(1, cap(t.normalizer.steps))}),
        "refit": t.refit.model_copy(update={"steps": max(1, cap(t.refit.steps))}),
    })
    return config.model_copy(update={"train": train})


def longest_stage(config: HagentConfig) -> tuple[str, int]:
    """The training stage after level 0 with the most optimizer steps, and how many."""
    t = config.train
    stages = {"the critic": t.critic.steps, "the hazard models": t.hazard.steps, "each abstract level": t.abstract.steps,
              "the plan decoder": t.decoder.steps if t.decoder.episodes else 0}
    name = max(stages, key=stages.__getitem__)
    return name, stages[name]


def save_config(config: HagentConfig, directory: str | Path) -> Path:
    """Write the resolved config as `config.json` in `directory`, atomically."""
    from hagent.io import atomic_write_text

    target = Path(directory) / "config.json"
    atomic_write_text(target, json.dumps(config.model_dump(mode="json"), indent=2) + "\n")
    return target


def _without_grid_parts(config: HagentConfig, level: LevelConfig) -> HagentConfig:
    """`config` with `level` and the grid-only parts (critic, plan decoder, grid abstract levels) off."""
    train = config.train.model_copy(
        update={
            "critic": config.train.critic.model_copy(update={"steps": 0}),
            "decoder": config.train.decoder.model_copy(update={"episodes": 0}),
        }
    )
    return config.model_copy(update={"level": level, "train": train, "hierarchy": []})


def for_vector_world(config: HagentConfig, inputs: int, actions: int) -> HagentConfig:
    """The config for training on a gym world's data (float observation vectors of length
    `inputs`, action vectors of length `actions`): level 0 reads vectors through an MLP and takes
    continuous actions; the grid-only parts are switched off as for the point worlds."""
    level = config.level.model_copy(
        update={
            "encoder": config.level.encoder.model_copy(update={"kind": "vector", "inputs": inputs, "local": 0}),
            "actions": actions,
            "action_space": "continuous",
        }
    )
    return _without_grid_parts(config, level)


def for_point_world(config: HagentConfig) -> HagentConfig:
    """The config for training on a point world's data (RGB views, 2D float actions): level 0
    reads pixels and takes continuous actions; the grid-only parts (critic, hazard, cell probe,
    grid abstract levels, plan decoder) are switched off. Every other
    setting is kept as given. A config that already reads pixels is returned as it is."""
    if config.level.encoder.kind == "pixels":
        return config
    level = config.level.model_copy(
        update={
            "encoder": config.level.encoder.model_copy(update={"kind": "pixels", "channels": 16, "pool": 8}),
            "actions": 2,
            "action_space": "continuous",
        }
    )
    return _without_grid_parts(config, level)
