"""`neuronet report` on a run whose metrics.json or doctor.json is damaged: one sentence, exit 1, and the run left as
it was (it used to compute and write RUN/explain/ first, then fail on the page)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small_run(train_small):
    return train_small("report-damaged", "data.source=iris", "model.type=mlp", "train.epochs=2")


@pytest.mark.parametrize("name", ["metrics.json", "doctor.json"])
def test_a_damaged_file_the_page_reads_fails_before_explain_writes_anything(small_run, tmp_path, name):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    shutil.rmtree(run / "explain", ignore_errors=True)
    (run / name).write_text('{"test": {"accuracy": ')
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    result = runner.invoke(app, ["report", str(run)], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert f"{name} is not valid JSON" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before  # no explain/, no report.html
