"""Messy tables: missing values, categories, dates, imbalance — fitted on training rows only."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer

from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.datasets import Dataset, TablePreprocessor, class_weights, load_table, missing_report, resample
from neuronet.datasets.builtin import FASHION_MNIST_DIR
from neuronet.datasets.sklearn_json import from_json, to_json
from neuronet.config import load_config
from neuronet.errors import ConfigError, DataError
from neuronet.runs import plan_run


@pytest.fixture
def messy(tmp_path):
    """The real breast-cancer table with missing values, a categorical and a date column added."""
    frame = load_breast_cancer(as_frame=True).frame
    rng = np.random.default_rng(0)
    frame.loc[rng.choice(len(frame), 40, replace=False), "mean radius"] = np.nan
    frame["site"] = rng.choice(["north", "south", "east"], len(frame))
    frame.loc[rng.choice(len(frame), 10, replace=False), "site"] = None
    frame["visit"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").astype(str)
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_values_are_reported_per_column(messy):
    table = load_table(messy, "target")
    assert missing_report(table.x) == {"mean radius": 40, "site": 10}
    assert table.class_counts() == {"benign": 357, "malignant": 212}


def test_statistics_come_from_training_rows_only(messy):
    table = load_table(messy, "target")
    train, _, test = table.split(val=0, test=0.3, seed=0)
    pre = TablePreprocessor(missing="median", indicators=True).fit(train)
    median = train.x["mean radius"].median()
    x = pre.transform_frame(test.x)
    assert np.array_equal(pre.transform(test).x.numpy(), x)
    col = pre.feature_names_out_.index("mean radius")
    mean, std = train.x["mean radius"].fillna(median).mean(), train.x["mean radius"].fillna(median).std(ddof=0)
    missing_rows = test.x["mean radius"].isna().to_numpy()
    assert np.allclose(x[missing_rows, col], (median - mean) / std, atol=1e-5)
    assert np.array_equal(x[:, pre.feature_names_out_.index("mean radius.missing")], missing_rows.astype(np.float32))
    assert [n for n in pre.feature_names_out_ if n.startswith("site")] == ["site=east", "site=north", "site=south",
                                                                           "site.missing"]
    assert [n for n in pre.feature_names_out_ if n.startswith("visit")] == ["visit.year", "visit.month", "visit.day",
                                                                            "visit.dayofweek"]


def test_unseen_categories_and_json_round_trip(messy):
    table = load_table(messy, "target")
    pre = TablePreprocessor(missing="most_frequent", categorical="ordinal", scale="robust").fit(table.x)
    state = json.loads(json.dumps(pre.to_dict()))  # through real JSON text
    again = TablePreprocessor.from_dict(state)
    new = table.x.head(3).copy()
    new.loc[0, "site"] = "mars"
    assert np.array_equal(again.transform_frame(new), pre.transform_frame(new))
    assert again.transform_frame(new)[0, again.feature_names_out_.index("site")] == -1  # unseen -> -1, not a crash
    onehot = TablePreprocessor(missing="most_frequent").fit(table.x)
    row = onehot.transform_frame(new)[0]
    assert all(row[onehot.feature_names_out_.index(f"site={c}")] == 0 for c in ("east", "north", "south"))


def test_sklearn_json_refuses_unknown_classes():
    state = to_json(SimpleImputer().fit([[1.0], [2.0]]))
    state["__estimator__"] = "os.system"
    with pytest.raises(DataError, match="Refusing to rebuild"):
        from_json(state)


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"a": [1.0, None, 3.0], "y": [0, 1, 0]}), "has 1 missing value.*choose a strategy"),
    (pd.DataFrame({"a": [None, None, None], "y": [0, 1, 0]}), "Column 'a' is empty"),
    (pd.DataFrame({"a": ["1", "2", "3x", "4"], "y": [0, 1, 0, 1]}), "mixes numbers and text"),
    (pd.DataFrame({"a": [1.0, np.inf, 3.0], "y": [0, 1, 0]}), "infinite"),
])
def test_bad_columns_are_one_clear_sentence(frame, message):
    with pytest.raises(DataError, match=message):
        TablePreprocessor(missing="error").fit(frame.drop(columns="y"))


def test_missing_value_markers_free_text_and_per_column_types_just_work():
    """What real tables hold: '?' for missing, an identifier column, a date to declare; prepared, and said so."""
    n = 60
    frame = pd.DataFrame({"nuclei": ["?" if i % 10 == 0 else str(i % 7) for i in range(n)],
                          "note": [f"patient {i} said something different" for i in range(n)],
                          "admitted": pd.date_range("2021-01-01", periods=n, freq="W").strftime("%d.%m.%Y"),
                          "zip": [1000 + i % 3 for i in range(n)]})
    pre = TablePreprocessor(columns={"admitted": {"type": "date"}, "zip": {"type": "categorical"}}).fit(frame)
    x = pre.transform_frame(frame)
    assert np.isfinite(x).all() and "note" not in pre.input_columns_
    assert [n for n in pre.feature_names_out_ if n.startswith("zip")] == ["zip=1000", "zip=1001", "zip=1002"]
    assert [n for n in pre.feature_names_out_ if n.startswith("admitted")] == [
        "admitted.year", "admitted.month", "admitted.day", "admitted.dayofweek"]
    summary = pre.summary()
    assert "6 missing value(s) in 1 column(s) filled (median)" in summary
    assert "read as missing: 6 marker(s) like '?' or 'n/a' in 'nuclei'" in summary
    assert "'note' (60 distinct values: free text or an identifier)" in summary


def test_numbers_as_people_write_them_and_columns_that_carry_nothing():
    n = 40
    frame = pd.DataFrame({
        "income": [f"{1000 + 37 * i:,}" for i in range(n)],  # "1,000", "1,037", ...
        "share": [f"{i / 2:.1f}%" for i in range(n)],
        "sex": ["m", "f", "?", "f"] * (n // 4),  # '?' in a category is missing, not a category
        "Unnamed: 0": range(n),  # a saved index
        "const": [1.0] * n,
        "seen": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2020" if i != 5 else "31/02/2020" for i in range(n)],
        "skip": range(n)})
    pre = TablePreprocessor(ignore=["skip"]).fit(frame)
    x = pre.transform_frame(frame)
    assert x[:, pre.feature_names_out_.index("income")].std() > 0.9  # read as 1000 ... 2443, then scaled
    assert "sex=?" not in pre.feature_names_out_ and "Unnamed: 0" not in pre.input_columns_
    summary = pre.summary()
    assert "numbers with thousands separators in 'income'" in summary and "percent signs in 'share'" in summary
    assert "constant (no information): 'const'" in summary and "'skip' (ignored)" in summary
    assert "1 value(s) of 'seen' are not dates (e.g. '31/02/2020'), read as missing" in summary
    step = next(s for s in pre.steps_ if s["column"] == "seen")
    assert step["dayfirst"]  # 13/01/2020 and later: day first, so 03/04/2020 is the 3rd of April
    again = TablePreprocessor.from_dict(pre.to_dict())
    april = pd.DataFrame({**{c: frame[c].head(1) for c in frame}, "seen": ["03/04/2020"]})
    row = again.transform_frame(april)[0]
    month = step["parts"].index("month")
    scaler = from_json(step["scaler"])
    assert round(row[pre.feature_names_out_.index("seen.month")] * scaler.scale_[month] + scaler.mean_[month]) == 4
    new = frame.head(2).copy()
    new["income"] = ["?", "2,000"]  # a marker at predict time, in a column that had none in training
    assert np.isfinite(pre.transform_frame(new)).all()


def test_bad_targets_and_options(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "y": [1] * 6}).to_csv(path, index=False)
    with pytest.raises(DataError, match="single value"):  # refused where learning starts, not when reading
        plan_run(load_config(None, [f"data.source={path}", "data.target=y", "data.preprocess={}", "model.type=mlp"]))
    with pytest.raises(DataError, match="single value"):
        plan_run(load_config(None, [f"data.source={path}", "data.target=y", "model.type=mlp"]))
    assert len(load_table(path, "y")) == 6  # a one-class file is fine to evaluate on
    with pytest.raises(DataError, match="Target column 'label' is not in .*Columns: a, y"):
        load_table(path, "label")
    with pytest.raises(ConfigError, match="not in the table.*Did you mean 'age'"):
        TablePreprocessor(ignore=["agee"]).fit(pd.DataFrame({"age": [1.0, 2.0]}))
    with pytest.raises(ConfigError, match="'scale' of column 'age' must be one of"):
        TablePreprocessor(columns={"age": {"scale": "log"}}).fit(pd.DataFrame({"age": [1.0, 2.0]}))


def test_drop_rows_strategy(messy):
    table = load_table(messy, "target")
    pre = TablePreprocessor(missing="drop").fit(table)
    assert len(pre.transform(table)) == 569 - 50  # 40 + 10 rows with a missing value (seeded draws do not overlap)
    unlabelled = table.with_tensors(table.x)
    unlabelled.y = None
    assert len(pre.transform(unlabelled)) == 569  # predictions still answer every row (imputed)


def test_class_weights_and_resampling():
    y = torch.tensor([0] * 90 + [1] * 10)
    data = Dataset(torch.randn(100, 2), y, "classification", "imb")
    assert class_weights(data).tolist() == pytest.approx([100 / (2 * 90), 100 / (2 * 10)])
    under, over = resample(data, "undersample"), resample(data, "oversample")
    assert torch.bincount(under.y).tolist() == [10, 10] and torch.bincount(over.y).tolist() == [90, 90]
    with pytest.raises(ConfigError, match="'undersample' or 'oversample'"):
        resample(data, "smote")


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_class_weights_raise_minority_recall_on_a_real_imbalanced_subset():
    """Fashion-MNIST with 5% of the shirts kept for training: weighting the loss finds shirts again."""
    data = nt.datasets.load("fashion_mnist", limit=10000, test_limit=2000)
    y, shirt = data.y.numpy(), 6
    rng = np.random.default_rng(0)
    shirts = np.flatnonzero(y == shirt)
    train = data.subset(np.sort(np.concatenate([np.flatnonzero(y != shirt), rng.choice(shirts, len(shirts) // 20, replace=False)])))
    test = data.official_test
    scores = {}
    for weighted in (False, True):
        trainer = nt.Trainer(nt.models.MLP(data.input_shape, 10, hidden=[64], seed=0), lr=2e-3, epochs=5,
                             progress=False, class_weights="balanced" if weighted else None)
        trainer.fit(train)
        pred = trainer.predict(test)
        scores[weighted] = (float((pred[test.y == shirt] == shirt).float().mean()),
                            trainer.evaluate(test, metrics=["f1"])["f1"])
    assert scores[True][0] > scores[False][0] + 0.3  # minority recall (measured: 0.00 -> 0.54)
    assert scores[True][1] > scores[False][1]  # macro-F1 (measured: 0.766 -> 0.834)


def test_cli_preprocessed_table_end_to_end(messy, tmp_path):
    from typer.testing import CliRunner

    from neuronet.cli import app

    run = CliRunner().invoke(app, ["train", "--output-dir", str(tmp_path / "runs"), "--name", "messy", "-q",
                                   "--set", f"data.source={messy}", "--set", "data.target=target",
                                   "--set", "data.preprocess={missing: median, indicators: true}",
                                   "--set", "model.type=mlp", "--set", "train.epochs=5",
                                   "--set", "train.class_weights=balanced", "--set", "data.resample=oversample"])
    assert run.exit_code == 0, run.output
    state = json.loads((tmp_path / "runs" / "messy" / "preprocessing.json").read_text())
    assert state["missing_values"] == {"mean radius": 40, "site": 10}
    assert state["pipeline"]["steps"][0]["type"] == "table"
    assert state["train_before_resampling"] < len(pd.read_csv(messy))
    rows = pd.read_csv(messy).drop(columns="target").head(3)
    rows.loc[0, "site"], rows.loc[1, "mean radius"] = "west", None  # an unseen category, a missing value
    rows.to_csv(tmp_path / "new.csv", index=False)
    pred = CliRunner().invoke(app, ["predict", str(tmp_path / "runs" / "messy"), str(tmp_path / "new.csv")])
    assert pred.exit_code == 0 and len(pred.output.splitlines()) == 4, pred.output
    one_class = pd.read_csv(messy)
    one_class[one_class.target == "benign"].head(20).to_csv(tmp_path / "benign.csv", index=False)
    scored = CliRunner().invoke(app, ["evaluate", str(tmp_path / "runs" / "messy"), "--data", str(tmp_path / "benign.csv")])
    assert scored.exit_code == 0 and "accuracy" in scored.output, scored.output  # evaluating one class is fine
    rows.drop(columns="visit").to_csv(tmp_path / "less.csv", index=False)
    bad = CliRunner().invoke(app, ["predict", str(tmp_path / "runs" / "messy"), str(tmp_path / "less.csv")])
    assert bad.exit_code == 1 and "lacks 1 column(s) the model was trained on: visit" in bad.output


# --- data.group: named in its own words, and refused where it does not apply --------------------------------------
def test_a_misspelt_group_column_names_data_group(iris_csv, tmp_path):
    import pandas as pd

    frame = pd.read_csv(iris_csv)
    frame["plant"] = range(len(frame))
    path = tmp_path / "plants.csv"
    frame.to_csv(path, index=False)
    target = frame.columns[-2]
    result = CliRunner().invoke(app, ["train", "--set", f"data.source={path}", "--set", f"data.target={target}", "--set",
                                 "data.group=plnt", "--output-dir", str(tmp_path / "runs")], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "data.group" in result.output and "Did you mean 'plant'?" in result.output
    assert "Preprocessing" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_data_group_on_texts_is_refused_as_cv_refuses_it(tmp_path):
    import pandas as pd

    texts = ["a good film", "a bad film", "great fun", "dull and slow", "loved it", "hated it"] * 10
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"review": texts, "label": ["pos", "neg"] * 30, "user": range(60)}).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["train", "--set", f"data.source={path}", "--set", "data.text=review", "--set",
                                 "data.target=label", "--set", "data.group=user", "--set", "train.epochs=1",
                                 "--output-dir", str(tmp_path / "runs")], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output  # it trained, ignoring data.group
    assert "data.group names a column, so it applies to tables" in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
