"""Where data comes from: one registry picks the loader for `data.source`, in one place.

A source is a built-in data set name, a table file (.csv / .parquet), a .txt file or a folder
of them (text to model), a folder of recordings with their transcripts (speech to text), a folder
of WAV files or a folder of images (one sub-folder per class each). Each loader returns raw data; the pipeline (`prepare`) does the fitted preprocessing.

A table with `data.text` and `data.target` is text classification, or text pairs for
translation (seq2seq) when `task: seq2seq` says so or the target column holds texts (more than
half of its values distinct and at least 50 of them: `neuronet.datasets.pairs.is_text_target`).
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from neuronet.datasets.audio import load_audio_folder
from neuronet.datasets import literature, speech, verses, vision  # noqa: F401 - they register their built-in data sets
from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.corpus import load_text_corpus
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import TABLE_SUFFIXES, read_table
from neuronet.datasets.images import load_image_folder
from neuronet.datasets.pairs import is_text_target, load_text_pairs, pairs_from_frame
from neuronet.datasets.sequences import load_series
from neuronet.datasets.table import load_table
from neuronet.datasets.text import load_text_table, text_table_from_frame
from neuronet.datasets.transcribed import is_transcribed_folder, load_transcribed
from neuronet.datasets.userfiles import is_folder, shown_path
from neuronet.datasets.vision import is_annotated, load_annotated
from neuronet.errors import ConfigError, DataError
from neuronet.params import shown
from neuronet.registry import Registry, check_arguments, suggest

__all__ = ["SOURCES", "Source", "find_source", "load_source", "loader_defaults"]


@dataclass(frozen=True)
class Source:
    """A kind of data source: which `data.source` strings it takes, and how to load them."""

    matches: Callable[[str], bool]
    load: Callable[..., Dataset]
    takes: tuple[str, ...]  # the config keys (besides data.options) that apply to it
    help: str


def _load_builtin(source: str, options: dict[str, Any], **given: Any) -> Dataset:
    loader = DATASETS.get(source)
    _check_options(options, loader, f"the built-in data set '{source}'", given)
    return loader(**given, **options)


def _load_table(source: str, options: dict[str, Any], target: str | None = None, text: str | None = None,
                task: str | None = None) -> Dataset:
    if task == "forecasting":
        if text:
            raise ConfigError("data.text does not apply to forecasting; a series is read from data.target.")
        _check_options(options, load_series, "a time series table")
        return load_series(source, target=target or "", **options)
    if task == "language_modeling":
        raise ConfigError(f"A language model learns from a .txt file or a folder of them, not from table {shown_path(source)}; "
                          "give one as data.source (the table's texts saved one per paragraph), or set another task.")
    if task == "seq2seq" and not text:
        raise ConfigError(f"Reading {shown_path(source)} as text pairs (task: seq2seq) needs data.text (the source column) "
                          "and data.target (the column of their translations); set both.")
    if text:
        return _load_text_table(source, options, text, target, task)
    series_only = sorted(set(options) & {"input_len", "horizon", "stride", "date"})
    if series_only:
        raise ConfigError(f"'{series_only[0]}' is an option of a time series: set task: forecasting to read "
                          f"{source} as one (data.target is the series to forecast).")
    _check_options(options, load_table, "a table")
    return load_table(source, target=target, task=task, **options)


def _load_text_table(source: str, options: dict[str, Any], text: str, target: str | None,
                     task: str | None) -> Dataset:
    """A table with a text column: text pairs (seq2seq) or texts with class labels, read once."""
    frame = read_table(source)
    if frame.shape[1] < 2:
        need = "their translations" if task == "seq2seq" else "their labels or translations"
        raise DataError(f"Data file {shown_path(source)} has one column ({shown(str(frame.columns[0]), 40)}); "
                        f"data.text and data.target need two: the texts and, in another column, {need}.")
    if task == "seq2seq" or (task is None and is_text_target(frame, target)):
        _check_options(options, load_text_pairs, "a table of text pairs")
        return pairs_from_frame(frame, text, target, source, **options)
    _check_options(options, load_text_table, "a text table")
    return text_table_from_frame(frame, text, target or "", source)


def _load_folder(loader: Callable[..., Dataset], what: str) -> Callable[..., Dataset]:
    def load(source: str, options: dict[str, Any]) -> Dataset:
        _check_options(options, loader, what)
        return loader(source, **options)

    return load


def _has_wavs(source: str) -> bool:
    root = Path(source)
    try:
        return is_folder(root) and any(p.suffix.lower() == ".wav" for p in root.glob("*/*"))
    except OSError:  # a folder that cannot be listed: the image-folder loader says so
        return False


def _is_text_folder(source: str) -> bool:
    """A folder of .txt files: some at its top and no sub-folder of images or WAV files (those are classes),
    or some anywhere inside it and no image or WAV file at all (a book kept as one folder per part)."""
    from neuronet.datasets.images import IMAGE_SUFFIXES

    if not is_folder(source):
        return False
    media = (*IMAGE_SUFFIXES, ".wav")
    try:
        with os.scandir(source) as it:
            entries = list(islice(it, 10_000))
        if any(e.name.lower().endswith(".txt") and not e.name.startswith(".") for e in entries):
            return not any(Path(f).suffix.lower() in media for e in entries if e.is_dir()
                           for f in islice(os.listdir(e.path), 200))
        suffixes = {p.suffix.lower() for p in islice(Path(source).rglob("*"), 10_000) if not p.name.startswith(".")}
        return ".txt" in suffixes and not suffixes & set(media)
    except OSError:  # a folder that cannot be listed: the folder loaders say so
        return False


SOURCES: Registry[Source] = Registry("data source")
SOURCES.add("builtin", Source(lambda s: s in DATASETS, _load_builtin, ("data_dir",),
                              "A built-in data set by name (`neuronet datasets`)."))
SOURCES.add("recordings", Source(is_transcribed_folder, _load_folder(load_transcribed, "recordings"), (),
                                 "WAV files with their transcripts (a folder with LJSpeech's metadata.csv, a path/text "
                                 "table, or name.wav beside name.txt; or the table itself): speech to text."))
SOURCES.add("annotated images", Source(is_annotated, lambda source, options, task=None: _load_annotated(source, options, task),
                                       ("task",), "Images with their boxes (a COCO .json, or a folder in COCO or YOLO "
                                                  "layout: detection) or class masks (images/ and masks/: segmentation)."))
SOURCES.add("table", Source(lambda s: Path(s).suffix.lower() in TABLE_SUFFIXES, _load_table, ("target", "text", "task"),
                            "A CSV / Parquet table: features and a target column, a text column, or a time series."))
SOURCES.add("text corpus", Source(lambda s: Path(s).suffix.lower() == ".txt" or _is_text_folder(s),
                                  _load_folder(load_text_corpus, "a text corpus"), (),
                                  "A .txt file or a folder of .txt files: text for a language model."))
SOURCES.add("audio folder", Source(_has_wavs, _load_folder(load_audio_folder, "an audio folder"), (),
                                   "A folder of WAV files, one sub-folder per class."))
SOURCES.add("image folder", Source(is_folder, _load_folder(load_image_folder, "an image folder"), (),
                                   "A folder of images (PNG / JPEG), one sub-folder per class."))


def _load_annotated(source: str, options: dict[str, Any], task: str | None = None) -> Dataset:
    _check_options(options, load_annotated, "images with boxes or masks")
    return load_annotated(source, task=task, **options)


def _check_options(options: dict[str, Any], loader: Callable[..., Any], where: str, given: dict | None = None) -> None:
    accepted = [p for p in inspect.signature(loader).parameters if p not in ("path", "root", "target", "text", "task")]
    pipeline_keys = {"max_len", "min_freq", "max_vocab", "missing", "indicators", "categorical", "ignore", "columns"}
    misplaced = sorted(set(options) & pipeline_keys - set(accepted))
    if misplaced:
        raise ConfigError(f"'{misplaced[0]}' is a preprocessing option (fitted on the training split): set it under "
                          f"data.preprocess, not data.options.")
    check_arguments(f"The loader of {where} (data.options)", [*options, *(given or {})], accepted)


def loader_defaults(source: str, text: str | None = None, task: str | None = None) -> dict[str, Any]:
    """The loader options of `source` that have defaults (what data.options leaves to the loader)."""
    kind, _ = find_source(source)
    kind = "text corpus" if task == "language_modeling" and kind.endswith("folder") else kind
    table = load_series if task == "forecasting" else load_text_pairs if text and task == "seq2seq" else \
        load_text_table if text else load_table
    loader = {"builtin": lambda: DATASETS.get(source), "audio folder": lambda: load_audio_folder,
              "recordings": lambda: load_transcribed, "annotated images": lambda: load_annotated,
              "image folder": lambda: load_image_folder, "text corpus": lambda: load_text_corpus,
              "table": lambda: table}[kind]()
    skip = ("path", "root", "target", "text", "task", "data_dir", "limit", "classes")
    return {name: p.default for name, p in inspect.signature(loader).parameters.items()
            if name not in skip and p.default is not inspect.Parameter.empty}


def find_source(source: str) -> tuple[str, Source]:
    """The name and kind of the source `source` (the first registered kind that matches).

    Raises:
        ConfigError: nothing matches; the message lists the built-in names and the file kinds.
    """
    for name in SOURCES:
        if SOURCES.get(name).matches(str(source)):
            return name, SOURCES.get(name)
    path = Path(str(source))
    if path.suffix or "/" in str(source):
        raise ConfigError(f"Data source '{shown_path(source)}' is neither a {', '.join(TABLE_SUFFIXES)} table, a .txt "
                          "file nor an existing folder of images, WAV or .txt files; check the path.")
    raise ConfigError(f"Unknown dataset {shown(source, 80)}.{suggest(str(source), DATASETS.names())} Valid dataset names: "
                      f"{', '.join(DATASETS.names())} (or a path to a table or a folder).")


def _check_images_inside(folder: Path) -> None:
    """A folder taken for images that holds tables and no image is refused, naming a table to give instead."""
    from neuronet.datasets.images import IMAGE_SUFFIXES

    files = [p for p in islice(folder.rglob("*"), 10_000) if p.is_file()]  # bounded: a huge folder is not walked whole
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
        return
    if not files and not any(p.is_dir() for p in islice(folder.iterdir(), 100)):  # class folders: the loader says
        raise DataError(f"{shown_path(folder)} is empty; give a folder with one sub-folder of images or WAV files per "
                        "class, recordings with their transcripts (name.wav beside name.txt, or a metadata.csv), or "
                        ".txt files.")
    wavs = sum(p.suffix.lower() == ".wav" for p in files)
    if wavs:  # WAV files, but neither class sub-folders nor transcripts
        raise DataError(f"{shown_path(folder)} holds {wavs} WAV file(s) but no transcripts and no class sub-folders; to "
                        "transcribe, put name.txt beside each name.wav (or a metadata.csv with id|text lines); to "
                        "classify, put them in one sub-folder per class.")
    tables = sorted(p for p in files if p.suffix.lower() in TABLE_SUFFIXES)
    if tables:
        raise DataError(f"{shown_path(folder)} is a folder of {len(tables)} table file(s) and no images; give one table "
                        f"as data.source (e.g. {shown_path(tables[0])}), or a folder with one sub-folder of images per "
                        "class.")
    kinds = Counter(p.suffix.lower() or "(no ending)" for p in files if not p.name.startswith("."))
    if kinds:  # files, none of them a kind neuronet reads from a folder: say what the folder holds
        held = ", ".join(f"{n} {suffix}" for suffix, n in kinds.most_common(3))
        raise DataError(f"{shown_path(folder)} holds no images, WAV or .txt files (it holds {held} files); give a folder "
                        "with one sub-folder of images or WAV files per class, or text for a language model as .txt "
                        "files (e.g. convert .md or .rst files to .txt).")


def load_source(source: str, *, target: str | None = None, text: str | None = None, task: str | None = None,
                data_dir: str | None = None, limit: int | None = None, options: dict[str, Any] | None = None) -> Dataset:
    """Load raw data from any source: a built-in name, a table file, a .txt file, or a folder of images, WAV or .txt files.

    `task: language_modeling` reads a folder as text (one sentence when it holds no .txt file);
    `task: seq2seq` reads a table's data.text / data.target columns as text pairs.

    Raises:
        ConfigError: an option that does not apply to this kind of source (naming it).
        DataError: the data cannot be read.

    Example:
        >>> load_source("iris").name
        'iris'
    """
    kind, src = find_source(source)
    if task == "language_modeling" and kind.endswith("folder"):  # text wanted: a folder without .txt files says so
        kind, src = "text corpus", SOURCES.get("text corpus")
    if kind == "image folder":
        _check_images_inside(Path(str(source)))
    given = {"target": target, "text": text, "task": task if task in ("classification", "regression", "forecasting", "seq2seq",
                                                                         "language_modeling", "detection", "segmentation")
             else None, "data_dir": data_dir}
    for key, value in given.items():
        if value is not None and key not in src.takes and key != "task":
            raise ConfigError(f"data.{key} does not apply to {kind} source '{shown_path(source)}'; remove it.")
    kwargs = {k: v for k, v in given.items() if k in src.takes and v is not None}
    if limit is not None and kind == "builtin" and "limit" in inspect.signature(DATASETS.get(source)).parameters:
        kwargs["limit"] = limit  # the loader reads no more than it needs
    data = src.load(str(source), dict(options or {}), **kwargs)
    if limit is not None and len(data) > limit:  # any other source: its first `limit` examples
        data = replace(data.subset(np.arange(limit)), official_test=data.official_test, official_val=data.official_val,
                       notes=[*data.notes, f"the first {limit} of {len(data)} examples used (data.limit)"])
    return data
