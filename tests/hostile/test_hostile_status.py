"""Status tells the truth: SIGTERM and SIGHUP stop a run as Ctrl-C does (status interrupted, the resume command), a
failure at any step (writing the results too) is "failed" with the reason, and a process that died without a word
is seen as dead by `info` and `--resume`. Ctrl-C during export is an interruption, not an export failure."""

from __future__ import annotations

import json
import signal
import time

import pytest

from hostile.hostile_helpers import TINY, assert_refused, cli, start, status, stopped_by, wait_for

pytestmark = pytest.mark.hostile("status")

SLOW = ["--set", "train.epochs=400", "--set", "model.channels=[4, 8]", "--set", "model.hidden=16", "--set",
        "data.limit=300", "--set", "train.doctor=false"]


def _sets() -> list[str]:
    return [a for v in TINY for a in ("--set", v)]


def _training(tmp_path, name: str):
    trainer = start("train", *SLOW, "--output-dir", tmp_path, "--name", name, "-q")
    run = tmp_path / name
    wait_for(lambda: status(run).get("status") == "running" and status(run).get("epochs_done", 0) >= 1,
             "an epoch to finish")
    return trainer, run


@pytest.mark.slow
@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_interrupts_the_run_in_order_and_it_resumes(tmp_path, signum, code):
    trainer, run = _training(tmp_path, "stopped")
    trainer.send_signal(signum)
    assert trainer.wait(60) == code
    said = trainer.stderr.read()
    assert "Traceback" not in said and f"resume with: neuronet train --resume {run}" in said, said
    state = status(run)
    assert state["status"] == "interrupted" and state["epochs_done"] >= 1
    assert state.get("signal") == (None if signum == signal.SIGINT else signal.Signals(signum).name)
    assert not list(run.rglob("*.tmp"))
    epochs = state["epochs_done"]
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("epochs: 400", f"epochs: {epochs + 1}"))
    resumed = cli("train", "--resume", run, "-q")
    assert resumed.exit_code == 0, resumed.output
    assert status(run)["status"] == "completed" and status(run)["epochs_done"] == epochs + 1


@pytest.mark.slow
def test_a_process_killed_without_a_word_is_seen_as_dead_and_resumes(tmp_path):
    trainer, run = _training(tmp_path, "killed")
    trainer.send_signal(signal.SIGKILL)
    trainer.wait(60)
    assert status(run)["status"] == "running"  # what the file says
    info = cli("info", run)
    said = " ".join(info.stdout.split())
    assert info.exit_code == 0 and "status: dead" in said and f"({trainer.pid}) stopped without a word" in said
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("epochs: 400", "epochs: 2"))
    resumed = cli("train", "--resume", run, "-q")
    assert resumed.exit_code == 0, resumed.output
    assert status(run)["status"] == "completed"


@pytest.mark.slow
def test_a_failure_while_writing_the_results_is_recorded(tmp_path, monkeypatch):
    import neuronet.runs.train as train

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "r" / "report.md"))

    monkeypatch.setattr(train, "render_report", broken)
    ran = cli("train", *_sets(), "--output-dir", tmp_path, "--name", "r", "-q")
    assert_refused(ran, "No space left on device", "report.md", "--resume")
    state = status(tmp_path / "r")
    assert state["status"] == "failed" and "No space left on device" in state["message"]
    monkeypatch.undo()
    resumed = cli("train", "--resume", tmp_path / "r", "-q")  # the weights are there; the results are written again
    assert resumed.exit_code == 0, resumed.output
    assert status(tmp_path / "r")["status"] == "completed" and (tmp_path / "r" / "report.md").is_file()


def test_a_failed_runs_status_says_why_in_info(tmp_path, monkeypatch):
    import neuronet.runs.train as train

    monkeypatch.setattr(train, "plot_doctor", lambda *a, **k: (_ for _ in ()).throw(ValueError("a plotting bug")))
    with pytest.raises(AssertionError, match="ValueError: a plotting bug"):  # a bug of ours keeps its traceback
        cli("train", *_sets(), "--output-dir", tmp_path, "--name", "f", "-q")
    monkeypatch.undo()
    assert status(tmp_path / "f")["status"] == "failed"
    info = cli("info", tmp_path / "f")
    assert "ValueError: a plotting bug" in " ".join(info.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("signum,delay", [(signal.SIGINT, 0.5), (signal.SIGINT, 2.0), (signal.SIGINT, 4.0),
                                          (signal.SIGTERM, 2.0), (signal.SIGTERM, 4.0)])
def test_ctrl_c_during_export_is_an_interruption_and_leaves_no_half_export(tiny_run, tmp_path, signum, delay):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    exporter = start("export", run)
    time.sleep(delay)
    exporter.send_signal(signum)
    code = exporter.wait(120)
    said = exporter.stderr.read()
    assert "Traceback" not in said and "cannot be exported" not in said and "_dynamo" not in said, said
    assert code == 0 or stopped_by(code, signum), said  # SIGTERM is 143 at every stage of the export, never Ctrl-C's 130
    export = run / "export"
    assert not export.exists() or {"model.onnx", "export.json", "preprocessing.json"} <= {p.name for p in export.iterdir()}
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no staging folder or temporary file left


@pytest.mark.slow
def test_sigterm_during_report_leaves_no_temporary_file(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    reporter = start("report", run)
    time.sleep(3)
    reporter.send_signal(signal.SIGTERM)
    code = reporter.wait(120)
    assert code == 0 or stopped_by(code, signal.SIGTERM), reporter.stderr.read()
    assert not list(run.rglob("*.tmp")) and not [p for p in run.rglob(".*")]
    if code != 0:
        assert json.loads((run / "status.json").read_text())["status"] == "completed"  # the run itself is untouched


def test_a_stop_between_a_temporary_and_its_cleanup_leaves_nothing(tmp_path):
    """A stop signal can land inside contextlib's enter or exit, where no `finally` of the writer runs; the command
    line's stop handler still removes the temporary file and the staging folder (as test_sigterm_during_report saw)."""
    from neuronet.atomic import atomic_dir, atomic_path, remove_pending

    entered_file = atomic_path(tmp_path / "figure.png")
    entered_dir = atomic_dir(tmp_path / "explain")
    tmp, staging = entered_file.__enter__(), entered_dir.__enter__()  # as if stopped before __exit__ could run
    tmp.write_bytes(b"half a figure")
    (staging / "part.json").write_text("{}")
    assert tmp.exists() and staging.exists()
    remove_pending()
    assert list(tmp_path.iterdir()) == []
    with atomic_path(tmp_path / "after.txt") as later:  # later writes still work and clean their own
        later.write_text("whole")
    remove_pending()
    assert [p.name for p in tmp_path.iterdir()] == ["after.txt"]
