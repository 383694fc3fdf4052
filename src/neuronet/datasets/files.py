"""Reading the user's CSV / TSV / Parquet files, with one clear sentence for each way a file can be wrong."""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuronet.datasets.userfiles import check_file, is_folder, shown_path
from neuronet.errors import DataError, DataNote

__all__ = ["TABLE_SUFFIXES", "MISSING_MARKERS", "MAX_COLUMNS", "read_table", "infer_task", "to_numbers"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
MAX_CLASSES_FOR_NUMERIC_TARGET = 20


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file into a DataFrame, with a clear error for bad files.

    A CSV separated by semicolons (with decimal commas, as spreadsheets in many locales save
    it), tabs or bars is read with that separator. UTF-16 / UTF-32 files with a byte-order
    mark are decoded; a file that is not UTF-8 is read as Windows-1252 (Latin-1), and said.
    What is not a regular file (a FIFO, /dev/zero) is refused before it is opened; NUL bytes,
    a binary file under a table's name and a header of more than 10,000 columns are refused
    before pandas parses them.

    Raises:
        DataError: one sentence naming the file, what is wrong with it and what would be right.
    """
    path = Path(path)
    if is_folder(path):
        raise DataError(f"{shown_path(path)} is a folder, but a table file ({', '.join(TABLE_SUFFIXES)}) is needed here.")
    check_file(path, "Data file", f"a table file ({', '.join(TABLE_SUFFIXES)})")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"Data file {shown_path(path)} has suffix '{path.suffix}'; expected one of "
                        f"{', '.join(TABLE_SUFFIXES)}.")
    frame = _read_parquet(path) if suffix in (".parquet", ".pq") else _read_text_table(path, suffix)
    names = [str(c) for c in frame.columns]
    clean = _unique([" ".join(_CONTROL.sub(" ", name).split()) if _CONTROL.search(name) else name for name in names])
    if clean != names:  # a header cell with a line break or a tab: a name no message or --set could show
        changed = next(a for a, b in zip(names, clean) if a != b)
        warnings.warn(f"column names of {shown_path(path)} with control characters (line breaks, tabs) were made "
                      f"plain or unique, e.g. {changed!r} is read as {clean[names.index(changed)]!r}", DataNote,
                      stacklevel=2)
    frame.columns = clean
    if frame.shape[1] > MAX_COLUMNS:
        raise _too_wide(path, frame.shape[1])
    if frame.empty:
        raise DataError(f"Data file {shown_path(path)} has a header but no data rows.")
    return frame


MAX_COLUMNS = 10_000  # each column is prepared on its own (~10 ms a column a pass): more would take hours
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # UTF-32 LE first: it starts with UTF-16 LE's mark
_MAGIC = ((b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)"), (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
          (b"PAR1", "a Parquet file (name it .parquet)"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"RIFF", "a RIFF (WAV) file"), (b"\x93NUMPY", "a NumPy .npy array"), (b"%PDF", "a PDF document"),
          (b"\x1f\x8b", "a gzip archive"), (b"SQLite format 3", "an SQLite database"))
_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _unique(names: list[str]) -> list[str]:
    """Names made unique as pandas does for a CSV's header: a, a.1, a.2."""
    seen: set[str] = set()
    counts: dict[str, int] = {}
    out = []
    for name in names:
        new = name
        while new in seen:
            counts[name] = counts.get(name, 0) + 1
            new = f"{name}.{counts[name]}"
        seen.add(new)
        out.append(new)
    return out


def _too_wide(path: Path, columns: int) -> DataError:
    return DataError(f"Data file {shown_path(path)} has {columns:,} columns; neuronet reads tables of at most "
                     f"{MAX_COLUMNS:,} columns (each is prepared on its own), so keep the columns that matter "
                     "(or reduce them first, e.g. with PCA).")


def _sniff(path: Path, suffix: str) -> tuple[str | None, str, bool, str]:
    """The encoding a byte-order mark names (None: none), the separator the header uses, whether
    lines end at line feeds with carriage returns inside fields, and the header line.

    A binary file, NUL bytes and a header of more than `MAX_COLUMNS` fields are refused here,
    before pandas parses anything. The separator is ',' unless the header holds no comma (outside
    quotes) but a semicolon, tab or bar: spreadsheets in many locales save such files, with
    decimal commas in their rows.

    A file whose lines end in line feeds but whose fields hold lone carriage returns (pandas'
    `to_csv` leaves them unquoted) would be cut into extra rows at each return, or refused.
    """
    stray_cr = line_feeds = False
    with open(path, "rb") as f:
        head = f.read(_CHUNK)
        encoding = next((name for bom, name in _BOMS if head.startswith(bom)), None)
        if encoding is None:
            kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
            if kind is not None:
                raise DataError(f"Data file {shown_path(path)} is not a text table but {kind}; give a CSV file "
                                "(comma-, semicolon- or tab-separated text).")
            chunk, offset = head, 0
            while chunk:
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    raise DataError(f"Data file {shown_path(path)} holds NUL bytes (the first at byte "
                                    f"{offset + nul:,}), so it is binary, UTF-16 without a "
                                    "byte-order mark, or damaged; re-save it as a UTF-8 CSV.")
                following = f.read(_CHUNK)
                lone = chunk.replace(b"\r\n", b"")
                stray_cr = stray_cr or b"\r" in (lone[:-1] if chunk.endswith(b"\r") and following[:1] == b"\n" else lone)
                line_feeds = line_feeds or b"\n" in chunk
                offset += len(chunk)
                chunk = following
    first = head.decode(encoding or "latin-1", errors="ignore").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first)
    sep = "\t" if suffix == ".tsv" else ","
    if sep == "," and "," not in unquoted:
        sep = next((s for s in ";\t|" if s in unquoted), ",")
    if first.count(sep) + 1 > MAX_COLUMNS:
        raise _too_wide(path, first.count(sep) + 1)
    return encoding, sep, stray_cr and line_feeds, first


def _read_text_table(path: Path, suffix: str) -> pd.DataFrame:
    encoding, sep, stray_cr, header = _sniff(path, suffix)

    def read(**options: Any) -> pd.DataFrame:
        options = {"sep": sep, **({"decimal": ","} if sep == ";" else {}), **options}
        if stray_cr:  # lines end at line feeds only; a carriage return inside a field is text
            options["lineterminator"] = "\n"
        return pd.read_csv(path, **({"encoding": encoding, **options} if encoding else options))

    try:
        try:
            frame = read()
        except UnicodeDecodeError as err:  # not UTF-8: read as Windows-1252 (Latin-1 where that fails), and said
            try:
                frame, used = read(encoding="cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                frame, used = read(encoding="latin-1"), "Latin-1"
            warnings.warn(f"{shown_path(path)} is not valid UTF-8 (byte {err.object[err.start]:#x} at offset {err.start}); "
                          f"it was read as {used} (re-save the file as UTF-8 if its text looks wrong)", DataNote,
                          stacklevel=3)
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file {shown_path(path)} is empty; it needs a header row and at least one data row.") from None
    except Exception as err:  # noqa: BLE001 - parsers raise many types; the user needs one sentence
        raise DataError(f"Cannot read {shown_path(path)} as a table ({_reason(err)}); give a CSV with a header row "
                        "and the same number of fields on every line.") from None
    if stray_cr:
        frame = _without_line_end_returns(frame)
    _say_repeated_names(header, sep, frame, path)
    return _without_row_names(frame, path)


def _say_repeated_names(header: str, sep: str, frame: pd.DataFrame, path: Path) -> None:
    """Say when the header names a column more than once: pandas reads the later ones as name.1, name.2."""
    try:
        names = next(csv.reader(io.StringIO(header.rstrip("\r"), newline=""), delimiter=sep), [])
    except csv.Error:  # a return inside the header line: pandas' own reading stands
        return
    if len(names) != frame.shape[1]:
        return  # a header over several lines: pandas' own reading stands
    repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    if repeated:
        name = repeated[0]
        copies = ", ".join(repr(f"{name}.{i}") for i in range(1, names.count(name)))
        warnings.warn(f"{shown_path(path)} names {len(repeated)} column(s) more than once, e.g. {names.count(name)} "
                      f"columns {name!r}: the later ones are read as {copies} (rename them in the file to say what "
                      "each holds)", DataNote, stacklevel=4)


def _without_line_end_returns(frame: pd.DataFrame) -> pd.DataFrame:
    """The last column of a file with Windows line ends (\\r\\n) read at line feeds: its trailing \\r removed."""
    last = frame.columns[-1]
    if not isinstance(last, str) or not last.endswith("\r"):
        return frame
    frame = frame.rename(columns={last: last[:-1]})
    values = frame[last[:-1]]
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        values = values.str.removesuffix("\r").replace("", np.nan)
        numbers = pd.to_numeric(values, errors="coerce")
        frame[last[:-1]] = numbers if numbers.notna().sum() == values.notna().sum() else values
    return frame


def _without_row_names(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Rows with one field more than the header (R's write.csv: row names) lose it, and it is said; more is refused.

    pandas reads the extra leading fields as the index, which would shift every column silently.
    """
    if frame.index.equals(pd.RangeIndex(len(frame))):
        return frame
    extra = frame.index.nlevels
    if extra > 1:
        raise DataError(f"Data file {shown_path(path)} has rows with {extra} fields more than its header; give the "
                        "same number of fields on every line (quote fields that hold the separator).")
    warnings.warn(f"the rows of {shown_path(path)} have one field more than its header: the first field was read as a "
                  "row name and left out", DataNote, stacklevel=3)
    return frame.reset_index(drop=True)


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:160].rstrip(".")


def _read_parquet(path: Path) -> pd.DataFrame:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        text = head and all(32 <= b < 127 or b in (9, 10, 13) for b in head)
        looks = " (it holds text: if it is a CSV, name it .csv)" if text else ""
        raise DataError(f"Data file {shown_path(path)} is not a Parquet file{looks}: a Parquet file starts and ends "
                        "with 'PAR1'; write it again with DataFrame.to_parquet.")
    try:
        try:
            frame = pd.read_parquet(path)
        except Exception:  # noqa: BLE001 - e.g. duplicate column names, which the file reader still reads
            import pyarrow.parquet as pq

            frame = pq.ParquetFile(path).read().to_pandas()
    except Exception as err:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise DataError(f"Parquet file {shown_path(path)} is damaged ({_reason(err)}); write it again with "
                        "DataFrame.to_parquet.") from None
    names = _unique([str(c) for c in frame.columns])  # Parquet allows duplicate names; a CSV's are made unique
    frame.columns = names
    nested = [c for c in names if frame[c].dtype == object and
              frame[c].map(lambda v: isinstance(v, (list, dict, np.ndarray, bytes))).any()]
    if nested:
        raise DataError(f"Column '{nested[0]}' of {shown_path(path)} holds lists, records or bytes, not single values; "
                        "give one number or word per cell (e.g. one column per list element).")
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
