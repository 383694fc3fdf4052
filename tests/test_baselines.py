"""Baselines beside every run: the same numbers as scikit-learn fitted directly on the same rows, stored in
metrics.json, shown by train / evaluate / the reports, and the doctor's warning when the network loses."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from neuronet.cli import app
from neuronet.config import load_config
from neuronet.datasets import Dataset, load, prepare
from neuronet.datasets.sequences import series_dataset
from neuronet.datasets.text import text_dataset
from neuronet.doctor.baselines import BaselineScore, below_baseline
from neuronet.runs import train_run
from neuronet.runs.build import plan_run
from neuronet.runs.evaluate import evaluate_run
from neuronet.runs.html import write_html_report
from neuronet.tasks import BaselineRows, Classification, Forecasting, Reconstruction, Regression, fit_baselines

runner = CliRunner()


# --- the numbers are scikit-learn's on the same rows --------------------------------------------------
def test_classification_baselines_equal_sklearn_on_the_same_rows():
    train, _, test = prepare(load("wine"), val=0.1, test=0.3, seed=0)
    found = fit_baselines(Classification(), BaselineRows(train, test))
    x_train, y_train, x_test, y_test = train.x.double().numpy(), train.y.numpy(), test.x.double().numpy(), test.y.numpy()
    majority = DummyClassifier(strategy="most_frequent").fit(x_train, y_train).predict(x_test)
    share = float(np.mean(y_test == np.bincount(y_train).argmax()))  # the most frequent training class among test rows
    assert found.scores["majority"]["accuracy"] == pytest.approx(accuracy_score(y_test, majority)) == pytest.approx(share)
    logistic = LogisticRegression(max_iter=300).fit(x_train, y_train).predict(x_test)
    assert found.scores["logistic"]["accuracy"] == pytest.approx(accuracy_score(y_test, logistic))
    assert found.scores["logistic"]["f1"] == pytest.approx(f1_score(y_test, logistic, average="macro"))
    assert set(found.scores["logistic"]) == set(Classification.report_metrics)  # keyed like the test metrics
    assert found.notes["logistic"] == "logistic regression on the prepared columns"
    assert found.trivial == ["majority"]


def test_regression_baselines_are_scored_in_the_data_units():
    parts = prepare(load("diabetes"), val=0.1, test=0.2, seed=0)  # targets scaled for training
    inverse = parts.pipeline.inverse_target
    found = fit_baselines(Regression(), BaselineRows(parts.train, parts.test, inverse_target=inverse))
    y_train, y_test = inverse(parts.train.y).double().numpy(), inverse(parts.test.y).double().numpy()
    x_train, x_test = parts.train.x.double().numpy(), parts.test.x.double().numpy()
    mean = DummyRegressor().fit(x_train, y_train).predict(x_test)
    ridge = Ridge(alpha=1.0).fit(x_train, y_train).predict(x_test)
    assert float(y_test.std()) > 10 > float(parts.test.y.std())  # scored in the data's units, not standardised
    assert found.scores["mean"]["mae"] == pytest.approx(mean_absolute_error(y_test, mean))
    assert found.scores["linear"]["rmse"] == pytest.approx(mean_squared_error(y_test, ridge) ** 0.5)


def test_text_baseline_is_tfidf_and_logistic_regression_on_the_raw_texts():
    words = ["good great fine", "bad awful poor", "okay plain so-so"]
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 120)
    texts = [" ".join(rng.choice(words[c].split(), 3)) + f" filler{rng.integers(9)}" for c in labels]
    raw = text_dataset(texts, [["pos", "neg", "mid"][c] for c in labels], "words")
    parts = prepare(raw, val=0.1, test=0.25, seed=0)
    raw_train, _, raw_test = raw.split(val=0.1, test=0.25, seed=0)
    found = fit_baselines(Classification(), BaselineRows(parts.train, parts.test, raw_train, raw_test))
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    model = LogisticRegression(max_iter=300).fit(vectorizer.fit_transform(raw_train.x), raw_train.y.numpy())
    expected = accuracy_score(raw_test.y.numpy(), model.predict(vectorizer.transform(raw_test.x)))
    assert found.scores["logistic"]["accuracy"] == pytest.approx(expected)
    assert found.notes["logistic"] == "logistic regression on TF-IDF"
    no_raw = fit_baselines(Classification(), BaselineRows(parts.train, parts.test))  # token ids alone: skipped, said
    assert "logistic" not in no_raw.scores and no_raw.notes["logistic"].startswith("skipped: tokens inputs")


def test_image_baseline_reads_standardised_pixels():
    parts = prepare(load("digits"), val=0.1, test=0.2, seed=0)
    found = fit_baselines(Classification(), BaselineRows(parts.train, parts.test))
    x_train = parts.train.x.reshape(len(parts.train), -1).double().numpy()
    x_test = parts.test.x.reshape(len(parts.test), -1).double().numpy()
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(max_iter=300).fit(scaler.transform(x_train), parts.train.y.numpy())
    assert found.scores["logistic"]["accuracy"] == pytest.approx(
        accuracy_score(parts.test.y.numpy(), model.predict(scaler.transform(x_test))))
    assert found.notes["logistic"] == "logistic regression on the standardised pixels" and found.seconds < 10


def test_large_images_are_pooled_before_the_linear_model():
    digits = load("digits")  # 8x8 digits blown up to 3x96x96: 27,648 values an image (10 s for 500 images unpooled)
    big = Dataset(torch.nn.functional.interpolate(digits.x[:400].float(), size=96).expand(-1, 3, -1, -1).contiguous(),
                  digits.y[:400], class_names=digits.class_names)
    parts = prepare(big, val=0.1, test=0.2, seed=0)
    found = fit_baselines(Classification(), BaselineRows(parts.train, parts.test))
    assert found.notes["logistic"] == "logistic regression on the standardised pixels, pooled to 36x36"
    pooled = lambda x: torch.nn.functional.adaptive_avg_pool2d(x, 36).reshape(len(x), -1).double().numpy()  # noqa: E731
    scaler = StandardScaler().fit(pooled(parts.train.x))
    model = LogisticRegression(max_iter=300).fit(scaler.transform(pooled(parts.train.x)), parts.train.y.numpy())
    assert found.scores["logistic"]["accuracy"] == pytest.approx(
        accuracy_score(parts.test.y.numpy(), model.predict(scaler.transform(pooled(parts.test.x)))))


def test_forecasting_baselines_persistence_and_seasonal_naive():
    t = torch.arange(60, dtype=torch.float32)
    series = (10 + torch.sin(2 * torch.pi * t / 6) + 0.05 * t).unsqueeze(1)  # a season of 6 steps
    x = torch.stack([series[s:s + 8] for s in range(50)])
    y = torch.stack([series[s + 8:s + 10, 0] for s in range(50)])  # two steps ahead
    train, test = series_dataset(x[:40], y[:40], "s", 8, 2, 1, season=6), series_dataset(x[40:], y[40:], "s", 8, 2, 1, season=6)
    found = fit_baselines(Forecasting(), BaselineRows(train, test, train, test))
    last = x[40:, -1, 0].double()
    assert found.scores["persistence"]["mae"] == pytest.approx(float((y[40:].double() - last[:, None]).abs().mean()))
    back = x[40:, [2, 3], 0].double()  # the values 6 steps before each target: window index 8 + h - 6
    assert found.scores["seasonal_naive"]["mae"] == pytest.approx(float((y[40:].double() - back).abs().mean()))
    assert found.scores["seasonal_naive"]["mae"] < found.scores["persistence"]["mae"]
    plain = series_dataset(x[40:], y[40:], "s", 8, 2, 1)  # no season named: skipped, with the reason
    skipped = fit_baselines(Forecasting(), BaselineRows(train, plain, train, plain))
    assert skipped.notes["seasonal_naive"] == "skipped: the data names no season (a monthly series' is 12)"
    assert "persistence" in skipped.scores


def test_reconstruction_baseline_is_the_mean_input():
    x = torch.randn(30, 4)
    found = fit_baselines(Reconstruction(), BaselineRows(Dataset(x[:20], x[:20], "reconstruction"),
                                                         Dataset(x[20:], x[20:], "reconstruction")))
    assert found.scores["mean_input"]["mse"] == pytest.approx(float(((x[20:] - x[:20].mean(0)) ** 2).mean()), rel=1e-6)


def test_a_baseline_that_cannot_be_fitted_is_skipped_not_raised():
    train = Dataset(torch.randn(6, 2), torch.tensor([1, 1, 1, 1, 1, 1]), class_names=["a", "b"])
    test = Dataset(torch.randn(3, 2), torch.tensor([0, 1, 1]), class_names=["a", "b"])
    found = fit_baselines(Classification(), BaselineRows(train, test))
    assert found.notes["logistic"] == "skipped: the training rows hold a single class"
    assert found.scores["majority"]["accuracy"] == pytest.approx(2 / 3)


# --- the doctor's rule ------------------------------------------------------------------------------------
def test_the_rule_says_when_the_network_loses_and_not_when_it_wins():
    logistic = BaselineScore("logistic", "logistic regression on TF-IDF", 0.975, slack=1 / 300)
    majority = BaselineScore("majority", "the most frequent training class", 0.42, trivial=True)
    lost = below_baseline("accuracy", 0.923, [majority, logistic], True, perfect=1.0)
    assert lost.severity == "warning" and lost.values["baseline"] == "logistic"
    assert "0.9230" in lost.evidence and "0.9750" in lost.evidence and "logistic regression on TF-IDF" in lost.evidence
    assert below_baseline("accuracy", 0.98, [majority, logistic], True) is None
    assert below_baseline("accuracy", 0.974, [majority, logistic], True) is None  # within one test example: noise
    assert below_baseline("accuracy", 0.42, [majority], True).values["baseline"] == "majority"  # a tie counts
    assert below_baseline("accuracy", 1.0, [BaselineScore("logistic", "lr", 1.0)], True, perfect=1.0) is None
    worse = below_baseline("rmse", 2.0, [BaselineScore("mean", "the mean", 1.5, trivial=True)], False)
    assert worse.evidence == "The network's test rmse 2.0000 is above the 1.5000 of the mean on the same test rows."
    assert below_baseline("rmse", 1.0, [BaselineScore("mean", "the mean", 1.5, trivial=True)], False) is None


# --- runs -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def losing_run(tmp_path_factory):
    """A network made to lose: one epoch at a tiny learning rate on an easy table."""
    out = tmp_path_factory.mktemp("lose")
    config = load_config(None, ["data.source=breast_cancer", "model.type=mlp", "train.epochs=1", "train.lr=1e-6",
                                f"output_dir={out}", "name=lose"])
    return train_run(config, progress=False)


def test_a_run_stores_the_baselines_of_its_own_rows(losing_run):
    metrics = json.loads((losing_run.path / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"majority", "logistic"}
    assert set(metrics["baselines"]["logistic"]) == set(metrics["test"]) - {"loss"}
    plan = plan_run(losing_run.plan.config)  # the same split again: the share of the most frequent training class
    share = float((plan.test.y == torch.bincount(plan.train.y).argmax()).double().mean())
    assert metrics["baselines"]["majority"]["accuracy"] == pytest.approx(share)
    assert metrics["baselines_time_s"] < 10 and metrics["baseline_notes"]["logistic"].startswith("logistic regression")


def test_the_doctor_warns_when_the_network_loses(losing_run):
    doctor = json.loads((losing_run.path / "doctor.json").read_text())
    found = [f for f in doctor["findings"] if f["code"] == "below_baseline"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    metrics = json.loads((losing_run.path / "metrics.json").read_text())
    assert f"{metrics['test']['accuracy']:.4f}" in found[0]["evidence"]
    report = (losing_run.path / "report.md").read_text()
    assert "| metric | network | majority | logistic |" in report and "does not beat a simple baseline" in report


def test_no_warning_when_the_network_wins(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(x[:, 0] * x[:, 1] > 0, "same", "other")})
    frame.to_csv(tmp_path / "xor.csv", index=False)  # no line separates it: a linear model is no better than chance
    result = train_run(load_config(None, [f"data.source={tmp_path / 'xor.csv'}", "data.target=label", "model.type=mlp",
                                          "train.epochs=40", f"output_dir={tmp_path}", "name=xor"]), progress=False)
    metrics = result.metrics
    assert metrics["test"]["accuracy"] > metrics["baselines"]["logistic"]["accuracy"] + 0.2
    assert "below_baseline" not in [f.code for f in result.findings]


def test_the_switch_turns_them_off(tmp_path):
    config = load_config(None, ["data.source=iris", "model.type=mlp", "train.epochs=1", "baselines=false",
                                f"output_dir={tmp_path}", "name=nobl"])
    result = train_run(config, progress=False)
    assert "baselines" not in result.metrics and "baselines" not in json.loads((result.path / "metrics.json").read_text())
    assert "below_baseline" not in [f.code for f in result.findings]
    assert "baselines: false" in (result.path / "config.yaml").read_text()
    (tmp_path / "c.yaml").write_text("data: {source: iris}\nbaselines: off\n")  # YAML 1.1: off is false
    assert load_config(tmp_path / "c.yaml").baselines is False


def test_cli_evaluate_prints_the_stored_baselines(losing_run):
    result = runner.invoke(app, ["evaluate", str(losing_run.path)])
    assert result.exit_code == 0, result.output
    stored = json.loads((losing_run.path / "metrics.json").read_text())["baselines"]
    assert "majority" in result.output and "logistic" in result.output
    assert f"{stored['logistic']['accuracy']:.4f}" in result.output
    assert "baseline logistic: logistic regression on the prepared columns" in result.output
    as_json = json.loads(runner.invoke(app, ["evaluate", str(losing_run.path), "--json"]).output)
    assert "accuracy" in as_json  # the fresh metrics, as before


def test_an_old_run_without_baselines_still_evaluates_and_reports(losing_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(losing_run.path, old)
    metrics = json.loads((old / "metrics.json").read_text())
    for key in ("baselines", "baseline_notes", "baselines_trivial", "baselines_time_s"):
        metrics.pop(key)
    (old / "metrics.json").write_text(json.dumps(metrics))
    assert evaluate_run(old)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    result = runner.invoke(app, ["evaluate", str(old)])
    assert result.exit_code == 0 and "baseline" not in result.output, result.output
    page = write_html_report(old).read_text()
    assert "(baseline)" not in page
    assert "(baseline)" in write_html_report(losing_run.path).read_text()


def test_evaluate_on_other_data_does_not_set_the_stored_baselines_beside_it(iris_csv, tmp_path):
    run = train_run(load_config(None, [f"data.source={iris_csv}", "data.target=target", "model.type=mlp",
                                       "train.epochs=1", f"output_dir={tmp_path}", "name=iris"]), progress=False).path
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(iris_csv)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "beside the baselines" not in said and "majority" not in said  # they were scored on other rows
    assert "baselines: scored on the run's own test split, not on" in said
