"""`Table`: a user's raw table (features as a DataFrame, targets as a tensor) before preprocessing.

It is split first, the `TablePreprocessor` is fitted on the training rows only, and then each
part becomes a numeric `Dataset`: nothing from validation or test rows leaks into training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.dataset import Dataset, Task, split_indices
from neuronet.datasets.files import _infer_task, _numeric_features, read_table
from neuronet.datasets.tabular import TablePreprocessor, missing_report
from neuronet.errors import DataError
from neuronet.registry import suggest

__all__ = ["Table", "load_raw_table", "load_table"]


@dataclass
class Table:
    """Raw feature columns, encoded targets and what they mean."""

    frame: pd.DataFrame
    y: torch.Tensor
    task: Task
    name: str
    class_names: list[str] | None = None
    target_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, indices: np.ndarray) -> Table:
        idx = np.asarray(indices)
        return replace(self, frame=self.frame.iloc[idx].reset_index(drop=True), y=self.y[torch.as_tensor(idx)])

    def split(self, val: float = 0.1, test: float = 0.2, seed: int = 0) -> tuple[Table, Table | None, Table | None]:
        """Stratified (classification) train / validation / test parts, like `Dataset.split`."""
        labels = self.y.numpy() if self.task == "classification" else None
        parts = split_indices(len(self), val, test, seed, labels, name=self.name)
        return tuple(self.subset(ix) if len(ix) else None for ix in parts)  # type: ignore[return-value]

    def missing(self) -> dict[str, int]:
        """Missing values per feature column."""
        return missing_report(self.frame)

    def class_counts(self) -> dict[str, int] | None:
        """Examples per class (classification)."""
        if self.task != "classification":
            return None
        counts = torch.bincount(self.y, minlength=len(self.class_names or []))
        return {name: int(c) for name, c in zip(self.class_names or [], counts)}

    def to_dataset(self, preprocessor: TablePreprocessor) -> Dataset:
        """The numeric Dataset: features through the fitted preprocessor."""
        x = torch.from_numpy(preprocessor.transform(self.frame))
        return Dataset(x, self.y, self.task, self.name, list(preprocessor.feature_names_out_), self.class_names,
                       self.target_names)


def load_raw_table(path: str | Path, target: str | None, task: Task | None = None, drop_missing: bool = False,
                   ignore: list[str] | tuple = ()) -> Table:
    """Read a CSV / Parquet table with a target column, keeping the features raw.

    Args:
        path: The file.
        target: The target column.
        task: "classification" or "regression" (default: inferred from the target).
        drop_missing: Drop rows with a missing feature value (the "drop rows" strategy).
        ignore: Columns to leave out.

    Raises:
        DataError: missing/empty file, missing target column, missing target values.
    """
    path = Path(path)
    frame = read_table(path)
    columns = list(map(str, frame.columns))
    if not target:
        raise DataError(f"No target column given for {path}; set data.target to one of: {', '.join(columns)}.")
    if target not in columns:
        raise DataError(f"Target column '{target}' is not in {path}.{suggest(target, columns)} Columns: {', '.join(columns)}.")
    if frame[target].isna().any():
        raise DataError(f"Target column '{target}' of {path} has {int(frame[target].isna().sum())} missing value(s); "
                        "every row needs a target.")
    features = frame.drop(columns=[target, *[c for c in ignore if c in columns]])
    if features.shape[1] == 0:
        raise DataError(f"{path} has no feature columns besides the target '{target}'.")
    keep = features.notna().all(axis=1) if drop_missing else pd.Series(True, index=frame.index)
    if not keep.any():
        raise DataError(f"Every row of {path} has a missing value, so dropping rows leaves nothing; impute instead.")
    features, target_values = features[keep].reset_index(drop=True), frame[target][keep].reset_index(drop=True)
    task = task or _infer_task(target_values)
    if task == "classification":
        classes, codes = np.unique(target_values.astype(str).to_numpy(), return_inverse=True)
        return Table(features, torch.as_tensor(codes, dtype=torch.long), task, path.stem, [str(c) for c in classes])
    values = pd.to_numeric(target_values, errors="coerce")
    if values.isna().any():
        raise DataError(f"Target column '{target}' of {path} is not numeric, so it cannot be a regression target.")
    return Table(features, torch.tensor(values.to_numpy(dtype=np.float32)).unsqueeze(1), task, path.stem,
                 target_names=[target])


def load_table(path: str | Path, target: str | None = None, task: Task | None = None,
               features: list[str] | None = None) -> Dataset:
    """Load a CSV / Parquet file of numeric features with a named target column as a Dataset.

    For text, categories, dates or missing values, prepare the table with `load_raw_table`
    and a `TablePreprocessor` instead (config: `data.preprocess`).

    Args:
        path: The file.
        target: Name of the target column.
        task: "classification" or "regression" (default: inferred from the target column:
            text, bool or at most 20 distinct integers means classification).
        features: Feature columns to use (default: every other column).

    Raises:
        DataError: missing/empty file, missing target, non-numeric or missing feature values.
    """
    table = load_raw_table(path, target, task)
    columns = features or list(table.frame.columns)
    absent = [c for c in columns if c not in table.frame.columns]
    if absent:
        raise DataError(f"Feature column(s) {', '.join(map(str, absent))} not in {path}.")
    x = _numeric_features(table.frame, columns, Path(path))
    return Dataset(x, table.y, table.task, table.name, [str(c) for c in columns], table.class_names, table.target_names)
