"""Preparing a user's table the way a careful practitioner would: per column, fitted on training rows only.

Numeric columns: impute (scikit-learn's SimpleImputer), optional missing-indicator columns,
then scale (standard / minmax / robust / none). Categorical columns: impute, then one-hot
(unseen categories at predict time become all-zero rows, not a crash) or ordinal codes
(unseen → -1). Date columns: expanded into year, month, day, day of week (and hour when
present), then treated as numeric. Free-text and identifier columns (a distinct string in
most rows) are left out and named. Every fitted step is stored as JSON (`to_dict`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import re

import numpy as np
import pandas as pd
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.files import MISSING_MARKERS, to_numbers
from neuronet.datasets.sklearn_json import from_json, to_json
from neuronet.errors import ConfigError, DataError, NotFittedError
from neuronet.params import shown
from neuronet.registry import suggest

__all__ = ["TablePreprocessor", "missing_report", "MISSING", "SCALERS", "ENCODINGS"]

MISSING = ("auto", "error", "drop", "mean", "median", "most_frequent", "constant")
MISSING_MARKERS_PER_COLUMN = 3  # a column's own markers: at most this many distinct short words
SCALERS = ("standard", "minmax", "robust", "none")
ENCODINGS = ("onehot", "ordinal")
KINDS = ("numeric", "categorical", "date")
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # features and targets become float32 tensors


def missing_report(frame: pd.DataFrame) -> dict[str, int]:
    """Missing values per column (only the columns that have any)."""
    counts = frame.isna().sum()
    return {str(k): int(v) for k, v in counts[counts > 0].items()}


def _markers(series: pd.Series) -> list[str]:
    """Non-numbers of a mostly numeric column that look like this file's own missing-value markers.

    The usual markers ("?", "n/a", "-", ...) are always read as missing; a column may use its own
    (up to 3 distinct short words without digits). Anything else is a data error.
    """
    numbers, bad, _ = to_numbers(series)
    values = series[series.notna()]
    if not len(values) or bad.sum() == 0 or (numbers.notna().sum() / len(values)) <= 0.5:
        return []
    odd = sorted(set(series[bad].astype(str).str.strip()))
    if len(odd) <= MISSING_MARKERS_PER_COLUMN and all(len(v) <= 8 and not any(c.isdigit() for c in v) for v in odd):
        return odd
    first = series[bad]
    raise DataError(f"Column '{series.name}' mixes numbers and text (e.g. {shown(first.iloc[0])} in data row "
                    f"{first.index[0] + 1}); clean it, or declare it with columns: {{{series.name}: {{type: categorical}}}}.")


_ROW_NUMBER = re.compile(r"^(unnamed: ?\d+|index|id|row|row_?id|.*_id)$", re.I)


def _kind(series: pd.Series) -> str:
    """numeric, categorical, date, or text (free text, identifiers and row numbers, left out)."""
    if pd.api.types.is_bool_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    values = series.dropna()
    if _ROW_NUMBER.match(str(series.name)) and values.nunique() == len(values) > 20:
        return "text"  # a row number or an identifier: unique per row, it carries no information
    numbers, bad, _ = to_numbers(series)
    if pd.api.types.is_numeric_dtype(series) or (numbers.notna().any() and (bad.sum() == 0 or _markers(series))):
        return "numeric"
    text = values.astype(str)
    sample = text.head(200)
    if len(sample) and _dates(sample).notna().mean() > 0.9 and not pd.to_numeric(sample, errors="coerce").notna().any():
        return "date"
    if text.nunique() > max(20, len(text) // 2):
        return "text"
    return "categorical"


def _dayfirst(series: pd.Series) -> bool:
    """Whether dates like 03/04/2020 are day-first in this column (some first part is above 12)."""
    parts = series.dropna().astype(str).str.extract(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}")
    first, second = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
    return bool((first > 12).any()) and not bool((second > 12).any())


def _dates(series: pd.Series, dayfirst: bool | None = None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):  # numbers where dates were: unreadable dates, not nanoseconds since 1970
        series = series.astype("string")
    if dayfirst is None:
        dayfirst = _dayfirst(series)
    return pd.to_datetime(series, errors="coerce", format="mixed", dayfirst=dayfirst)


class TablePreprocessor:
    """Per-column missing values, categorical encoding, date parts and scaling for a DataFrame.

    Follows scikit-learn's contract: `__init__` stores the arguments, `fit` returns self,
    learned state ends in `_`. `fit` / `transform` take a Dataset whose inputs are a
    DataFrame (the pipeline protocol); `transform_frame` maps a DataFrame to an array.

    Args:
        missing: "auto" (numbers: median, categories: most frequent, and say so), "error",
            "drop" (leave out labelled rows with a missing value), "mean", "median",
            "most_frequent" or "constant".
        fill_value: The value for "constant".
        indicators: Add a 0/1 column per column that had missing values in training.
        categorical: "onehot" or "ordinal".
        scale: "standard", "minmax", "robust" or "none" for numeric (and date) columns.
        ignore: Columns to leave out.
        columns: Per-column overrides, e.g. {"age": {"missing": "median", "scale": "robust"},
            "zip": {"type": "categorical"}, "admitted": {"type": "date"}}.

    Example:
        >>> frame = pd.DataFrame({"age": [30, None, 50], "city": ["Oslo", "Rome", None]})
        >>> pre = TablePreprocessor().fit(frame)
        >>> pre.feature_names_out_
        ['age', 'city=Oslo', 'city=Rome']
        >>> pre.transform_frame(pd.DataFrame({"age": [40], "city": ["Paris"]})).tolist()  # unseen city: all zeros
        [[0.0, 0.0, 0.0]]
    """

    kind = "table"  # its name in neuronet.datasets.PREPROCESSORS

    def __init__(self, missing: str = "auto", fill_value: Any = None, indicators: bool = False,
                 categorical: Literal["onehot", "ordinal"] = "onehot", scale: str = "standard",
                 ignore: list[str] | tuple = (), columns: dict[str, dict[str, Any]] | None = None) -> None:
        self.missing, self.fill_value, self.indicators = missing, fill_value, indicators
        self.categorical, self.scale, self.ignore, self.columns = categorical, scale, list(ignore), dict(columns or {})

    # --- fitting ---------------------------------------------------------------------------
    def _option(self, column: str, key: str) -> Any:
        own = self.columns.get(column, {})
        return own[key] if key in own else getattr(self, key)

    def _check_options(self, frame: pd.DataFrame) -> None:
        valid = {"type": KINDS, "missing": MISSING, "scale": SCALERS, "categorical": ENCODINGS,
                 "indicators": (True, False), "fill_value": None}
        for key in ("missing", "scale", "categorical"):
            if getattr(self, key) not in valid[key]:
                raise ConfigError(f"The '{key}' preprocessing option must be one of {', '.join(valid[key])}. "
                                  f"Got {getattr(self, key)!r} instead.")
        names = list(map(str, frame.columns))
        target = getattr(self, "_target", None)
        for column in [*self.ignore, *self.columns]:
            if column not in names:
                if column == target or (isinstance(target, list) and column in target):
                    raise ConfigError(f"Preprocessing names column '{column}', which is the target (data.target); "
                                      "the target is never a feature, so leave it out here.")
                raise ConfigError(f"Preprocessing names column '{column}', which is not in the table.{suggest(column, names)}")
        for column, options in self.columns.items():
            for key, value in options.items():
                if key not in valid:
                    raise ConfigError(f"Unknown preprocessing option '{key}' for column '{column}'.{suggest(key, list(valid))}")
                if valid[key] is not None and value not in valid[key]:
                    raise ConfigError(f"The '{key}' of column '{column}' must be one of {', '.join(map(str, valid[key]))}. "
                                      f"Got {value!r} instead.")

    def fit(self, data: Dataset | pd.DataFrame) -> TablePreprocessor:
        """Learn every column's steps from the training rows."""
        frame = data.x if isinstance(data, Dataset) else data
        self._target = data.inputs.get("target") if isinstance(data, Dataset) else None
        self._check_options(frame)
        self.steps_: list[dict[str, Any]] = []
        self.left_out_: dict[str, str] = {column: "ignored" for column in self.ignore}
        for column in map(str, frame.columns):
            if column in self.ignore:
                continue
            series = frame[column]
            if series.isna().all():
                raise DataError(f"Column '{column}' is empty in the training rows; leave it out with ignore: [{column}].")
            kind = self._option(column, "type") if "type" in self.columns.get(column, {}) else _kind(series)
            if kind == "text" and column in self.columns:  # configured by the user: read it as numbers
                kind = "numeric"
            if kind == "text":
                self.left_out_[column] = f"{series.nunique()} distinct values: free text or an identifier"
                continue
            self.steps_.append(self._fit_column(column, series, kind))
        if not self.steps_:
            texts = [c for c, why in self.left_out_.items() if "free text" in why]
            longest = max(texts, key=lambda c: frame[c].astype(str).str.len().mean(), default=None)
            raise DataError("The table has no usable feature columns (every column is ignored, empty or free text)"
                            + (f"; to learn from the text in '{longest}', set data.text: {longest}." if longest else "."))
        self.feature_names_out_ = [name for step in self.steps_ for name in step["names"]]
        self.input_columns_ = [step["column"] for step in self.steps_]
        return self

    def _fit_column(self, column: str, series: pd.Series, kind: str) -> dict[str, Any]:
        step: dict[str, Any] = {"column": column, "kind": kind, "markers": _markers(series) if kind == "numeric" else []}
        if kind == "date":
            step["dayfirst"] = _dayfirst(series)
            step["parts"] = self._date_parts(series, step["dayfirst"])
            unreadable = series.notna() & _dates(series, step["dayfirst"]).isna()
            step["unreadable"] = [int(unreadable.sum()), *series[unreadable].astype(str).drop_duplicates().head(2).tolist()]
        if kind == "numeric":
            step["read"] = to_numbers(series, step["markers"])[2]
        values = self._raw(series, step)  # (N, k) array
        step["constant"] = bool(pd.Series(values[:, 0]).nunique(dropna=True) <= 1)
        missing = self._option(column, "missing")
        n_missing = int(pd.isna(values).any(axis=1).sum())
        if n_missing and missing == "error":
            raise DataError(f"Column '{column}' has {n_missing} missing value(s) in the training rows; choose a strategy, "
                            "e.g. data.preprocess.missing: median (or most_frequent, constant, drop).")
        strategy = {"auto": "median", "error": "most_frequent", "drop": "most_frequent"}.get(missing, missing)
        if kind == "categorical" and strategy in ("mean", "median"):
            strategy = "most_frequent"
        fill = self._option(column, "fill_value")
        if strategy == "constant" and fill is None:
            fill = "missing" if kind == "categorical" else 0.0
        add_indicator = bool(self._option(column, "indicators") and n_missing)
        imputer = SimpleImputer(strategy=strategy, fill_value=fill, add_indicator=add_indicator,
                                missing_values=np.nan if kind != "categorical" else None, keep_empty_features=True)
        filled = imputer.fit_transform(values)
        n_indicator = filled.shape[1] - values.shape[1]
        step.update(imputer=to_json(imputer), n_missing=n_missing, strategy=strategy)
        base = filled[:, :values.shape[1]]
        if kind == "categorical":
            if self._option(column, "categorical") == "onehot":
                encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(base.astype(str))
                names = [f"{column}={c}" for c in encoder.categories_[0]]
            else:
                encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(base.astype(str))
                names = [column]
            step["encoder"] = to_json(encoder)
        else:
            names = [column] if kind == "numeric" else [f"{column}.{p}" for p in step["parts"]]
            scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}.get(
                self._option(column, "scale"))
            if scaler is not None:
                step["scaler"] = to_json(scaler().fit(base.astype(float)))
        step["names"] = names + [f"{column}.missing"] * n_indicator
        return step

    @staticmethod
    def _date_parts(series: pd.Series, dayfirst: bool) -> list[str]:
        stamps = _dates(series, dayfirst)
        return [p for p in DATE_PARTS if p != "hour" or bool((stamps.dt.hour.fillna(0) != 0).any())]

    @staticmethod
    def _raw(series: pd.Series, step: dict[str, Any]) -> np.ndarray:
        kind = step["kind"]
        if kind == "categorical":
            text = series.astype(object).where(series.notna(), None)
            marked = series.astype("string").str.strip().str.lower().isin(MISSING_MARKERS).fillna(False)
            return text.where(~marked.to_numpy(), None).to_numpy().reshape(-1, 1)
        if kind == "date":
            stamps = _dates(series, step.get("dayfirst", False))
            return np.stack([getattr(stamps.dt, p).to_numpy(dtype=float) for p in step["parts"]], axis=1)
        numbers, bad, _ = to_numbers(series, tuple(step.get("markers", ())))
        numbers = numbers.to_numpy(dtype=float)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"Column '{series.name}' is numeric in training but holds {shown(series.iloc[row])} "
                            f"in row {row + 1}.")
        if np.isinf(numbers).any():
            raise DataError(f"Column '{series.name}' holds infinite values (row {int(np.flatnonzero(np.isinf(numbers))[0]) + 1}); "
                            "features must be finite.")
        huge = np.abs(np.nan_to_num(numbers)) > FLOAT32_MAX  # would overflow the scaler's squares and float32 features
        if huge.any():
            row = int(np.flatnonzero(huge)[0])
            value = series.iloc[row]
            value = value.item() if isinstance(value, np.generic) else value  # 1e+300, not np.float64(1e+300)
            raise DataError(f"Column '{series.name}' holds {shown(value)} (row {row + 1}), beyond the {FLOAT32_MAX:.1e} "
                            "a feature can hold; fix the value, or rescale the column (e.g. its log).")
        return numbers.reshape(-1, 1)

    # --- applying --------------------------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "steps_"):
            raise NotFittedError("This TablePreprocessor is not fitted yet; call fit(train) first.")

    def transform_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Features (N, len(feature_names_out_)) as float32, with the training-time steps."""
        self._check()
        absent = [c for c in self.input_columns_ if c not in frame.columns]
        if absent:
            raise DataError(f"The table lacks {len(absent)} column(s) the model was trained on: {', '.join(absent[:8])}.")
        blocks = []
        for step, fitted in zip(self.steps_, self._fitted()):
            values = self._raw(frame[step["column"]], step)
            filled = fitted["imputer"].transform(values)
            base, indicator = filled[:, :values.shape[1]], filled[:, values.shape[1]:]
            if "encoder" in fitted:
                base = fitted["encoder"].transform(base.astype(str))
            elif "scaler" in fitted:
                base = fitted["scaler"].transform(base.astype(float))
                _check_scaled(base, frame[step["column"]])
            blocks += [np.asarray(base, dtype=np.float32), np.asarray(indicator, dtype=np.float32)]
        return np.concatenate(blocks, axis=1)

    def transform(self, data: Dataset) -> Dataset:
        """The Dataset with numeric features; with missing='drop', labelled rows with a missing value are left out."""
        self._check()
        frame = data.x
        if self.missing == "drop" and data.y is not None:
            keep = frame[[c for c in self.input_columns_ if c in frame.columns]].notna().all(axis=1).to_numpy()
            if not keep.any():
                raise DataError("Every row has a missing value, so dropping rows leaves nothing; impute instead.")
            frame, data = frame[keep].reset_index(drop=True), data.subset(np.flatnonzero(keep))
        return replace(data, x=torch.from_numpy(self.transform_frame(frame)), feature_names=list(self.feature_names_out_),
                       inputs={**data.inputs, "columns": list(self.input_columns_)})  # what prediction needs

    def summary(self) -> str:
        """What was done to the table, in one line."""
        self._check()
        kinds = [s["kind"] for s in self.steps_]
        parts = [f"{kinds.count(k)} {k}" for k in KINDS if k in kinds]
        text = f"table: {', '.join(parts)} column(s) -> {len(self.feature_names_out_)} features"
        filled = {s["column"]: (s["n_missing"], s["strategy"]) for s in self.steps_ if s["n_missing"]}
        if filled:
            how = sorted({v[1].replace("_", " ") for v in filled.values()})
            text += (f"; {sum(v[0] for v in filled.values())} missing value(s) in {len(filled)} column(s) "
                     f"{'left out (rows dropped)' if self.missing == 'drop' else 'filled (' + ' / '.join(how) + ')'}")
        markers = {s["column"]: s["read"]["markers"] for s in self.steps_ if s.get("read", {}).get("markers")}
        if markers:
            text += "; read as missing: " + ", ".join(f"{n} marker(s) like '?' or 'n/a' in '{c}'" for c, n in markers.items())
        for what, label in (("thousands", "thousands separators"), ("percent", "percent signs")):
            columns = [s["column"] for s in self.steps_ if s.get("read", {}).get(what)]
            if columns:
                text += f"; numbers with {label} in " + ", ".join(f"'{c}'" for c in columns)
        dates = [s for s in self.steps_ if s.get("unreadable", [0])[0]]
        for s_ in dates:
            n, *examples = s_["unreadable"]
            text += f"; {n} value(s) of '{s_['column']}' are not dates (e.g. {', '.join(map(repr, examples))}), read as missing"
        constant = [s["column"] for s in self.steps_ if s.get("constant")]
        if constant:
            text += "; constant (no information): " + ", ".join(f"'{c}'" for c in constant)
        if self.left_out_:
            text += "; left out: " + ", ".join(f"'{c}' ({why})" for c, why in self.left_out_.items())
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: the options and every fitted step."""
        self._check()
        return {"options": {"missing": self.missing, "fill_value": self.fill_value, "indicators": self.indicators,
                            "categorical": self.categorical, "scale": self.scale, "ignore": self.ignore,
                            "columns": self.columns}, "steps": self.steps_, "left_out": self.left_out_}

    def _fitted(self) -> list[dict[str, Any]]:
        """Each column's fitted scikit-learn steps, rebuilt from their JSON once (not at every transform)."""
        if getattr(self, "_rebuilt", None) is None or len(self._rebuilt) != len(self.steps_):
            self._rebuilt = [{key: from_json(step[key]) for key in ("imputer", "encoder", "scaler") if key in step}
                             for step in self.steps_]
        return self._rebuilt

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TablePreprocessor:
        pre = cls(**state["options"])
        pre.steps_, pre.left_out_ = state["steps"], state.get("left_out", {})
        pre.feature_names_out_ = [name for step in pre.steps_ for name in step["names"]]
        pre.input_columns_ = [step["column"] for step in pre.steps_]
        pre._fitted()  # a stored step that cannot be rebuilt is found now (a server refuses at start, not per request)
        return pre


def _check_scaled(scaled: np.ndarray, column: pd.Series) -> None:
    """A value that the training-time scaling carries beyond float32 is one sentence, not an overflow to inf."""
    huge = ~(np.abs(np.asarray(scaled, dtype=float)) <= FLOAT32_MAX) & np.isfinite(np.asarray(scaled, dtype=float))
    if huge.any():
        row = int(np.flatnonzero(huge.any(axis=1) if huge.ndim > 1 else huge)[0])
        raise DataError(f"Column '{column.name}' holds {shown(column.iloc[row])} (row {row + 1}), which scaled as in "
                        f"training is beyond the {FLOAT32_MAX:.1e} a feature can hold; fix the value.")
