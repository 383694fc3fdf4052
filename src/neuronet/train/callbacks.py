"""Callbacks: small objects the Trainer calls at a handful of named events.

The contract (`CallbackProtocol`), in the order the events run:

- `before_fit(trainer)`: once, before the first epoch (also when resuming).
- `before_epoch(trainer)`: at the start of each epoch (also an epoch resumed mid-way).
- `before_batch(trainer)`: before each training step.
- `after_batch(trainer, loss)`: after each step; `loss` is the step's loss as a float.
  `trainer.batch` is the number of batches done in this epoch.
- `after_epoch(trainer, logs)`: after validation; `logs` is the epoch's record (losses,
  metrics, lr, time). A callback may add keys to it, or set `trainer.stop_training = True`.
- `after_fit(trainer)`: once, after the last epoch, also when training stops on an error.

A callback implements only the events it needs (the Trainer skips per-batch events that no
callback uses), and `state_dict` / `load_state_dict` if it must survive a resume. `Callback`
is a base class with every event doing nothing. Every neuronet trainer (`Trainer`, `GANTrainer`,
`neuronet.rl.RLTrainer`) runs the same events; `TrainerProtocol` lists what a callback may read
and set on the trainer that calls it.

This module also holds the standard callbacks (`EarlyStopping`, `ModelCheckpoint`,
`SaveCheckpoint`); the trainers' shell (`neuronet.train.loop`) builds them from the trainers'
own options.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.params import Flag, Interval, IsCallable, NoneOk, Options, validate_params
from neuronet.train.history import History

__all__ = ["Callback", "CallbackProtocol", "EarlyStopping", "ModelCheckpoint", "SaveCheckpoint", "EVENTS",
           "TrainerProtocol", "callback_states", "load_callback_states"]

EVENTS = ("before_fit", "before_epoch", "before_batch", "after_batch", "after_epoch", "after_fit")


@runtime_checkable
class TrainerProtocol(Protocol):
    """What a callback may read and set on the trainer that calls it: public state only, the same on every trainer.

    An "epoch" is one record of the history: a pass over the data (supervised) or `log_every`
    environment steps (reinforcement learning); a "batch" is one training step or one iteration.
    """

    model: nn.Module
    task: Any  # the Task (None for reinforcement learning)
    hparams: dict[str, Any]  # the trainer's arguments, as plain values
    history: History
    epoch: int  # epochs completed
    epochs: int  # epochs in the whole fit
    steps_per_epoch: int
    stop_training: bool  # set True to stop after this epoch
    diverged: dict[str, Any] | None  # {"epoch", "batch", "value", "lr"} once the loss became NaN / inf

    @property
    def batch(self) -> int: ...  # batches done in the current epoch
    def save_weights(self, path: str | Path) -> None: ...
    def save_checkpoint(self, path: str | Path) -> None: ...



@runtime_checkable
class CallbackProtocol(Protocol):
    """What the Trainer calls (see the module docstring); any object with these methods will do."""

    def before_fit(self, trainer: TrainerProtocol) -> None: ...
    def before_epoch(self, trainer: TrainerProtocol) -> None: ...
    def before_batch(self, trainer: TrainerProtocol) -> None: ...
    def after_batch(self, trainer: TrainerProtocol, loss: float) -> None: ...
    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None: ...
    def after_fit(self, trainer: TrainerProtocol) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Callback(CallbackProtocol):
    """Base class: every event does nothing (the protocol's own bodies). Subclasses override the events they need."""

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

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        validate_params(EARLY_STOPPING_PARAMS, {"monitor": monitor, "patience": patience, "min_delta": min_delta,
                                                "mode": mode, "restore_best_weights": restore_best_weights},
                        "EarlyStopping")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.wait, self.stopped_epoch = 0, 0, 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
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

    def after_fit(self, trainer: TrainerProtocol) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_weights": self.best_weights or {}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch = state.get("stopped_epoch", 0)
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

    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
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


class SaveCheckpoint(Callback):
    """Save the whole training state (resumable mid-epoch) every N steps, every T seconds and every epoch.

    The file holds the weights, optimizer, schedule, history, every callback's state, the
    position in the epoch's data order and the random-number generators, so that
    `trainer.load_checkpoint(path)` then `fit` ends exactly where an uninterrupted run would.

    Args:
        path: The checkpoint file (written atomically: a reader never sees half a file).
        every_steps: Also save after every this many training steps (None: not by steps).
        every_seconds: Also save when this many seconds have passed since the last save.
        every_epoch: Save at the end of every epoch.
        on_save: Called as on_save(trainer) after each save (the run layer writes its history there).

    Example:
        >>> cb = SaveCheckpoint("ckpt.safetensors", every_steps=100)
    """

    def __init__(self, path: str | Path, every_steps: int | None = None, every_seconds: float | None = None,
                 every_epoch: bool = True, on_save: Callable[[TrainerProtocol], None] | None = None) -> None:
        validate_params(CHECKPOINT_PARAMS, {"path": str(path), "every_steps": every_steps, "every_seconds": every_seconds,
                                            "every_epoch": every_epoch}, "the checkpoint options")
        self.path, self.every_steps, self.every_seconds = Path(path), every_steps, every_seconds
        self.every_epoch, self.on_save = every_epoch, on_save
        self._steps, self._last = 0, time.monotonic()

    def before_fit(self, trainer: TrainerProtocol) -> None:
        self._steps, self._last = 0, time.monotonic()

    def save(self, trainer: TrainerProtocol) -> None:
        trainer.save_checkpoint(self.path)
        self._steps, self._last = 0, time.monotonic()
        if self.on_save is not None:
            self.on_save(trainer)

    def after_batch(self, trainer: TrainerProtocol, loss: float) -> None:
        self._steps += 1
        if (self.every_steps and self._steps >= self.every_steps) or \
                (self.every_seconds and time.monotonic() - self._last >= self.every_seconds):
            self.save(trainer)

    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
        if self.every_epoch:
            self.save(trainer)


def callback_states(callbacks: list[Callback]) -> list[dict[str, Any]]:
    """Every callback's state for a checkpoint, tagged with its type."""
    return [{"type": type(cb).__name__, "state": cb.state_dict()} for cb in callbacks]


def load_callback_states(callbacks: list[Callback], entries: list[dict[str, Any]]) -> None:
    """Restore what `callback_states` saved, matched by type and order (callbacks added later do not shift others)."""
    saved: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        saved.setdefault(entry["type"], []).append(entry["state"])
    for cb in callbacks:
        states = saved.get(type(cb).__name__)
        if states:
            cb.load_state_dict(states.pop(0))


class _Text:
    """A non-empty string (a local constraint for the options below)."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value)

    def __str__(self) -> str:
        return "a non-empty string"


EARLY_STOPPING_PARAMS = {
    "monitor": [_Text()],
    "patience": [Interval(int, 0, None)],
    "min_delta": [Interval(float, 0, None)],
    "mode": [Options("auto", "min", "max")],
    "restore_best_weights": [Flag()],
}
CHECKPOINT_PARAMS = {
    "path": [_Text()],
    "every_steps": [Interval(int, 0, None, closed="neither"), NoneOk()],
    "every_seconds": [Interval(float, 0, None, closed="neither"), NoneOk()],
    "every_epoch": [Flag()],
    "on_save": [IsCallable(), NoneOk()],
}
