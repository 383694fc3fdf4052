"""Sequences: sliding windows for forecasting, and real time-series data sets.

Airline passengers, GunPoint (sktime) and MNIST-1D (mnist1d) ship inside their packages
and load offline; a missing package gets a message saying how to install it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.errors import ConfigError, DataError
from neuronet.registry import suggest

__all__ = ["make_windows", "forecast_split", "require", "series_dataset", "load_series", "read_series"]


def require(module: str, package: str):
    """Import `module`, or raise a DataError saying which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DataError(f"This data set needs the '{package}' package ({err}); install it with "
                        f"`pip install {package}` or `pip install 'neuronet[data]'`.") from None


def make_windows(series: torch.Tensor, input_len: int, horizon: int = 1, stride: int = 1,
                 many_to_many: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Sliding windows over a series (T,) or (T, F).

    Args:
        series: The values in time order.
        input_len: Time steps the model sees.
        horizon: Steps ahead to predict (many-to-one: the next `horizon` values of feature 0).
        stride: Step between window starts.
        many_to_many: Targets are the next value at every input step, shape (N, input_len, F).

    Returns:
        x (N, input_len, F) and y (N, horizon) or (N, input_len, F).

    Example:
        >>> x, y = make_windows(torch.arange(6.0), input_len=3, horizon=2)
        >>> x[:, :, 0].tolist(), y.tolist()
        ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
    """
    if series.ndim == 1:
        series = series.unsqueeze(1)
    span = input_len + (1 if many_to_many else horizon)
    if input_len < 1 or horizon < 1 or stride < 1:
        raise ConfigError(f"input_len, horizon and stride must be >= 1; got {input_len}, {horizon}, {stride}.")
    if len(series) < span:
        raise DataError(f"A series of {len(series)} steps is too short for windows of {input_len} inputs + {horizon} ahead.")
    starts = range(0, len(series) - span + 1, stride)
    x = torch.stack([series[s:s + input_len] for s in starts])
    if many_to_many:
        return x, torch.stack([series[s + 1:s + input_len + 1] for s in starts])
    return x, torch.stack([series[s + input_len:s + input_len + horizon, 0] for s in starts])


def forecast_split(series: torch.Tensor, input_len: int, horizon: int, test_len: int, name: str,
                   stride: int = 1, **inputs: Any) -> Dataset:
    """Windows whose targets lie before the last `test_len` steps train; the rest test.

    Test windows may read inputs from the training period (that is the past), never the
    other way round. Returns the training windows with the test windows as `official_test`.
    """
    x, y = make_windows(series, input_len, horizon, stride)
    target_start = torch.arange(len(x)) * stride + input_len  # index of each window's first target
    cut = len(series) - test_len
    train = (target_start + horizon - 1) < cut
    test = target_start >= cut
    if not train.any() or not test.any():
        raise DataError(f"{name}: {len(series)} steps leave no training or test windows with input_len "
                        f"{input_len}, horizon {horizon} and test_len {test_len}.")
    data = series_dataset(x[train], y[train], name, input_len, horizon, stride, **inputs)
    data.official_test = series_dataset(x[test], y[test], name, input_len, horizon, stride, **inputs)
    return data


def series_dataset(x: torch.Tensor, y: torch.Tensor, name: str, input_len: int, horizon: int, stride: int,
                   **inputs: Any) -> Dataset:
    """Forecasting windows as an ordered Dataset; held-out parts keep a gap so no training target is held out."""
    return Dataset(x, y, "forecasting", name, target_names=[f"t+{h + 1}" for h in range(horizon)], ordered=True,
                   gap=-(-(horizon - 1) // stride),
                   inputs={"kind": "series", "input_len": input_len, "horizon": horizon, "stride": stride, **inputs})


_TIME_NAMES = ("date", "time", "timestamp", "datetime", "year", "month", "week", "day", "period", "t", "step")


def _time_column(frame: pd.DataFrame, target: str) -> str | None:
    """The column that orders the rows: the first that reads as dates, else one named like time (year, t, ...)."""
    for column in frame.columns:
        if column != target and not pd.api.types.is_numeric_dtype(frame[column]):
            sample = frame[column].dropna().head(50)
            if len(sample) and pd.to_datetime(sample, errors="coerce", format="mixed").notna().all():
                return column
    distinct = frame.drop_duplicates()  # a row pasted twice does not make a time column repeat
    for column in frame.columns:  # mostly distinct values: a time, not a day of the week (a clash is then named)
        if column != target and str(column).strip().lower() in _TIME_NAMES and \
                distinct[column].nunique() >= 0.9 * len(distinct):
            return column
    return None


def read_series(frame: pd.DataFrame, target: str, features: list[str] | None = None, date: str | None = None,
                where: str = "the table") -> tuple[torch.Tensor, list[str]]:
    """A table's columns as a series (T, F) in time order: the target first, then `features`.

    Rows are sorted by the `date` column (found automatically: a column of dates, or one named
    like year / time / t); repeated rows are dropped, missing steps reported, and gaps in the
    values (also "?", "n/a") filled by linear interpolation. Each is said in the notes.

    Returns:
        The series and notes on what was done.
    """
    from neuronet.datasets.files import to_numbers

    columns = list(map(str, frame.columns))
    frame.columns = columns
    for column in [target, *(features or []), *([date] if date else [])]:
        if column not in columns:
            raise DataError(f"Column '{column}' is not in {where}.{suggest(column, columns)} Columns: {', '.join(columns)}.")
    notes = []
    date = date or _time_column(frame, target)
    if date is not None:
        frame, notes = _in_time_order(frame, date, where)
    values = pd.DataFrame({c: to_numbers(frame[c])[0] for c in [target, *(features or [])]})
    for column in values.columns:
        bad = to_numbers(frame[column])[1]
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(f"Column '{column}' of {where} holds {frame[column].iloc[row]!r} (row {row + 1}), "
                            "which is not a number.")
    gaps = values.isna().sum()
    if gaps.any():
        if values.notna().sum().min() < 2:
            raise DataError(f"Column '{gaps.idxmax()}' of {where} has fewer than 2 values; a series needs more.")
        values = values.interpolate(limit_direction="both")
        notes.append("gaps filled by linear interpolation: " + ", ".join(f"{n} in '{c}'" for c, n in gaps.items() if n))
    return torch.tensor(values.to_numpy(dtype=np.float32)), notes


def _in_time_order(frame: pd.DataFrame, date: str, where: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows sorted by `date`, exact repeats dropped; a clash (one time, two values) is an error."""
    notes = []
    stamps = frame[date] if pd.api.types.is_numeric_dtype(frame[date]) else \
        pd.to_datetime(frame[date], errors="coerce", format="mixed")
    if stamps.isna().any():
        raise DataError(f"Column '{date}' of {where} has values that are not times (row {int(stamps.isna().idxmax()) + 1}).")
    if not stamps.is_monotonic_increasing:
        notes.append(f"rows sorted by '{date}'")
    order = np.argsort(stamps.to_numpy(), kind="stable")
    frame, stamps = frame.iloc[order].reset_index(drop=True), stamps.iloc[order].reset_index(drop=True)
    repeated = frame.duplicated()
    if repeated.any():
        notes.append(f"{int(repeated.sum())} repeated row(s) dropped")
        frame, stamps = frame[~repeated].reset_index(drop=True), stamps[~repeated].reset_index(drop=True)
    if stamps.duplicated().any():
        clash = stamps[stamps.duplicated()].iloc[0]
        raise DataError(f"Column '{date}' of {where} has two rows for {clash} with different values; keep one per time step.")
    steps = stamps.diff().dropna()
    if len(steps) > 2:
        usual = steps.median()
        missing = steps > usual * 1.5
        if missing.any():
            first = int(missing.to_numpy().nonzero()[0][0])
            notes.append(f"{int(missing.sum())} place(s) where time steps are missing (e.g. after {stamps.iloc[first]}); "
                         "the windows span them")
    return frame, notes


def load_series(path: str | Path, target: str, input_len: int = 24, horizon: int = 1, stride: int = 1,
                features: list[str] | None = None, date: str | None = None) -> Dataset:
    """A time series in a CSV / Parquet file as forecasting windows (the last rows are held out by `split`).

    Args:
        path: The file: one row per time step.
        target: The column to forecast.
        input_len: Past steps the model sees.
        horizon: Steps ahead to predict.
        stride: Steps between window starts.
        features: Other columns given to the model as inputs (default: the target alone).
        date: The column that orders the rows (default: the first column that reads as dates).
    """
    from neuronet.datasets.files import read_table

    frame = read_table(path)
    series, notes = read_series(frame, target, features, date, str(path))
    x, y = make_windows(series, input_len, horizon, stride)
    data = series_dataset(x, y, Path(path).stem, input_len, horizon, stride, column=target,
                          features=list(features or []), date=date)
    data.notes = notes
    return data


@DATASETS.register("airline", "Monthly airline passengers 1949-1960 (log), forecasting windows; last 24 months test (sktime).")
def airline(input_len: int = 24, horizon: int = 1, test_len: int = 24, stride: int = 1) -> Dataset:
    """Forecasting windows over log(passengers): inputs (N, input_len, 1), targets (N, horizon).

    Multi-step forecasting: `horizon` > 1 predicts the next `horizon` months at once.
    """
    datasets = require("sktime.datasets", "sktime")
    values = torch.tensor(np.log(datasets.load_airline().to_numpy(dtype=np.float64)), dtype=torch.float32)
    return forecast_split(values, input_len, horizon, test_len, "airline", stride, season=12)  # monthly


def _sktime_classification(name: str, loader: str) -> Dataset:
    datasets = require("sktime.datasets", "sktime")
    parts = {}
    for part in ("train", "test"):
        x, y = getattr(datasets, loader)(split=part, return_X_y=True, return_type="numpy3D")
        parts[part] = (torch.tensor(x, dtype=torch.float32).transpose(1, 2), np.asarray(y).astype(str))  # (N, T, F)
    classes = sorted(set(parts["train"][1]))
    code = {c: i for i, c in enumerate(classes)}
    made = {p: Dataset(x, torch.tensor([code[v] for v in y]), "classification", name, class_names=classes)
            for p, (x, y) in parts.items()}
    made["train"].official_test = made["test"]
    return made["train"]


@DATASETS.register("gunpoint", "GunPoint: 150-step motion series, 2 classes, 50 train / 150 test (sktime).")
def gunpoint() -> Dataset:
    return _sktime_classification("gunpoint", "load_gunpoint")


@DATASETS.register("mnist1d", "MNIST-1D: 40-step procedurally generated signals, 10 classes, 4000 / 1000 (mnist1d).")
def mnist1d(seed: int = 42) -> Dataset:
    """MNIST-1D made locally with the package's own generator (no download)."""
    data = require("mnist1d.data", "mnist1d")
    args = data.get_dataset_args()
    args.seed = seed
    made = data.make_dataset(args)
    as_x = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32).unsqueeze(2)  # noqa: E731  (N, 40, 1)
    classes = [str(i) for i in range(10)]
    train = Dataset(as_x(made["x"]), torch.tensor(made["y"], dtype=torch.long), "classification", "mnist1d",
                    class_names=classes)
    train.official_test = Dataset(as_x(made["x_test"]), torch.tensor(made["y_test"], dtype=torch.long),
                                  "classification", "mnist1d", class_names=classes)
    return train
