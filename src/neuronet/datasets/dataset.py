"""`Dataset`: inputs and targets in memory, plus what a model and a predictor need to know about them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from neuronet.datasets.vocab import Vocabulary
from neuronet.errors import ConfigError, DataError

__all__ = ["Dataset", "split_indices", "take"]

TASK_NAMES = ("classification", "regression", "forecasting", "reconstruction", "language_modeling", "seq2seq",
              "transcription", "detection", "segmentation")


def take(x: Any, idx: np.ndarray) -> Any:
    """Rows `idx` of a tensor, a DataFrame or a list (the forms a Dataset's inputs take)."""
    if isinstance(x, torch.Tensor):
        return x[torch.as_tensor(idx, dtype=torch.long)]
    if hasattr(x, "iloc"):
        return x.iloc[idx].reset_index(drop=True)
    return [x[i] for i in idx]


@dataclass(eq=False)
class Dataset(torch.utils.data.Dataset):
    """Inputs `x`, targets `y` and their metadata, all in memory.

    Loaders return *raw* inputs (a pandas DataFrame for a table, a list of strings for text,
    a float tensor for images, audio and series); `neuronet.datasets.prepare` splits them,
    fits the preprocessing on the training part, and returns tensors ready for a model.
    A tensor Dataset is also a map-style `torch.utils.data.Dataset` (``ds[i] -> (x_i, y_i)``).

    Args:
        x: Inputs: a tensor (N, *input_shape), a DataFrame (N rows), or a list of N strings.
        y: Targets: class indices (N,) int64 for classification, values (N, k) float32 for
            regression and forecasting, a list of N target texts for raw seq2seq data; None
            for unlabelled inputs (and raw language-modelling passages).
        task: "classification", "regression", "forecasting", "reconstruction",
            "language_modeling" or "seq2seq" (default: classification for integer targets,
            regression for float ones).
        name: Where the data came from, for reports.
        feature_names: One name per feature column (tabular) or pixel.
        class_names: One name per class (classification only).
        target_names: One name per target column (regression only).
        official_test: A test set published with the data (e.g. Fashion-MNIST's 10k);
            `split` then uses it instead of carving one out.
        official_val: A validation set kept apart by the data (other speakers' voices); `split` then
            uses it instead of carving one out of the training rows.
        vocab: The vocabulary of token-id inputs (text).
        ordered: Rows are in time order: `split` keeps the order and takes validation and
            test data from the end (train on the past, evaluate on the future).
        gap: Rows left out before each held-out part of an ordered split, so that training
            windows never see a held-out target (multi-step forecasts overlap).
        inputs: How raw inputs are read, for prediction: {"kind": "image", "size": [8, 8],
            "mode": "L"}, {"kind": "text", "column": "review"}, {"kind": "frame"}, ...
        notes: What loading did that a user should know (rows left out, values filled).
        ids: A name per row where inputs came from files (prediction tables show them).
        sizes: Each image's (width, height) as given, before it was resized (boxes and masks are
            predicted back in the image's own pixels).

    Example:
        >>> ds = Dataset(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]), "classification")
        >>> ds.input_shape, ds.num_outputs
        ((2,), 2)
    """

    x: Any
    y: torch.Tensor | None
    task: str | None = None
    name: str = "data"
    feature_names: list[str] | None = None
    class_names: list[str] | None = None
    target_names: list[str] | None = None
    official_test: Dataset | None = field(default=None, repr=False)
    official_val: Dataset | None = field(default=None, repr=False)
    vocab: Vocabulary | None = field(default=None, repr=False)
    ordered: bool = False
    gap: int = 0
    inputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ids: list[str] | None = None
    sizes: list[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        if self.task is None and self.y is not None:
            self.task = "regression" if self.y.is_floating_point() else "classification"
        if self.task is not None and self.task not in TASK_NAMES:
            raise ConfigError(f"The 'task' of dataset '{self.name}' must be one of {', '.join(TASK_NAMES)}. "
                              f"Got {self.task!r} instead.")
        if self.y is not None and len(self.x) != len(self.y):
            raise DataError(f"Dataset '{self.name}' has {len(self.x)} input rows but {len(self.y)} targets; "
                            "they must match.")
        if self.task == "classification" and self.class_names is None and self.y is not None:
            n = int(self.y.max()) + 1 if len(self.y) else 0
            self.class_names = [str(i) for i in range(n)]
        if self.task in ("regression", "forecasting") and self.y is not None and self.y.ndim == 1:
            self.y = self.y.unsqueeze(1)
        if not self.inputs:
            self.inputs = {"kind": self.layout}

    # --- what a model needs --------------------------------------------------------
    @property
    def prepared(self) -> bool:
        """Whether the inputs are tensors a model can take (not a raw table or raw texts)."""
        return isinstance(self.x, torch.Tensor)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (1, 8, 8) for digits, (4,) for iris."""
        if not self.prepared:
            raise DataError(f"Dataset '{self.name}' holds raw {self.layout} inputs; prepare it first "
                            "(neuronet.datasets.prepare) to get tensors and their shape.")
        return tuple(self.x.shape[1:])

    @property
    def layout(self) -> str:
        """'frame' (raw table), 'text' (raw strings), 'tokens' (N, T) ids, 'table' (N, F),
        'sequence' (N, T, F), 'image' (N, C, H, W) or 'speech' (waveforms: a list, or (N, samples) padded)."""
        if hasattr(self.x, "iloc"):
            return "frame"
        if self.inputs.get("kind") == "speech":
            return "speech"
        if not isinstance(self.x, torch.Tensor):
            return "text"
        if not self.x.is_floating_point():
            return "tokens"
        return {2: "table", 3: "sequence", 4: "image"}.get(self.x.ndim, "tensor")

    @property
    def num_outputs(self) -> int:
        """Number of classes (classification) or target columns (regression, forecasting)."""
        if self.task == "classification":
            return len(self.class_names or [])
        if self.task in ("detection", "segmentation"):  # a heatmap / a score map per class
            return len(self.class_names or [])
        if self.task in ("language_modeling", "seq2seq", "transcription"):  # scores over the (target) vocabulary
            return int(self.inputs.get("target_vocab_size", self.inputs.get("vocab_size", 0)))
        if not isinstance(self.y, torch.Tensor) or self.task == "reconstruction":
            return 0  # no targets
        return int(self.y.shape[1])

    def model_inputs(self) -> dict[str, Any]:
        """What a model constructor may need from the data: shape, outputs, vocabulary size."""
        extra = {"vocab_size": len(self.vocab), "pad_index": self.vocab.pad_index} if self.vocab else \
            {k: self.inputs[k] for k in ("vocab_size", "pad_index", "rate") if k in (self.inputs or {})}  # a tokenizer, audio
        return {"input_shape": self.input_shape, "num_outputs": self.num_outputs, **extra}

    def meta(self) -> dict[str, Any]:
        """JSON-ready metadata: enough to rebuild a model and read new inputs for prediction."""
        return {
            "name": self.name,
            "task": self.task,
            "inputs": self.inputs,
            "input_shape": list(self.input_shape) if self.prepared else None,
            "num_outputs": self.num_outputs,
            "feature_names": self.feature_names,
            "class_names": self.class_names,
            "target_names": self.target_names,
            "ordered": self.ordered,
            "layout": self.layout,
        }

    def class_counts(self) -> dict[str, int] | None:
        """Examples per class (classification)."""
        if self.task != "classification" or self.y is None:
            return None
        counts = torch.bincount(self.y, minlength=len(self.class_names or []))
        return {name: int(c) for name, c in zip(self.class_names or [], counts)}

    def digest(self) -> str:
        """A SHA-256 of the examples and targets, in order: a data set reloaded later is the same one only if it matches.

        Example:
            >>> a = Dataset(torch.arange(6.0).reshape(3, 2), torch.tensor([0, 1, 0]))
            >>> a.digest() == Dataset(torch.arange(6.0).reshape(3, 2), torch.tensor([0, 1, 0])).digest()
            True
            >>> a.digest() == Dataset(torch.arange(6.0).reshape(3, 2), torch.tensor([0, 1, 1])).digest()
            False
        """
        import hashlib

        import pandas as pd

        sha = hashlib.sha256()
        for part in (self.x, self.y):
            if part is None:
                sha.update(b"none")
            elif isinstance(part, torch.Tensor):
                sha.update(str((tuple(part.shape), part.dtype)).encode())
                sha.update(part.detach().cpu().contiguous().numpy().tobytes())
            elif isinstance(part, pd.DataFrame):
                sha.update("\x1f".join(map(str, part.columns)).encode())
                sha.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
            else:  # texts, file paths, waveforms
                for item in part:
                    if isinstance(item, torch.Tensor):
                        sha.update(item.detach().cpu().contiguous().numpy().tobytes() + b"\x1e")
                    else:
                        sha.update(str(item).encode("utf-8", "surrogatepass") + b"\x1e")
        return sha.hexdigest()

    # --- torch Dataset protocol ----------------------------------------------------
    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]

    # --- derived datasets ----------------------------------------------------------
    def subset(self, indices: np.ndarray | torch.Tensor | list[int]) -> Dataset:
        """A new Dataset with only the rows at `indices` (metadata kept)."""
        idx = np.asarray(indices, dtype=np.int64)
        return replace(self, x=take(self.x, idx), y=None if self.y is None else take(self.y, idx), official_test=None,
                       official_val=None, ids=None if self.ids is None else take(self.ids, idx),
                       sizes=None if self.sizes is None else take(self.sizes, idx))

    def with_tensors(self, x: Any, y: torch.Tensor | None = None) -> Dataset:
        """A new Dataset with other inputs (and targets) and the same metadata."""
        return replace(self, x=x, y=self.y if y is None else y)

    def unlabelled(self) -> Dataset:
        """The same inputs with themselves as targets, for autoencoders and GANs (no labels used)."""
        test = self.official_test.unlabelled() if self.official_test is not None else None
        return replace(self, y=self.x, task="reconstruction", class_names=None, target_names=None, official_test=test)

    def to(self, device: torch.device | str) -> Dataset:
        """The same data on `device` (used by the Trainer for in-memory batching)."""
        return replace(self, x=self.x.to(device), y=self.y.to(device))

    def split(self, val: float = 0.1, test: float = 0.2, seed: int = 0,
              stratify: bool | None = None) -> tuple[Dataset, Dataset | None, Dataset | None]:
        """Split into train / validation / test parts, stratified for classification.

        Fractions are of the whole data set. Where the data has an official test set, it is
        the test part (`test` is then ignored). Time-ordered data (`ordered`) is not
        shuffled: validation and test are the last rows (after a gap of `gap` rows).

        Args:
            val: Fraction for validation (0 for none).
            test: Fraction for test (0 for none).
            seed: Seed of the shuffle; the same seed gives the same split.
            stratify: Keep class proportions in each part (default: yes for classification).

        Returns:
            (train, val, test); a part of size 0 is None.

        Raises:
            ConfigError: fractions outside [0, 1) or adding up to 1 or more.
            DataError: a class too small to stratify.

        Example:
            >>> from neuronet.datasets import load
            >>> train, val, test = load("iris").split(val=0.2, test=0.2, seed=0)
            >>> len(train), len(val), len(test)
            (90, 30, 30)
        """
        fixed_test, fixed_val = self.official_test, self.official_val
        stratify = self.task == "classification" and not self.ordered if stratify is None else stratify
        labels = self.y.cpu().numpy() if stratify and self.y is not None else None
        train_idx, val_idx, test_idx = split_indices(len(self), 0.0 if fixed_val is not None else val,
                                                     0.0 if fixed_test is not None else test, seed, labels, self.ordered,
                                                     self.name, self.gap, self.class_names)
        part = lambda ix: self.subset(ix) if len(ix) else None  # noqa: E731
        held_val = (fixed_val if val else None) if fixed_val is not None else part(val_idx)
        return self.subset(train_idx), held_val, fixed_test if fixed_test is not None else part(test_idx)


def split_indices(n: int, val: float, test: float, seed: int, labels: np.ndarray | None = None,
                  ordered: bool = False, name: str = "data", gap: int = 0,
                  class_names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test row indices: stratified by `labels` when given, the last rows when `ordered`.

    Raises:
        ConfigError: fractions outside [0, 1) or adding up to 1 or more.
        DataError: a class too small to stratify, or too few ordered rows for the gap.
    """
    for what, frac in (("val", val), ("test", test)):
        if not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ConfigError(f"The '{what}' fraction of a split must be a number in [0, 1). Got {frac!r} instead.")
    if val + test >= 1:
        raise ConfigError(f"val + test must be below 1 so that data is left to train on. Got {val} + {test}.")

    def cut(idx: np.ndarray, part_labels: np.ndarray | None, frac: float,
            after: str = "") -> tuple[np.ndarray, np.ndarray]:
        if frac == 0:
            return idx, np.array([], dtype=int)
        if ordered:  # the future is held out: the last rows, in order, after a gap
            n_out = max(1, round(len(idx) * frac))
            if len(idx) - n_out - gap < 1:
                raise DataError(f"Dataset '{name}' has {len(idx)} time-ordered rows: too few to hold out {n_out} "
                                f"after a gap of {gap}; use more data or smaller fractions.")
            return idx[:len(idx) - n_out - gap], idx[-n_out:]
        from sklearn.model_selection import train_test_split

        try:
            return train_test_split(idx, test_size=frac, random_state=seed, stratify=part_labels)
        except ValueError:
            raise DataError(_stratify_problem(name, part_labels, frac, class_names, after)) from None

    rest, test_idx = cut(np.arange(n), labels, test)
    train_idx, val_idx = cut(rest, None if labels is None else labels[rest], val / (1 - test) if val else 0.0,
                             "once the test part is held out, " if test else "")
    return train_idx, val_idx, test_idx


def _stratify_problem(name: str, labels: np.ndarray, frac: float, class_names: list[str] | None,
                      after: str = "") -> str:
    """One sentence on why a split keeping class proportions is impossible (`after` the test part was taken,
    for the validation split), and what to do."""
    values, counts = np.unique(labels, return_counts=True)
    names = [class_names[v] if class_names and v < len(class_names) else str(v) for v in values]
    rare = [n for n, c in zip(names, counts) if c < 2]
    if rare:
        shown = ", ".join(repr(r) for r in rare[:3]) + (" ..." if len(rare) > 3 else "")
        why = (f"{after}{len(rare)} of its {len(values)} classes {'has' if len(rare) == 1 else 'have'} a single "
               f"example{' left' if after else ''} ({shown})")
    else:
        why = f"{after}a {frac:.0%} part of {len(labels)} examples cannot hold one of each of its {len(values)} classes"
    return (f"Cannot split '{name}' keeping class proportions: {why}. Use more data or smaller fractions; "
            "if the target is a quantity rather than classes, set task: regression.")

