"""A full disk and a read-only disk, on a small tmpfs (as root; skipped, saying why, elsewhere): one sentence,
nothing half-written, the last good checkpoint kept, and the run resumes once there is room."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess

import pytest

from hostile.hostile_helpers import TINY, assert_refused, cli, snapshot, status

pytestmark = pytest.mark.hostile("disk")


def _mount(folder, *options: str) -> None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}); the disk cases need root")


@contextlib.contextmanager
def tmpfs(folder, size: str):
    """A small file system of its own at `folder`, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the full-disk and read-only cases mount a small tmpfs, which needs root")
    folder.mkdir(parents=True, exist_ok=True)
    _mount(folder, f"size={size}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _remount(folder, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(folder)], check=True)


BIG = ["--set", "model.type=mlp", "--set", "model.hidden=[2048]", "--set", "train.epochs=3", "--set",
       "data.limit=300", "--set", "train.doctor=false"]


def _sets() -> list[str]:
    return [a for v in TINY for a in ("--set", v)]


def test_a_disk_full_at_the_first_checkpoint_is_one_sentence_and_the_run_resumes(tmp_path):
    with tmpfs(tmp_path / "small", "1m") as disk:
        ran = cli("train", *BIG, "--output-dir", disk, "--name", "full", "-q")
        assert_refused(ran, "No space left on device", "checkpoint.safetensors", "--resume")
        run = disk / "full"
        assert status(run)["status"] == "failed" and "No space left" in status(run)["message"]
        assert not list(run.rglob("*.tmp")) and not [p for p in disk.iterdir() if p.name.startswith(".")]
        _remount(disk, "size=30m")
        resumed = cli("train", "--resume", run, "-q")
        assert resumed.exit_code == 0, resumed.output
        assert status(run)["status"] == "completed"


def test_a_disk_that_fills_mid_run_keeps_the_last_good_checkpoint(tmp_path):
    from neuronet.config import load_config
    from neuronet.runs import train_run
    from neuronet.train import Callback
    from neuronet.train.checkpoint import load_state

    with tmpfs(tmp_path / "small", "6m") as disk:
        filler = disk / "filler"

        class FillTheDisk(Callback):
            def after_epoch(self, trainer, logs):
                if trainer.epoch == 2:
                    with open(filler, "wb") as f, contextlib.suppress(OSError):
                        while True:
                            f.write(b"\0" * 65536)

        overrides = ["model.type=mlp", "model.hidden=[1024]", "train.epochs=4", "data.limit=300", "train.doctor=false",
                     f"output_dir={disk}", "name=mid"]
        with pytest.raises(OSError):
            train_run(load_config(None, overrides), callbacks=[FillTheDisk()], progress=False)
        run = disk / "mid"
        assert status(run)["status"] in ("failed", "running")  # the status write may not fit either
        assert load_state(run / "checkpoint.safetensors")["epoch"] >= 1  # still whole, still loadable
        filler.unlink()
        resumed = cli("train", "--resume", run, "-q")
        assert resumed.exit_code == 0, resumed.output
        assert status(run)["status"] == "completed"


def test_training_into_a_read_only_folder_is_one_sentence(tmp_path):
    with tmpfs(tmp_path / "ro", "1m") as disk:
        _remount(disk, "ro")
        assert_refused(cli("train", *_sets(), "--output-dir", disk / "runs", "-q"), "read-only")


@pytest.mark.parametrize("command", [["report", "--no-explain"], ["export"], ["explain", "--wrong"], ["train", "--resume"]])
def test_writing_into_a_run_on_a_read_only_disk_is_one_sentence(tiny_run, tmp_path, command):
    with tmpfs(tmp_path / "ro", "4m") as disk:
        run = disk / "tiny"
        shutil.copytree(tiny_run, run)
        if command[0] == "train":
            status_file = run / "status.json"
            status_file.write_text(json.dumps({**json.loads(status_file.read_text()), "status": "interrupted"}))
        _remount(disk, "ro")
        before = snapshot(run)
        args = [*command, run] if command[-1] == "--resume" else [command[0], run, *command[1:]]
        message = assert_refused(cli(*args), "read-only")
        assert ".tmp" not in message and ".partial" not in message  # the file asked for, not a temporary one
        assert snapshot(run) == before
        ran = cli("evaluate", run, "--json")  # reading still works
        assert ran.exit_code == 0, ran.output


def test_predictions_to_a_full_disk_are_one_sentence_and_leave_no_partial_file(tiny_run, tmp_path):
    from sklearn.datasets import load_digits

    table = tmp_path / "digits.csv"
    load_digits(as_frame=True).frame.drop(columns="target").to_csv(table, index=False)
    with tmpfs(tmp_path / "small", "64k") as disk:
        (disk / "filler").write_bytes(b"\0" * 60_000)
        assert_refused(cli("predict", tiny_run, table, "-o", disk / "predictions.csv"), "No space left",
                       "predictions.csv")
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


@pytest.mark.slow
def test_an_export_on_a_full_disk_keeps_the_previous_export(tiny_run, tmp_path):
    with tmpfs(tmp_path / "small", "8m") as disk:
        run = disk / "tiny"
        shutil.copytree(tiny_run, run)
        ran = cli("export", run)
        assert ran.exit_code == 0, ran.output
        before = snapshot(run / "export")
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * (free - 4096))
        assert_refused(cli("export", run), "No space left")
        assert snapshot(run / "export") == before
        assert not [p for p in run.iterdir() if p.name.startswith(".")]
