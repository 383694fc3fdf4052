"""Reading the user's CSV / Parquet files, with one clear sentence for each way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuronet.errors import DataError

__all__ = ["TABLE_SUFFIXES", "read_table", "infer_task"]

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
        raise DataError(f"Cannot read {path}: {str(err).splitlines()[0][:200]}.") from err
    if frame.empty:
        raise DataError(f"Data file {path} has a header but no data rows.")
    if frame.shape[1] == 1 and path.suffix.lower() == ".csv":
        header = str(frame.columns[0])
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in header:
                raise DataError(f"Data file {path} has one column named {header[:40]!r}: it looks separated by {name}, "
                                "not commas; save it as comma-separated CSV.")
    return frame


def infer_task(target: pd.Series) -> str:
    """'classification' for text, bool or at most 20 distinct integers; 'regression' otherwise."""
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    integral = pd.api.types.is_integer_dtype(target) or bool((target.dropna() % 1 == 0).all())
    return "classification" if integral and target.nunique() <= MAX_CLASSES_FOR_NUMERIC_TARGET else "regression"
