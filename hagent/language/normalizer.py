"""The language normalizer: a small transformer that reads free text the grammar didn't take
and says which task it means, in the grammar's canonical form, with a confidence.

The text (sentencepiece tokens, tokenizer trained here) goes through a small BERT-style
encoder (built from a transformers config, nothing downloaded). Each token also carries the
concept WordNet files its word under (`hagent.language.lexicon.tag`: "crimson" -> red), so
words the training phrasings never used still read as what they name; training hides a tagged
word's own pieces now and then (`mask`), so the model learns to read the tag. Four learned queries attend
over its states: three action slots (verb, one or two objects, and how the slot joins the one
before: "and" or "then") and one guardrail slot (lava, the four forbidden actions, one room).
The slots are rendered as a `Task` and its canonical text (`Task.describe()`), which the
grammar parses back. The confidence is the product of the probabilities of every slot value
that the reading uses, so one unsure part makes the whole reading unsure.

It reads up to three goals and the guardrails above; longer compositions are the grammar's.

    >>> from decoder.tokenizer import Tokenizer
    >>> tok = Tokenizer.train(["could you go to the red ball", "avoid lava"] * 50, vocab_size=300)
    >>> norm = Normalizer(NormalizerConfig(layers=1, width=32, heads=2), tok)
    >>> 0.0 <= norm.read("could you go to the red ball").confidence <= 1.0
    True
"""

from __future__ import annotations

import random
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F
from transformers import BertConfig, BertModel

from decoder.tokenizer import EOS, PAD, Tokenizer
from hagent.config import NormalizerConfig
from hagent.language import (
    COLORS,
    KINDS,
    LOCATIONS,
    ROOM_POSITIONS,
    AvoidHazard,
    AvoidRegion,
    Both,
    ForbidAction,
    GoTo,
    ObjectRef,
    Open,
    PickUp,
    PutNext,
    RegionRef,
    Sequence,
    Task,
    all_of,
    in_order,
)
from hagent.language import lexicon
from hagent.language.checks import unnamed, unread  # re-exported: the checks every reading gets

FIRST_PIECE = EOS + 1  # pieces below are pad, unk, bos, eos

# -- the slots -------------------------------------------------------------------------------------

ACTION_SLOTS = 3
VERBS = ("none", "goto", "pickup", "open", "putnext")
OBJECT_KINDS = ("object", *KINDS)  # "object": any kind
MAYBE_COLORS = ("none", *COLORS)
MAYBE_LOCATIONS = ("none", *LOCATIONS)
LINKS = ("and", "then")
FORBIDS = ("open", "pickup", "drop", "toggle")
MAYBE_POSITIONS = ("none", *ROOM_POSITIONS)

ACTION_HEADS: dict[str, int] = {
    "verb": len(VERBS), "link": len(LINKS),
    **{f"o{j}_{part}": n for j in (0, 1) for part, n in
       (("kind", len(OBJECT_KINDS)), ("color", len(MAYBE_COLORS)), ("loc", len(MAYBE_LOCATIONS)))},
}  # fmt: skip
GUARD_HEADS: dict[str, int] = {
    "lava": 2, **{f"no_{a}": 2 for a in FORBIDS}, "room_color": len(MAYBE_COLORS), "room_position": len(MAYBE_POSITIONS),
}  # fmt: skip


class Slots(NamedTuple):
    """A task as slot labels: `actions[i]` maps each ACTION_HEADS name to a class index
    (slot i's "link" joins it to slot i-1); `guards` maps each GUARD_HEADS name to one."""

    actions: tuple[dict[str, int], ...]
    guards: dict[str, int]


def _object_labels(ref: ObjectRef | None, j: int) -> dict[str, int]:
    ref = ref or ObjectRef()
    return {
        f"o{j}_kind": OBJECT_KINDS.index(ref.kind or "object"),
        f"o{j}_color": MAYBE_COLORS.index(ref.color or "none"),
        f"o{j}_loc": MAYBE_LOCATIONS.index(ref.location or "none"),
    }


def task_slots(task: Task | None) -> Slots | None:
    """The slot labels of `task` (None: not an instruction, all slots empty); None when the
    slots can't hold it (more than three goals, two rooms, a room named by its contents)."""
    actions: list[tuple[object, str]] = []  # (action, link to the one before)

    def flatten(goal: object, link: str) -> None:
        match goal:
            case Sequence(first, second):
                flatten(first, link)
                flatten(second, "then")
            case Both(a, b):
                flatten(a, link)
                flatten(b, "and")
            case _:
                actions.append((goal, link))

    if task is not None and task.goal is not None:
        flatten(task.goal, "and")
    if len(actions) > ACTION_SLOTS:
        return None
    rows = []
    for i in range(ACTION_SLOTS):
        action, link = actions[i] if i < len(actions) else (None, "and")
        match action:
            case GoTo(obj) | PickUp(obj) | Open(obj):
                verb, objects = {GoTo: "goto", PickUp: "pickup", Open: "open"}[type(action)], (obj, None)
            case PutNext(move, fixed):
                verb, objects = "putnext", (move, fixed)
            case _:
                verb, objects = "none", (None, None)
        rows.append({"verb": VERBS.index(verb), "link": LINKS.index(link),
                     **_object_labels(objects[0], 0), **_object_labels(objects[1], 1)})  # fmt: skip
    guards = {name: 0 for name in GUARD_HEADS}
    regions = [g for g in (task.guardrails if task else ()) if isinstance(g, AvoidRegion)]
    if len(regions) > 1 or any(r.region.contains is not None for r in regions):
        return None
    for g in task.guardrails if task else ():
        match g:
            case AvoidHazard():
                guards["lava"] = 1
            case ForbidAction(action):
                guards[f"no_{action}"] = 1
            case AvoidRegion(region):
                guards["room_color"] = MAYBE_COLORS.index(region.color or "none")
                guards["room_position"] = MAYBE_POSITIONS.index(region.position or "none")
    return Slots(tuple(rows), guards)


def slots_task(slots: Slots) -> Task | None:
    """The task the slot labels say (None when they say nothing, or something ill-formed)."""

    def obj(row: dict[str, int], j: int) -> ObjectRef:
        kind = OBJECT_KINDS[row[f"o{j}_kind"]]
        color, loc = MAYBE_COLORS[row[f"o{j}_color"]], MAYBE_LOCATIONS[row[f"o{j}_loc"]]
        return ObjectRef(None if kind == "object" else kind, None if color == "none" else color, None if loc == "none" else loc)

    try:
        steps: list[list] = []
        for i, row in enumerate(slots.actions):
            verb = VERBS[row["verb"]]
            if verb == "none":
                break
            if verb == "putnext":
                action = PutNext(obj(row, 0), obj(row, 1))
            else:
                action = {"goto": GoTo, "pickup": PickUp, "open": Open}[verb](obj(row, 0))
            if i == 0 or LINKS[row["link"]] == "then":
                steps.append([action])
            else:
                steps[-1].append(action)
        g = slots.guards
        guardrails: list = [AvoidHazard("lava")] if g["lava"] else []
        color, position = MAYBE_COLORS[g["room_color"]], MAYBE_POSITIONS[g["room_position"]]
        if color != "none" or position != "none":
            guardrails.append(AvoidRegion(RegionRef(None if color == "none" else color, None if position == "none" else position)))
        guardrails += [ForbidAction(a) for a in FORBIDS if g[f"no_{a}"]]
        goal = in_order(*(all_of(*step) for step in steps)) if steps else None
        if goal is None and not guardrails:
            return None
        return Task(goal, tuple(guardrails))
    except (ValueError, TypeError):  # e.g. "open the red ball": the node refuses it
        return None


# -- the model -----------------------------------------------------------------------------------


class Reading(NamedTuple):
    """What the normalizer made of a text: the task (None: not an instruction), its canonical
    text ("" for none), the probability of the whole reading, what the reading names that
    the text doesn't (`unnamed`), and the colours the text says that the reading leaves out
    (`unread`): with either, it is not acted on, however confident."""

    task: Task | None
    canonical: str
    confidence: float
    unnamed: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()


class SlotLogits(NamedTuple):
    """Per-slot logits: `actions[name]` is [B, ACTION_SLOTS, C], `guards[name]` is [B, C]."""

    actions: dict[str, torch.Tensor]
    guards: dict[str, torch.Tensor]


class Normalizer(nn.Module):
    """Free text -> slot labels -> a task in canonical form, with the reading's probability."""

    def __init__(self, cfg: NormalizerConfig, tokenizer: Tokenizer):
        super().__init__()
        if cfg.width % cfg.heads:
            raise ValueError(f"normalizer width ({cfg.width}) must be a multiple of its heads ({cfg.heads})")
        self.cfg, self.tokenizer = cfg, tokenizer
        self.encoder = BertModel(BertConfig(
            vocab_size=tokenizer.vocab_size, hidden_size=cfg.width, num_hidden_layers=cfg.layers,
            num_attention_heads=cfg.heads, intermediate_size=2 * cfg.width, max_position_embeddings=cfg.max_tokens,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=PAD, type_vocab_size=1,
        ), add_pooling_layer=False)  # fmt: skip
        self.concepts = nn.Embedding(len(lexicon.CONCEPTS) + 1, cfg.width, padding_idx=0) if cfg.lexicon else None
        self.queries = nn.Parameter(torch.randn(ACTION_SLOTS + 1, cfg.width) * 0.02)  # 3 actions, then guards
        self.attend = nn.MultiheadAttention(cfg.width, cfg.heads, batch_first=True)
        self.mix = nn.Sequential(nn.LayerNorm(cfg.width), nn.Linear(cfg.width, cfg.width), nn.GELU())
        self.action_heads = nn.ModuleDict({k: nn.Linear(cfg.width, n) for k, n in ACTION_HEADS.items()})
        self.guard_heads = nn.ModuleDict({k: nn.Linear(cfg.width, n) for k, n in GUARD_HEADS.items()})

    @property
    def threshold(self) -> float:
        """The confidence a reading needs to be acted on."""
        return self.cfg.threshold

    def token_ids(self, texts: list[str], dropout: float = 0.0, mask: float = 0.0,
                  rng: random.Random | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded token ids [B, T] of the lower-cased texts and each token's concept tag [B, T]
        (0: none; each text cut to its last `max_tokens`). Training only: `dropout` samples
        segmentations, and `mask` is the chance that a tagged word's pieces are swapped for random
        ones, its tag kept (`rng` draws them)."""
        rows, tag_rows = [], []
        for text in texts:
            words = text.lower().split()
            tags = lexicon.tag(words) if self.concepts is not None else [0] * len(words)
            ids: list[int] = []
            id_tags: list[int] = []
            for word, t in zip(words, tags, strict=True):
                pieces = self.tokenizer.encode(word, dropout)
                if t and mask and rng is not None and rng.random() < mask:
                    pieces = [rng.randrange(FIRST_PIECE, self.tokenizer.vocab_size) for _ in range(rng.randint(1, 3))]
                ids += pieces
                id_tags += [t] * len(pieces)
            rows.append(ids[-self.cfg.max_tokens :] or [PAD])
            tag_rows.append(id_tags[-self.cfg.max_tokens :] or [0])
        ids_t = torch.full((len(rows), max(len(r) for r in rows)), PAD, dtype=torch.long)
        tags_t = torch.zeros_like(ids_t)
        for i, (r, t) in enumerate(zip(rows, tag_rows, strict=True)):
            ids_t[i, : len(r)] = torch.as_tensor(r)
            tags_t[i, : len(t)] = torch.as_tensor(t)
        return ids_t, tags_t

    def forward(self, ids: torch.Tensor, tags: torch.Tensor | None = None) -> SlotLogits:
        """Slot logits for token ids [B, T] and their concept tags [B, T] (None: untagged)."""
        mask = ids != PAD
        mask[:, 0] = True  # an empty text still has one position to attend to
        embedded = self.encoder.embeddings.word_embeddings(ids)
        if self.concepts is not None and tags is not None:
            embedded = embedded + self.concepts(tags)
        states = self.encoder(inputs_embeds=embedded, attention_mask=mask.long()).last_hidden_state  # (B, T, W)
        q = self.queries.expand(ids.shape[0], -1, -1)  # (B, 4, W)
        slots, _ = self.attend(q, states, states, key_padding_mask=~mask, need_weights=False)
        slots = self.mix(slots + q)  # (B, 4, W)
        actions = {k: head(slots[:, :ACTION_SLOTS]) for k, head in self.action_heads.items()}
        guards = {k: head(slots[:, ACTION_SLOTS]) for k, head in self.guard_heads.items()}
        return SlotLogits(actions, guards)

    def loss(self, ids: torch.Tensor, tags: torch.Tensor, labels: list[Slots]) -> torch.Tensor:
        """Cross-entropy over every slot head (token ids and tags [B, T], one `Slots` per row)."""
        out = self(ids, tags)
        total = torch.zeros(())
        for k, logits in out.actions.items():
            target = torch.as_tensor([[row[k] for row in s.actions] for s in labels])  # (B, 3)
            total = total + F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        for k, logits in out.guards.items():
            total = total + F.cross_entropy(logits, torch.as_tensor([s.guards[k] for s in labels]))
        return total

    @torch.no_grad()
    def read(self, text: str) -> Reading:
        """The most probable reading of `text` and the probability of every slot value it uses."""
        return self.read_many([text])[0]

    @torch.no_grad()
    def read_many(self, texts: list[str]) -> list[Reading]:
        """`read` for a batch of texts."""
        return readings_from(self.probabilities(texts), texts)

    @torch.no_grad()
    def probabilities(self, texts: list[str]) -> SlotLogits:
        """Every slot's class probabilities for a batch of texts."""
        out = self(*self.token_ids(texts))
        return SlotLogits({k: v.softmax(-1) for k, v in out.actions.items()}, {k: v.softmax(-1) for k, v in out.guards.items()})


def readings_from(probs: SlotLogits, texts: list[str]) -> list[Reading]:
    """The most probable reading of each text from its slots' probabilities, with the product
    of the probabilities of every slot value it uses."""
    readings = []
    for b in range(len(texts)):
        rows = tuple({k: int(p[b, i].argmax()) for k, p in probs.actions.items()} for i in range(ACTION_SLOTS))
        guards = {k: int(p[b].argmax()) for k, p in probs.guards.items()}
        confidence = 1.0
        for k, p in probs.guards.items():
            confidence *= float(p[b, guards[k]])
        for i, row in enumerate(rows):
            confidence *= float(probs.actions["verb"][b, i, row["verb"]])
            verb = VERBS[row["verb"]]
            if verb == "none":
                break  # later slots are not read
            used = ["o0_kind", "o0_color", "o0_loc"] + (["o1_kind", "o1_color", "o1_loc"] if verb == "putnext" else [])
            used += ["link"] if i else []
            for k in used:
                confidence *= float(probs.actions[k][b, i, row[k]])
        task = slots_task(Slots(rows, guards))
        readings.append(Reading(task, "" if task is None else task.describe(), confidence, unnamed(texts[b], task), unread(texts[b], task)))
    return readings


class Ensemble(nn.Module):
    """`cfg.members` normalizers trained apart on the same tokenizer, read as one: each slot's
    probabilities are the members' mean. Where the members disagree (phrasings none of them saw
    in training) the mean is unsure, so the reading is asked about rather than acted on."""

    def __init__(self, cfg: NormalizerConfig, tokenizer: Tokenizer):
        super().__init__()
        self.cfg, self.tokenizer = cfg, tokenizer
        self.members = nn.ModuleList(Normalizer(cfg, tokenizer) for _ in range(cfg.members))

    @property
    def threshold(self) -> float:
        """The confidence a reading needs to be acted on."""
        return self.cfg.threshold

    @torch.no_grad()
    def probabilities(self, texts: list[str]) -> SlotLogits:
        """The members' mean slot probabilities for a batch of texts."""
        probs = [m.probabilities(texts) for m in self.members]
        return SlotLogits({k: sum(p.actions[k] for p in probs) / len(probs) for k in probs[0].actions},
                          {k: sum(p.guards[k] for p in probs) / len(probs) for k in probs[0].guards})  # fmt: skip

    @torch.no_grad()
    def read(self, text: str) -> Reading:
        """The most probable reading of `text` and the probability of every slot value it uses."""
        return self.read_many([text])[0]

    @torch.no_grad()
    def read_many(self, texts: list[str]) -> list[Reading]:
        """`read` for a batch of texts."""
        return readings_from(self.probabilities(texts), texts)


def build(cfg: NormalizerConfig, tokenizer: Tokenizer) -> Normalizer | Ensemble:
    """The reader `cfg` describes: one normalizer, or an ensemble of `cfg.members`."""
    return Ensemble(cfg, tokenizer) if cfg.members > 1 else Normalizer(cfg, tokenizer)

