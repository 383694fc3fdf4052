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
from neuronet.datasets.files import MISSING_MARKERS, infer_task, read_table, to_numbers
from neuronet.datasets.userfiles import shown_names, shown_path
from neuronet.errors import DataError
from neuronet.params import shown
from neuronet.registry import suggest

__all__ = ["load_table", "encode_target", "encode_targets"]


def encode_target(values: pd.Series, task: str, name: str, class_names: list[str] | None = None,
                  where: str = "") -> tuple[torch.Tensor, list[str] | None]:
    """Targets as a tensor: class indices (with the class names) or float values.

    With `class_names` (a trained model's classes), an unknown class is an error naming it.
    """
    if task == "classification":
        labels = np.array([str(v).strip() for v in values], dtype=object)
        if class_names is None:
            class_names, codes = np.unique(labels.astype(str), return_inverse=True)
            return torch.as_tensor(codes, dtype=torch.long), [str(c) for c in class_names]
        index = {c: i for i, c in enumerate(class_names)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(f"{where or name} has target classes the model never saw: "
                            f"{', '.join(shown(u, 40) for u in unknown[:5])}; it knows "
                            f"{', '.join(shown(c, 40) for c in class_names[:10])}.")
        return torch.tensor([index[v] for v in labels], dtype=torch.long), class_names
    numbers, bad, _ = to_numbers(values)
    if bad.any() or numbers.isna().any():
        row = bad.idxmax() if bad.any() else numbers.isna().idxmax()
        raise DataError(f"Target column '{name}'{' of ' + where if where else ''} holds {shown(values[row])} "
                        f"(data row {row + 1}), which is not a number, so it cannot be a regression target.")
    return torch.tensor(numbers.to_numpy(dtype=np.float32)).unsqueeze(1), None


def encode_targets(frame: pd.DataFrame, targets: list[str], task: str, class_names: list[str] | None = None,
                   where: str = "") -> tuple[torch.Tensor, list[str] | None]:
    """One target column (classification or regression), or several (multi-output regression)."""
    if len(targets) == 1:
        return encode_target(frame[targets[0]], task, targets[0], class_names, where)
    if task != "regression":
        raise DataError(f"Several target columns ({', '.join(targets)}) make a multi-output regression; "
                        f"a {task} task takes one target column.")
    return torch.cat([encode_target(frame[t], task, t, None, where)[0] for t in targets], dim=1), None


def absent_values(values: pd.Series) -> pd.Series:
    """Empty cells and missing-value markers ('?', 'n/a', ...): a row without a target."""
    return values.isna() | values.astype("string").str.strip().str.lower().isin(MISSING_MARKERS).fillna(False)


def similar_classes(classes: list[str]) -> list[str]:
    """A note for class names that differ only in case (often a typo in the labels)."""
    seen: dict[str, list[str]] = {}
    for name in classes:
        seen.setdefault(name.lower(), []).append(name)
    return [f"classes {' and '.join(repr(n) for n in names)} differ only in case; are they one class?"
            for names in seen.values() if len(names) > 1]


def _check_finite_targets(frame: pd.DataFrame, targets: list[str], where: str) -> None:
    """A regression target read as infinite ('inf', 1e400) or beyond float32 (1e300) is a typo or an overflow."""
    for name in targets:
        numbers, _, _ = to_numbers(frame[name])
        values = numbers.to_numpy(dtype=float, na_value=np.nan)
        infinite = np.abs(np.nan_to_num(values, posinf=np.inf, neginf=np.inf)) > np.finfo(np.float32).max
        if infinite.any():
            position = int(np.flatnonzero(infinite)[0])
            value = frame[name].iloc[position]
            value = value.item() if isinstance(value, np.generic) else value  # inf, not np.float64(inf)
            raise DataError(f"Target column {shown(name)} of {where} holds {shown(value)} in data row "
                            f"{frame.index[position] + 1}, which is infinite (or beyond float32's 3.4e+38); fix or "
                            "remove that row.")


def load_table(path: str | Path, target: str | list[str] | None = None, task: str | None = None,
               features: list[str] | None = None) -> Dataset:
    """Read a CSV / Parquet table with a target column; the features stay raw (a DataFrame).

    Rows without a target are left out (and said so in `notes`).

    Args:
        path: The file.
        target: The target column, or a list of columns for multi-output regression.
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
    where = shown_path(path)
    if not target:
        raise DataError(f"No target column given for {where}; set data.target to one of: {shown_names(columns)}.")
    target = [str(t) for t in target] if isinstance(target, (list, tuple)) else str(target)  # a header of numbers
    targets = [target] if isinstance(target, str) else list(target)
    for name in targets:
        if name not in columns:
            raise DataError(f"Target column {shown(name)} is not in {where}.{suggest(name, columns)} "
                            f"Columns: {shown_names(columns)}.")
    notes = []
    unlabelled = pd.concat([absent_values(frame[t]) for t in targets], axis=1).any(axis=1)
    if unlabelled.all():
        raise DataError(f"Target column {shown(targets[0])} of {where} is empty; every row needs a target to learn from.")
    if unlabelled.any():
        named = "' / '".join(targets)
        notes.append(f"{int(unlabelled.sum())} row(s) without a '{named}' value left out")
        frame = frame[~unlabelled]  # the index keeps the file's row numbers for messages
    duplicates = int(frame.duplicated().sum())
    if duplicates:
        notes.append(f"{duplicates} duplicate row(s) (kept; they weigh double, and a copy may land in the test split)")
    chosen = features or [c for c in columns if c not in targets]
    absent = [c for c in chosen if c not in columns]
    if absent:
        raise DataError(f"Feature column(s) {shown_names(absent)} not in {where}.{suggest(absent[0], columns)}")
    if not chosen:
        raise DataError(f"{where} has no feature columns besides the target {', '.join(map(shown, targets))}; a table "
                        "needs at least one column to learn from.")
    task = task or ("regression" if len(targets) > 1 else infer_task(frame[targets[0]]))
    if task == "regression":
        _check_finite_targets(frame, targets, where)
    y, classes = encode_targets(frame, targets, task, where=where)
    if classes:
        notes += similar_classes(classes)
    frame = frame.reset_index(drop=True)
    return Dataset(frame[chosen], y, task, path.stem, feature_names=chosen, class_names=classes,
                   target_names=None if classes else targets, inputs={"kind": "frame", "columns": chosen,
                                                                      "target": target}, notes=notes)
