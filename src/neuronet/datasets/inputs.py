"""New inputs for a trained model, from whatever a user holds: raw Datasets that its pipeline then prepares.

Each kind of input (how the training data was read: its `Dataset.inputs` spec) has a reader
that accepts in-memory values and files alike, and shares the loaders' own code, so a
prediction input is read exactly as the training data was:

| kind | accepts |
|---|---|
| frame, table | a DataFrame, a dict or list of dicts, a 2-D array, a .csv / .parquet / .npy path |
| text | a string, a list of strings, a Series, a DataFrame or .csv with the text column, a .txt file (one per line) |
| image | PIL images, arrays / tensors (H, W[, C]) or (N, ...), image files, a folder (with class sub-folders: labelled) |
| audio | waveforms (samples,) at the training rate, (samples, channels), batches (N, samples), (waveform, rate), .wav files, a folder |
| speech | the same as audio, each recording whole (at most 600 s); labelled: a folder of recordings with transcripts |
| sequence, tokens, tensor | arrays / tensors of the training shape, .npy files |
| series | a series (T,) or (T, F) (its last window is forecast), a list of them, a DataFrame / .csv |
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.audio import MAX_RATE, MIN_SPEECH_RATE, read_wav, resample_wave, waveforms_from_array, waves_to_tensor
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import TABLE_SUFFIXES, read_table
from neuronet.datasets.folders import class_files
from neuronet.datasets.images import IMAGE_SUFFIXES, arrays_to_images, images_to_tensor, open_image
from neuronet.datasets.sequences import make_windows, read_series
from neuronet.datasets.table import absent_values, encode_targets
from neuronet.datasets.text import read_lines
from neuronet.datasets.userfiles import check_file, folder_entries, is_folder, read_npy, shown_path
from neuronet.errors import DataError, DataNote
from neuronet.params import shown

__all__ = ["READERS", "read_inputs"]

# A reader returns (inputs, targets or None) and, for inputs read from files, a name per row.
Reader = Callable[[Any, dict[str, Any], bool], tuple]


def _path(value: Any) -> Path | None:
    return Path(value) if isinstance(value, (str, Path)) and not isinstance(value, bytes) else None


def _shown(value: Any) -> str:
    """What the user gave, for a message: a path as its name, anything else as a short repr."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return shown_path(value) if isinstance(value, (str, Path)) else shown(value)


def _labelled_rows(frame: pd.DataFrame, meta: dict[str, Any], labelled: bool, where: str) -> pd.DataFrame:
    """For evaluation: the rows that have a target (as in training, rows without one are left out); the index
    is kept, so that later notes still name the file's rows."""
    if not labelled:
        return frame
    target = meta["inputs"].get("target")
    if not target:
        raise DataError(f"This model was trained on '{meta['name']}', which has no target column name; "
                        "evaluate it on its own test split instead.")
    targets = [target] if isinstance(target, str) else list(target)
    absent = [t for t in targets if t not in frame.columns]
    if absent:
        raise DataError(f"{where} has no target column '{absent[0]}' to evaluate against.")
    unlabelled = pd.concat([absent_values(frame[t]) for t in targets], axis=1).any(axis=1)
    if unlabelled.all():
        raise DataError(f"{where} has no row with a value in the target column '{targets[0]}' to evaluate against.")
    if unlabelled.any():
        warnings.warn(f"{int(unlabelled.sum())} row(s) of {where} without a target left out (data row(s) "
                      f"{_rows(frame, unlabelled)}), as in training", DataNote, stacklevel=2)
    return frame[~unlabelled]


def _rows(frame: pd.DataFrame, mask: pd.Series) -> str:
    """The data rows (1-based, as a spreadsheet counts below the header) where `mask` is true: the first five."""
    rows = [str(i + 1) for i in frame.index[mask.to_numpy()][:5]]
    return ", ".join(rows) + (" ..." if mask.sum() > 5 else "")


def _labels(frame: pd.DataFrame, meta: dict[str, Any], labelled: bool, where: str) -> torch.Tensor | None:
    """The target column of a labelled table, encoded as in training (unknown classes are an error)."""
    if not labelled:
        return None
    target = meta["inputs"]["target"]
    targets = [target] if isinstance(target, str) else list(target)
    return encode_targets(frame, targets, meta["task"], meta.get("class_names"), where)[0]


def _frame(value: Any, columns: list[str]) -> tuple[pd.DataFrame, str]:
    if isinstance(value, (list, tuple)) and value and all(_path(v) is not None for v in value):
        frames = [_frame(v, columns)[0] for v in value]  # several files: their rows, one after another
        return pd.concat(frames, ignore_index=True), ", ".join(map(str, value))
    path = _path(value)
    if path is not None:
        if path.suffix.lower() == ".npy":
            return _npy_frame(path, columns), shown_path(path)
        return read_table(path), shown_path(path)
    if isinstance(value, pd.DataFrame):
        return value.reset_index(drop=True), "the table"
    if isinstance(value, dict):
        scalar = all(np.ndim(v) == 0 for v in value.values())
        return pd.DataFrame([value] if scalar else value), "the record"
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        return pd.DataFrame(list(value)), "the records"
    array = np.asarray(value.cpu() if isinstance(value, torch.Tensor) else value)
    if array.ndim in (1, 2) and array.shape[-1] == len(columns):
        return pd.DataFrame(array.reshape(-1, len(columns)), columns=columns), "the array"
    raise DataError(f"Cannot read {shown(value)} as table rows; give a DataFrame, a dict or list of dicts with the "
                    f"columns {', '.join(columns[:8])}, or a .csv / .parquet file.")


def _npy_frame(path: Path, columns: list[str]) -> pd.DataFrame:
    """A .npy array of rows (N, columns), or one row (columns,), as a table with the training columns."""
    array = read_npy(path)
    if array.ndim not in (1, 2) or array.shape[-1] != len(columns):
        raise DataError(f"Input {shown_path(path)} holds an array of shape {array.shape}; this model reads rows of "
                        f"{len(columns)} values, shaped (N, {len(columns)}) (columns {', '.join(columns[:5])}"
                        f"{' ...' if len(columns) > 5 else ''}).")
    return pd.DataFrame(array.reshape(-1, len(columns)), columns=columns)


def _read_frame(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    columns = meta["inputs"].get("columns") or meta.get("feature_names") or []
    frame, where = _frame(value, columns)
    frame.columns = list(map(str, frame.columns))
    frame = _labelled_rows(frame, meta, labelled, where).reset_index(drop=True)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"{where} lacks {len(absent)} column(s) the model was trained on: {', '.join(absent[:8])}"
                        f"{' ...' if len(absent) > 8 else ''}.")
    return frame[columns], _labels(frame, meta, labelled, where)


def _read_table(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    frame, y = _read_frame(value, meta, labelled)
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    bad = numbers.isna() | ~np.isfinite(values) | (np.abs(np.nan_to_num(values)) > np.finfo(np.float32).max)
    if bad.any().any():
        column = bad.any().idxmax()
        row = int(bad[column].idxmax())
        raise DataError(f"Column '{column}' holds {shown(frame[column].iloc[row])} in row {row + 1}; "
                        "this model needs finite numbers (at most 3.4e+38) in every column.")
    return torch.tensor(numbers.to_numpy(dtype=np.float32)), y


def _read_text(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    column = meta["inputs"].get("column", "text")
    path = _path(value)
    if isinstance(value, str) and path is not None and path.suffix.lower() not in (*TABLE_SUFFIXES, ".txt"):
        if "\n" not in value and len(value) < 4096 and os.path.exists(value):  # never an error for a long text
            raise DataError(f"{shown_path(value)} is a {'folder' if is_folder(path) else 'file'}, not a text; give "
                            f"texts, a .txt file (one text per line) or a .csv with a '{column}' column.")
        value, path = [value], None  # a plain string is a text to classify, not a file name
    if path is not None and path.suffix.lower() == ".txt":
        texts = [line for line in read_lines(path) if line.strip()]  # one text per non-blank line
        if not texts:
            raise DataError(f"Input {shown_path(path)} holds no text (it is empty or blank); give one text per line.")
        return texts, None, texts  # the texts themselves say which row is which line
    if path is not None or isinstance(value, pd.DataFrame):
        frame, where = (read_table(path), shown_path(path)) if path is not None else (value.reset_index(drop=True),
                                                                                        "the table")
        if column not in frame.columns:
            raise DataError(f"{where} has no '{column}' column with the texts.")
        frame = _labelled_rows(frame, meta, labelled, where)
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if empty.any():  # not the text "nan"
            if not labelled:
                raise DataError(f"{where} has {int(empty.sum())} empty '{column}' cell(s) (data row(s) "
                                f"{_rows(frame, empty)}); a text model needs words: fill or drop them.")
            warnings.warn(f"{int(empty.sum())} row(s) of {where} with an empty '{column}' left out (data row(s) "
                          f"{_rows(frame, empty)}), as in training", DataNote, stacklevel=2)
            frame = frame[~empty]
        frame = frame.reset_index(drop=True)
        texts = frame[column].astype(str).tolist()
        return texts, _labels(frame, meta, labelled, where), *([texts] if path is not None else [])
    if isinstance(value, pd.Series):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value), None
    raise DataError(f"Cannot read {shown(value)} as texts; give a string, a list of strings, or a table with a "
                    f"'{column}' column.")


def _image_files(path: Path, labelled: bool, meta: dict[str, Any]) -> tuple[list[Path], torch.Tensor | None]:
    if not is_folder(path):
        return [check_file(path, "Image", "an image file or a folder of them")], None
    from neuronet.datasets.vision import is_annotated

    if not labelled and is_annotated(str(path)) and is_folder(path / "images"):  # a COCO / YOLO / masks folder
        path = path / "images"
    entries = folder_entries(path)
    subfolders = [p for p in entries if is_folder(p)]
    if subfolders:
        classes, files = class_files(path, IMAGE_SUFFIXES, "Image", "images")
        known = meta.get("class_names") or []
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise DataError(f"{shown_path(path)} has class folder(s) the model never saw: {', '.join(unknown[:5])}; "
                            f"it knows {', '.join(known[:10])}.")
        return [p for p, _ in files], torch.tensor([known.index(classes[i]) for _, i in files])
    files = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"Folder {shown_path(path)} has no images ({', '.join(IMAGE_SUFFIXES)}).")
    return files, None


def _read_annotated(value: Any, meta: dict[str, Any]) -> tuple[Any, torch.Tensor, list[str] | None, list | None]:
    """Labelled images for a detector or a segmenter: a COCO / YOLO / masks folder, resized to the training size, its
    class names matched to the model's by name."""
    from neuronet.datasets.vision import load_annotated

    path = _path(value)
    if path is None:
        raise DataError(f"Labelled images for a {meta['task']} model come as a folder (COCO, YOLO or images/ + masks/) "
                        f"or a COCO .json file; got {_shown(value)}.")
    data = load_annotated(str(path), task=meta["task"], size=list(meta["inputs"]["size"]))
    known = list(meta.get("class_names") or [])
    unknown = [c for c in data.class_names or [] if c not in known]
    if unknown:
        raise DataError(f"{shown_path(path)} names class(es) the model never saw: {', '.join(unknown[:5])}; it knows "
                        f"{', '.join(known[:12])}.")
    remap = torch.tensor([known.index(c) for c in data.class_names or []] or [0])
    y = data.y.clone()
    if meta["task"] == "detection":
        real = y[..., 0] >= 0
        y[..., 0][real] = remap[y[..., 0][real].long()].float()
    else:
        y = remap[y]
    return data.x, y, data.ids, data.sizes


def _read_image(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    """Images as (N, C, H, W) floats in [0, 1]. Float arrays of the training shape are taken as they are
    (the loader's own representation); anything else goes through Pillow, converted and resized."""
    from PIL import Image

    spec, shape = meta["inputs"], tuple(meta["input_shape"])
    path = _path(value)
    if labelled and meta.get("task") in ("detection", "segmentation"):  # images with their boxes or masks
        return _read_annotated(value, meta)
    if path is not None and path.suffix.lower() in TABLE_SUFFIXES and meta.get("feature_names"):
        x, y = _read_table(value, {**meta, "inputs": {"columns": meta["feature_names"]}}, False)
        return x.reshape(-1, *shape), y  # one column per pixel, as the training table had
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise DataError("There is nothing to predict: the inputs are empty.")
    images, y, ids, exact = [], None, [], []
    for item in values:
        path, where = _path(item), "An image array"
        if path is not None and path.suffix.lower() == ".npy":
            item, path, where = read_npy(path), None, f"The array in {shown_path(path)}"
        array = np.asarray(item.cpu() if isinstance(item, torch.Tensor) else item) \
            if isinstance(item, (np.ndarray, torch.Tensor)) else None
        if array is not None and np.issubdtype(array.dtype, np.floating) and array.shape[-len(shape):] == shape:
            exact.append(torch.as_tensor(array, dtype=torch.float32).reshape(-1, *shape))
        elif array is not None:
            images += arrays_to_images(array, spec["mode"], where)
        elif path is not None:
            files, y = _image_files(path, labelled, meta)
            images += [open_image(p) for p in files]
            ids += [str(p) for p in files]
        elif isinstance(item, Image.Image):
            images.append(item)
        else:
            raise DataError(f"Cannot read {shown(item)} as an image; give a PIL image, an array, or an image file or folder.")
    if labelled and y is None:
        raise DataError(f"{_shown(value)} has no class sub-folders; labelled images come as a folder with one "
                        "sub-folder per class (named as the classes).")
    if exact and images:
        raise DataError("Give images either as float arrays of the training shape or as pictures, not both at once.")
    if exact:
        return torch.cat(exact), None
    sizes = [im.size for im in images]  # (width, height) before resizing: boxes and masks go back to them
    return images_to_tensor(images, spec["size"], spec["mode"]), y, ids if len(ids) == len(images) else None, sizes


def _read_audio(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    spec = meta["inputs"]
    one_clip = isinstance(value, list) and value and all(isinstance(v, (int, float, np.number)) for v in value)
    values = value if isinstance(value, list) and not one_clip else [value]
    if not values:
        raise DataError("There is nothing to predict: the inputs are empty.")
    waves, y, ids = [], None, []
    for item in values:
        path = _path(item)
        if path is not None and is_folder(path):
            entries = folder_entries(path)
            if any(is_folder(p) for p in entries):
                classes, files = class_files(path, (".wav",), "Audio", ".wav files")
                known = meta.get("class_names") or []
                unknown = [c for c in classes if c not in known]
                if unknown:
                    raise DataError(f"{shown_path(path)} has class folder(s) the model never saw: "
                                    f"{', '.join(unknown[:5])}.")
                y = torch.tensor([known.index(classes[i]) for _, i in files])
                files = [p for p, _ in files]
            else:
                files = [p for p in entries if p.suffix.lower() == ".wav"]
                if not files:
                    raise DataError(f"Folder {shown_path(path)} has no .wav files; give WAV files or a folder of them.")
            pairs = [read_wav(p) for p in files]
            ids += [str(p) for p in files]
        elif path is not None:
            pairs = [read_wav(path)]
            ids.append(str(path))
        elif isinstance(item, tuple) and len(item) == 2 and np.ndim(item[1]) == 0:
            rate = item[1]
            if not isinstance(rate, (int, np.integer)) or not 1 <= rate <= MAX_RATE:
                raise DataError(f"The sample rate of an (array, rate) pair must be a positive whole number of Hz, "
                                f"e.g. {spec['rate']}. Got {shown(rate)} instead.")
            pairs = [(w, int(rate)) for w in waveforms_from_array(item[0])]
        else:
            pairs = [(w, spec["rate"]) for w in waveforms_from_array(item)]
        waves += [resample_wave(w, rate, spec["rate"], spec["duration"]) for w, rate in pairs]
    if labelled and y is None:
        raise DataError(f"{_shown(value)} has no class sub-folders; labelled audio comes as a folder with one "
                        "sub-folder of WAV files per class (named as the classes).")
    return waves_to_tensor(waves, spec["rate"], spec["duration"], spec["n_mels"]), y, ids if len(ids) == len(waves) else None


MAX_PREDICT_SECONDS = 600  # a longer recording is split before it is transcribed


def _read_speech(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, Any]:
    """Recordings to transcribe: WAV files, a folder of them (with transcripts when `labelled`), waveforms at the
    training rate, (waveform, rate) pairs; each resampled to the training rate, as the training clips were."""
    from neuronet.datasets.transcribed import load_transcribed

    spec = meta["inputs"]
    rate = int(spec["rate"])
    path = _path(value)
    if labelled:
        if path is None or not is_folder(path):
            raise DataError(f"Recordings to evaluate on come as a folder with their transcripts (LJSpeech's metadata.csv, "
                            f"a path/text table, or name.wav beside name.txt); {_shown(value)} is not one.")
        data = load_transcribed(path, rate, max(float(spec.get("max_seconds", 30)), MAX_PREDICT_SECONDS))
        return data.x, data.y, data.ids
    one_clip = isinstance(value, list) and value and all(isinstance(v, (int, float, np.number)) for v in value)
    values = value if isinstance(value, list) and not one_clip else [value]
    if not values:
        raise DataError("There is nothing to transcribe: the inputs are empty.")
    waves, ids = [], []
    for item in values:
        path = _path(item)
        if path is not None and is_folder(path):
            files = [p for p in folder_entries(path) if p.suffix.lower() == ".wav"]
            if not files:
                raise DataError(f"Folder {shown_path(path)} has no .wav files at its top; give WAV files or a folder of them.")
            pairs = [(read_wav(p), str(p)) for p in files]
        elif path is not None:
            pairs = [(read_wav(path), str(path))]
        elif isinstance(item, tuple) and len(item) == 2 and np.ndim(item[1]) == 0:
            if isinstance(item[1], bool) or not isinstance(item[1], (int, np.integer)) or not 1 <= item[1] <= MAX_RATE:
                raise DataError(f"The sample rate of an (array, rate) pair must be a positive whole number of Hz, e.g. "
                                f"{rate}. Got {shown(item[1])} instead.")
            pairs = [((w, int(item[1])), None) for w in waveforms_from_array(item[0])]
        else:
            pairs = [((w, rate), None) for w in waveforms_from_array(item)]
        for (wave, clip_rate), name in pairs:
            where = f"Recording {shown_path(name)}" if name else "A recording"
            seconds = len(wave) / clip_rate
            if clip_rate < MIN_SPEECH_RATE:
                raise DataError(f"{where} is sampled at {clip_rate:,} Hz, too slow to hold speech (it needs at least "
                                f"{MIN_SPEECH_RATE:,} Hz; {rate:,} Hz as in training is best).")
            if seconds > MAX_PREDICT_SECONDS:
                raise DataError(f"{where} lasts {seconds:,.0f} s; transcribe at most {MAX_PREDICT_SECONDS} s at once "
                                "(split it, e.g. at pauses).")
            if seconds < 0.1:
                raise DataError(f"{where} lasts {seconds * 1000:,.0f} ms, too short to hold a word; give at least 0.1 s.")
            waves.append(resample_wave(wave, clip_rate, rate))
            ids.append(name)
    return waves, None, ids if all(ids) else None


def _read_tensor(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    shape = tuple(meta["input_shape"])
    path = _path(value)
    if path is not None:
        if path.suffix.lower() != ".npy":
            raise DataError(f"Input file {shown_path(path)} must be a .npy array shaped (N, {', '.join(map(str, shape))}).")
        value = read_npy(path)
    items = value if isinstance(value, (list, tuple)) else [value]
    tensors = [torch.as_tensor(np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v)) for v in items]
    tokens = meta["inputs"].get("kind") == "tokens"
    out = []
    for t in tensors:
        if tuple(t.shape) == shape:
            t = t.unsqueeze(0)
        if tuple(t.shape[1:]) not in (shape, (int(np.prod(shape)),)):
            raise DataError(f"The model expects inputs shaped {shape} (or a batch of them); got {tuple(t.shape)}.")
        out.append(t.reshape(-1, *shape).long() if tokens else t.reshape(-1, *shape).float())
    return torch.cat(out), None


def _read_series(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    """Forecast inputs: each series' last `input_len` steps (or, labelled, every window of a file)."""
    spec = meta["inputs"]
    input_len, horizon, stride = spec["input_len"], spec["horizon"], spec["stride"]
    columns = [spec.get("column") or "value", *(spec.get("features") or [])]
    path = _path(value)
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and value and isinstance(value[0], dict)):
        value = pd.DataFrame(value if isinstance(value, dict) else list(value))
    if path is not None or isinstance(value, pd.DataFrame):
        frame = read_table(path) if path is not None else value.reset_index(drop=True)
        series, _ = read_series(frame, columns[0], columns[1:], spec.get("date"), str(path or "the table"))
        if labelled:  # every window of the file, with its real next values
            return make_windows(series, input_len, horizon, stride)
        values = [series]
    else:
        values = value if isinstance(value, (list, tuple)) and value and np.ndim(value[0]) > 0 else [value]
        values = [_numbers(v, len(columns)) for v in values]
    windows = []
    for series in values:
        if series.shape[1] != len(columns):
            raise DataError(f"The model reads {len(columns)} value(s) per time step ({', '.join(columns)}); "
                            f"the series has {series.shape[1]}. Give a table with those columns.")
        if len(series) < input_len:
            raise DataError(f"A series of {len(series)} steps is too short: the model reads the last {input_len}.")
        windows.append(series[-input_len:])
    return torch.stack(windows), None


def _numbers(value: Any, width: int) -> torch.Tensor:
    """A series given as numbers (T,) or (T, F): floats, gaps filled by linear interpolation as in training."""
    try:
        array = np.array(value.to_numpy() if isinstance(value, pd.Series) else value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"Cannot read {shown(value)} as a series of numbers; give floats, e.g. the last values "
                        "of the series, oldest first.") from None
    frame = pd.DataFrame(array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1))
    if frame.isna().all().any():
        raise DataError("A series to forecast from has no values at all.")
    return torch.tensor(frame.interpolate(limit_direction="both").to_numpy(dtype=np.float32))


def _read_corpus(value: Any, meta: dict[str, Any], labelled: bool) -> tuple[Any, torch.Tensor | None]:
    """Text for a language model: a string, a list of them, or a .txt file (its whole text) or folder of them."""
    path = _path(value)
    a_file = path is not None and os.path.isfile(path) and (isinstance(value, Path) or path.suffix.lower() == ".txt")
    if a_file or (path is not None and is_folder(path)):
        files = sorted(p for p in folder_entries(path) if p.suffix.lower() == ".txt") if is_folder(path) else [path]
        if not files:
            raise DataError(f"Folder {shown_path(path)} has no .txt files; give a text, a .txt file or a folder of them.")
        texts = ["\n".join(read_lines(p)) for p in files]
        if not any(t.strip() for t in texts):
            raise DataError(f"{shown_path(path)} holds no text (it is empty or blank).")
        return texts, None, [str(p) for p in files]
    if isinstance(value, str):
        return [value], None
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value), None
    raise DataError(f"Cannot read {_shown(value)} as text; give a string, a list of strings, or a .txt file.")


READERS: dict[str, Reader] = {
    "corpus": _read_corpus,
    "frame": _read_frame, "table": _read_table, "text": _read_text, "image": _read_image, "audio": _read_audio,
    "speech": _read_speech,
    "sequence": _read_tensor, "tokens": _read_tensor, "tensor": _read_tensor, "series": _read_series,
}


def read_inputs(inputs: Any, meta: dict[str, Any], labelled: bool = False) -> Dataset:
    """Raw inputs for the model described by `meta` (a run's data metadata), as a raw Dataset.

    Args:
        inputs: What to predict on (see the module's table), in memory or as file paths.
        meta: `Dataset.meta()` of the training data.
        labelled: Also read the targets (a table's target column, class sub-folders).

    Raises:
        DataError: inputs that cannot be read as this model's inputs, with what would be right.
    """
    kind = meta["inputs"].get("kind", meta.get("layout"))
    if kind not in READERS:
        raise DataError(f"Cannot read inputs of kind {kind!r}; known kinds: {', '.join(READERS)}.")
    x, y, *extra = READERS[kind](inputs, meta, labelled)  # and, where read from files, ids (and image sizes)
    ids, sizes = (list(extra) + [None, None])[:2]
    if len(x) == 0:
        raise DataError("There is nothing to predict: the inputs are empty.")
    task = meta["task"] if meta["task"] != "reconstruction" else None
    return Dataset(x, y, task if y is not None else None, meta["name"], meta.get("feature_names"),
                   meta.get("class_names"), meta.get("target_names"), inputs=meta["inputs"], ids=ids, sizes=sizes)
