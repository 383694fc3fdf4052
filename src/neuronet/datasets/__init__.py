"""Data sets: built-in sources, user tables, splits, scaling and batching.

Example:
    >>> import neuronet as nt
    >>> data = nt.datasets.load("digits")
    >>> data.input_shape, data.num_outputs
    ((1, 8, 8), 10)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuronet.datasets.audio import load_audio_folder, log_mel, mel_filterbank, read_wav
from neuronet.datasets.augment import AUGMENTATIONS, Compose, build_augmentations
from neuronet.datasets.batching import epoch_permutation, num_batches, tensor_batches
from neuronet.datasets.builtin import DATASETS, read_idx
from neuronet.datasets.dataset import Dataset, Task
from neuronet.datasets.images import IMAGE_SUFFIXES, load_image_folder
from neuronet.datasets.imbalance import class_weights, resample
from neuronet.datasets.files import TABLE_SUFFIXES, read_table, table_features
from neuronet.datasets.preprocessing import SCALINGS, Scaler
from neuronet.datasets.sequences import forecast_split, make_windows
from neuronet.datasets.table import Table, load_raw_table, load_table
from neuronet.datasets.tabular import TablePreprocessor, missing_report
from neuronet.datasets.text import load_text_table, text_dataset
from neuronet.datasets.vocab import Vocabulary, tokenize

__all__ = [
    "DATASETS", "Dataset", "SCALINGS", "Scaler", "TABLE_SUFFIXES", "Task", "epoch_permutation", "load",
    "load_audio_folder", "log_mel", "mel_filterbank", "read_wav", "AUGMENTATIONS", "Compose", "build_augmentations", "IMAGE_SUFFIXES", "Table", "TablePreprocessor", "class_weights", "load_image_folder", "resample", "Vocabulary", "forecast_split", "load_raw_table", "missing_report", "load_table", "load_text_table", "make_windows", "names", "num_batches",
    "read_idx", "read_table", "table_features", "tensor_batches", "text_dataset", "tokenize",
]


def load(name: str, **kwargs: Any) -> Dataset:
    """Load a built-in data set by name, or a CSV / Parquet file by path.

    Args:
        name: A registered name (see `names()`), a path ending in .csv / .parquet, or a folder
            of images with one sub-folder per class.
        **kwargs: Passed to the loader (e.g. `data_dir=`, `limit=` for fashion_mnist;
            `target=`, `task=` for files).

    Raises:
        ConfigError: unknown name (the message lists the valid ones).
        DataError: the data cannot be read.

    Example:
        >>> load("iris").num_outputs
        3
    """
    if Path(str(name)).suffix.lower() in TABLE_SUFFIXES:
        return load_table(name, **kwargs)
    if Path(str(name)).is_dir():
        return load_image_folder(name, **kwargs)
    return DATASETS.get(name)(**kwargs)


def names() -> list[str]:
    """Names of the built-in data sets."""
    return DATASETS.names()
