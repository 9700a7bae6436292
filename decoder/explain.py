"""Verified generation: the decoder proposes, the plan's facts decide what may be shown.

`Explainer.describe(features, facts)` decodes candidates (greedy, beam, samples), reads each
one's claims back (`decoder.facts.read_claims`) and checks them against the plan's own facts;
of the texts with no false claim that state every goal, it shows the one that states the most
of the plan, less any goal clause that restates a step it already claimed (`drop_restated`). When none passes, it shows the plain template written from the facts themselves
and flags it.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from decoder.config import DecoderConfig
from decoder.facts import Facts, check, drop_restated, read_claims, render, stated
from decoder.model import PlanDecoder, PlanFeatures, collate
from decoder.tokenizer import Tokenizer


class Description(NamedTuple):
    """A text about a plan and how it was arrived at."""

    text: str
    verified: bool  # every claim checked against the plan's facts and found true
    fallback: bool  # no candidate passed: this is the plain template from the plan's facts
    candidates: int  # texts decoded
    rejected: tuple[str, ...] = ()  # why candidates were turned down (a few)
    tokens: int = 0  # tokens decoded in all


class Explainer:
    """Plan decoder + tokenizer + the check against the plan."""

    def __init__(self, decoder: PlanDecoder, tokenizer: Tokenizer, cfg: DecoderConfig):
        self.decoder, self.tokenizer, self.cfg = decoder.eval(), tokenizer, cfg

    def candidates(self, features: PlanFeatures, generator: torch.Generator | None = None) -> list[list[int]]:
        """Token ids of the greedy text, the beam texts and `cfg.samples` sampled texts, in that order."""
        cfg = self.cfg
        batch = collate([features], cfg.max_events)
        out = [self.decoder.greedy(batch, cfg.max_tokens)]
        if cfg.beam > 1:
            out += self.decoder.beam(batch, cfg.beam, cfg.max_tokens)
        if cfg.samples:
            out += self.decoder.sample(batch, cfg.samples, cfg.max_tokens, cfg.temperature, generator)
        return out

    def greedy(self, features: PlanFeatures) -> str:
        """The decoder's most likely text, unchecked."""
        return self.tokenizer.decode(self.decoder.greedy(collate([features], self.cfg.max_events), self.cfg.max_tokens))

    def describe(self, features: PlanFeatures, facts: Facts, generator: torch.Generator | None = None) -> Description:
        """The best candidate with no false claim about `facts` and every goal stated; else the
        flagged template."""
        if not self.cfg.verify:
            ids = self.decoder.greedy(collate([features], self.cfg.max_events), self.cfg.max_tokens)
            return Description(self.tokenizer.decode(ids), verified=False, fallback=False, candidates=1, tokens=len(ids))
        ids = self.candidates(features, generator)
        texts = list(dict.fromkeys(self.tokenizer.decode(i) for i in ids))
        best, best_score, rejected = None, -1.0, []
        for text in texts:
            claims = read_claims(text)
            false = check(claims, facts)
            if false:
                rejected.append(f"{text!r}: " + ("not in the description language" if claims is None else "false: " + ", ".join(f"{f.kind} {f.what}" for f in false)))
                continue
            left_out = [g.what for g in facts.goals if not stated(claims, Facts((g,), (), ()))]
            if left_out:  # a description may shorten the route, never drop what the task is
                rejected.append(f"{text!r}: leaves out the goal " + ", ".join(left_out))
                continue
            score = stated(claims, facts)
            if score > best_score:
                best, best_score = text, score
        tokens = sum(len(i) for i in ids)
        if best is None:
            return Description(drop_restated(render(facts), facts), True, True, len(texts), tuple(rejected[:3]), tokens)
        return Description(drop_restated(best, facts), True, False, len(texts), tuple(rejected[:3]), tokens)
