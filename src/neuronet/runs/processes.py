"""Training across processes, seen from a run: the torchrun launch, the line that states the global batch,
and the check that a resumed run keeps the number of processes it was trained with.

`neuronet train CONFIG --nproc N` (or `distributed.processes: N`) starts PyTorch's own elastic
launcher, `python -m torch.distributed.run --standalone --nproc-per-node N -m neuronet train ...`,
as a child process: the same command a user types for torchrun, so many machines are torchrun's
`--nnodes` and `--rdzv-endpoint` (README). Under it each process is a rank
(`neuronet.train.distributed`); rank 0 writes the run directory.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from pathlib import Path
from typing import Any

from neuronet.errors import ConfigError, DataNote
from neuronet.train.distributed import Ranks

__all__ = ["check_processes", "launch", "say_processes", "under_torchrun"]


def under_torchrun() -> bool:
    """Whether torchrun (or another launcher of torch.distributed) started this process."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def launch(nproc: int, argv: list[str]) -> int:
    """Run `neuronet ARGV` in `nproc` processes on this machine under torchrun's elastic agent; 0, or 1 on a failure.

    The agent runs in this process (torchrun's own `run`): a stop signal (Ctrl-C, SIGTERM) reaches it, it
    stops the training processes in order (each records its run as interrupted), and this process then
    exits as stopped, without torchrun's traceback. A process that failed has said why itself.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    from neuronet.runs.lifecycle import Stopped

    if nproc < 1:
        raise ConfigError(f"--nproc must be a whole number of processes, 1 or more; got {nproc}.")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per process: more oversubscribe the cores
    args = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", "neuronet", *argv])
    logging.getLogger("torch.distributed.elastic").setLevel(logging.ERROR)  # its start-up notes are not ours
    try:
        run(args)
    except ChildFailedError:
        return 1
    except SignalException as stop:
        raise (KeyboardInterrupt() if stop.sigval == signal.SIGINT else Stopped(stop.sigval)) from None
    return 0


def say_processes(ranks: Ranks, batch_size: int) -> None:
    """The `data:` line that states the global batch (rank 0 says it once)."""
    warnings.warn(DataNote(f"{ranks.world} processes train together: batch_size {batch_size} per process, so each "
                           f"step sees a global batch of {batch_size * ranks.world} examples (DDP averages the "
                           "gradients; batch norm uses each process' own part)"), stacklevel=2)


def check_processes(config: Any, ranks: Ranks, root: Path) -> None:
    """A run resumes with the number of processes it was trained by: another would change every later step.

    Raises:
        ConfigError: the run's config.yaml records another number of processes.
    """
    trained = config.distributed.processes
    if trained != ranks.world:
        batch = config.distributed.global_batch_size or config.train.batch_size
        raise ConfigError(
            f"Run {root} was trained by {trained} process{'es' if trained != 1 else ''} (global batch {batch}); "
            f"resuming it with {ranks.world} would change the batch of every later step and the order each process "
            f"reads, so it would not end as the run would: resume it with --nproc {trained}"
            f"{' (or torchrun with as many processes)' if trained > 1 else ' (without torchrun)'}.")
