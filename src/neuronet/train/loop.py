"""`LoopShell`: what every neuronet trainer shares — callbacks and their events, the RNG fork, saving.

The supervised `Trainer` (and `GANTrainer` on it) and `neuronet.rl.RLTrainer` build on this
one base, as Stable-Baselines3's algorithms build on `BaseAlgorithm`: each writes only its
own loop (`fit` → epochs → steps) and its own state, and gets from here

- the callbacks: `add_callback` (with the check that a callback has every event, and
  `SaveCheckpoint` kept last so that it saves every other callback's state), `emit`, and
  the standard callbacks its options ask for (early stopping, the progress bar, the doctor,
  periodic checkpoints);
- the frame of `fit` (`fitting`): the random-number generators forked, so that the user's
  own are left alone, `before_fit` first and `after_fit` last, even on an error;
- `NonFiniteLoss`, which a training step raises before it changes any weight;
- saving: the weights (safetensors), and the whole resumable state (`save_checkpoint` /
  `load_checkpoint`) of which this class writes the shared part (position, history, callbacks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.train.callbacks import (EVENTS, Callback, EarlyStopping, SaveCheckpoint, callback_states,
                                      load_callback_states)
from neuronet.train.checkpoint import atomic_save_file, load_state, save_state
from neuronet.train.doctor import Doctor
from neuronet.train.history import History
from neuronet.train.progress import ProgressBar

__all__ = ["LoopShell", "NonFiniteLoss"]


class NonFiniteLoss(Exception):
    """A training step's loss was NaN or infinite; raised before the weights change (`fit` turns it into a
    TrainingDivergedError that says where; `lr_find` stops its curve there)."""

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.value = value


class LoopShell:
    """The base of the trainers: callbacks, events, the forked RNG, checkpoints and weights.

    A subclass sets `model`, `device`, `hparams`, `task`, `epochs` and `steps_per_epoch`, has a
    `batch` count, writes `fit` inside `with self.fitting():`, and extends `state_dict` /
    `load_state_dict` with its own state. It may swap the progress bar or the doctor for its own
    (`progress_bar`, `doctor_callback`), as `RLTrainer` does.

    Args:
        callbacks: Callback objects, run in this order, before the standard ones.
        early_stopping: True, EarlyStopping's arguments, or an EarlyStopping (None / False: none).
        checkpoint: SaveCheckpoint's arguments (None: no periodic checkpoint).
        progress: Show the live progress bar.
        doctor: Run the doctor: True, False or the doctor callback's arguments.

    Example:
        >>> import neuronet as nt
        >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), progress=False)
        >>> isinstance(trainer, LoopShell), [type(cb).__name__ for cb in trainer.callbacks]
        (True, ['Doctor'])
    """

    progress_bar: type[ProgressBar] = ProgressBar
    doctor_callback: type[Doctor] = Doctor
    model: nn.Module
    device: torch.device

    def __init__(self, callbacks: Sequence[Callback] = (), early_stopping: Any = None,
                 checkpoint: dict[str, Any] | None = None, progress: bool = True,
                 doctor: bool | dict[str, Any] = True) -> None:
        self.callbacks: list[Callback] = []
        self._by_event: dict[str, list[Callback]] = {e: [] for e in EVENTS}
        made = self.standard_callbacks(early_stopping, checkpoint, progress, doctor)
        self.doctor: Doctor | None = next((cb for cb in made if isinstance(cb, Doctor)), None)
        for callback in [*callbacks, *made]:
            self.add_callback(callback)
        self.history = History()
        self.epoch = 0  # epochs completed
        self.stop_training = False
        self.diverged: dict[str, Any] | None = None  # where the loss became NaN / inf, if it did

    # --- callbacks ---------------------------------------------------------------------------
    def standard_callbacks(self, early_stopping: Any, checkpoint: dict[str, Any] | None, progress: bool,
                           doctor: bool | dict[str, Any]) -> list[Callback]:
        """The callbacks the trainer's own options ask for: early stopping, the progress bar, the doctor,
        periodic checkpoints (in that order)."""
        made: list[Callback] = []
        if isinstance(early_stopping, EarlyStopping):
            made.append(early_stopping)
        elif early_stopping:
            made.append(EarlyStopping(**({} if early_stopping is True else early_stopping)))
        if progress:
            made.append(self.progress_bar())
        if doctor:
            made.append(self.doctor_callback(**({} if doctor is True else doctor)))
        if checkpoint:
            made.append(SaveCheckpoint(**checkpoint))
        return made

    def add_callback(self, callback: Callback) -> None:
        """Add a callback; it runs after the ones already there, but before any SaveCheckpoint
        (which runs last, so that it saves every other callback's state).

        Raises:
            ConfigError: the object lacks one of the events (see `neuronet.train.callbacks`).
        """
        missing = [e for e in EVENTS if not callable(getattr(callback, e, None))]
        if missing:
            raise ConfigError(f"{type(self).__name__} callbacks need the events {', '.join(EVENTS)} (subclass "
                              f"neuronet.train.Callback); {callback!r} lacks {', '.join(missing)}.")
        savers = [i for i, cb in enumerate(self.callbacks) if isinstance(cb, SaveCheckpoint)]
        at = savers[0] if savers and not isinstance(callback, SaveCheckpoint) else len(self.callbacks)
        self.callbacks.insert(at, callback)
        uses = lambda cb, e: cb.uses(e) if isinstance(cb, Callback) else True  # noqa: E731
        self._by_event = {e: [cb for cb in self.callbacks if uses(cb, e)] for e in EVENTS}

    def callbacks_for(self, event: str) -> list[Callback]:
        """The callbacks that implement `event`, in order (a loop looks them up once, outside its batches)."""
        return self._by_event[event]

    def emit(self, event: str, *args: Any) -> None:
        """Call `event` on every callback that implements it, with this trainer and `args`."""
        for cb in self._by_event[event]:
            getattr(cb, event)(self, *args)

    # --- the frame of fit ---------------------------------------------------------------------
    def forked_rng(self) -> contextlib.AbstractContextManager:
        """A context in which the global RNGs (CPU, and this trainer's GPU) may be reseeded: restored after."""
        return torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])

    @contextlib.contextmanager
    def fitting(self) -> Iterator[None]:
        """The frame of `fit`: the RNGs forked, `before_fit` first, and `after_fit` last even when training stops
        on an error (with `stop_training` cleared, so that a later `fit` continues)."""
        with self.forked_rng():
            self.emit("before_fit")
            try:
                yield
            finally:
                self.stop_training = False
                self.emit("after_fit")

    # --- persistence ---------------------------------------------------------------------------
    def save_weights(self, path: str | Path) -> None:
        """Write the model's weights to a safetensors file (atomically)."""
        atomic_save_file(dict(self.model.state_dict()), path)

    def state_dict(self) -> dict[str, Any]:
        """The shared part of the resumable state: epochs done, whether to stop, the history, every callback's state
        (subclasses add their own)."""
        return {"epoch": self.epoch, "stop_training": self.stop_training, "history": self.history.to_dict(),
                "callbacks": callback_states(self.callbacks)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        self.epoch = int(state["epoch"])
        self.stop_training = bool(state.get("stop_training", False))
        self.history = History.from_dict(state["history"])
        load_callback_states(self.callbacks, state["callbacks"])

    def save_checkpoint(self, path: str | Path) -> None:
        """Write `state_dict()` to a safetensors file (tensors) with JSON metadata (the rest), atomically."""
        save_state(path, self.state_dict())

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a `save_checkpoint` file; `fit` then continues where it was."""
        self.load_state_dict(load_state(path, self.device))
