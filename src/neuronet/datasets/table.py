"""A user's table (CSV / Parquet) with a target column, as a Dataset of raw feature columns.

It is split first, the `TablePreprocessor` is fitted on the training rows only, and then each
part becomes numeric: nothing from validation or test rows leaks into training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import infer_task, read_table
from neuronet.errors import DataError
from neuronet.registry import suggest

__all__ = ["load_table", "encode_target"]


def encode_target(values: pd.Series, task: str, name: str, class_names: list[str] | None = None,
                  where: str = "") -> tuple[torch.Tensor, list[str] | None]:
    """Targets as a tensor: class indices (with the class names) or float values.

    With `class_names` (a trained model's classes), an unknown class is an error naming it.
    """
    if task == "classification":
        labels = np.array([str(v) for v in values], dtype=object)
        if class_names is None:
            class_names, codes = np.unique(labels.astype(str), return_inverse=True)
            return torch.as_tensor(codes, dtype=torch.long), [str(c) for c in class_names]
        index = {c: i for i, c in enumerate(class_names)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(f"{where or name} has target classes the model never saw: {', '.join(unknown[:5])}; "
                            f"it knows {', '.join(class_names[:10])}.")
        return torch.tensor([index[v] for v in labels], dtype=torch.long), class_names
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        bad = values[numbers.isna()]
        raise DataError(f"Target column '{name}'{' of ' + where if where else ''} holds {bad.iloc[0]!r} "
                        f"(row {bad.index[0] + 1}), which is not a number, so it cannot be a regression target.")
    return torch.tensor(numbers.to_numpy(dtype=np.float32)).unsqueeze(1), None


def load_table(path: str | Path, target: str | None = None, task: str | None = None,
               features: list[str] | None = None) -> Dataset:
    """Read a CSV / Parquet table with a target column; the features stay raw (a DataFrame).

    Rows without a target are left out (and said so in `notes`).

    Args:
        path: The file.
        target: The target column.
        task: "classification" or "regression" (default: inferred from the target column:
            text, bool or at most 20 distinct integers means classification).
        features: Feature columns to use (default: every other column).

    Raises:
        DataError: missing/empty file, missing target column, no usable rows.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "t.csv"
        >>> pd.DataFrame({"size": [1, 2, 3], "kind": ["a", "b", "a"]}).to_csv(path, index=False)
        >>> data = load_table(path, target="kind")
        >>> data.layout, data.task, data.class_names
        ('frame', 'classification', ['a', 'b'])
    """
    path = Path(path)
    frame = read_table(path)
    columns = list(map(str, frame.columns))
    frame.columns = columns
    if not target:
        raise DataError(f"No target column given for {path}; set data.target to one of: {', '.join(columns)}.")
    if target not in columns:
        raise DataError(f"Target column '{target}' is not in {path}.{suggest(target, columns)} Columns: {', '.join(columns)}.")
    notes = []
    unlabelled = frame[target].isna()
    if unlabelled.all():
        raise DataError(f"Target column '{target}' of {path} is empty; every row needs a target to learn from.")
    if unlabelled.any():
        notes.append(f"{int(unlabelled.sum())} row(s) without a '{target}' value left out")
        frame = frame[~unlabelled].reset_index(drop=True)
    chosen = features or [c for c in columns if c != target]
    absent = [c for c in chosen if c not in columns]
    if absent:
        raise DataError(f"Feature column(s) {', '.join(absent)} not in {path}.{suggest(absent[0], columns)}")
    if not chosen:
        raise DataError(f"{path} has no feature columns besides the target '{target}'.")
    task = task or infer_task(frame[target])
    y, classes = encode_target(frame[target], task, target, where=str(path))
    return Dataset(frame[chosen], y, task, path.stem, feature_names=chosen, class_names=classes,
                   target_names=None if classes else [target], inputs={"kind": "frame", "columns": chosen,
                                                                      "target": target}, notes=notes)
