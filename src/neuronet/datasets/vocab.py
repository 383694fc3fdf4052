"""Word-level tokenizer and vocabulary for text, saved as JSON."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from neuronet.errors import ConfigError, DataError

__all__ = ["Vocabulary", "tokenize", "PAD", "UNK"]

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
                raise DataError(f"Text {str(text)[:40]!r} has no tokens; empty texts cannot be classified.")
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
