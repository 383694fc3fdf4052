"""`neuronet train --name NAME` where runs/NAME exists: the error suggests `--resume` only for a run that can resume
(it used to suggest it for a completed run too, and `--resume` then refused: "already completed; nothing to resume")."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


def train(out, name):
    return runner.invoke(app, ["train", "--set", "data.source=iris", "--set", "model.type=mlp", "--set",
                               "train.epochs=1", "--output-dir", str(out), "--name", name], env={"COLUMNS": "200"})


def test_a_completed_run_name_is_refused_without_suggesting_resume(tmp_path):
    assert train(tmp_path, "done").exit_code == 0
    again = train(tmp_path, "done")
    assert again.exit_code == 1
    assert "already exists" in again.output and "completed" in again.output
    assert "--resume" not in again.output
    assert "Traceback" not in again.output


def test_an_interrupted_run_name_still_suggests_resume(tmp_path):
    assert train(tmp_path, "cut").exit_code == 0
    status = tmp_path / "cut" / "status.json"
    state = json.loads(status.read_text())
    status.write_text(json.dumps({**state, "status": "interrupted"}))
    again = train(tmp_path, "cut")
    assert again.exit_code == 1
    assert "--resume" in again.output
