"""Tables from the user's CSV / Parquet files, checked column by column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.dataset import Dataset, Task
from neuronet.errors import DataError
from neuronet.registry import suggest

__all__ = ["TABLE_SUFFIXES", "read_table", "table_features"]

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
