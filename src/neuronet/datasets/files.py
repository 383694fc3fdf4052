"""Tables from the user's CSV / Parquet files, checked column by column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.dataset import Dataset, Task
from neuronet.errors import DataError
from neuronet.registry import suggest

__all__ = ["TABLE_SUFFIXES", "read_table", "load_table", "table_features"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
MAX_CLASSES_FOR_NUMERIC_TARGET = 20


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, with a clear error for bad files."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist; check the path.")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(f"Data file {path} has suffix '{path.suffix}'; expected one of {', '.join(TABLE_SUFFIXES)}.")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file {path} is empty; it needs a header row and at least one data row.") from None
    except Exception as err:  # noqa: BLE001 - parsers raise many types; the user needs one sentence
        raise DataError(f"Cannot read {path}: {err}.") from err
    if frame.empty:
        raise DataError(f"Data file {path} has a header but no data rows.")
    if frame.shape[1] == 1 and path.suffix.lower() == ".csv":
        header = str(frame.columns[0])
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in header:
                raise DataError(f"Data file {path} has one column named {header[:40]!r}: it looks separated by {name}, "
                                "not commas; save it as comma-separated CSV.")
    return frame


def _numeric_features(frame: pd.DataFrame, columns: list[str], path: Path) -> torch.Tensor:
    for col in columns:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            bad = frame[col][pd.to_numeric(frame[col], errors="coerce").isna() & frame[col].notna()]
            example = f" (e.g. {bad.iloc[0]!r} in row {bad.index[0] + 2})" if len(bad) else ""
            raise DataError(f"Column '{col}' of {path} is not numeric{example}; features must be numbers.")
        missing = frame[col].isna()
        if missing.any():
            rows = ", ".join(str(r + 2) for r in missing[missing].index[:5])
            raise DataError(
                f"Column '{col}' of {path} has {int(missing.sum())} missing value(s) (file line {rows}); "
                "fill or drop them before training."
            )
        if not np.isfinite(frame[col].to_numpy(dtype=float)).all():
            raise DataError(f"Column '{col}' of {path} holds infinite values; features must be finite.")
    return torch.tensor(frame[columns].to_numpy(dtype=np.float32))


def _infer_task(target: pd.Series) -> Task:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    integral = pd.api.types.is_integer_dtype(target) or bool((target.dropna() % 1 == 0).all())
    return "classification" if integral and target.nunique() <= MAX_CLASSES_FOR_NUMERIC_TARGET else "regression"


def load_table(path: str | Path, target: str | None = None, task: Task | None = None,
               features: list[str] | None = None) -> Dataset:
    """Load a CSV / Parquet file with a named target column as a Dataset.

    Args:
        path: The file.
        target: Name of the target column.
        task: "classification" or "regression" (default: inferred from the target column:
            text, bool or at most 20 distinct integers means classification).
        features: Feature columns to use (default: every other column).

    Raises:
        DataError: missing/empty file, missing target, non-numeric or missing feature values.
    """
    path = Path(path)
    frame = read_table(path)
    if not target:
        raise DataError(f"No target column given for {path}; set data.target to one of: {', '.join(frame.columns)}.")
    if target not in frame.columns:
        raise DataError(
            f"Target column '{target}' is not in {path}.{suggest(target, list(frame.columns))} "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    if frame[target].isna().any():
        raise DataError(f"Target column '{target}' of {path} has missing values; every row needs a target.")
    columns = features or [c for c in frame.columns if c != target]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"Feature column(s) {', '.join(absent)} not in {path}.")
    if not columns:
        raise DataError(f"{path} has no feature columns besides the target '{target}'.")
    x = _numeric_features(frame, columns, path)
    task = task or _infer_task(frame[target])
    if task == "classification":
        classes, codes = np.unique(frame[target].astype(str).to_numpy(), return_inverse=True)
        y = torch.as_tensor(codes, dtype=torch.long)
        return Dataset(x, y, task, path.stem, [str(c) for c in columns], [str(c) for c in classes])
    y = torch.tensor(pd.to_numeric(frame[target]).to_numpy(dtype=np.float32))
    return Dataset(x, y, task, path.stem, [str(c) for c in columns], target_names=[target])


def table_features(path: str | Path, feature_names: list[str]) -> torch.Tensor:
    """Read the feature columns a trained model expects from a CSV / Parquet file.

    Extra columns (e.g. the target) are ignored; missing ones are an error naming them.
    """
    path = Path(path)
    frame = read_table(path)
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(
            f"{path} lacks {len(missing)} column(s) the model was trained on ({shown}); "
            f"it needs: {', '.join(feature_names[:8])}{' ...' if len(feature_names) > 8 else ''}."
        )
    return _numeric_features(frame, list(feature_names), path)
