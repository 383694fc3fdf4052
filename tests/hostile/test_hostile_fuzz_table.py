"""Hypothesis fuzzing of the table reader: whatever a CSV holds, reading it ends in data or in one NeuronetError.

Generated files go through what `neuronet train` does with a table (read, pick the target,
split, fit the per-column preprocessing on the training rows, transform every part) and what
`neuronet predict` / `evaluate` do with a trained table run's inputs (`read_inputs`, the
fitted pipeline, and for predictions the network). The only exceptions allowed are `NeuronetError`s and the only
warnings `DataNote`s; any other warning is turned into an error, since a user would see it.
Examples are derandomized, so every run tries the same ones.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuronet.datasets import load, prepare, read_inputs
from neuronet.errors import DataNote, NeuronetError
from neuronet.predict import Predictor

from hostile.hostile_helpers import FUZZ_EXAMPLES

pytestmark = pytest.mark.hostile("fuzz")

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- what a messy table's cells and names look like ---------------------------------------------

MARKERS = ["?", "n/a", "N/A", "", "-", "NA", "null", "none", "missing", "#N/A", ".", "nan", "NaN", "inf", "-inf"]
DATES = ["2020-01-31", "31/01/2020", "01/31/2020", "2020-13-45", "2021-02-29 10:00", "Jan 5, 2019", "0000-00-00"]
NAMES = ["", "a", "a", "target", "Target", "ünïcödé", "x y", "1", "Unnamed: 0", "id", "a.1", "price (€)", "#", "nan"]

plain = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")  # NUL: test_random_bytes' part
numbers = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.floats(-1e6, 1e6).map(lambda v: f"{v:.3f}".replace(".", ",")),  # a decimal comma
                    st.sampled_from(["1,510", "48.6%", "1e400", "-0", "0x1F", "1_000", "+3", "3.", "1e-400", "00042"]))
words = st.one_of(st.sampled_from(["yes", "no", "Yes", "café", "a,b", 'say "hi"', "line\nbreak", "tab\there", " pad ",
                                   "a;b", "True", "FALSE", "'quoted'", '"', "\\"]), st.text(plain, max_size=12))
long_text = st.text(plain, min_size=200, max_size=3000)
cells = st.one_of(numbers, words, st.sampled_from(MARKERS), st.sampled_from(DATES), long_text)
column_names = st.one_of(st.sampled_from(NAMES), st.text(plain, max_size=10))
# the target: a few classes (or numbers), with now and then a marker or an odd value, so that splitting works
targets = st.one_of(st.sampled_from(["yes", "no"]), st.sampled_from(["yes", "no", "Yes", "?", "", "n/a", "maybe"]),
                    st.integers(0, 2).map(str), st.floats(-100, 100).map(lambda v: f"{v:.2f}"), cells)


@st.composite
def tables(draw: Callable[..., Any]) -> tuple[str, str]:
    """(CSV text, separator): random names (empty, duplicate, unicode), typed or mixed columns, odd quoting."""
    sep = draw(st.sampled_from([",", ";", "\t"]))
    names = draw(st.lists(column_names, min_size=1, max_size=6))
    at = draw(st.integers(0, len(names)))
    if draw(st.integers(0, 9)) > 0:  # most tables have the target column somewhere
        names.insert(at, "target")
    kinds = [draw(st.sampled_from(["numbers", "words", "dates", "markers", "cells"])) for _ in names]
    by_kind = {"numbers": numbers, "words": words, "dates": st.sampled_from(DATES),
               "markers": st.one_of(numbers, st.sampled_from(MARKERS)), "cells": cells}
    target_cells = draw(st.sampled_from([targets, st.sampled_from(["yes", "no"]), st.floats(-9, 9).map(str)]))
    columns = [target_cells if name == "target" and i == at else by_kind[kind]
               for i, (name, kind) in enumerate(zip(names, kinds))]
    rows = [[draw(column) for column in columns] for _ in range(draw(st.integers(0, 40)))]
    if draw(st.integers(0, 3)) > 0:  # written properly (quoted where needed) ...
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=sep, lineterminator="\n").writerows([names, *rows])
        text = buffer.getvalue()
    else:  # ... or joined by hand, as a careless script would: stray quotes and separators included
        text = "\n".join(sep.join(row) for row in [names, *rows]) + draw(st.sampled_from(["", "\n", "\r\n", "\n\n"]))
    return text, sep


def _encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace") if encoding != "utf-8-sig" else text.encode("utf-8-sig")


def _only_ours(call: Callable[[], Any]) -> Any:
    """Run `call`; anything but a NeuronetError (and any warning but a DataNote) fails the example."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", DataNote)
        try:
            return call()
        except NeuronetError as error:
            assert "\n" not in str(error), f"a refusal of more than one line: {error!s}"
            return None


def _write(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name
    path.write_bytes(raw)
    return path


def _train_side(path: Path) -> None:
    data = load(str(path), target="target")
    prepare(data, val=0.2, test=0.2, seed=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- training side ---------------------------------------------------------------------------------


@FUZZ
@given(raw=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".tsv"]))
def test_random_bytes_are_read_or_refused_in_one_sentence(folder, raw, suffix):
    path = _write(folder, f"bytes{suffix}", raw)
    _only_ours(lambda: _train_side(path))


@FUZZ
@given(table=tables(), encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "utf-16", "utf-8-sig"]))
def test_messy_tables_train_or_are_refused_in_one_sentence(folder, table, encoding):
    text, _ = table
    path = _write(folder, "table.csv", _encoded(text, encoding))
    _only_ours(lambda: _train_side(path))


# --- prediction side: a trained table run's inputs ---------------------------------------------------


@pytest.fixture(scope="module")
def table_run(tmp_path_factory, train_small) -> Path:
    """A tiny MLP on a table with a number, a category, a date and a marker-riddled number column."""
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"num": rng.normal(size=n).round(3), "cat": rng.choice(["red", "green", "blue"], n),
                          "when": pd.date_range("2021-01-01", periods=n, freq="D").astype(str),
                          "score": [("?" if i % 7 == 0 else f"{v:.2f}") for i, v in enumerate(rng.normal(size=n))]})
    frame["target"] = np.where(frame.num > 0, "up", "down")
    path = tmp_path_factory.mktemp("fuzz-data") / "train.csv"
    frame.to_csv(path, index=False)
    return train_small("fuzz-table", f"data.source={path}", "data.target=target", "model.type=mlp", "model.hidden=[8]",
                       "train.epochs=1")


RUN_COLUMNS = {"num": st.one_of(numbers, st.sampled_from(MARKERS)), "score": st.one_of(numbers, st.sampled_from(MARKERS)),
               "cat": st.one_of(st.sampled_from(["red", "green", "blue", "purple", "Red", ""]), cells),
               "when": st.one_of(st.sampled_from(DATES), cells),
               "target": st.sampled_from(["up", "down", "up", "down", "?", ""]),  # cells, for the kind "any"
               "other": cells, "": cells}


@st.composite
def inputs(draw: Callable[..., Any]) -> str:
    """A CSV of rows to predict: mostly the run's columns (in any order, some missing, some extra), cells of any kind."""
    names = draw(st.permutations(["num", "cat", "when", "score"]))
    if draw(st.integers(0, 5)) == 0:  # now and then a column is missing
        names = names[:draw(st.integers(0, 3))]
    names = names + draw(st.lists(st.sampled_from(["target", "target", "other", "", "num"]), max_size=3))
    kinds = [draw(st.sampled_from(["typed", "typed", "typed", "any"])) for _ in names]
    columns = [RUN_COLUMNS[name] if kind == "typed" else cells for name, kind in zip(names, kinds)]
    rows = [[draw(column) for column in columns] for _ in range(draw(st.integers(0, 12)))]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([names, *rows])
    return buffer.getvalue()


@FUZZ
@given(text=inputs(), labelled=st.booleans())
def test_inputs_to_a_trained_table_run_are_predicted_or_refused_in_one_sentence(table_run, folder, text, labelled):
    predictor = _predictor(table_run)
    path = _write(folder, "inputs.csv", text.encode())
    _only_ours(lambda: read_inputs(str(path), predictor.meta, labelled))
    # labelled: read and prepared as `neuronet evaluate` does (its metrics are the task's, not the reader's)
    _only_ours(lambda: predictor.prepare(str(path), labelled=True) if labelled else predictor.predict_frame(str(path)))


_PREDICTORS: dict[Path, Predictor] = {}


def _predictor(run: Path) -> Predictor:
    if run not in _PREDICTORS:
        _PREDICTORS[run] = Predictor.load(run)
    return _PREDICTORS[run]
