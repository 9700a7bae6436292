"""The plan decoder: a small GPT-2 (built from a transformers config, nothing downloaded) that
reads the plan as prefix embeddings and writes what the agent will do.

The prefix is one embedding per goal stage, per guardrail in force and per plan step (level 0's
and level 1's representations of the state the step leads to, where it is, and what it acts
on); the text's tokens follow it, and the language-model loss is taken on the text alone.

    >>> import torch
    >>> from decoder.config import DecoderConfig
    >>> dec = PlanDecoder(DecoderConfig(layers=1, width=32, heads=2), PrefixDims(8, 5, 4), vocab_size=300)
    >>> batch = PrefixBatch(torch.zeros(1, 3, 8), torch.ones(1, 3, dtype=torch.bool), torch.zeros(1, 1, 5),
    ...                     torch.ones(1, 1, dtype=torch.bool), torch.zeros(1, 1, 4), torch.ones(1, 1, dtype=torch.bool))
    >>> len(dec.greedy(batch, max_tokens=5)) <= 5
    True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.cache_utils import DynamicCache

from decoder.config import DecoderConfig
from decoder.tokenizer import BOS, EOS, PAD


class PrefixDims(NamedTuple):
    """Feature widths of the three kinds of prefix slot."""

    event: int
    guard: int
    goal: int


class PlanFeatures(NamedTuple):
    """One plan's features, as `hagent.acting.narrative` computes them (at least one goal row)."""

    events: np.ndarray  # [E, Fe]
    guards: np.ndarray  # [G, Fg]
    goals: np.ndarray  # [S, Fs]

    @property
    def dims(self) -> PrefixDims:
        """Feature widths."""
        return PrefixDims(self.events.shape[1], self.guards.shape[1], self.goals.shape[1])


class PrefixBatch(NamedTuple):
    """Plan features for B plans; masks mark the slots in use (goal slot 0 always is)."""

    events: torch.Tensor  # [B, E, Fe]
    event_mask: torch.Tensor  # [B, E] bool
    guards: torch.Tensor  # [B, G, Fg]
    guard_mask: torch.Tensor  # [B, G] bool
    goals: torch.Tensor  # [B, S, Fs]
    goal_mask: torch.Tensor  # [B, S] bool

    def repeat(self, n: int) -> PrefixBatch:
        """The batch repeated n times along B (n candidates of one plan)."""
        return PrefixBatch(*(t.repeat(n, *([1] * (t.dim() - 1))) for t in self))


SLOTS = 8  # most goal stages, and most guardrails, the prefix holds


def collate(plans: list[PlanFeatures], max_events: int) -> PrefixBatch:
    """Pad B plans' features into one batch of fixed-size slots (steps beyond `max_events`, and
    goal stages or guardrails beyond `SLOTS`, are dropped)."""

    def pad(rows: list[np.ndarray], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Always n slots: the text then starts at the same position in training and generation.
        rows = [r[:n] for r in rows]
        out = torch.zeros(len(rows), n, rows[0].shape[1])
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.as_tensor(r, dtype=torch.float32)
            mask[i, : len(r)] = True
        return out, mask

    events, event_mask = pad([p.events for p in plans], max_events)
    guards, guard_mask = pad([p.guards for p in plans], SLOTS)
    goals, goal_mask = pad([p.goals for p in plans], SLOTS)
    return PrefixBatch(events, event_mask, guards, guard_mask, goals, goal_mask)


class PlanPrefix(nn.Module):
    """Plan features -> prefix embeddings: goals, then guardrails, then steps."""

    def __init__(self, dims: PrefixDims, width: int):
        super().__init__()
        self.dims = dims
        self.event = nn.Sequential(nn.Linear(dims.event, width), nn.GELU(), nn.Linear(width, width))
        self.guard = nn.Linear(dims.guard, width)
        self.goal = nn.Linear(dims.goal, width)
        self.part = nn.Embedding(3, width)  # which kind of slot

    def forward(self, batch: PrefixBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings [B, P, W] and their mask [B, P], P = S + G + E."""
        parts = (self.goal(batch.goals), self.guard(batch.guards), self.event(batch.events))
        x = torch.cat([p + self.part.weight[i] for i, p in enumerate(parts)], dim=1)
        mask = torch.cat([batch.goal_mask, batch.guard_mask, batch.event_mask], dim=1)
        return x, mask


class PlanDecoder(nn.Module):
    """Prefix encoder + GPT-2 language model; `loss` trains it, `greedy`/`sample`/`beam` decode."""

    def __init__(self, cfg: DecoderConfig, dims: PrefixDims, vocab_size: int, gpt: GPT2LMHeadModel | None = None):
        """A fresh decoder, or one around a loaded `gpt` (from `save_pretrained`)."""
        super().__init__()
        if cfg.width % cfg.heads:
            raise ValueError(f"decoder.width ({cfg.width}) must be a multiple of decoder.heads ({cfg.heads})")
        self.cfg = cfg
        self.prefix = PlanPrefix(dims, cfg.width)
        if gpt is None:
            positions = cfg.max_events + 2 * SLOTS + cfg.max_tokens + 2  # steps + goal and guardrail slots + text
            gpt = GPT2LMHeadModel(GPT2Config(
                vocab_size=vocab_size, n_positions=positions, n_embd=cfg.width, n_layer=cfg.layers, n_head=cfg.heads,
                bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            ))
        self.gpt = gpt

    def logits(self, batch: PrefixBatch, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits [B, T, V] for `tokens` [B, T] (starting with bos) after the prefix."""
        prefix, mask = self.prefix(batch)
        x = torch.cat([prefix, self.gpt.transformer.wte(tokens)], dim=1)  # (B, P+T, W)
        mask = torch.cat([mask, tokens != PAD], dim=1)
        positions = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
        out = self.gpt(inputs_embeds=x, attention_mask=mask.long(), position_ids=positions)
        return out.logits[:, prefix.shape[1] :]

    def loss(self, batch: PrefixBatch, tokens: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each next token of `tokens` [B, T] (bos ... eos, pad after)."""
        logits = self.logits(batch, tokens[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD)

    # -- decoding ----------------------------------------------------------------------------
    def _start(self, batch: PrefixBatch) -> tuple[torch.Tensor, DynamicCache, torch.Tensor]:
        """Run prefix + bos; return the first next-token log-probs [N, V], the cache and the mask."""
        prefix, mask = self.prefix(batch)
        bos = self.gpt.transformer.wte(torch.full((prefix.shape[0], 1), BOS, device=prefix.device))
        x = torch.cat([prefix, bos], dim=1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1).long()
        cache = DynamicCache()
        positions = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
        out = self.gpt(inputs_embeds=x, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True)
        return out.logits[:, -1].log_softmax(-1), out.past_key_values, mask

    def _next(self, tokens: torch.Tensor, cache: DynamicCache, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed `tokens` [N]; return the next log-probs [N, V] and the grown mask."""
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        positions = torch.full((tokens.shape[0], 1), mask.shape[1] - 1, device=tokens.device)
        out = self.gpt(input_ids=tokens[:, None], attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True)
        return out.logits[:, -1].log_softmax(-1), mask

    @torch.no_grad()
    def greedy(self, batch: PrefixBatch, max_tokens: int) -> list[int]:
        """The most likely next token at every step, for one plan (B = 1)."""
        return self.sample(batch, 1, max_tokens, temperature=0.0)[0]

    @torch.no_grad()
    def sample(
        self, batch: PrefixBatch, n: int, max_tokens: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> list[list[int]]:
        """`n` texts for one plan (B = 1) sampled at `temperature` (0: greedy)."""
        logp, cache, mask = self._start(batch.repeat(n))
        out = torch.full((n, max_tokens), PAD, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        for t in range(max_tokens):
            if temperature > 0:
                token = torch.multinomial((logp / temperature).softmax(-1), 1, generator=generator)[:, 0]
            else:
                token = logp.argmax(-1)
            token = torch.where(done, PAD, token)
            out[:, t] = token
            done |= token == EOS
            if done.all():
                break
            logp, mask = self._next(token, cache, mask)
        return [_trim(row) for row in out.tolist()]

    @torch.no_grad()
    def beam(self, batch: PrefixBatch, width: int, max_tokens: int) -> list[list[int]]:
        """The `width` best texts by beam search (length-normalized log-probability), best first."""
        logp, cache, mask = self._start(batch.repeat(width))
        scores = torch.full((width,), float("-inf"))
        scores[0] = 0.0  # all beams start equal: keep one until the first expansion
        seqs = torch.zeros((width, 0), dtype=torch.long)
        done = torch.zeros(width, dtype=torch.bool)
        vocab = logp.shape[-1]
        for _ in range(max_tokens):
            logp = logp.clone()
            logp[done] = float("-inf")
            logp[done, PAD] = 0.0  # a finished beam only pads
            total = (scores[:, None] + logp).reshape(-1)
            scores, flat = total.topk(width)
            beam, token = flat // vocab, flat % vocab
            seqs = torch.cat([seqs[beam], token[:, None]], dim=1)
            done = done[beam] | (token == EOS)
            if done.all():
                break
            cache.reorder_cache(beam)
            mask = mask[beam]
            logp, mask = self._next(token, cache, mask)
        lengths = (seqs != PAD).sum(1).clamp(min=1)
        order = (scores / lengths).argsort(descending=True)
        return [_trim(seqs[i].tolist()) for i in order if torch.isfinite(scores[i])]


def _trim(ids: list[int]) -> list[int]:
    """Ids up to (not including) the first eos, pads dropped."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i != PAD:
            out.append(i)
    return out
