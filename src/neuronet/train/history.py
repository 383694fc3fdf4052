"""`History`: what happened during training, per epoch and per iteration."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

__all__ = ["History"]


class History:
    """Per-epoch records (losses, metrics, LR, time) and per-iteration records (loss, LR).

    Example:
        >>> h = History()
        >>> h.log_epoch({"epoch": 1, "train_loss": 0.5})
        >>> h["train_loss"]
        [0.5]
    """

    def __init__(self, epochs: list[dict[str, Any]] | None = None, steps: list[dict[str, Any]] | None = None) -> None:
        self.epochs: list[dict[str, Any]] = epochs or []
        self.steps: list[dict[str, Any]] = steps or []

    def log_epoch(self, record: dict[str, Any]) -> None:
        """Append one epoch's record (kept by reference, so later additions show)."""
        self.epochs.append(record)

    def log_steps(self, epoch: int, losses: list[float], lrs: list[float]) -> None:
        """Append one epoch's per-iteration losses and learning rates."""
        first = len(self.steps)
        self.steps.extend({"step": first + i + 1, "epoch": epoch, "loss": loss, "lr": lr}
                          for i, (loss, lr) in enumerate(zip(losses, lrs)))

    def __getitem__(self, key: str) -> list[Any]:
        return [record.get(key, math.nan) for record in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list[str]:
        """Every column seen in the epoch records, in first-seen order."""
        seen: dict[str, None] = {}
        for record in self.epochs:
            seen.update(dict.fromkeys(record))
        return list(seen)

    def best(self, monitor: str, higher_is_better: bool = False) -> dict[str, Any] | None:
        """The epoch record with the best value of `monitor` (None if never logged)."""
        rows = [r for r in self.epochs if isinstance(r.get(monitor), (int, float)) and not math.isnan(r[monitor])]
        if not rows:
            return None
        return (max if higher_is_better else min)(rows, key=lambda r: r[monitor])

    @staticmethod
    def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def epochs_csv(self) -> str:
        """The per-epoch records as CSV text."""
        return self._csv(self.epochs, self.keys())

    def steps_csv(self) -> str:
        """The per-iteration records as CSV text."""
        return self._csv(self.steps, ["step", "epoch", "loss", "lr"])

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "steps": self.steps}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> History:
        return cls(list(state.get("epochs", [])), list(state.get("steps", [])))
