"""Configs of the plan decoder (model and decoding) and of its training."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecoderConfig(_Frozen):
    """The plan -> text decoder: a small GPT-2-style transformer conditioned on plan prefix embeddings."""

    layers: int = Field(2, ge=1, le=12)
    """Transformer blocks."""
    width: int = Field(128, ge=16)
    """Embedding width (a multiple of `heads`)."""
    heads: int = Field(4, ge=1)
    """Attention heads."""
    vocab_size: int = Field(640, ge=300, le=8000)
    """Sentencepiece vocabulary asked for, 256 byte pieces and pad/unk/bos/eos included (so that
    the project's words are whole pieces); a corpus too small to fill it gets a smaller one."""
    max_tokens: int = Field(96, ge=8, le=512)
    """Longest text generated, in tokens."""
    max_events: int = Field(16, ge=1, le=64)
    """Plan steps (entering a room, opening a door, ...) the prefix holds; later ones are dropped."""
    beam: int = Field(4, ge=1)
    """Beam width of the beam-search candidate."""
    samples: int = Field(4, ge=0)
    """Sampled candidates besides the greedy and beam ones."""
    temperature: float = Field(0.8, gt=0.0)
    """Sampling temperature."""
    verify: bool = True
    """Check candidates against the plan's facts and show only one that passes (else the plain
    template, flagged); off: show the greedy text unchecked (for measuring the model alone)."""


class DecoderTrainConfig(_Frozen):
    """Training the decoder on (plan, description) pairs from executed episodes."""

    worlds: list[str] = ["rooms:3x3", "rooms:3x3?lava=6", "babyai:GoTo", "rooms:3x3?task=any"]
    """Worlds the training episodes are executed in (seeds 0.. ; benchmarks use 1000 and up)."""
    episodes: int = Field(1000, ge=0)
    """Executed episodes per world; 0 skips the decoder."""
    steps: int = Field(3000, ge=1)
    """Optimizer steps."""
    batch_size: int = Field(32, ge=1)
    """Pairs per step; each pair's text is re-phrased at random every time it is drawn."""
    lr: float = Field(1e-3, gt=0.0)
    """Peak AdamW learning rate (linear warm-up, cosine decay to 10%)."""
    warmup: int = Field(100, ge=0)
    """Linear warm-up steps."""
    wander: int = Field(12, ge=0)
    """Most random moves before the scripted executor takes over, so routes vary like the agent's."""
    stop_fraction: float = Field(0.15, ge=0.0, le=1.0)
    """Share of episodes cut short at a random step (plans that end unfinished)."""
    guardrail_fraction: float = Field(0.3, ge=0.0, le=1.0)
    """Share of episodes given an extra instruction guardrail that the episode keeps."""
    val_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    """Share of episodes held out to measure faithfulness after training."""
