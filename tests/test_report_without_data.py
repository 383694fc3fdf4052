"""`neuronet report` on a run received without its data file (or whose file changed): the page without explanations,
saying why. It used to fail with exit 1 and "pass labelled data with --data", an option report does not have."""

from __future__ import annotations

from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


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
