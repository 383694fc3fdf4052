"""`RLProgress`: the trainers' one progress bar (`neuronet.train.ProgressBar`) with a reinforcement-learning run's
columns: environment steps, episodes, mean return, entropy or epsilon, ETA; one line per record."""

from __future__ import annotations

import math
from typing import Any

from neuronet.train.progress import ProgressBar

__all__ = ["RLProgress", "record_line"]


def record_line(record: dict[str, Any]) -> str:
    """'steps 4096 · episodes 180 · mean_return 22.7 · entropy 0.68 · loss 12.3' for one record.

    Example:
        >>> record_line({"epoch": 2, "steps": 4096, "episodes": 180, "mean_return": 22.71, "loss": float("nan")})
        'steps 4096 · episodes 180 · mean_return 22.71'
    """
    order = ["steps", "episodes", "mean_return", "eval_return", "epsilon", "entropy", "loss", "value_loss", "q_mean", "fps"]
    parts = []
    for key in order:
        value = record.get(key)
        if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " · ".join(parts)


class RLProgress(ProgressBar):
    """One bar over the run's environment steps, its info line updated after each iteration; where the output
    is not a terminal (a log file, CI), one line per record. It reads the RLTrainer's public `steps`,
    `total_steps`, `agent.collector` and `last_iteration`."""

    unit = "record"

    def whole(self, trainer: Any) -> tuple[str, int, int]:
        return "steps", trainer.total_steps, trainer.steps

    def part(self, trainer: Any) -> None:
        return None  # one bar: a record is a few iterations

    def batch_info(self, trainer: Any, loss: float) -> tuple[Any, int, str]:
        c, logs = trainer.agent.collector, trainer.last_iteration
        extra = "".join(f" · {k} {logs[k]:.3g}" for k in ("epsilon", "entropy") if k in logs)
        return (self._whole, min(trainer.steps, trainer.total_steps),
                f"episodes {c.episodes} · mean return {c.mean_return:.4g}{extra}")

    def epoch_done(self, trainer: Any, record: dict[str, Any]) -> None:
        self._progress.update(self._whole, completed=min(trainer.steps, trainer.total_steps))

    def line(self, record: dict[str, Any]) -> str:
        return record_line(record)
