"""Atomic file writes: write to a temporary file beside the target, then rename over it.

Readers see either the old file or the whole new one, never half of it; an error or
Ctrl-C in the middle leaves no temporary file behind. A stop signal can land between two lines
of Python, also where no `finally` covers it yet (inside `contextlib`'s enter and exit), so
every temporary is listed from before it exists until it is gone, and the command line's stop
handler removes what is still listed (`remove_pending`).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_dir", "atomic_path", "remove_pending", "write_text"]

_PENDING: set[Path] = set()  # temporaries written now: files and staging folders


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to `path`.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("hello")
        >>> target.read_text()
        'hello'
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with _naming(path):
        tmp = _new_file(path.parent, f".{path.stem[:100]}.", f"{path.suffix[:20]}.tmp")
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the file gets the permissions a plain open() would
        os.replace(tmp, path)
    except OSError as err:
        if err.filename in (str(tmp), tmp, None):  # the user knows the file they asked for, not our temporary one
            err.filename = str(path)
        raise
    finally:
        tmp.unlink(missing_ok=True)
        _PENDING.discard(tmp)


def _new_file(folder: Path, prefix: str, suffix: str) -> Path:
    """Create an empty file of a new random name in `folder` (as mkstemp), listed as pending before it exists."""
    for _ in range(100):
        tmp = folder / f"{prefix}{secrets.token_hex(4)}{suffix}"
        _PENDING.add(tmp)
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return tmp
        except FileExistsError:
            _PENDING.discard(tmp)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def remove_pending() -> None:
    """Remove the temporary files and staging folders that writes cut off by a stop signal left behind."""
    for tmp in list(_PENDING):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        _PENDING.discard(tmp)


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OS error while making a temporary file beside `path` names `path`: the file the user asked for."""
    try:
        yield
    except OSError as err:
        err.filename = str(path)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(path: str | Path, replace: bool = False) -> Iterator[Path]:
    """Yield a staging folder beside `path` to fill; on success it is renamed to `path` in one step.

    A failure part-way leaves nothing behind: readers see no folder, or the whole one. Each
    process stages in a folder of its own (`.NAME.partial-PID-XXXX`), so two processes never
    share one; staging folders left by processes that died are removed.

    Args:
        path: The folder to create.
        replace: Replace an existing folder at `path` (it is moved aside, then removed); without
            it an existing folder is a FileExistsError.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_dead_staging(path)
    with _naming(path):
        staging = _new_folder(path.parent, f".{path.name}.partial-{os.getpid()}-")
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; the folder gets what a plain mkdir would
    try:
        yield staging
        old = None
        if replace and path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-{os.getpid()}-"))
            os.replace(path, old / "x")
        try:
            os.rename(staging, path)
        except OSError as err:
            if old is not None:
                os.replace(old / "x", path)
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise FileExistsError(errno.EEXIST, "already exists", str(path)) from None
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _PENDING.discard(staging)


def _new_folder(parent: Path, prefix: str) -> Path:
    """Create a new folder of a random name in `parent` (as mkdtemp, mode 0700), listed as pending before it exists."""
    for _ in range(100):
        staging = parent / f"{prefix}{secrets.token_hex(4)}"
        _PENDING.add(staging)
        try:
            staging.mkdir(mode=0o700)
            return staging
        except FileExistsError:
            _PENDING.discard(staging)
    raise FileExistsError(errno.EEXIST, "no free staging name", str(parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_dead_staging(path: Path) -> None:
    """Remove staging folders of `path` left by processes that no longer run."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*-*-*"):
        kind, _, rest = leftover.name[len(path.name) + 2:].partition("-")
        pid = rest.split("-", 1)[0]
        if kind in ("partial", "old") and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
