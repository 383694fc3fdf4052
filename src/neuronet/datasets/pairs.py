"""Text pairs for translation (seq2seq): source texts and their target texts, as raw strings.

A seq2seq raw data set is `Dataset(x=sources, y=targets, task="seq2seq")`, `y` a plain list of
strings; the tokenizers are fitted later, on the training split. Pairs longer than `max_words`
words on either side are left out, and so are pairs with an empty side; notes say how many.

How a text target is told from class labels (a CSV / TSV with `data.text` and `data.target`):
`task: seq2seq` says so; without a task, a target column is read as texts when more than half
of its (non-empty) values are distinct and at least `MIN_DISTINCT_TEXTS` are. Class labels
repeat: a classification target whose values are mostly distinct could not be split keeping
class proportions, nor learned (most classes would have one example), so such a column is
taken for texts; fewer than 50 distinct values stay labels (a small pair file needs `task: seq2seq`).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import read_table
from neuronet.datasets.table import absent_values
from neuronet.datasets.userfiles import shown_names, shown_path
from neuronet.errors import ConfigError, DataError
from neuronet.params import shown
from neuronet.registry import suggest

__all__ = ["MIN_DISTINCT_TEXTS", "is_text_target", "load_text_pairs", "pairs_dataset", "pairs_from_frame"]

MIN_DISTINCT_TEXTS = 50


def is_text_target(frame: pd.DataFrame, target: str | None) -> bool:
    """Whether column `target` holds texts to generate rather than class labels (see the module's rule).

    Example:
        >>> is_text_target(pd.DataFrame({"es": [f"frase {i}" for i in range(60)]}), "es")
        True
        >>> is_text_target(pd.DataFrame({"label": ["pos", "neg"] * 30}), "label")
        False
    """
    if not target or target not in frame.columns or pd.api.types.is_numeric_dtype(frame[target]):
        return False
    values = frame[target][~absent_values(frame[target])].astype(str)
    distinct = values.nunique()
    return distinct >= MIN_DISTINCT_TEXTS and distinct > len(values) / 2


def _check_max_words(max_words: int) -> None:
    if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1:
        raise ConfigError(f"The 'max_words' option of text pairs must be an integer >= 1. Got {max_words!r} instead.")


def pairs_dataset(sources: list[str], targets: list[str], name: str, column: str = "source", target: str = "target",
                  max_words: int = 60, what: str = "pairs", ids: list[str] | None = None,
                  notes: list[str] | None = None) -> Dataset:
    """Raw seq2seq data from aligned texts: too-long and empty pairs left out, lengths said in a note.

    Args:
        sources, targets: Aligned texts (the same length).
        name: The data set's name, for reports.
        column, target: What the source and target texts are called (file columns, 'en' / 'es').
        max_words: Pairs with more whitespace-separated words than this on either side are left out.
        what: What a pair is, for the note ("verse pairs").
        ids: A name per pair (e.g. the verse key), kept for the pairs left in.
        notes: Notes to start with (what reading the file did).

    Raises:
        ConfigError: `max_words` is not a positive integer.
        DataError: no pair is left.

    Example:
        >>> data = pairs_dataset(["a b", "c", ""], ["x", "y z w", "v"], "demo", "en", "es", max_words=2)
        >>> data.x, data.y, data.notes[0]
        (['a b'], ['x'], '1 pairs, median 2 / 1 words; 1 empty pair(s) left out; 1 over 2 words left out (data.options.max_words)')
    """
    _check_max_words(max_words)
    keep, empty, long = [], 0, 0
    for i, (s, t) in enumerate(zip(sources, targets)):
        s_words, t_words = len(s.split()), len(t.split())
        if not s_words or not t_words:
            empty += 1
        elif s_words > max_words or t_words > max_words:
            long += 1
        else:
            keep.append(i)
    if not keep:
        raise DataError(f"No {what} of '{name}' are left: {empty:,} have an empty side and {long:,} have more than "
                        f"{max_words} words on a side; raise data.options.max_words or give shorter texts.")
    x, y = [sources[i] for i in keep], [targets[i] for i in keep]
    median = lambda texts: f"{statistics.median(len(t.split()) for t in texts):g}"  # noqa: E731
    note = f"{len(keep):,} {what}, median {median(x)} / {median(y)} words"
    note += f"; {empty:,} empty pair(s) left out" if empty else ""
    note += f"; {long:,} over {max_words} words left out (data.options.max_words)" if long else ""
    return Dataset(x, y, "seq2seq", name, target_names=[target], inputs={"kind": "text", "column": column},
                   notes=[note, *(notes or [])], ids=None if ids is None else [ids[i] for i in keep])


def pairs_from_frame(frame: pd.DataFrame, text: str | None, target: str | None, path: str | Path,
                     max_words: int = 60) -> Dataset:
    """Seq2seq raw data from a table already read: column `text` holds the sources, `target` their translations.

    Raises:
        DataError: one column only, a column that is not there, both naming one column, or no pair left.
    """
    where, columns = shown_path(path), [str(c) for c in frame.columns]
    if len(columns) < 2:
        raise DataError(f"Data file {where} has one column ({shown(columns[0], 40)}); a file of text pairs needs two: "
                        "the source texts (data.text) and their translations (data.target).")
    if not text or not target:
        missing = "data.text" if not text else "data.target"
        raise ConfigError(f"Reading {where} as text pairs (task: seq2seq) needs data.text (the source column) and "
                          f"data.target (the target column); set {missing}, e.g. one of: {shown_names(columns, 5)}.")
    for col in (text, target):
        if col not in columns:
            raise DataError(f"Column {shown(col)} is not in {where}.{suggest(col, columns)} Columns: "
                            f"{shown_names(columns)}.")
    if text == target:
        raise DataError(f"data.text and data.target both name column '{text}' of {where}; a pair needs a source column "
                        "and a different target column.")
    clean = lambda col: [str(v) for v in frame[col].where(~absent_values(frame[col]), "")]  # noqa: E731
    return pairs_dataset(clean(text), clean(target), Path(path).stem or "pairs", text, target, max_words)


def load_text_pairs(path: str | Path, text: str, target: str, max_words: int = 60) -> Dataset:
    """A CSV / TSV / Parquet file of text pairs (e.g. columns 'en' and 'es') as raw seq2seq data.

    Args:
        path: The table file.
        text: The column of source texts (data.text).
        target: The column of target texts (data.target).
        max_words: Pairs with more words than this on either side are left out (and said in a note).

    Raises:
        DataError: one sentence naming the file and what is wrong (one column, a missing column, no pair left).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
        >>> _ = p.write_text("en\\tes\\nthe cat\\tel gato\\nthe dog\\tel perro\\n")
        >>> load_text_pairs(p, "en", "es").y
        ['el gato', 'el perro']
    """
    _check_max_words(max_words)
    return pairs_from_frame(read_table(path), text, target, path, max_words)
