"""Word-level tokenizer and vocabulary for text, saved as JSON."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import torch

from neuronet.errors import ConfigError, DataError, NotFittedError

__all__ = ["Vocabulary", "TextEncoder", "tokenize", "PAD", "UNK"]

PAD, UNK = "<pad>", "<unk>"
_URL = re.compile(r"https?://\S+|www\.\S+")
_USER = re.compile(r"@\w+")
_TOKEN = re.compile(r"<url>|<user>|#?[a-z0-9]+(?:'[a-z]+)?|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; URLs become <url>, @mentions <user>, hashtags keep their '#'.

    Example:
        >>> tokenize("Loving the new @Apple watch!! https://t.co/x #tech")
        ['loving', 'the', 'new', '<user>', 'watch', '!', '!', '<url>', '#tech']
    """
    text = _USER.sub(" <user> ", _URL.sub(" <url> ", str(text).lower()))
    return _TOKEN.findall(text)


class Vocabulary:
    """Token ↔ index table with <pad> = 0 and <unk> = 1, built from training texts only.

    Args:
        tokens: The tokens, index order (the first two must be <pad>, <unk>).

    Example:
        >>> vocab = Vocabulary.build(["a b b", "b c"], min_freq=1)
        >>> vocab.encode(["b a z"], max_len=4).tolist()
        [[2, 3, 1, 0]]
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:2]) != [PAD, UNK]:
            raise ConfigError(f"A Vocabulary must start with {PAD!r}, {UNK!r}; got {list(tokens[:2])}.")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.pad_index, self.unk_index = 0, 1

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 2, max_size: int | None = 20000) -> Vocabulary:
        """Count tokens in `texts`; keep those seen `min_freq`+ times, the most frequent first."""
        counts = Counter(tok for text in texts for tok in tokenize(text))
        kept = [t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_freq]
        return cls([PAD, UNK, *kept[: None if max_size is None else max_size - 2]])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Iterable[str], max_len: int) -> torch.Tensor:
        """Token ids (N, max_len): truncated to `max_len`, padded with <pad> at the end."""
        rows = []
        for text in texts:
            ids = [self.index.get(t, self.unk_index) for t in tokenize(text)][:max_len]
            if not ids:
                raise DataError(f"Text {str(text)[:40]!r} has no tokens; empty texts cannot be read by a text model.")
            rows.append(ids + [self.pad_index] * (max_len - len(ids)))
        return torch.tensor(rows, dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens for ids, without padding."""
        return [self.tokens[i] for i in ids if i != self.pad_index]

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Vocabulary:
        return cls(state["tokens"])


class TextEncoder:
    """Texts → token ids (N, max_len), with a vocabulary and a length fitted on the training texts only.

    Args:
        max_len: Tokens per text, or "auto": the 95th percentile of the training texts' lengths,
            rounded up to a multiple of 8 (between 8 and 512), so that few texts are cut.
        min_freq: Keep words seen at least this often in training.
        max_vocab: Largest vocabulary (most frequent words first).

    Example:
        >>> from neuronet.datasets import Dataset
        >>> texts = Dataset(["a good film", "a bad film", "good"], torch.tensor([1, 0, 1]))
        >>> enc = TextEncoder(min_freq=1).fit(texts)
        >>> enc.max_len_, enc.transform(texts).x.shape
        (8, torch.Size([3, 8]))
    """

    kind = "text"  # its name in neuronet.datasets.PREPROCESSORS

    def __init__(self, max_len: int | str = "auto", min_freq: int = 2, max_vocab: int = 20000) -> None:
        self.max_len, self.min_freq, self.max_vocab = max_len, min_freq, max_vocab

    def fit(self, data: Any) -> TextEncoder:
        texts = list(data.x)
        if self.max_len != "auto" and (not isinstance(self.max_len, int) or self.max_len < 1):
            raise ConfigError(f"The 'max_len' parameter of TextEncoder must be 'auto' or an int >= 1. "
                              f"Got {self.max_len!r} instead.")
        self.vocab_ = Vocabulary.build(texts, min_freq=self.min_freq, max_size=self.max_vocab)
        lengths = sorted(len(tokenize(t)) for t in texts)
        if self.max_len == "auto":
            p95 = lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))] if lengths else 8
            self.max_len_ = int(min(512, max(8, -(-p95 // 8) * 8)))
        else:
            self.max_len_ = int(self.max_len)
        self.truncated_ = sum(n > self.max_len_ for n in lengths) / max(1, len(lengths))
        self.longest_ = lengths[-1] if lengths else 0
        return self

    def transform(self, data: Any) -> Any:
        """The same Dataset with token ids as inputs and the vocabulary attached."""
        if not hasattr(self, "vocab_"):
            raise NotFittedError("This TextEncoder is not fitted yet; call fit(train) first.")
        return replace(data, x=self.vocab_.encode(list(data.x), self.max_len_), vocab=self.vocab_)

    def summary(self) -> str:
        return (f"text: {len(self.vocab_):,} words (seen {self.min_freq}+ times in training), max_len {self.max_len_} "
                f"({'auto, ' if self.max_len == 'auto' else ''}{self.truncated_:.1%} of training texts cut; "
                f"longest {self.longest_} tokens)")

    def to_dict(self) -> dict[str, Any]:
        return {"max_len": self.max_len, "min_freq": self.min_freq, "max_vocab": self.max_vocab,
                "max_len_": self.max_len_, "truncated": self.truncated_, "longest": self.longest_,
                "vocab": self.vocab_.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TextEncoder:
        enc = cls(state["max_len"], state["min_freq"], state["max_vocab"])
        enc.max_len_, enc.truncated_, enc.longest_ = state["max_len_"], state["truncated"], state["longest"]
        enc.vocab_ = Vocabulary.from_dict(state["vocab"])
        return enc
