"""Reading the user's CSV / TSV / Parquet files, with one clear sentence for each way a file can be wrong."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from neuronet.errors import DataError, DataNote

__all__ = ["TABLE_SUFFIXES", "MISSING_MARKERS", "read_table", "infer_task", "to_numbers"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
MAX_CLASSES_FOR_NUMERIC_TARGET = 20


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file into a DataFrame, with a clear error for bad files.

    A CSV separated by semicolons (with decimal commas, as spreadsheets in many locales save
    it), tabs or bars is read with that separator.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, but a table file ({', '.join(TABLE_SUFFIXES)}) is needed here.")
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist; check the path.")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"Data file {path} has suffix '{path.suffix}'; expected one of {', '.join(TABLE_SUFFIXES)}.")

    def read(**options: Any) -> pd.DataFrame:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, **{"sep": "\t", **options} if suffix == ".tsv" else options)

    try:
        decoding: dict[str, str] = {}
        try:
            frame = read()
        except UnicodeDecodeError as err:  # not UTF-8: a few stray bytes are replaced, and said
            decoding = {"encoding_errors": "replace"}
            frame = read(**decoding)
            warnings.warn(f"{path} is not valid UTF-8 (byte {err.object[err.start]:#x} at offset {err.start}); "
                          "undecodable bytes were read as '\ufffd' (re-save the file as UTF-8 to keep them)",
                          DataNote, stacklevel=2)
        header = str(frame.columns[0])
        if frame.shape[1] == 1 and suffix == ".csv" and any(sep in header for sep in ";\t|"):
            sep = next(sep for sep in ";\t|" if sep in header)
            frame = read(sep=sep, **({"decimal": ","} if sep == ";" else {}), **decoding)
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file {path} is empty; it needs a header row and at least one data row.") from None
    except Exception as err:  # noqa: BLE001 - parsers raise many types; the user needs one sentence
        raise DataError(f"Cannot read {path}: {str(err).splitlines()[0][:200]}.") from err
    if frame.empty:
        raise DataError(f"Data file {path} has a header but no data rows.")
    return frame


def infer_task(target: pd.Series) -> str:
    """'classification' for text, bool, or a few whole numbers that repeat; 'regression' for quantities.

    Numbers written with markers, thousands separators or percent signs are numbers. Whole
    numbers are classes when there are at most 20 of them and each appears about 5 times or
    more (16 rows with 16 different values are a quantity, not 16 classes).
    """
    if pd.api.types.is_bool_dtype(target):
        return "classification"
    numbers, bad, _ = to_numbers(target)
    if bad.any() or numbers.notna().sum() == 0:
        return "classification"
    values = numbers.dropna()
    distinct = values.nunique()
    few = distinct <= MAX_CLASSES_FOR_NUMERIC_TARGET and distinct <= max(2, len(values) // 5)
    return "classification" if bool((values % 1 == 0).all()) and few else "regression"


# What people write for "no value" in a numeric column (compared lower-cased, stripped).
MISSING_MARKERS = frozenset({"", "?", "-", "--", "na", "n/a", "nan", "none", "null", "missing", "#n/a", "n.a.", "."})
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PERCENT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)\s*%$")


def to_numbers(series: pd.Series, markers: tuple[str, ...] | frozenset = ()) -> tuple[pd.Series, pd.Series, dict[str, int]]:
    """A column as numbers, read the way people write them.

    Missing-value markers ("?", "n/a", "-", ... and `markers`) become NaN; "1,510" is 1510
    (thousands separators); "48.6%" is 48.6.

    Returns:
        (numbers as floats, a mask of the values that are still not numbers, counts of what was read:
        {"markers": n, "thousands": n, "percent": n}).

    Example:
        >>> numbers, bad, seen = to_numbers(pd.Series(["1,510", "48.6%", "?", "x"]))
        >>> numbers.tolist()[:2], bad.tolist(), seen
        ([1510.0, 48.6], [False, False, False, True], {'markers': 1, 'thousands': 1, 'percent': 1})
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        numbers = series.astype(float)
        return numbers, pd.Series(False, index=series.index), {}
    text = series.astype("string").str.strip()
    lowered = text.str.lower()
    marked = lowered.isin(MISSING_MARKERS | frozenset(markers)) & series.notna()
    text = text.mask(marked)
    thousands = text.str.match(_THOUSANDS).fillna(False).astype(bool)
    percent = text.str.match(_PERCENT).fillna(False).astype(bool)
    cleaned = text.mask(thousands, text.str.replace(",", "", regex=False))
    cleaned = cleaned.mask(percent, cleaned.str.rstrip("%").str.strip())
    numbers = pd.to_numeric(cleaned, errors="coerce").astype(float)
    bad = (cleaned.notna() & numbers.isna()).fillna(False).astype(bool)
    return numbers, bad, {"markers": int(marked.sum()), "thousands": int(thousands.sum()), "percent": int(percent.sum())}
