"""What an explanation looks at: a network and the prepared inputs it reads, with their names and labels.

Every function of `neuronet.explain` takes a Predictor (`nt.load(run)`) and the inputs a Predictor
accepts (a raw labelled Dataset such as a run's test split, a DataFrame, texts, images...), or a
plain `nn.Module` and a prepared Dataset of tensors. `subject` turns either into one `Subject`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.datasets import Dataset
from neuronet.datasets.subword import TextTokenizer
from neuronet.datasets.vocab import Vocabulary
from neuronet.errors import ConfigError, DataError
from neuronet.predict import Predictor
from neuronet.tasks import Task, get_task

__all__ = ["Subject", "captum", "choose", "evaluating", "subject"]


@dataclass
class Subject:
    """A network and the prepared data an explanation runs on.

    Args:
        model: The network (a torch module).
        data: Prepared inputs (tensors) and targets (or None).
        task: What the outputs mean (a `neuronet.tasks.Task`: whether they score classes, whether
            attributions apply); None when unknown.
        class_names: One name per class (classification).
        feature_names: One name per input feature (tables).
        vocab: The vocabulary of token-id inputs (text): a Vocabulary, or a language model's TextTokenizer.
        raw: The inputs before preparation (a raw Dataset), to show examples as the user knows them.
        predictor: The Predictor, when one was given (to turn outputs back into the data's units).
    """

    model: nn.Module
    data: Dataset
    task: Task | None
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    vocab: Vocabulary | TextTokenizer | None = None
    raw: Dataset | None = None
    predictor: Predictor | None = None

    @property
    def has_classes(self) -> bool:
        """The outputs score named classes (classification)."""
        return self.task is not None and self.task.has_classes

    @property
    def device(self) -> torch.device:
        """Where the network's weights are."""
        return next(self.model.parameters(), torch.empty(0)).device

    @property
    def layout(self) -> str:
        """The prepared inputs' layout: "table", "image", "sequence" or "tokens"."""
        return self.data.layout

    def outputs(self, x: torch.Tensor | None = None, batch_size: int = 512) -> torch.Tensor:
        """The network's outputs (N, k) for `x` (default: all the data), in eval mode and without gradients."""
        x = self.data.x if x is None else x
        with evaluating(self.model), torch.no_grad():
            parts = [self.model(chunk.to(self.device)) for chunk in x.split(batch_size)]
        parts = [p[0] if isinstance(p, tuple) else p for p in parts]
        return torch.cat(parts).cpu().reshape(len(x), -1)

    @property
    def pad_index(self) -> int:
        """The padding token id of token inputs."""
        return self.vocab.pad_index if self.vocab is not None else int(getattr(self.model, "pad_index", 0))

    def token_names(self, ids: torch.Tensor) -> list[str]:
        """The token of each id (the id as text where there is no vocabulary); a space shows as '␣', a line break
        as '⏎'."""
        if isinstance(self.vocab, TextTokenizer):
            return [self.vocab.token(int(i)).replace(" ", "␣").replace("\n", "⏎") or str(int(i)) for i in ids]
        known = len(self.vocab) if self.vocab is not None else 0
        return [self.vocab.tokens[int(i)] if int(i) < known else str(int(i)) for i in ids]

    def real_tokens(self, ids: torch.Tensor) -> np.ndarray:
        """Positions of one example's ids that are not padding (all of them if every one is)."""
        keep = np.flatnonzero((ids != self.pad_index).cpu().numpy())
        return keep if len(keep) else np.arange(len(ids))

    def need_labels(self, what: str) -> torch.Tensor:
        """The targets, or a DataError saying that `what` needs labelled data."""
        if self.data.y is None:
            raise DataError(f"{what} needs labelled data (inputs with their targets, such as a run's test split); "
                            "these inputs have no targets.")
        return self.data.y


def subject(predictor: Predictor | nn.Module, data: Any, labelled: bool = False,
            prepared: bool | None = None) -> Subject:
    """The network and prepared data to explain.

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module`.
        data: With a Predictor: what it accepts (a raw Dataset, a DataFrame, texts, images, ...);
            with a module: a prepared Dataset of tensors.
        labelled: Inputs that are not a Dataset are read with their targets (for metrics).
        prepared: Whether a Dataset given with a Predictor is already prepared (model-ready tensors).
            None: only token ids are taken as prepared; raw tables, texts, images and series go
            through the Predictor's pipeline (as `Predictor.evaluate` does).

    Returns:
        A Subject.

    Raises:
        ConfigError: an ONNX Predictor, a module given without a prepared Dataset, or neither.

    Example:
        >>> from neuronet.models import MLP
        >>> data = Dataset(torch.zeros(3, 4), torch.tensor([0, 1, 0]))
        >>> subject(MLP((4,), 2, seed=0), data).layout
        'table'
    """
    if isinstance(predictor, Predictor):
        return _from_predictor(predictor, data, labelled, prepared)
    if not isinstance(predictor, nn.Module):
        raise ConfigError(f"Explanations need a Predictor (nt.load(run)) or an nn.Module; got a "
                          f"{type(predictor).__name__}.")
    if not isinstance(data, Dataset) or not data.prepared:
        raise ConfigError(f"A plain {type(predictor).__name__} needs a prepared Dataset of tensors "
                          "(neuronet.datasets.prepare); pass a Predictor to explain raw inputs.")
    return Subject(predictor, data, get_task(data.task), data.class_names, data.feature_names, data.vocab)


def _from_predictor(predictor: Predictor, data: Any, labelled: bool, prepared: bool | None) -> Subject:
    if predictor.backend != "torch":
        raise ConfigError("Explanations need the network itself; load the run with backend='torch' (not onnx).")
    if prepared is None:
        prepared = isinstance(data, Dataset) and data.prepared and data.layout == "tokens"
    if prepared and not (isinstance(data, Dataset) and data.prepared):
        raise ConfigError("prepared=True needs a Dataset of tensors; leave it unset for raw inputs.")
    ready = data if prepared else predictor.prepare(data, labelled=labelled)
    raw = None if prepared or not isinstance(data, Dataset) else data
    meta = predictor.meta
    names = ready.feature_names or meta.get("feature_names") or (meta.get("inputs") or {}).get("columns")
    vocab = ready.vocab or next((s.vocab_ for s in predictor.pipeline.steps if hasattr(s, "vocab_")), None) or \
        next((s.tokenizer for s in predictor.pipeline.steps if isinstance(getattr(s, "tokenizer", None), TextTokenizer)),
             None)  # a language model's (its inputs are token ids of its own tokenizer)
    return Subject(predictor.model, ready, predictor.task, predictor.classes, names, vocab, raw, predictor)


def choose(examples: Sequence[int] | int, n: int) -> list[int]:
    """Example indices checked against the data's size (negative ones count from the end).

    Raises:
        ConfigError: no examples, or an index outside the data.

    Example:
        >>> choose((0, -1), 5)
        [0, 4]
    """
    chosen = [int(examples)] if isinstance(examples, (int, np.integer)) else [int(i) for i in examples]
    if not chosen:
        raise ConfigError("Choose at least one example to explain (examples=(0,)).")
    bad = [i for i in chosen if not -n <= i < n]
    if bad:
        raise ConfigError(f"Example {bad[0]} is outside the data, which has {n} examples (use 0 to {n - 1}).")
    return [i % n for i in chosen]


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Run the body with every module in eval mode, and put each back in its own mode afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def captum(what: str) -> Any:
    """The `captum.attr` module, or a ConfigError saying how to install it.

    Raises:
        ConfigError: Captum is not installed.
    """
    try:
        import captum.attr
    except ImportError:
        raise ConfigError(f"{what} needs Captum: pip install 'neuronet[explain]'.") from None
    return captum.attr
