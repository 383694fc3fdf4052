"""One writer per run: an OS file lock on the run folder, released by the OS when the process ends.

`train`, `--resume`, `export`, `report` and `explain` hold it while they write; a second
command on the same run is refused with one sentence naming the process that holds it.
A run whose status says "running" but whose lock nobody holds was left by a process that
died without a word (`holder_alive` tells).

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with RunLock(folder, "train"):
    ...     holder_alive(folder)
    True
    >>> holder_alive(folder)
    False
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from neuronet.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; one writer is then the user's care
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunLock", "RunInUse", "holder_alive"]

_HELD: dict[tuple[int, int], list[Any]] = {}  # (device, inode) of a locked folder -> [fd, depth]: re-entrant per process


class RunInUse(ConfigError):
    """Another process is writing this run directory."""


def _key(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


class RunLock:
    """An exclusive lock on a run folder, for as long as this process writes it (re-entrant within the process).

    Args:
        root: The run folder (it must exist; a new run locks its staging folder, and the lock
            follows the folder when it is renamed).
        what: What this process does with the run, for the other process' error message.
    """

    def __init__(self, root: str | Path, what: str = "write") -> None:
        self.root, self.what = Path(root), what
        self.key: tuple[int, int] | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise RunInUse naming the process that holds it."""
        fd = os.open(self.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        key = _key(fd)
        if key in _HELD:  # this process holds it already (train --serve exporting, a test calling twice)
            os.close(fd)
            _HELD[key][1] += 1
            self.key = key
            return self
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunInUse(f"Run {self.root} is in use by {_holder(self.root)}; wait for it to finish (or stop "
                               f"it) before you {self.what} it.") from None
        _HELD[key] = [fd, 1]
        self.key = key
        return self

    def release(self) -> None:
        """Give the lock back (the OS does it too when the process ends)."""
        if self.key is None or self.key not in _HELD:
            return
        held = _HELD[self.key]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self.key]
            os.close(held[0])  # closing the last descriptor releases the flock
        self.key = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _holder(root: Path) -> str:
    """Who holds the run's lock: the process the kernel names in /proc/locks, and its command."""
    try:
        inode = os.stat(root).st_ino
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
                pid = int(parts[4])
                return f"process {pid}{_command(pid)}"
    except (OSError, ValueError):
        pass
    return "another process"


def _command(pid: int) -> str:
    """' (neuronet train)' for a neuronet process, from its command line; '' when it cannot be read."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return ""
    names = [os.path.basename(a) for a in args]
    if "neuronet" in names:
        at = names.index("neuronet")
        return " (" + " ".join(["neuronet", *args[at + 1:at + 2]]) + ")"
    return ""


def holder_alive(root: str | Path) -> bool:
    """Whether some process (this one included) holds the run's lock now."""
    try:
        fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        if _key(fd) in _HELD:
            return True
        if fcntl is None:  # pragma: no cover
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
