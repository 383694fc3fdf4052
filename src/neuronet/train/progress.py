"""`ProgressBar`: the live Rich display of every neuronet trainer, and its one line per epoch.

The Rich set-up, the redraw throttle and the summary line are written here once; what a
trainer counts differs only in its columns. The supervised layout (this class) shows a bar
over the whole fit (epochs, ETA) and one over the current epoch (batches, loss, ETA);
`neuronet.rl.progress.RLProgress` overrides `whole`, `part`, `batch_info` and `line` to count
environment steps. Both read only the trainer's public state (`TrainerProtocol`).
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neuronet.train.callbacks import Callback, TrainerProtocol

__all__ = ["ProgressBar", "format_logs"]


def format_logs(logs: dict[str, Any]) -> str:
    """'train_loss 0.123 · val_accuracy 0.981' for the numeric entries of an epoch record.

    Example:
        >>> format_logs({"epoch": 1, "train_loss": 0.12345, "val_accuracy": 0.98, "lr": 0.001})
        'train_loss 0.1235 · val_accuracy 0.98'
    """
    skip = {"epoch", "time", "lr"}
    return " · ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in skip and isinstance(v, (int, float)))


class ProgressBar(Callback):
    """Live bars while a trainer runs and one summary line per epoch.

    The bars are redrawn at most every `refresh` seconds. A run resumed in the middle of an
    epoch starts its bars where it was. Where the output is not a terminal (a log file, CI),
    only the summary lines are printed.

    Args:
        console: Where to draw (default: stderr).
        refresh: The shortest time between two redraws of a bar, in seconds.

    Example:
        >>> import io
        >>> import neuronet as nt
        >>> from rich.console import Console
        >>> out = io.StringIO()
        >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), epochs=1, progress=False, doctor=False,
        ...                      callbacks=[ProgressBar(Console(file=out))])
        >>> train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
        >>> _ = trainer.fit(train)
        >>> out.getvalue().startswith("epoch 1/1  train_loss")
        True
    """

    unit = "epoch"  # what the summary line calls one record of the history

    def __init__(self, console: Console | None = None, refresh: float = 0.2) -> None:
        self.console = console or Console(stderr=True)
        self.refresh = refresh

    # --- the columns: what differs between trainers ----------------------------------------
    def whole(self, trainer: TrainerProtocol) -> tuple[str, int, int]:
        """The bar over the whole fit: (description, total, completed)."""
        return "fit", trainer.epochs, trainer.epoch

    def part(self, trainer: TrainerProtocol) -> tuple[str, int, int] | None:
        """The bar over the current epoch, (description, total, completed), or None for no such bar."""
        return f"epoch {trainer.epoch + 1}/{trainer.epochs}", trainer.steps_per_epoch, trainer.batch

    def batch_info(self, trainer: TrainerProtocol, loss: float) -> tuple[Any, int, str]:
        """After a batch: (the bar to move, its completed count, its info text)."""
        return self._part, self._done, f"loss {loss:.4f}"

    def epoch_done(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
        """Bring the bars up to date at the end of an epoch."""
        self._progress.update(self._part, completed=self._done, info=f"loss {logs['train_loss']:.4f}")
        self._progress.update(self._whole, advance=1)

    def line(self, logs: dict[str, Any]) -> str:
        """The numbers of the epoch's summary line."""
        return format_logs(logs)

    # --- the events: written once --------------------------------------------------------
    def before_fit(self, trainer: TrainerProtocol) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False, disable=not self.console.is_terminal,
        )
        self._progress.start()
        description, total, completed = self.whole(trainer)
        self._whole = self._progress.add_task(description, total=total, completed=completed, info="")
        self._part = None
        self._last = 0.0
        self._done = 0  # batches done in the current epoch

    def before_epoch(self, trainer: TrainerProtocol) -> None:
        part = self.part(trainer)
        if part is None:
            return
        if self._part is not None:
            self._progress.remove_task(self._part)
        description, total, completed = part
        self._part = self._progress.add_task(description, total=total, completed=completed, info="")
        self._last = 0.0
        self._done = completed

    def after_batch(self, trainer: TrainerProtocol, loss: float) -> None:
        self._done += 1
        now = time.perf_counter()
        if now - self._last >= self.refresh:
            self._last = now
            bar, completed, info = self.batch_info(trainer, loss)
            self._progress.update(bar, completed=completed, info=info)

    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
        self.epoch_done(trainer, logs)
        self.console.print(f"{self.unit} {logs['epoch']}/{trainer.epochs}  {self.line(logs)}  ({logs['time']:.1f}s)",
                           soft_wrap=True, highlight=False)

    def after_fit(self, trainer: TrainerProtocol) -> None:
        self._progress.stop()
