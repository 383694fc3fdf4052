"""A live Rich progress display: epoch, batch, loss, metric and ETA."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neuronet.train.callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.train.trainer import Trainer

__all__ = ["ProgressBar", "format_logs"]


def format_logs(logs: dict[str, Any]) -> str:
    """'train_loss 0.123 · val_accuracy 0.981' for the numeric entries of an epoch record."""
    skip = {"epoch", "time", "lr"}
    return " · ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in skip and isinstance(v, (int, float)))


class ProgressBar(Callback):
    """Two bars: the whole fit (epochs, ETA) and the current epoch (batches, loss, ETA).

    The bar is redrawn at most every `refresh` seconds. A run resumed in the middle of an
    epoch starts its bar where it was. Where the output is not a terminal (a log file, CI),
    only one summary line per epoch is printed.
    """

    def __init__(self, console: Console | None = None, refresh: float = 0.2) -> None:
        self.console = console or Console(stderr=True)
        self.refresh = refresh

    def before_fit(self, trainer: Trainer) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False, disable=not self.console.is_terminal,
        )
        self._progress.start()
        self._fit = self._progress.add_task("fit", total=trainer.epochs, completed=trainer.epoch, info="")
        self._epoch_task = None

    def before_epoch(self, trainer: Trainer) -> None:
        if self._epoch_task is not None:
            self._progress.remove_task(self._epoch_task)
        self._epoch_task = self._progress.add_task(
            f"epoch {trainer.epoch + 1}/{trainer.epochs}", total=trainer.steps_per_epoch, completed=trainer.batch,
            info="")
        self._last = 0.0
        self._done = trainer.batch

    def after_batch(self, trainer: Trainer, loss: float) -> None:
        self._done += 1
        now = time.perf_counter()
        if now - self._last >= self.refresh:
            self._last = now
            self._progress.update(self._epoch_task, completed=self._done, info=f"loss {loss:.4f}")

    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._progress.update(self._epoch_task, completed=self._done, info=f"loss {logs['train_loss']:.4f}")
        self._progress.update(self._fit, advance=1)
        self.console.print(f"epoch {logs['epoch']}/{trainer.epochs}  {format_logs(logs)}  ({logs['time']:.1f}s)",
                           soft_wrap=True, highlight=False)

    def after_fit(self, trainer: Trainer) -> None:
        self._progress.stop()
