"""Callbacks: small objects the Trainer calls at a handful of named events.

Events, in the order they run: `before_fit`, `before_epoch`, `before_batch`,
`after_batch`, `after_epoch`, `after_fit`. A callback overrides only the events it needs;
the Trainer skips the per-batch events entirely when no callback uses them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from neuronet.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.train.trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "LRLogger", "EVENTS"]

EVENTS = ("before_fit", "before_epoch", "before_batch", "after_batch", "after_epoch", "after_fit")


class Callback:
    """Base class: every event does nothing. `logs` is the epoch's record (losses, metrics)."""

    def before_fit(self, trainer: Trainer) -> None: ...
    def before_epoch(self, trainer: Trainer) -> None: ...
    def before_batch(self, trainer: Trainer) -> None: ...
    def after_batch(self, trainer: Trainer, loss: torch.Tensor) -> None: ...
    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def after_fit(self, trainer: Trainer) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What to save in a checkpoint so that a resumed run behaves the same (may hold tensors)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def uses(self, event: str) -> bool:
        """Whether this callback overrides `event`."""
        return getattr(type(self), event) is not getattr(Callback, event)


def _better(mode: str, value: float, best: float, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"The 'mode' parameter must be 'auto', 'min' or 'max'. Got {mode!r} instead.")
    if mode != "auto":
        return mode
    return "min" if any(k in monitor for k in ("loss", "mae", "mse", "rmse")) else "max"


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; restore the best weights.

    Args:
        monitor: Epoch-record key to watch, e.g. "val_loss" or "val_accuracy".
        patience: Epochs without improvement before stopping.
        min_delta: Smallest change that counts as an improvement.
        mode: "min", "max" or "auto" (losses and errors: min; the rest: max).
        restore_best_weights: Load the best epoch's weights when training stops.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        if not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"The 'patience' parameter of EarlyStopping must be an int >= 0. Got {patience!r} instead.")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.wait, self.stopped_epoch = 0, 0, 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            raise ConfigError(f"EarlyStopping monitors '{self.monitor}', which is not logged; "
                              f"logged keys: {', '.join(logs)}. Pass validation data for val_* keys.")
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = logs["epoch"]
                trainer.stop_training = True

    def after_fit(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_weights": self.best_weights or {}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = state["best_weights"] or None


class ModelCheckpoint(Callback):
    """Save the model's weights (safetensors) after an epoch: every epoch, or only on improvement.

    Args:
        path: File to write, e.g. "runs/x/best.safetensors".
        monitor: Key to watch when `save_best_only`.
        save_best_only: Write only when `monitor` improves.
        mode: "min", "max" or "auto".
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", save_best_only: bool = True,
                 mode: str = "auto") -> None:
        self.path, self.monitor, self.save_best_only = Path(path), monitor, save_best_only
        self.mode = _mode_for(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf

    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if self.save_best_only:
            if value is None or not _better(self.mode, value, self.best, 0.0):
                return
            self.best = value
        trainer.save_weights(self.path)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]


class LRLogger(Callback):
    """Add the learning rate at the end of each epoch to the epoch record as `lr`."""

    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        logs["lr"] = trainer.optimizer.param_groups[0]["lr"]
