"""Evaluate and predict from a run directory, through its Predictor (the training pipeline is never rebuilt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from neuronet.datasets import Dataset, load_source
from neuronet.errors import DataError
from neuronet.predict import Predictor
from neuronet.rundir.files import RunFiles, read_json

__all__ = ["evaluate_run", "predict_file", "test_split"]


def test_split(path: str | Path) -> Dataset:
    """The run's own raw test split: its data reloaded from where it was, split as in training (nothing fitted)."""
    files = RunFiles(path)
    state = read_json(files.preprocessing)
    try:
        data = load_source(**state["source"])
    except DataError as err:
        raise DataError(f"The test split of {files.root} cannot be reloaded from where it was trained ({err}); pass "
                        "labelled data with --data FILE_OR_FOLDER.") from None
    split = state["split"]
    if split["unlabelled"]:
        data = data.unlabelled()
    _, _, test = data.split(val=split["val"], test=split["test"], seed=split["seed"])
    if test is None:
        raise DataError(f"Run {files.root} was trained with data.test = 0, so it has no test split; pass --data FILE.")
    return test


def evaluate_run(path: str | Path, data: Any = None) -> dict[str, float]:
    """Metrics of a trained run on its own test split, or on labelled `data` (a file, a folder, a DataFrame).

    Raises:
        DataError: not a completed run, or data that cannot be read as this model's labelled inputs.
    """
    predictor = Predictor.load(path)
    return predictor.evaluate(test_split(path) if data is None else data)


def predict_file(path: str | Path, inputs: Any) -> pd.DataFrame:
    """A table of predictions for `inputs` (a file, a folder, or in-memory values)."""
    return Predictor.load(path).predict_frame(inputs)
