"""The `neuronet` command line, one module per area.

- `train`: train, cv, tune, lr-find (`neuronet.cli.train`)
- reading a run: evaluate, predict, info, doctor, explain, report (`neuronet.cli.runs`)
- writing text: generate, chat (`neuronet.cli.text`)
- deploying: export, serve (`neuronet.cli.serve`)
- the catalog: datasets, models, kinds (`neuronet.cli.catalog`)

Every error a user can cause is printed as one sentence on stderr with exit code 1; Ctrl-C,
SIGTERM and SIGHUP during training exit 128 + the signal and leave a resumable run directory.
Commands import what they need when they run, so `neuronet --help` and `neuronet info` start
without PyTorch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

# Each module registers its commands on `app`, in the order `neuronet --help` lists them.
from neuronet.cli import train  # noqa: F401, I001
from neuronet.cli import runs  # noqa: F401
from neuronet.cli import text  # noqa: F401
from neuronet.cli import serve  # noqa: F401
from neuronet.cli import catalog  # noqa: F401
from neuronet.atomic import remove_pending
from neuronet.cli.common import app
from neuronet.runs.lifecycle import STOP_SIGNALS

__all__ = ["app", "main"]


def main() -> None:
    """The `neuronet` console script: `app`, with stop signals between commands ending the process at once.

    A command handles Ctrl-C, SIGTERM and SIGHUP itself (`friendly`); before it starts (while
    modules load) and after it returns (while the interpreter shuts down) nothing is half-written,
    so a stop signal then exits with 128 + the signal instead of a traceback or a death by signal.
    """
    for signum in (signal.SIGINT, *STOP_SIGNALS):
        signal.signal(signum, _stop_now)
    app()


def _stop_now(signum: int, frame: object) -> None:
    remove_pending()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"Stopped by {signal.Signals(signum).name}.\n")
        sys.stderr.flush()
    os._exit(128 + signum)
