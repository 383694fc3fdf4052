"""`Dataset`: in-memory tensors plus what a model needs to know about them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from neuronet.datasets.vocab import Vocabulary
from neuronet.errors import ConfigError, DataError

__all__ = ["Dataset", "Task", "split_indices"]

Task = Literal["classification", "regression"]


@dataclass(eq=False)
class Dataset(torch.utils.data.Dataset):
    """Features `x`, targets `y` and their metadata, all in memory.

    It is also a map-style `torch.utils.data.Dataset` (``ds[i] -> (x_i, y_i)``), so a
    `DataLoader` can read it; the Trainer batches it faster by slicing whole tensors.

    Args:
        x: Features, shape (N, *input_shape), float32.
        y: Targets: class indices (N,) int64 for classification, values (N, k) float32 for
            regression.
        task: "classification" or "regression".
        name: Where the data came from, for reports.
        feature_names: One name per feature column (tabular) or pixel.
        class_names: One name per class (classification only).
        target_names: One name per target column (regression only).
        official_test: A test set published with the data (e.g. Fashion-MNIST's 10k);
            `split` then uses it instead of carving one out.
        vocab: The vocabulary of token-id inputs (text), saved with a run.
        ordered: Rows are in time order: `split` keeps the order and takes validation and
            test data from the end (train on the past, evaluate on the future).

    Example:
        >>> ds = Dataset(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]), "classification")
        >>> ds.input_shape, ds.num_outputs
        ((2,), 2)
    """

    x: torch.Tensor
    y: torch.Tensor
    task: Task
    name: str = "data"
    feature_names: list[str] | None = None
    class_names: list[str] | None = None
    target_names: list[str] | None = None
    official_test: Dataset | None = field(default=None, repr=False)
    vocab: Vocabulary | None = field(default=None, repr=False)
    ordered: bool = False

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ConfigError(
                f"The 'task' of dataset '{self.name}' must be 'classification' or 'regression'. "
                f"Got {self.task!r} instead."
            )
        if len(self.x) != len(self.y):
            raise DataError(
                f"Dataset '{self.name}' has {len(self.x)} feature rows but {len(self.y)} targets; "
                "they must match."
            )
        if self.task == "classification" and self.class_names is None:
            n = int(self.y.max()) + 1 if len(self.y) else 0
            self.class_names = [str(i) for i in range(n)]
        if self.task == "regression" and self.y.ndim == 1:
            self.y = self.y.unsqueeze(1)

    # --- what a model needs --------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (1, 8, 8) for digits, (4,) for iris."""
        return tuple(self.x.shape[1:])

    @property
    def layout(self) -> str:
        """'tokens' (N, T) ids, 'table' (N, F), 'sequence' (N, T, F) or 'image' (N, C, H, W)."""
        if not self.x.is_floating_point():
            return "tokens"
        return {2: "table", 3: "sequence", 4: "image"}.get(self.x.ndim, "tensor")

    @property
    def num_outputs(self) -> int:
        """Number of classes (classification) or target columns (regression)."""
        if self.task == "classification":
            return len(self.class_names or [])
        return int(self.y.shape[1])

    def model_inputs(self) -> dict[str, Any]:
        """What a model constructor may need from the data: shape, outputs, vocabulary size."""
        extra = {"vocab_size": len(self.vocab), "pad_index": self.vocab.pad_index} if self.vocab else {}
        return {"input_shape": self.input_shape, "num_outputs": self.num_outputs, **extra}

    def meta(self) -> dict[str, Any]:
        """JSON-ready metadata: enough to rebuild a model and read a prediction file."""
        return {
            "name": self.name,
            "task": self.task,
            "input_shape": list(self.input_shape),
            "num_outputs": self.num_outputs,
            "feature_names": self.feature_names,
            "class_names": self.class_names,
            "target_names": self.target_names,
            "ordered": self.ordered,
            "layout": self.layout,
            "vocab": self.vocab.to_dict() if self.vocab else None,
        }

    # --- torch Dataset protocol ----------------------------------------------------
    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]

    # --- derived datasets ----------------------------------------------------------
    def subset(self, indices: np.ndarray | torch.Tensor | list[int]) -> Dataset:
        """A new Dataset with only the rows at `indices` (metadata kept)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return replace(self, x=self.x[idx], y=self.y[idx], official_test=None)

    def with_tensors(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Dataset:
        """A new Dataset with other tensors and the same metadata."""
        return replace(self, x=x, y=self.y if y is None else y)

    def unlabelled(self) -> Dataset:
        """The same inputs with themselves as targets, for autoencoders and GANs (no labels used)."""
        test = self.official_test.unlabelled() if self.official_test is not None else None
        return replace(self, y=self.x, task="regression", class_names=None, target_names=None, official_test=test)

    def to(self, device: torch.device | str) -> Dataset:
        """The same data on `device` (used by the Trainer for in-memory batching)."""
        return replace(self, x=self.x.to(device), y=self.y.to(device))

    def split(
        self,
        val: float = 0.1,
        test: float = 0.2,
        seed: int = 0,
        stratify: bool | None = None,
    ) -> tuple[Dataset, Dataset | None, Dataset | None]:
        """Split into train / validation / test parts, stratified for classification.

        Fractions are of the whole data set. Where the data has an official test set, it is
        the test part (`test` is then ignored). Time-ordered data (`ordered`) is not
        shuffled: validation and test are the last rows.

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
        fixed_test = self.official_test
        stratify = self.task == "classification" and not self.ordered if stratify is None else stratify
        labels = self.y.cpu().numpy() if stratify else None
        train_idx, val_idx, test_idx = split_indices(len(self), val, 0.0 if fixed_test is not None else test, seed,
                                                     labels, self.ordered, self.name)
        part = lambda ix: self.subset(ix) if len(ix) else None  # noqa: E731
        return self.subset(train_idx), part(val_idx), fixed_test if fixed_test is not None else part(test_idx)


def split_indices(n: int, val: float, test: float, seed: int, labels: np.ndarray | None = None,
                  ordered: bool = False, name: str = "data") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test row indices: stratified by `labels` when given, the last rows when `ordered`.

    Raises:
        ConfigError: fractions outside [0, 1) or adding up to 1 or more.
        DataError: a class too small to stratify.
    """
    for what, frac in (("val", val), ("test", test)):
        if not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ConfigError(f"The '{what}' fraction of a split must be a number in [0, 1). Got {frac!r} instead.")
    if val + test >= 1:
        raise ConfigError(f"val + test must be below 1 so that data is left to train on. Got {val} + {test}.")

    def cut(idx: np.ndarray, part_labels: np.ndarray | None, frac: float) -> tuple[np.ndarray, np.ndarray]:
        if frac == 0:
            return idx, np.array([], dtype=int)
        if ordered:  # the future is held out: the last rows, in order
            n_out = max(1, round(len(idx) * frac))
            return idx[:-n_out], idx[-n_out:]
        try:
            return train_test_split(idx, test_size=frac, random_state=seed, stratify=part_labels)
        except ValueError as err:
            raise DataError(
                f"Cannot split dataset '{name}' with stratification: {err}. "
                "Each class needs at least 2 examples per part; use more data or stratify=False."
            ) from err

    rest, test_idx = cut(np.arange(n), labels, test)
    train_idx, val_idx = cut(rest, None if labels is None else labels[rest], val / (1 - test) if val else 0.0)
    return train_idx, val_idx, test_idx
