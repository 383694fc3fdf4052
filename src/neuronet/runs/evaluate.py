"""Evaluate and predict from a run directory, through its Predictor (the training pipeline is never rebuilt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from neuronet.datasets import Dataset, load_source
from neuronet.errors import ConfigError, DataError
from neuronet.predict import Predictor
from neuronet.rundir.files import RunFiles, read_json

__all__ = ["evaluate_in_full", "evaluate_run", "predict_file", "test_split", "check_same_data", "SplitUnavailable"]


class SplitUnavailable(DataError):
    """The run's own test split cannot be drawn again: its data is gone, changed, or it had none (data.test = 0)."""


def check_same_data(root: Path, state: dict[str, Any], data: Dataset, then: str) -> None:
    """Raise a DataError when `data`, reloaded from where `root` was trained, is not the data it was trained on.

    The split is drawn again from the reloaded rows: a file with rows added, removed or relabelled since would give
    other training and test rows, so the test rows could be rows the network trained on. The row count, the class
    counts and the digest of every example preprocessing.json recorded are compared (runs from before they were
    recorded are checked on what they have).
    """
    rows, counts, digest = state.get("rows"), state.get("class_counts"), state.get("digest")
    now = data.class_counts() if counts is not None else None
    if rows is not None and len(data) != rows:
        change = f"{rows:,} rows then, {len(data):,} now"
    elif counts is not None and now is not None and dict(now) != dict(counts):
        change = f"class counts {dict(counts)} then, {dict(now)} now"
    elif isinstance(digest, str) and data.digest() != digest:
        change = "the same number of rows, but other values in them"
    else:
        return
    source = state.get("source", {}).get("source")
    raise SplitUnavailable(f"The data of {root} ({source}) has changed since it was trained ({change}), so its split would not "
                    f"be the one it was trained on; {then}.")


def test_split(path: str | Path) -> Dataset:
    """The run's own raw test split: its data reloaded from where it was, split as in training (nothing fitted)."""
    files = RunFiles(path)
    state = read_json(files.preprocessing)
    try:
        data = load_source(**state["source"])
    except DataError as err:
        raise SplitUnavailable(f"The test split of {files.root} cannot be reloaded from where it was trained ({err}); pass "
                        "labelled data with --data FILE_OR_FOLDER.") from None
    split = state["split"]
    if split["unlabelled"]:
        data = data.unlabelled()
    check_same_data(files.root, state, data, "restore the file, or evaluate on labelled data with --data FILE")
    _, _, test = data.split(val=split["val"], test=split["test"], seed=split["seed"])
    if test is None:
        raise SplitUnavailable(f"Run {files.root} was trained with data.test = 0, so it has no test split; pass --data FILE.")
    return test


def evaluate_run(path: str | Path, data: Any = None) -> dict[str, float]:
    """Metrics of a trained run on its own test split, or on labelled `data` (a file, a folder, a DataFrame).

    Raises:
        DataError: not a completed run, or data that cannot be read as this model's labelled inputs.
    """
    return evaluate_in_full(path, data)[0]


def evaluate_in_full(path: str | Path, data: Any = None) -> tuple[dict[str, float], list[dict[str, str]]]:
    """`evaluate_run`'s metrics and the examples the task shows beside them (the clips transcribed worst; none for
    most tasks)."""
    predictor = Predictor.load(path)
    prepared = predictor.prepare(test_split(path) if data is None else data, labelled=True)
    metrics, outputs, targets = predictor.score(prepared)
    return metrics, predictor.task.worst(predictor, prepared, outputs, targets)


def predict_file(path: str | Path, inputs: Any, decoding: dict[str, Any] | None = None,
                 draw: str | Path | None = None) -> pd.DataFrame:
    """A table of predictions for `inputs` (a file, a folder, or in-memory values); `decoding` says how a speech
    model writes its transcripts ({"beam": 8, "words": True}: see `Predictor.transcribe`) or from which score a
    detector reports a box ({"threshold": 0.5}); `draw`, a new folder to write the images into with their boxes or
    masks drawn."""
    predictor = Predictor.load(path)
    if decoding:
        what = "detect" if set(decoding) == {"threshold"} else "transcribe"
        if what not in predictor.task.offers:
            option = "--threshold applies to object detectors" if what == "detect" else \
                "--beam and --words apply to speech recognisers"
            raise ConfigError(f"{option}; {path} is a {predictor.task.name} run.")
        predictor.decoding = dict(decoding)
    frame = predictor.predict_frame(inputs)
    if draw is not None:
        predictor.draw(inputs, draw)
    return frame
