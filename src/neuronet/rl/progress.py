"""Live progress of a reinforcement-learning run: environment steps, episodes, mean return, entropy or epsilon, ETA."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neuronet.train.callbacks import Callback

__all__ = ["RLProgress", "record_line"]


def record_line(record: dict[str, Any]) -> str:
    """'steps 4096 · episodes 180 · mean_return 22.7 · entropy 0.68 · loss 12.3' for one record."""
    order = ["steps", "episodes", "mean_return", "eval_return", "epsilon", "entropy", "loss", "value_loss", "q_mean", "fps"]
    parts = []
    for key in order:
        value = record.get(key)
        if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " · ".join(parts)


class RLProgress(Callback):
    """One bar over the run's environment steps, its info line updated after each iteration; where the output
    is not a terminal (a log file, CI), one line per record."""

    def __init__(self, console: Console | None = None, refresh: float = 0.2) -> None:
        self.console = console or Console(stderr=True)
        self.refresh = refresh

    def before_fit(self, trainer: Any) -> None:
        self._progress = Progress(
            TextColumn("[bold]steps"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False, disable=not self.console.is_terminal)
        self._progress.start()
        self._bar = self._progress.add_task("steps", total=trainer.total_steps, completed=trainer.steps, info="")
        self._last = 0.0

    def after_batch(self, trainer: Any, loss: float) -> None:
        now = time.perf_counter()
        if now - self._last >= self.refresh:
            self._last = now
            c = trainer.agent.collector
            logs = trainer._logs[-1] if trainer._logs else {}
            extra = "".join(f" · {k} {logs[k]:.3g}" for k in ("epsilon", "entropy") if k in logs)
            self._progress.update(self._bar, completed=min(trainer.steps, trainer.total_steps),
                                  info=f"episodes {c.episodes} · mean return {c.mean_return:.4g}{extra}")

    def after_epoch(self, trainer: Any, record: dict[str, Any]) -> None:
        self._progress.update(self._bar, completed=min(trainer.steps, trainer.total_steps))
        self.console.print(f"record {record['epoch']}/{trainer.epochs}  {record_line(record)}  ({record['time']:.1f}s)",
                           soft_wrap=True, highlight=False)

    def after_fit(self, trainer: Any) -> None:
        self._progress.stop()
