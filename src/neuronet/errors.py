"""Errors that neuronet raises for people: one sentence naming what, where and what would be right."""

from __future__ import annotations

__all__ = ["NeuronetError", "ConfigError", "DataError", "NotFittedError", "TrainingDivergedError", "DataNote",
           "describe_os_error"]


class NeuronetError(Exception):
    """Base class of every error neuronet raises on purpose (the CLI prints it and exits 1)."""


class ConfigError(NeuronetError, ValueError):
    """A bad parameter, config key or component name."""


class DataError(NeuronetError, ValueError):
    """A bad file, column, value or shape in the user's data."""


class NotFittedError(NeuronetError, RuntimeError):
    """An estimator-like object was used before `fit`."""


class TrainingDivergedError(NeuronetError, RuntimeError):
    """The loss became NaN or infinite; the last good weights were restored."""


class DataNote(UserWarning):
    """Something done to the user's data that they should know (rows left out, values filled).

    The CLI prints these as `data:` lines; in Python they are ordinary warnings.
    """


def describe_os_error(error: OSError) -> str:
    """An operating-system error as one sentence for people: what happened, to which file, what to do.

    Example:
        >>> import errno
        >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "runs/x/checkpoint.safetensors"))
        'No space left on device while writing runs/x/checkpoint.safetensors; free some space and run the command again (an interrupted run continues with `neuronet train --resume RUN`).'
    """
    import errno

    name = error.filename if error.filename is not None else "a file"
    name = str(name)
    shown = name if len(name) <= 120 else f"{name[:60]}...{name[-40:]} ({len(name):,} characters)"
    code = error.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return (f"No space left on device while writing {shown}; free some space and run the command again (an "
                "interrupted run continues with `neuronet train --resume RUN`).")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "is on a read-only file system" if code == errno.EROFS else "cannot be written or read (permission denied)"
        return f"{shown} {what}; write somewhere you can (a run elsewhere: copy it first), or change the permissions."
    if code == errno.ENAMETOOLONG:
        return f"The name {shown} is too long for the file system; use a shorter file or folder name."
    if code == errno.ENOTDIR:
        return f"A part of the path {shown} is a file, not a folder; check the path."
    if code == errno.EISDIR:
        return f"{shown} is a folder where a file was expected; check the path."
    if code == errno.ENOENT:
        return f"{shown} does not exist; check the path."
    if code == errno.EEXIST:
        return f"{shown} already exists; choose another name."
    if code == errno.EMFILE or code == errno.ENFILE:
        return "Too many open files; close other programs or raise the limit (ulimit -n), then run the command again."
    return f"{error.strerror or type(error).__name__} ({shown}); check the path and the disk, then run the command again."
