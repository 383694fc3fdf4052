"""The `neuronet` command line, one module per area.

- `train`: train, cv, tune, lr-find (`neuronet.cli.train`)
- reading a run: evaluate, predict, info, doctor, explain, report (`neuronet.cli.runs`)
- deploying: export, serve (`neuronet.cli.serve`)
- the catalog: datasets, models, kinds (`neuronet.cli.catalog`)

Every error a user can cause is printed as one sentence on stderr with exit code 1; Ctrl-C,
SIGTERM and SIGHUP during training exit 128 + the signal and leave a resumable run directory.
Commands import what they need when they run, so `neuronet --help` and `neuronet info` start
without PyTorch.
"""

from __future__ import annotations

# Each module registers its commands on `app`, in the order `neuronet --help` lists them.
from neuronet.cli import train  # noqa: F401, I001
from neuronet.cli import runs  # noqa: F401
from neuronet.cli import serve  # noqa: F401
from neuronet.cli import catalog  # noqa: F401
from neuronet.cli.common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console-script entry point
    app()
