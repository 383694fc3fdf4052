"""One writer per run: a second train, --resume, export, report or explain of a run in use is refused in a
sentence naming the process; two new runs of one name never share a staging folder; readers are not blocked."""

from __future__ import annotations

import json
import signal

import pytest

from hostile.hostile_helpers import (TINY, assert_refused, cli, cli_process, hold_lock, snapshot, start, status,
                                     wait_for)

pytestmark = pytest.mark.hostile("concurrency")

SLOW = ["--set", "train.epochs=400", "--set", "model.channels=[4, 8]", "--set", "model.hidden=16", "--set",
        "data.limit=300", "--set", "train.doctor=false"]


def _sets() -> list[str]:
    return [a for v in TINY for a in ("--set", v)]


@pytest.mark.slow
def test_resuming_a_run_that_is_still_training_is_refused_naming_the_process(tmp_path):
    trainer = start("train", *SLOW, "--output-dir", tmp_path, "--name", "busy", "-q")
    run = tmp_path / "busy"
    try:
        wait_for(lambda: status(run).get("status") == "running" and (run / "checkpoint.safetensors").exists(),
                 "the first checkpoint")
        (run / ".history.x.csv.tmp").write_text("a live write")  # as the trainer's own atomic writes look
        ran = cli_process("train", "--resume", run)
        assert_refused(ran, f"process {trainer.pid} (neuronet train)", "in use", "resume")
        assert (run / ".history.x.csv.tmp").exists()  # the live process' temporary files are left alone
        assert status(run)["pid"] == trainer.pid
    finally:
        trainer.send_signal(signal.SIGTERM)
        trainer.wait(60)
    assert status(run)["status"] == "interrupted"


@pytest.mark.parametrize("command", [["train", "--resume"], ["export"], ["report", "--no-explain"], ["explain", "--wrong"]])
def test_a_writer_is_refused_on_a_run_another_process_holds(run_copy, command):
    holder = hold_lock(run_copy, write=True)
    try:
        before = snapshot(run_copy)
        args = [*command, run_copy] if command[-1] == "--resume" else [command[0], run_copy, *command[1:]]
        assert_refused(cli(*args), f"process {holder.pid}", "in use")
        assert snapshot(run_copy) == before
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("command", [["evaluate", "--json"], ["info"], ["doctor"]])
def test_readers_are_not_blocked_by_a_writer(run_copy, command):
    holder = hold_lock(run_copy, write=True)
    try:
        ran = cli(command[0], run_copy, *command[1:])
        assert ran.exit_code == 0, ran.output
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_goes_with_the_process_that_held_it(run_copy):
    holder = hold_lock(run_copy, write=True)
    holder.kill()  # no goodbye: SIGKILL
    holder.wait()
    ran = cli("report", run_copy, "--no-explain")
    assert ran.exit_code == 0, ran.output


@pytest.mark.slow
def test_two_new_runs_of_one_name_started_together_one_wins_one_is_refused(tmp_path):
    first, second = (start("train", *_sets(), "--output-dir", tmp_path, "--name", "same", "-q") for _ in range(2))
    outcomes = sorted((p.wait(300), p.stderr.read()) for p in (first, second))
    assert [code for code, _ in outcomes] == [0, 1], outcomes
    assert "Traceback" not in outcomes[1][1] and "already exists" in outcomes[1][1]
    assert [p.name for p in tmp_path.iterdir()] == ["same"]  # no staging folder left behind
    assert json.loads((tmp_path / "same" / "status.json").read_text())["status"] == "completed"


def test_a_killed_trainers_staging_folder_is_cleared_by_the_next_run(tmp_path):
    (tmp_path / ".fresh.partial-999999-abcd").mkdir()  # pid 999999: no such process
    ran = cli("train", *_sets(), "--output-dir", tmp_path, "--name", "fresh", "-q")
    assert ran.exit_code == 0, ran.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]
