"""`neuronet serve` on a run whose weights are damaged: one sentence, exit 1, and no "serving ... at URL" line first.

With `--workers 2` each uvicorn worker used to crash on the damaged file with a traceback and the supervisor
restarted it, without end (hundreds of traceback lines, the command never returned); with one worker the command
announced "serving RUN at http://..." before it failed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def small_run(train_small):
    return train_small("serve-damaged", "data.source=iris", "model.type=mlp", "train.epochs=1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_damaged_run_is_one_sentence_before_anything_is_served(small_run, tmp_path, workers):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    (run / "model.safetensors").write_bytes((run / "model.safetensors").read_bytes()[:100])
    try:
        done = subprocess.run([sys.executable, "-m", "neuronet", "serve", str(run), "--port", str(free_port()),
                               "--workers", str(workers)], capture_output=True, text=True, timeout=90,
                              env={"COLUMNS": "300", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired as stuck:
        pytest.fail(f"serve did not stop on a damaged run; it printed:\n{(stuck.stderr or b'')[-2000:]!r}")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "serving" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "model.safetensors" in lines[0], done.stderr
