"""The decoder's tokenizer: a sentencepiece model trained here on the project's own text.

Byte fallback is on, so any string encodes (unknown characters become byte pieces), and the
model is kept as its serialized bytes so that saving writes exactly what was trained.

    >>> tok = Tokenizer.train(["I'll go to the red ball."] * 50 + ["I'll keep clear of the lava."] * 50, vocab_size=300)
    >>> tok.decode(tok.encode("I'll go to the red ball."))
    "I'll go to the red ball."
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

PAD, UNK, BOS, EOS = 0, 1, 2, 3


class Tokenizer:
    """Text <-> token ids (pad 0, unk 1, bos 2, eos 3)."""

    def __init__(self, model: bytes):
        self.model = model
        self._sp = spm.SentencePieceProcessor(model_proto=model)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 512) -> Tokenizer:
        """Train a BPE model with byte fallback on `texts` (a vocabulary the corpus can't
        fill is shrunk rather than refused). One thread: the same corpus gives the same model."""
        out = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(list(texts)),
            model_writer=out,
            vocab_size=vocab_size,
            model_type="bpe",
            byte_fallback=True,
            character_coverage=1.0,
            hard_vocab_limit=False,
            pad_id=PAD,
            unk_id=UNK,
            bos_id=BOS,
            eos_id=EOS,
            num_threads=1,
            minloglevel=2,
        )
        return cls(out.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read a `.model` file (a serialized sentencepiece model: no code, nothing unpickled)."""
        return cls(Path(path).read_bytes())

    @property
    def vocab_size(self) -> int:
        """Number of pieces (V)."""
        return self._sp.get_piece_size()

    def encode(self, text: str, dropout: float = 0.0) -> list[int]:
        """Token ids of `text`, without bos/eos; `dropout` > 0 samples a segmentation (BPE
        dropout), so a model trained on it sees words split many ways, as typos split them."""
        if dropout > 0.0:
            return self._sp.encode(text, enable_sampling=True, alpha=dropout, nbest_size=-1)
        return self._sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`, stopping at the first eos and skipping pad/bos."""
        kept = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                kept.append(int(i))
        return self._sp.decode(kept)
