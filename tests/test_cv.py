"""Cross-validation: folds partition the data, preprocessing is refitted per fold, time splits look only back."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuronet.cli import app
from neuronet.config import load_config
from neuronet.errors import ConfigError
from neuronet.runs.cv import cross_validate, folds_for


def test_stratified_folds_partition_the_rows_and_keep_proportions():
    config = load_config(None, ["data.source=breast_cancer"])
    folds, split = folds_for(config, 5)
    assert split == "stratified" and len(folds) == 5
    held_out = np.concatenate([test for _, test in folds])
    assert sorted(held_out.tolist()) == list(range(569))  # every row held out exactly once
    for train, test in folds:
        assert not set(train) & set(test)


def test_time_split_is_an_expanding_window_on_the_past():
    config = load_config(None, ["data.source=airline", "model.type=lstm"])
    folds, split = folds_for(config, 4)
    assert split == "time"
    for train, test in folds:
        assert train.max() < test.min() and train.min() == 0  # train on the past, score the future
    assert [len(t) for t, _ in folds] == sorted(len(t) for t, _ in folds)  # the window grows


def test_group_split_keeps_groups_together(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "patient": np.repeat(np.arange(12), 5),
                          "y": rng.integers(0, 2, size=60)})
    frame.to_csv(tmp_path / "g.csv", index=False)
    config = load_config(None, [f"data.source={tmp_path / 'g.csv'}", "data.target=y", "data.group=patient",
                                "data.preprocess={}", "model.type=mlp"])
    folds, split = folds_for(config, 3)
    assert split == "group"
    for train, test in folds:
        assert not set(frame.patient[train]) & set(frame.patient[test])


def test_cross_validate_scores_every_fold_and_refits_preprocessing(tmp_path):
    config = load_config(None, ["data.source=breast_cancer", "model.type=mlp", "train.epochs=3", f"output_dir={tmp_path}",
                                "name=cv"])
    result = cross_validate(config, 3)
    assert len(result.folds) == 3 and set(result.mean) == set(result.std)
    assert all(0.8 < f["accuracy"] <= 1 for f in result.folds)
    assert result.mean["accuracy"] == pytest.approx(np.mean([f["accuracy"] for f in result.folds]))
    saved = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert saved["split"] == "stratified" and len(pd.read_csv(tmp_path / "cv" / "folds.csv")) == 3


def test_cv_errors():
    with pytest.raises(ConfigError, match="folds must be an int >= 2"):
        folds_for(load_config(), 1)
    with pytest.raises(ConfigError, match="needs data.group"):
        folds_for(load_config(), 3, "group")
    with pytest.raises(ConfigError, match="needs a classification target"):
        folds_for(load_config(None, ["data.source=diabetes", "model.type=mlp"]), 3, "stratified")


def test_cli_cv(tmp_path):
    result = CliRunner().invoke(app, ["cv", "--folds", "3", "--set", "data.source=iris", "--set", "model.type=mlp",
                                      "--set", "train.epochs=20", "--set", "train.lr=0.01",
                                      "--output-dir", str(tmp_path), "--name", "iris-cv"])
    assert result.exit_code == 0, result.output
    assert "3-fold cross-validation (stratified)" in result.output and "accuracy:" in result.output
    assert "data: " in result.stderr and "(fold 1)" in result.stderr  # what preparing the data did, as train says
    assert (tmp_path / "iris-cv" / "cv.json").is_file()


def test_folds_of_one_row_give_undefined_scores_as_null_not_a_crash(tmp_path):
    config = load_config(None, ["data.source=diabetes", "data.limit=12", "model.type=mlp", "train.epochs=1",
                                f"output_dir={tmp_path}", "name=loo"])
    result = cross_validate(config, 12)  # leave-one-out: r2 of a single row is undefined
    assert len(result.folds) == 12 and np.isnan(result.mean["r2"]) and np.isfinite(result.mean["rmse"])
    saved = json.loads((tmp_path / "loo" / "cv.json").read_text())  # strict JSON: null, not NaN
    assert saved["mean"]["r2"] is None and saved["mean"]["rmse"] > 0


def test_a_cross_validation_folder_is_not_a_model(tmp_path):
    import neuronet as nt
    from neuronet.errors import DataError

    cross_validate(load_config(None, ["data.source=iris", "model.type=mlp", "train.epochs=1",
                                      f"output_dir={tmp_path}", "name=cv"]), 2)
    with pytest.raises(DataError, match="holds cross-validation results \\(cv.json\\), not a trained model"):
        nt.load(tmp_path / "cv")
