"""Shared fixtures: small real data slices and temporary run folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_iris

import neuronet as nt


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits() -> nt.datasets.Dataset:
    return nt.datasets.load("digits")


@pytest.fixture
def iris_csv(tmp_path: Path) -> Path:
    """The real iris table as a CSV with a text target column."""
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["target"] = [bunch.target_names[i] for i in bunch.target]
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def cancer_parquet(tmp_path: Path) -> Path:
    """The real breast-cancer table as Parquet."""
    frame = load_breast_cancer(as_frame=True).frame
    path = tmp_path / "cancer.parquet"
    frame.to_parquet(path)
    return path


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def messy_cancer(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The real breast-cancer table as a user's messy CSV: gaps, a category, a date, text labels."""
    frame = load_breast_cancer(as_frame=True).frame
    rng = np.random.default_rng(0)
    frame.loc[rng.choice(len(frame), 30, replace=False), "mean radius"] = np.nan
    frame["site"] = rng.choice(["north", "south"], len(frame))
    frame["visit"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").astype(str)
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    path = tmp_path_factory.mktemp("messy") / "cancer.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture(scope="session")
def train_small(tmp_path_factory):
    """train_small(name, *overrides): a completed run directory trained from the default config plus overrides."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    def train(name: str, *overrides: str) -> Path:
        out = tmp_path_factory.mktemp(name)
        return train_run(load_config(None, [f"output_dir={out}", f"name={name}", *overrides]), progress=False).path

    return train


@pytest.fixture(scope="session")
def table_run(tmp_path_factory, messy_cancer, train_small) -> tuple[Path, pd.DataFrame]:
    """An MLP on the messy table (with an identifier column added), and the table."""
    path, frame = messy_cancer
    frame = frame.copy()
    frame["record"] = [f"R-{i:05d}" for i in np.random.default_rng(0).permutation(len(frame))]  # not a feature
    path = tmp_path_factory.mktemp("data") / "cancer.csv"
    frame.to_csv(path, index=False)
    return train_small("table", f"data.source={path}", "data.target=target", "model.type=mlp", "train.epochs=5"), frame


@pytest.fixture(scope="session")
def digits_run(train_small) -> Path:
    """A small CNN on digits."""
    return train_small("digits", "train.epochs=8", "model.channels=[8, 16]", "model.hidden=32")


@pytest.fixture(scope="session")
def text_run(train_small) -> Path:
    """A small GRU on 800 tweets."""
    return train_small("text", "data.source=tweets", "data.limit=800", "model.type=gru", "model.hidden=16",
                       "train.epochs=2")
