"""Data: built-in sources and user files as raw Datasets, one split → fit → transform pipeline, batching.

Example:
    >>> import neuronet as nt
    >>> data = nt.datasets.load("digits")
    >>> data.input_shape, data.num_outputs
    ((1, 8, 8), 10)
    >>> train, val, test = nt.datasets.prepare(data, val=0.1, test=0.2, seed=0)
"""

from __future__ import annotations

from typing import Any

from neuronet.datasets.audio import load_audio_folder, log_mel, mel_filterbank, read_wav
from neuronet.datasets.augment import AUGMENTATIONS, Compose, build_augmentations
from neuronet.datasets.batching import epoch_permutation, iterate_batches, num_batches, tensor_batches
from neuronet.datasets.builtin import DATASETS, read_idx
from neuronet.datasets.dataset import Dataset, split_indices
from neuronet.datasets.files import TABLE_SUFFIXES, read_table
from neuronet.datasets.images import IMAGE_SUFFIXES, load_image_folder
from neuronet.datasets.imbalance import class_weights, resample
from neuronet.datasets.inputs import read_inputs
from neuronet.datasets.pipeline import PREPROCESSORS, Pipeline, Prepared, Preprocessor, default_pipeline, prepare
from neuronet.datasets.preprocessing import SCALINGS, Scaler, TargetScaler
from neuronet.datasets.sequences import forecast_split, load_series, make_windows
from neuronet.datasets.sources import SOURCES, find_source, load_source, loader_defaults
from neuronet.datasets.table import load_table
from neuronet.datasets.text import load_text_table
from neuronet.datasets.vocab import TextEncoder, Vocabulary, tokenize

__all__ = [
    "AUGMENTATIONS", "Compose", "DATASETS", "Dataset", "IMAGE_SUFFIXES", "PREPROCESSORS", "Pipeline", "Prepared",
    "Preprocessor", "SCALINGS", "SOURCES", "Scaler", "TABLE_SUFFIXES", "TablePreprocessor", "TargetScaler",
    "TextEncoder", "Vocabulary", "build_augmentations", "class_weights", "default_pipeline", "epoch_permutation",
    "find_source", "forecast_split", "iterate_batches", "load", "load_audio_folder", "load_image_folder", "load_series", "load_source",
    "load_table", "load_text_table", "loader_defaults", "log_mel", "make_windows", "mel_filterbank", "missing_report", "names",
    "num_batches", "prepare", "read_idx", "read_inputs", "read_table", "read_wav", "resample", "split_indices",
    "tensor_batches", "tokenize",
]


def __getattr__(name: str) -> Any:
    # The table preparation imports scikit-learn: only when a table is used.
    if name in ("TablePreprocessor", "missing_report"):
        from neuronet.datasets import tabular

        return getattr(tabular, name)
    raise AttributeError(f"module 'neuronet.datasets' has no attribute {name!r}")


def load(name: str, **kwargs: Any) -> Dataset:
    """Load raw data: a built-in data set by name, a CSV / Parquet file, or a folder of images or WAV files.

    Args:
        name: A registered name (see `names()`), a path ending in .csv / .parquet, or a folder
            with one sub-folder per class.
        **kwargs: `target=`, `text=`, `task=` for files; `data_dir=`, `limit=` for built-in
            sets; anything else goes to the loader (e.g. `input_len=` for airline, `size=` for images).

    Raises:
        ConfigError: unknown name (the message lists the valid ones) or option.
        DataError: the data cannot be read.

    Example:
        >>> load("iris").num_outputs
        3
    """
    keys = ("target", "text", "task", "data_dir", "limit")
    return load_source(name, **{k: kwargs.pop(k) for k in keys if k in kwargs}, options=kwargs)


def names() -> list[str]:
    """Names of the built-in data sets."""
    return DATASETS.names()
