"""A run received or kept apart from its data: evaluate, resume, report and explain re-read the training data from
where preprocessing.json says it was.

- A data file that changed after training (a row added or relabelled) would give another split: `evaluate RUN` and
  `train --resume RUN` used to evaluate on, or train on, other rows without a word (test rows the network may have
  trained on); they refuse in one sentence naming the change.
- A data file that is gone: `neuronet report` writes the page without explanations, saying why (it failed with exit 1
  and "pass labelled data with --data", an option report does not have); `explain` is one sentence.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


@pytest.fixture
def trained(iris_csv, tmp_path):
    assert cli("train", "--set", f"data.source={iris_csv}", "--set", "data.target=target", "--set", "model.type=mlp",
               "--set", "train.epochs=2", "--output-dir", tmp_path / "runs", "--name", "iris").exit_code == 0
    return tmp_path / "runs" / "iris", iris_csv


def test_evaluate_on_an_unchanged_file_works(trained):
    run, _ = trained
    assert cli("evaluate", run).exit_code == 0


@pytest.mark.parametrize("change", ["add", "relabel", "edit"])
def test_evaluate_refuses_a_changed_data_file(trained, change):
    run, path = trained
    frame = pd.read_csv(path)
    if change == "add":
        frame = pd.concat([frame, frame.iloc[:1]])
    elif change == "relabel":
        frame.loc[0, "target"] = "virginica" if frame.loc[0, "target"] != "virginica" else "setosa"
    else:  # the same rows and classes, one measurement corrected: the counts alone would not see it
        frame.iloc[5, 0] += 0.1
    frame.to_csv(path, index=False)
    result = cli("evaluate", run)
    assert result.exit_code == 1, result.output
    assert "has changed since it was trained" in result.output and "Traceback" not in result.output


def test_resume_refuses_a_changed_data_file(trained):
    run, path = trained
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))
    frame = pd.read_csv(path)
    pd.concat([frame, frame.iloc[:3]]).to_csv(path, index=False)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    result = cli("train", "--resume", run)
    assert result.exit_code == 1, result.output
    assert "has changed since it was trained" in result.output and "150 rows then, 153 now" in result.output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_report_of_a_run_whose_data_is_gone_writes_the_page(iris_csv, tmp_path):
    env = {"COLUMNS": "300"}
    assert runner.invoke(app, ["train", "--set", f"data.source={iris_csv}", "--set", "data.target=target", "--set",
                               "model.type=mlp", "--set", "train.epochs=2", "--output-dir", str(tmp_path / "runs"),
                               "--name", "iris"], env=env).exit_code == 0
    iris_csv.unlink()
    run = tmp_path / "runs" / "iris"
    result = runner.invoke(app, ["report", str(run)], env=env)
    assert result.exit_code == 0, result.output
    assert "explanations skipped" in result.output and "Traceback" not in result.output
    assert (run / "report.html").is_file()
    assert not (run / "explain").exists()


def test_explain_of_a_run_whose_data_is_gone_is_still_one_sentence(iris_csv, tmp_path):
    env = {"COLUMNS": "300"}
    assert runner.invoke(app, ["train", "--set", f"data.source={iris_csv}", "--set", "data.target=target", "--set",
                               "model.type=mlp", "--set", "train.epochs=2", "--output-dir", str(tmp_path / "runs"),
                               "--name", "iris"], env=env).exit_code == 0
    iris_csv.unlink()
    result = runner.invoke(app, ["explain", str(tmp_path / "runs" / "iris")], env=env)
    assert result.exit_code == 1 and "cannot be reloaded" in result.output
