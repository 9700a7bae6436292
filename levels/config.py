"""Configs of the level-0 world model and its JEPA objective.

Plain pydantic (no torch) so that `hagent.config` can import them without paying torch's import
time on every CLI command. Each model class takes its own section: `GridEncoder(EncoderConfig)`,
`ActionPredictor(PredictorConfig, ...)`, `Level(LevelConfig, ...)`, `JEPA(JEPAConfig, ...)`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class EncoderConfig(_Frozen):
    """The observation encoder: `GridEncoder` (minigrid cell codes + heading), `PixelEncoder`
    (RGB images, e.g. the point worlds' 64x64 views) or `VectorEncoder` (a float vector, e.g. a
    gymnasium env's state observation) -> one latent vector."""

    kind: Literal["grid", "pixels", "vector"] = "grid"
    """What the encoder reads: minigrid cell codes ("grid"), RGB pixels ("pixels") or a float vector ("vector")."""
    inputs: int = Field(0, ge=0)
    """Length of the observation vector (vector encoder only; set from the dataset when training)."""
    dim: int = Field(64, ge=1)
    """Latent size D of the level's state `s`."""
    embed: int = Field(16, ge=1)
    """Size of each cell code's embedding (object, colour and state are embedded separately and summed)."""
    channels: int = Field(32, ge=1)
    """Channels of the convolution stack."""
    layers: int = Field(3, ge=1)
    """3x3 convolution layers (each widens the receptive field by one cell per side)."""
    pool: int = Field(4, ge=1)
    """The feature map is pooled to a `pool x pool` grid before the head, so any grid size maps to
    the same head while coarse positions survive (coordinate channels carry the fine position)."""
    local: int = Field(0, ge=0)
    """Side of an agent-centred window of the feature map that joins the head unpooled and turned
    to the agent's heading, so the cells around the agent (the wall ahead, the door beside it)
    keep their own features; 0 turns it off. Odd; grid encoder only."""
    local_channels: int = Field(8, ge=1)
    """Channels of each window cell (a 1x1 convolution of the feature map)."""

    @model_validator(mode="after")
    def _local_is_odd(self) -> EncoderConfig:
        if self.local and self.local % 2 == 0:
            raise ValueError(f"encoder.local ({self.local}) must be odd: the window is centred on the agent")
        if self.local and self.kind != "grid":
            raise ValueError("encoder.local is for the grid encoder (a pixel view has no agent cell)")
        if self.kind == "vector" and self.inputs < 1:
            raise ValueError("encoder.inputs (the observation vector's length) must be set for the vector encoder")
        return self


class PredictorConfig(_Frozen):
    """`ActionPredictor`: (s, a, z) -> s', a residual MLP."""

    hidden: int = Field(256, ge=1)
    """Width of the residual MLP."""
    blocks: int = Field(2, ge=1)
    """Residual blocks."""
    action_embed: int = Field(16, ge=1)
    """Size of the learned embedding of each discrete action."""


class LatentConfig(_Frozen):
    """The latent variable `z` for outcomes the state doesn't determine; `dim=0` turns it off."""

    dim: int = Field(0, ge=0)
    """Size Z of the latent per predicted step; 0 means deterministic prediction (z is empty)."""
    infer_steps: int = Field(5, ge=1)
    """Gradient steps of `Level.infer_z` on the prediction energy."""
    infer_lr: float = Field(0.1, gt=0.0)
    """Step size of `Level.infer_z`."""
    prior_weight: float = Field(0.1, ge=0.0)
    """Weight of `|z|^2` in the energy `infer_z` minimizes, so z explains only what s can't."""


class LevelConfig(_Frozen):
    """One H-JEPA level: encoder + action-conditioned predictor + latent + action space + time scale."""

    encoder: EncoderConfig = EncoderConfig()
    """Observation encoder."""
    predictor: PredictorConfig = PredictorConfig()
    """Action-conditioned predictor."""
    latent: LatentConfig = LatentConfig()
    """Latent variable z."""
    actions: int = Field(6, ge=1)
    """Size of the discrete action space (minigrid's 6: left, right, forward, pickup, drop,
    toggle), or of the action vector when `action_space` is continuous (the point worlds' 2)."""
    action_space: Literal["discrete", "continuous"] = "discrete"
    """Discrete actions are ids in [0, actions); continuous ones are vectors of `actions` floats."""
    time_scale: int = Field(1, ge=1)
    """World steps per level step; level 0 acts every step."""

    @property
    def continuous(self) -> bool:
        """Whether actions are vectors (else discrete ids)."""
        return self.action_space == "continuous"


class JEPAConfig(_Frozen):
    """The JEPA objective: multi-step prediction in representation space plus anti-collapse terms."""

    pred_weight: float = Field(1.0, ge=0.0)
    """Weight of the prediction loss (MSE between rolled-out and target embeddings)."""
    var_weight: float = Field(1.0, ge=0.0)
    """Weight of the VICReg variance hinge, which keeps each dimension's std at `std_target` or more."""
    cov_weight: float = Field(1.0, ge=0.0)
    """Weight of the VICReg covariance term (sum of squared off-diagonal covariances / D)."""
    std_target: float = Field(1.0, gt=0.0)
    """Per-dimension std the variance hinge asks for."""
    delta_weight: float = Field(1.0, ge=0.0)
    """Weight of VICReg variance + covariance terms on step differences s_{t+1} - s_t, which ask
    for several decorrelated features that *change* within an episode (position, heading) rather
    than only features that tell episodes apart (layout)."""
    delta_std_target: float = Field(0.5, gt=0.0)
    """Per-dimension std the step-difference variance hinge asks for."""
    inverse_weight: float = Field(0.5, ge=0.0)
    """Weight of the inverse-dynamics loss (predict a_t from s_t, s_{t+1}); 0 disables the head's loss."""
    inverse_hidden: int = Field(128, ge=1)
    """Width of the inverse-dynamics head."""
    ema: float = Field(0.0, ge=0.0, lt=1.0)
    """EMA decay of a separate target encoder; 0 uses the online encoder for targets (VICReg style,
    gradients through both branches), which the variance/covariance terms keep from collapsing."""


# -- planners (the actor) ----------------------------------------------------------------


class CEMConfig(_Frozen):
    """Cross-entropy method over continuous action sequences."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    samples: int = Field(256, ge=2)
    """Sequences sampled per iteration (N)."""
    elites: int = Field(32, ge=1)
    """Best sequences refit each iteration."""
    iterations: int = Field(4, ge=1)
    """Refinement rounds per plan."""
    init_std: float = Field(1.0, gt=0)
    """Initial sampling std per action dimension."""
    min_std: float = Field(0.05, gt=0)
    """Floor on the std so the search never freezes."""
    action_bound: float = Field(1.0, gt=0)
    """Actions are clipped to [-bound, bound] per dimension."""


class MPPIConfig(_Frozen):
    """Model-predictive path integral control over continuous action sequences."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    samples: int = Field(256, ge=2)
    """Sequences sampled per iteration (N)."""
    iterations: int = Field(4, ge=1)
    """Refinement rounds per plan."""
    noise_std: float = Field(0.5, gt=0)
    """Std of the exploration noise around the mean sequence."""
    temperature: float = Field(0.1, gt=0)
    """Softmax temperature on (cost - min cost); lower is greedier."""
    action_bound: float = Field(1.0, gt=0)
    """Actions are clipped to [-bound, bound] per dimension."""


class CategoricalCEMConfig(_Frozen):
    """Cross-entropy method over discrete action sequences (a categorical per step)."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    samples: int = Field(256, ge=2)
    """Sequences sampled per iteration (N)."""
    elites: int = Field(25, ge=1)
    """Best sequences refit each iteration."""
    iterations: int = Field(4, ge=1)
    """Refinement rounds per plan."""
    smoothing: float = Field(0.3, ge=0, lt=1)
    """Weight of the old distribution when refitting (keeps the search from freezing)."""
    min_prob: float = Field(0.01, ge=0, lt=1)
    """Floor on every action's probability."""
    reach: bool = False
    """Goal-reaching aggregation: each step pays the lowest step cost reached so far, so arriving
    early is what counts and moving on after arriving is free; off, every step's cost counts."""


class BeamConfig(_Frozen):
    """Beam search over discrete action sequences."""

    horizon: int = Field(10, ge=1)
    """Planned steps H."""
    width: int = Field(64, ge=1)
    """Partial sequences kept after each step."""
    reach: bool = False
    """Goal-reaching aggregation: each step pays the lowest step cost reached so far, so arriving
    early is what counts and moving on after arriving is free; off, every step's cost counts."""


class ImaginedConfig(_Frozen):
    """An abstract level's search over hops imagined with the level below's predictor
    (`levels.imagined.ImaginedPlanner`)."""

    hop: int = Field(6, ge=1)
    """Actions of the level below per imagined hop (the longest subgoal handed down)."""
    samples: int = Field(64, ge=1)
    """Action sequences imagined from each expanded state."""
    keep: int = Field(4, ge=1)
    """Endpoints kept per expansion (the most promising that differ by at least `merge`)."""
    beam: int = Field(4, ge=1)
    """Imagined states expanded per round."""
    rounds: int = Field(4, ge=1)
    """Rounds of expansion: the search looks up to rounds x hop steps ahead."""
    merge: float = Field(1.5, gt=0.0)
    """Two imagined states closer than this (learned steps) count as one; so does a failed subgoal."""
    arrive: float = Field(2.0, gt=0.0)
    """An imagined state this close to a goal (learned steps) has arrived. Kept small on purpose:
    a learned distance is blurry about walls, so "within a hop of the goal" is decided by
    imagining the way there, not by the critic's guess across a wall."""
    heuristic: Literal["level0", "level1"] = "level0"
    """Whose critic estimates an imagined state's steps to the goal: level 0's, or level 1's on
    the level-1 states (trained on the same data, longer hops)."""
    prior: tuple[float, ...] = ()
    """Probability of each action of the level below in imagined hops (empty: uniform)."""
    lead: int = Field(0, ge=0)
    """What goes down as the subgoal: 0, the first hop's imagined end; k (1..hop), the state
    imagined k actions into it (sharper: the predictor blurs with depth), and the level above
    plans again every k steps."""

    @model_validator(mode="after")
    def _lead_within_hop(self) -> ImaginedConfig:
        if self.lead > self.hop:
            raise ValueError(f"lead ({self.lead}) must be at most hop ({self.hop}): it is a state along the first hop")
        return self


class LatentPlanConfig(_Frozen):
    """An abstract level's own planner (`levels.latent.LatentPlanner`): beam search over its
    macro-action codebook through its predictor, under its learned cost-to-go."""

    horizon: int = Field(3, ge=1)
    """Level-k steps imagined ahead (each one `period` steps of the level below)."""
    width: int = Field(32, ge=1)
    """Imagined macro-action sequences kept per depth."""
    arrive: float = Field(4.0, gt=0.0)
    """An imagined state this close to a goal (the cost-to-go, in steps of the level below) has arrived."""
    merge: float = Field(0.0, ge=0.0)
    """Two imagined states closer than this (the cost-to-go between them) count as one: the beam
    keeps the cheaper (0: keeps the `width` cheapest, copies and all)."""
    merge_by: Literal["critic", "state"] = "critic"
    """How `merge` measures closeness: "critic", the cost-to-go between the two states (in steps
    of the level below); "state", the Euclidean distance between them in the level's space
    (cheap enough for a wide beam)."""
    replan: int = Field(4, ge=1)
    """Steps of the level below between two plans (the level plans again from what the agent now sees)."""
    arrive_by: Literal["critic", "state"] = "critic"
    """What says an imagined state has arrived: "critic", the cost-to-go within `arrive`; "state",
    the predicted state within `arrive_radius` of a goal's encoding in the level's space (the
    cost-to-go then only orders the search, and the first depth where a way arrives ends it)."""
    arrive_radius: float = Field(1.0, gt=0.0)
    """With `arrive_by = "state"`: how near (Euclidean, in the level's space) a goal's encoding an
    imagined state must lie to have arrived."""
    closed: bool = False
    """Drop an imagined state within `merge` (Euclidean) of one the search kept at a shallower
    depth, so the beam spreads outward instead of coming back (a closed set, as in A*)."""
    consistent: bool = False
    """Keep the cost-to-go consistent along each imagined way ("pathmax"): a predicted state is
    never nearer the goal than the state it was predicted from, less one macro-step's `period`
    steps. A learned cost-to-go is at its least reliable on imagined states, and a search that
    ranks thousands of them finds the ones it underrates; this caps what it can gain per step."""
    learn: bool = False
    """Correct the cost-to-go from the episode's own searches (LRTA*, `levels.latent.LearnedToGo`):
    a real state the search found no cheap way from counts as that far from then on."""
    learn_radius: float = Field(1.0, gt=0.0)
    """With `learn`: how near (Euclidean, in the level's space) an imagined state must lie to a
    corrected real state to take its correction."""
    learn_miss: float = Field(0.0, ge=0.0)
    """With `learn`: steps added to an imagined hop from near where a handed-down hop was missed
    to near its target, per miss (0: missed hops aren't learned)."""


class AbstractLevelConfig(_Frozen):
    """A level k >= 1: encodes level k-1's states, predicts `period` of its steps ahead from a
    macro-action latent that summarizes the chunk of level k-1 actions taken meanwhile."""

    dim: int = Field(32, ge=1)
    """Latent size of this level's state (smaller than the level below: more abstract)."""
    hidden: int = Field(256, ge=1)
    """Width of the encoder, macro-action and predictor MLPs."""
    period: int = Field(8, ge=1)
    """Steps of the level below per step of this level (the coarser time scale)."""
    macro_dim: int = Field(8, ge=1)
    """Size of the macro-action latent u (the abstract action)."""
    codes: int = Field(64, ge=0)
    """Macro-actions in the level's codebook: k-means centroids of the macro-action latents of the
    training data's chunks, what the level's own planner searches (`levels.latent`); 0: none."""
    critic: Literal["hindsight", "quasimetric", "td"] = "hindsight"
    """How its cost-to-go is taught, by the data alone every way: "hindsight" regresses the fewest
    recorded steps between two states of an episode (`costs.critic.Critic`); "quasimetric" pushes
    states of an episode apart while every recorded step costs at most one (QRL,
    `costs.critic.QuasimetricCritic`), so distances compose along the data's steps; "td" learns
    one more step than from the next state, to goals anywhere in the data (IQL/HIQL's value,
    `hagent.training.critic.fit_td_critic`), so it stitches episodes together."""


class AbstractTrainConfig(_Frozen):
    """Training the abstract levels (JEPA with VICReg, level below frozen), then their critics."""

    steps: int = Field(2000, ge=0)
    """Optimizer steps per abstract level."""
    lr: float = Field(1e-3, gt=0.0)
    """Adam learning rate."""
    batch_size: int = Field(256, ge=2)
    """Samples per batch."""
    horizon: int = Field(2, ge=1)
    """Level steps rolled out by the predictor per sample (multi-step prediction)."""
    macro_var_weight: float = Field(0.1, ge=0.0)
    """Weight of a variance hinge on the macro-action latents (an action code that collapses to a
    constant can't tell the predictor where the agent went)."""
    stopped_fraction: float = Field(0.0, ge=0.0, le=1.0)
    """Share of each batch drawn from samples whose level-0 actions include a move that went
    nowhere (a wall in the way; read from the observations alone: the next view the same), so
    the predictor learns the moves the world refuses, which a search over its imagined moves
    otherwise exploits (0: drawn like the rest; grid and point data)."""
    quasimetric_steps: int = Field(3000, ge=1)
    """Optimizer steps of a level's quasimetric critic (`critic = "quasimetric"`)."""
    quasimetric_slack: float = Field(0.5, gt=0.0)
    """How far above one a recorded step's cost may be on average (root mean square of the
    excess) while the quasimetric critic pushes states apart."""
    td_steps: int = Field(20000, ge=1)
    """Optimizer steps of a level's temporal-difference critic (`critic = "td"`)."""
    td_random_goals: float = Field(0.3, ge=0.0, le=1.0)
    """Share of the temporal-difference critic's goals drawn from anywhere in the data (the rest:
    the start itself or a later state of its episode)."""
    td_polyak: float = Field(0.05, gt=0.0, le=1.0)
    """How fast the temporal-difference critic's target copy follows it, per step (higher
    carries distances further per step, less steadily)."""
