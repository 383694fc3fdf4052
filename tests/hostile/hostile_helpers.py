"""Small helpers of the hostile corpus: editing a received run's files as an attacker (or a careless colleague) would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from neuronet.cli import app

# Examples per Hypothesis fuzz test: 300 in `make test` (as CI); `make check` sets fewer for a fast loop.
FUZZ_EXAMPLES = int(os.environ.get("NEURONET_FUZZ_EXAMPLES", "300"))



def edit_yaml(path: Path, **sections: Any) -> None:
    """Replace top-level keys of a YAML file."""
    data = yaml.safe_load(path.read_text())
    data.update(sections)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_json(path: Path, **keys: Any) -> None:
    """Replace top-level keys of a JSON file."""
    data = json.loads(path.read_text())
    data.update(keys)
    path.write_text(json.dumps(data))


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


def free_port() -> int:
    """A port nothing listens on, on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stopped_by(code: int, signum: int) -> bool:
    """The exit of a command stopped by `signum`: 128 + signum, or death by the signal itself when it came while
    the interpreter was shutting down, its work done (Python restores the default handlers then; a shell reports
    both as 128 + signum)."""
    return code in (128 + signum, -signum)


def start(*args: object, cwd: Path | None = None) -> subprocess.Popen:
    """`neuronet ARGS` started in the background (one torch thread), its streams captured."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "250"}
    return subprocess.Popen([str(NEURONET), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=environment)


def wait_for(condition, what: str, timeout: float = 120.0, every: float = 0.1) -> None:
    """Poll `condition()` until it holds (a bounded loop: fail after `timeout` seconds)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def status(run: Path) -> dict:
    """A run's status.json ({} while it is not there yet)."""
    try:
        return json.loads((run / "status.json").read_text())
    except (OSError, ValueError):
        return {}


HOLD = ("import sys, time\nfrom neuronet.rundir.lock import RunLock\nfrom neuronet.runs.lifecycle import write_status\n"
        "from neuronet.rundir.files import RunFiles\nRunLock(sys.argv[1], 'train').acquire()\n"
        "if len(sys.argv) > 2: write_status(RunFiles(sys.argv[1]), 'running', command='neuronet train')\n"
        "print('locked', flush=True)\ntime.sleep(120)\n")


def hold_lock(run: Path, write: bool = False) -> subprocess.Popen:
    """Another process holding a run's lock (as a training process does); kill it when done."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run), *(["status"] if write else [])],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def one_sentence(detail: Any) -> str:
    """A refusal's `detail`: one line, one sentence (quoted inputs and parentheses aside), at most 400 characters."""
    assert isinstance(detail, str) and detail and detail == detail.strip(), detail
    assert "\n" not in detail and "Traceback" not in detail and len(detail) <= 400, detail
    assert detail[-1] in ".?", detail
    bare = re.sub(r"'[^']*'|\"[^\"]*\"|\([^()]*\)", "", detail)
    assert not re.search(r"[.?!]\s+[A-Z]", bare[:-1]), detail
    return detail
