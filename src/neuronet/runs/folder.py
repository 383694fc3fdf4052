"""A run's folder: its name, creating it at once (locked), reopening it to resume, and what a finished run gives back.

Shared by every kind of run (`neuronet.runs.kinds`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from neuronet.atomic import atomic_dir
from neuronet.errors import ConfigError
from neuronet.rundir.files import RunFiles, check_name, read_json, safe_stem
from neuronet.runs.lifecycle import lock_run, status_of
from neuronet.rundir.lock import RunLock

__all__ = ["RunResult", "run_root", "reopen", "created"]


@dataclass
class RunResult:
    """What a finished run produced."""

    path: Path
    metrics: dict[str, Any]
    trainer: Any  # the Trainer (or RLTrainer) that trained it
    plan: Any  # the supervised kind's RunPlan (data, task, model); None for kinds without data
    findings: list[Any]  # the doctor's


def run_root(config: Any, what: str | None = None) -> Path:
    """A new run directory: config.name, else `<what>-<time>` (what: the data and the model) under output_dir."""
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"The output folder {out} is a file; give a folder with --output-dir (or output_dir:).")
    if config.name:
        root = out / check_name(config.name)
        if root.exists():
            if _status_of(root) == "completed":  # nothing to resume: suggesting --resume would only be refused
                raise ConfigError(f"Run directory {root} already exists (a completed run); choose another name.")
            raise ConfigError(f"Run directory {root} already exists; choose another name, or continue it with "
                              f"`neuronet train --resume {root}`.")
        return root
    what = safe_stem(what or f"{Path(config.data.source).stem}-{config.model.type}")
    stem = f"{what}-{datetime.now():%Y%m%d-%H%M%S}"
    root, n = out / stem, 1
    while root.exists():
        n += 1
        root = out / f"{stem}-{n}"
    return root


def _status_of(root: Path) -> str | None:
    """The run's status, or None when status.json is unreadable (only to word a message)."""
    try:
        return status_of(RunFiles(root)).get("status")
    except Exception:  # noqa: BLE001 - any damage: fall back to the general wording
        return None


def reopen(resume: str | Path) -> tuple[RunFiles, Any, RunLock]:
    """An unfinished run directory to continue, locked, and its saved config; clears writes a killed process cut short.

    Raises:
        RunInUse: another process is training (or exporting, reporting) this run.
        ConfigError: the run already completed.
    """
    files = RunFiles(Path(resume))
    files.check()
    lock = lock_run(files.root, "resume")
    try:
        if read_json(files.status).get("status") == "completed":
            raise ConfigError(f"Run {files.root} already completed; nothing to resume.")
        for leftover in files.root.rglob(".*.tmp"):  # a write cut short by a killed process (the lock is ours)
            leftover.unlink(missing_ok=True)
        from neuronet.config import load_config

        return files, load_config(files.config), lock
    except BaseException:
        lock.release()
        raise


@contextlib.contextmanager
def created(files: RunFiles, write: Callable[[RunFiles], None]) -> Iterator[RunLock]:
    """Create the run directory at once (a staging folder of this process, locked, renamed) and hold its lock.

    Raises:
        ConfigError: a run of that name appeared meanwhile (another process made it).
    """
    lock = None
    try:
        with atomic_dir(files.root) as folder:
            lock = RunLock(folder, "train").acquire()  # the lock follows the folder when it is renamed
            write(RunFiles(folder))
    except BaseException as err:
        if lock is not None:
            lock.release()
        if isinstance(err, FileExistsError):
            raise ConfigError(f"Run directory {files.root} already exists (another process made it just now); "
                              "choose another name.") from None
        raise
    try:
        yield lock
    finally:
        lock.release()
