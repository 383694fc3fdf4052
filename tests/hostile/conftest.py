"""The hostile corpus' harness: run the CLI as a user would, and check what a refusal must be.

A refusal is exit code 1, one sentence on stderr that starts with "Error: ", no Python
traceback, and the run directory left as it was (or marked, for a status that changed).
Each test module marks its class (`pytestmark = pytest.mark.hostile("names")`); `pytest
tests/hostile --collect-only -q -m hostile` lists the corpus, `python tests/hostile/count.py` counts it by class.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuronet.cli import app

NEURONET = Path(sys.executable).parent / "neuronet"
TINY = ["train.epochs=2", "model.channels=[4, 8]", "model.hidden=16", "data.limit=300"]


@dataclass
class Ran:
    """What a command did: its exit code and its two streams."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli(*args: object, cwd: Path | None = None) -> Ran:
    """`neuronet ARGS` in this process (fast; the streams are separate)."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("the command raised instead of exiting:\n" +
                             "".join(traceback.format_exception(result.exception)))
    return Ran(result.exit_code, result.stdout, result.stderr)


def cli_process(*args: object, cwd: Path | None = None, timeout: float = 300, env: dict | None = None) -> Ran:
    """`neuronet ARGS` as a separate process (real signals, real file descriptors, real exit codes)."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "250", **(env or {})}
    done = subprocess.run([str(NEURONET), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=environment)
    return Ran(done.returncode, done.stdout, done.stderr)


def assert_refused(ran: Ran, *fragments: str) -> str:
    """Exit code 1 and one `Error:` sentence on stderr containing every fragment (case-insensitive); returns it."""
    assert "Traceback" not in ran.output, ran.output
    assert ran.exit_code == 1, f"exit {ran.exit_code}:\n{ran.output}"
    lines = [line for line in ran.stderr.splitlines() if line.strip() and not line.startswith(("data:", "doctor:"))]
    assert len(lines) == 1 and lines[0].startswith("Error: "), ran.stderr
    message = lines[0]
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in {message!r}"
    return message


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (links not followed) with a digest of its bytes, to check nothing changed."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            seen[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            seen[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            seen[rel] = "dir"
    return seen


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A completed, tiny digits CNN run; tests copy it (`run_copy`) before editing."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    out = tmp_path_factory.mktemp("hostile-runs")
    return train_run(load_config(None, [f"output_dir={out}", "name=tiny", *TINY]), progress=False).path


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the tiny run to edit, corrupt or lock."""
    target = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_run, target, symlinks=True)
    return target
