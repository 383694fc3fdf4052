"""Pipeline steps for language: a corpus cut into next-token windows, and sentence pairs into padded token ids.

Both follow the pipeline's protocol (`fit` on the training part only, `transform`, JSON state)
and keep their `TextTokenizer`s, which generation, translation and serving re-apply.

Example:
    >>> from neuronet.datasets import Dataset
    >>> corpus = Dataset(["to be or not to be, that is the question"], None, "language_modeling")
    >>> step = CorpusWindows(block_size=8).fit(corpus)
    >>> windows = step.transform(corpus)
    >>> windows.x.shape, bool((windows.x[0, 1:] == windows.y[0, :-1]).all())
    (torch.Size([5, 8]), True)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from neuronet.datasets.subword import BOS, EOS, PAD, TextTokenizer
from neuronet.errors import ConfigError, DataError, NotFittedError

__all__ = ["CorpusWindows", "SentencePairs"]


def _positive(owner: str, name: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"The '{name}' of {owner} must be an int in [{low}, {high}]. Got {value!r} instead.")
    return value


class CorpusWindows:
    """Passages of text → token windows: inputs (N, block_size) and, shifted by one, their next tokens.

    The passages are tokenized, joined with `<eos>` after each (a document ends there), and the
    stream is cut into consecutive windows of `block_size` tokens; the targets are the same
    stream one token later. A last, shorter window is padded, its padding ignored by the loss.

    Args:
        tokens: "char" or "bpe" (see `TextTokenizer`).
        vocab_size: The bpe vocabulary's size (None for characters: every one the text has).
        block_size: Tokens a window holds: the context the model reads.
    """

    kind = "corpus_windows"  # its name in neuronet.datasets.PREPROCESSORS

    def __init__(self, tokens: str = "char", vocab_size: int | None = 4000, block_size: int = 128) -> None:
        self.block_size = _positive("a language model's data (data.preprocess)", "block_size", block_size, 2, 8192)
        self.tokenizer = TextTokenizer(tokens, vocab_size)
        self.tokens, self.vocab_size = tokens, self.tokenizer.vocab_size  # None for characters

    def fit(self, data: Any) -> CorpusWindows:
        self.tokenizer.fit(list(data.x))
        self.train_tokens_ = sum(len(ids) + 1 for ids in self.tokenizer.encode(list(data.x)))
        return self

    def stream(self, texts: list[str]) -> torch.Tensor:
        """The token stream of `texts`: each text's ids followed by `<eos>`."""
        ids = self.tokenizer.encode(texts)
        return torch.tensor([i for row in ids for i in (*row, EOS)], dtype=torch.long)

    def transform(self, data: Any) -> Any:
        """The same Dataset as windows: x (N, block_size) token ids, y their next tokens."""
        if not hasattr(self, "train_tokens_"):
            raise NotFittedError("This CorpusWindows is not fitted yet; call fit(train) first.")
        stream, size = self.stream([str(t) for t in data.x]), self.block_size
        if len(stream) < 2:
            raise DataError(f"'{data.name}' holds no text to read: a language model needs at least one character.")
        n = (len(stream) - 1 + size - 1) // size  # the last window padded
        x = torch.full((n * size,), PAD, dtype=torch.long)
        y = torch.full((n * size,), PAD, dtype=torch.long)
        x[: len(stream) - 1], y[: len(stream) - 1] = stream[:-1], stream[1:]
        inputs = {**data.inputs, "kind": "corpus", "vocab_size": self.tokenizer.size, "pad_index": PAD,
                  "tokens": self.tokens, "block_size": size}
        return replace(data, x=x.view(n, size), y=y.view(n, size), task="language_modeling", inputs=inputs, ids=None,
                       vocab=None)

    def summary(self) -> str:
        return (f"tokens: {self.tokens}, {self.tokenizer.size:,} in the vocabulary (learnt from the training text); "
                f"{self.train_tokens_:,} training tokens in windows of {self.block_size}")

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "vocab_size": self.vocab_size, "block_size": self.block_size,
                "train_tokens": self.train_tokens_, "tokenizer": self.tokenizer.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CorpusWindows:
        step = cls(state["tokens"], state["vocab_size"], state["block_size"])
        step.tokenizer = TextTokenizer.from_dict(state["tokenizer"])
        step.train_tokens_ = int(state["train_tokens"])
        return step


class SentencePairs:
    """Source and target sentences → padded token ids: x (N, S) sources, y (N, T) `<bos>` target `<eos>`.

    Each side has its own tokenizer, learnt from the training pairs. Sentences longer than the
    maximum length are cut (said in the summary).

    Args:
        tokens: "char" or "bpe", for both sides.
        vocab_size: Each bpe vocabulary's size.
        max_len: Tokens per sentence (the target's plus `<bos>`/`<eos>`), or "auto": the 99th
            percentile of the training sentences' lengths (at most 256).
    """

    kind = "sentence_pairs"

    def __init__(self, tokens: str = "bpe", vocab_size: int | None = 8000, max_len: int | str = "auto") -> None:
        if max_len != "auto":
            _positive("sentence pairs (data.preprocess)", "max_len", max_len, 1, 4096)
        self.source, self.target = TextTokenizer(tokens, vocab_size), TextTokenizer(tokens, vocab_size)
        self.tokens, self.vocab_size, self.max_len = tokens, self.source.vocab_size, max_len  # None for characters

    def fit(self, data: Any) -> SentencePairs:
        if data.y is None:
            raise DataError(f"'{data.name}' has no target sentences; a translation model learns from pairs.")
        sources, targets = self.source.fit(list(data.x)).encode(list(data.x)), self.target.fit(list(data.y)).encode(list(data.y))

        def length(rows: list[list[int]], extra: int) -> int:
            if self.max_len != "auto":
                return int(self.max_len) + extra
            return int(min(256, max(4, np.percentile([len(r) for r in rows], 99)))) + extra

        self.source_len_, self.target_len_ = length(sources, 0), length(targets, 2)
        self.cut_ = (sum(len(r) > self.source_len_ for r in sources), sum(len(r) + 2 > self.target_len_ for r in targets))
        self.pairs_ = len(sources)
        return self

    def encode_sources(self, texts: list[str]) -> torch.Tensor:
        """Source sentences as token ids (N, source length), cut and padded."""
        rows = self.source.encode(texts)
        x = torch.full((len(rows), self.source_len_), PAD, dtype=torch.long)
        for i, row in enumerate(rows):
            row = row[: self.source_len_] or [1]  # an empty sentence reads as one unknown token
            x[i, : len(row)] = torch.tensor(row)
        return x

    def transform(self, data: Any) -> Any:
        if not hasattr(self, "pairs_"):
            raise NotFittedError("This SentencePairs is not fitted yet; call fit(train) first.")
        x = self.encode_sources([str(t) for t in data.x])
        y = None
        if data.y is not None:
            rows = self.target.encode([str(t) for t in data.y])
            y = torch.full((len(rows), self.target_len_), PAD, dtype=torch.long)
            for i, row in enumerate(rows):
                row = [BOS, *row[: self.target_len_ - 2], EOS]
                y[i, : len(row)] = torch.tensor(row)
        inputs = {**data.inputs, "kind": "text", "vocab_size": self.source.size, "pad_index": PAD, "tokens": self.tokens,
                  "target_vocab_size": self.target.size, "target_len": self.target_len_}
        return replace(data, x=x, y=y, task="seq2seq", inputs=inputs, vocab=None)

    def summary(self) -> str:
        return (f"tokens: {self.tokens}; source {self.source.size:,} / target {self.target.size:,} in the vocabularies "
                f"(learnt from the {self.pairs_:,} training pairs); max_len {self.source_len_} / {self.target_len_ - 2}"
                f" ({'auto; ' if self.max_len == 'auto' else ''}{self.cut_[0]:,} / {self.cut_[1]:,} training sentences cut)")

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "vocab_size": self.vocab_size, "max_len": self.max_len,
                "source_len": self.source_len_, "target_len": self.target_len_, "cut": list(self.cut_),
                "pairs": self.pairs_, "source": self.source.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> SentencePairs:
        step = cls(state["tokens"], state["vocab_size"], state["max_len"])
        step.source, step.target = TextTokenizer.from_dict(state["source"]), TextTokenizer.from_dict(state["target"])
        step.source_len_, step.target_len_ = int(state["source_len"]), int(state["target_len"])
        step.cut_, step.pairs_ = tuple(state["cut"]), int(state["pairs"])
        return step
