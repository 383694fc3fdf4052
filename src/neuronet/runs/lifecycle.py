"""The life of a run directory, written once for every kind of run: status, lock, stop signals, failure.

`run_lifecycle` wraps the training of a run: it holds the run's lock, writes status.json
("running", with the process id), turns SIGTERM and SIGHUP into the same orderly stop as
Ctrl-C (status "interrupted", the resume command), and marks any failure — including one
while the final results are written — as "failed" with the reason. A process killed
without a word leaves "running" behind with no lock held: `status_of` reads that as dead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from neuronet.errors import TrainingDivergedError
from neuronet.rundir.files import RunFiles, read_json, write_json
from neuronet.rundir.lock import RunLock, holder_alive

__all__ = ["RunInterrupted", "Stopped", "stop_signals", "stop_requested", "run_lifecycle", "status_of", "STOP_SIGNALS"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP) received: handled like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"Stopped by {signal.Signals(signum).name}.")
        self.signum = signum


class RunInterrupted(KeyboardInterrupt):
    """Training was interrupted; the run directory holds a checkpoint to resume from."""

    def __init__(self, root: Path, epoch: int, done: str | None = None, signum: int = signal.SIGINT) -> None:
        by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        super().__init__(f"Interrupted{by} after {done or f'epoch {epoch}'}; resume with: neuronet train --resume {root}")
        self.root, self.epoch, self.signum = root, epoch, signum


_FIRED: list[int] = []  # the stop signals received inside the outermost `stop_signals` (for `stop_requested`)
_DEPTH = [0]


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the body, SIGTERM and SIGHUP raise `Stopped` (a KeyboardInterrupt), and Ctrl-C a KeyboardInterrupt.

    Each signal is also recorded: an interruption raised where Python drops it (inside a garbage
    collector's callback, deep in a database driver) is still seen by `stop_requested`, which loops
    check between their steps. A signal that arrives while a module loads is raised once the import
    is over (an exception there can cross C++ code, such as torch's start-up, that aborts on it).
    Outside the main thread (where Python cannot set handlers) the body runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        _FIRED.append(signum)
        if _importing(frame):  # raised here, it could cross C++ that cannot take it (torch's start-up): abort()
            _deliver_again(signum)
            return
        raise KeyboardInterrupt if signum == signal.SIGINT else Stopped(signum)

    if _DEPTH[0] == 0:
        _FIRED.clear()
    _DEPTH[0] += 1
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        for s, handler in previous.items():
            signal.signal(s, handler)


def _importing(frame: Any) -> bool:
    """Whether the interrupted code runs inside an import (a module loading)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _deliver_again(signum: int) -> None:
    """Send `signum` to this process again in 50 ms: the import in progress then has finished, or it is deferred
    once more (modules load in seconds, so this ends)."""
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def stop_requested() -> KeyboardInterrupt | None:
    """The interruption to raise if a stop signal came (even one whose exception was lost), else None."""
    if not _FIRED:
        return None
    return KeyboardInterrupt() if _FIRED[0] == signal.SIGINT else Stopped(_FIRED[0])


def _quietly(action: Callable[[], Any]) -> None:
    """Record what can be recorded while failing; a second error (a full disk) must not hide the first."""
    try:
        action()
    except (OSError, ValueError, RuntimeError):
        pass


@contextlib.contextmanager
def run_lifecycle(files: RunFiles, status: Callable[..., None], save_findings: Callable[[], Any],
                  done: Callable[[], tuple[int, str | None]], kept: Callable[[], str] = lambda: "") -> Iterator[None]:
    """Train inside this: the run is locked, its status kept true, and any stop or failure recorded.

    Args:
        files: The run directory (it exists and this process holds its lock).
        status: Writes status.json: status(name, **extra).
        save_findings: Writes the doctor's findings so far.
        done: (epoch, how much is done in words, or None) for the interruption message.
        kept: What is kept after a divergence, e.g. " (checkpoint of epoch 3 kept)".

    Raises:
        RunInterrupted: Ctrl-C, SIGTERM or SIGHUP (status "interrupted").
        TrainingDivergedError: the loss became NaN / inf (status "failed").
    """
    with stop_signals():
        status("running")
        try:
            yield
        except KeyboardInterrupt as stop:
            _quietly(save_findings)
            signum = getattr(stop, "signum", signal.SIGINT)
            _quietly(lambda: status("interrupted", **({} if signum == signal.SIGINT else
                                                      {"signal": signal.Signals(signum).name})))
            raise RunInterrupted(files.root, *done(), signum=signum) from None
        except TrainingDivergedError as err:
            reason = str(err)
            _quietly(save_findings)  # `neuronet doctor RUN` explains it
            _quietly(lambda: status("failed", message=reason))
            raise TrainingDivergedError(f"{reason} Run directory: {files.root}{kept()}.") from None
        except BaseException as err:
            reason = f"{type(err).__name__}: {err}"
            _quietly(lambda: status("failed", message=reason))
            raise


def lock_run(root: Path, what: str) -> RunLock:
    """Take the run's lock for `what` (train, resume, export, report, explain)."""
    return RunLock(root, what).acquire()


def status_of(files: RunFiles) -> dict[str, Any]:
    """status.json, with "running" or "created" corrected to "dead" when no process holds the run."""
    state = read_json(files.status) if files.status.is_file() else {"status": "unknown"}
    if state.get("status") in ("running", "created") and not holder_alive(files.root):
        pid = state.get("pid")
        state = {**state, "status": "dead", "message": f"the process that ran it{f' ({pid})' if pid else ''} stopped "
                 f"without a word (killed, or the machine went down); resume with: neuronet train --resume {files.root}"}
    return state


def write_status(files: RunFiles, status: str, **fields: Any) -> None:
    """status.json: the status, this process' id and the progress fields."""
    write_json(files.status, {"status": status, "pid": os.getpid(), **fields})


def restore_checkpoint(trainer: Any, files: RunFiles) -> None:
    """Load the run's checkpoint into `trainer`, if it has one; a broken one is one sentence.

    Raises:
        DataError: the checkpoint is truncated, empty, edited or another run's.
    """
    from neuronet.errors import DataError, NeuronetError

    if not files.checkpoint.is_file():
        return
    try:
        trainer.load_checkpoint(files.checkpoint)
    except NeuronetError:
        raise
    except Exception as err:  # noqa: BLE001 - safetensors, JSON, shapes, keys: every way a file can be wrong
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise DataError(f"{files.checkpoint} cannot be restored ({type(err).__name__}: {reason}); it was truncated, "
                        f"edited or belongs to another run: restore it, or delete it to train {files.root} from its "
                        "start.") from None
