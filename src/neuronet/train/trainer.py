"""`Trainer`: fit / evaluate / predict any `torch.nn.Module`, built from small explicit steps.

The building blocks (`train_step`, `eval_step`, `save_checkpoint`, `load_checkpoint`) are
public; `fit` is a plain loop over them. A parity test checks that `fit` gives the same
weights as a hand-written PyTorch loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from neuronet.datasets import Dataset, epoch_permutation, num_batches, tensor_batches
from neuronet.errors import ConfigError, TrainingDivergedError
from neuronet.nn import loss_fn, loss_task
from neuronet.optim import Schedule, build_optimizer, build_schedule
from neuronet.train.callbacks import EVENTS, Callback
from neuronet.train.checkpoint import atomic_save_file, load_state, save_state
from neuronet.train.history import History
from neuronet.train.metrics import check_metrics, compute_metrics, default_metrics, predicted_labels, probabilities
from neuronet.train.progress import ProgressBar

__all__ = ["Trainer", "resolve_device"]

Data = Dataset | DataLoader | torch.utils.data.Dataset


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' → CUDA when available, else CPU; anything else as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no CUDA GPU is available; use device 'auto' or 'cpu'.")
    return device


def _check(name: str, value: Any, ok: bool, want: str) -> None:
    if not ok:
        raise ConfigError(f"The '{name}' parameter of Trainer must be {want}. Got {value!r} instead.")


class Trainer:
    """Train, evaluate and predict with any `nn.Module`.

    Args:
        model: The network (moved to `device`).
        loss: Loss name (see `neuronet.nn.LOSSES`) or a callable `(outputs, targets) -> loss`.
        optimizer: Optimizer name (see `neuronet.optim.OPTIMIZERS`) or a built optimizer.
        lr: Learning rate (float > 0).
        batch_size: Examples per mini-batch.
        epochs: Passes over the training data.
        seed: Seeds the data order and the global RNG (dropout) of each epoch.
        callbacks: Callback objects (e.g. `EarlyStopping`).
        metrics: Metric names (default: accuracy for classification, MAE for regression).
        weight_decay: The optimizer's weight decay.
        l1, l2: Penalties `l1 * sum|w|` and `l2 * sum w^2` on weight matrices (not biases).
        grad_clip: Clip the global gradient norm to this value.
        schedule: LR schedule name (see `neuronet.optim.SCHEDULES`), with `schedule_kwargs`.
        optimizer_kwargs: Extra arguments for the optimizer (e.g. `betas`).
        device: "auto", "cpu", "cuda" or a torch.device.
        progress: Show a live progress bar.
        in_memory: Batch a `Dataset` by slicing tensors on the device (False: a DataLoader).
        augment: Applied to each training batch on the device, e.g.
            `nt.datasets.build_augmentations([{"type": "hflip"}])` (never to evaluation data).
        loss_kwargs: Arguments of the loss, e.g. {"weight": class_weights} for cross_entropy.
        train_metrics: Also report the metrics on the training batches of each epoch (keeps
            the epoch's outputs; False saves ~10 µs per step on tiny models).

    Example:
        >>> import neuronet as nt
        >>> train, val, test = nt.datasets.load("iris").split(seed=0)
        >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), lr=0.01, epochs=2, progress=False)
        >>> len(trainer.fit(train, val=val))
        2
    """

    def __init__(self, model: nn.Module, loss: str | Callable = "cross_entropy",
                 optimizer: str | torch.optim.Optimizer = "adam", lr: float = 1e-3, batch_size: int = 32,
                 epochs: int = 10, seed: int = 0, callbacks: Sequence[Callback] = (),
                 metrics: Sequence[str] | None = None, weight_decay: float = 0.0, l1: float = 0.0, l2: float = 0.0,
                 grad_clip: float | None = None, schedule: str | None = None,
                 schedule_kwargs: dict[str, Any] | None = None, optimizer_kwargs: dict[str, Any] | None = None,
                 device: str | torch.device = "auto", progress: bool = True, in_memory: bool = True,
                 train_metrics: bool = True, loss_kwargs: dict[str, Any] | None = None,
                 augment: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None) -> None:
        _check("batch_size", batch_size, isinstance(batch_size, int) and batch_size > 0, "an int > 0")
        _check("epochs", epochs, isinstance(epochs, int) and epochs > 0, "an int > 0")
        for name, value in (("l1", l1), ("l2", l2)):
            _check(name, value, isinstance(value, (int, float)) and value >= 0, "a float >= 0")
        _check("grad_clip", grad_clip, grad_clip is None or grad_clip > 0, "None or a float > 0")
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn(loss, **(loss_kwargs or {}))
        if isinstance(self.loss_fn, nn.Module):
            self.loss_fn.to(self.device)  # e.g. class weights
        self.kind = loss_task(loss if isinstance(loss, str) else self.loss_fn)
        self.metrics = list(metrics) if metrics is not None else default_metrics(self.kind)
        check_metrics(self.metrics, self.kind)
        if isinstance(optimizer, torch.optim.Optimizer):
            self.optimizer = optimizer
        else:
            self.optimizer = build_optimizer(optimizer, self.model.parameters(), lr, weight_decay=weight_decay,
                                             **(optimizer_kwargs or {}))
        self.batch_size, self.epochs, self.seed = batch_size, epochs, seed
        self.l1, self.l2, self.grad_clip, self.in_memory = l1, l2, grad_clip, in_memory
        self.train_metrics, self.augment = train_metrics, augment
        self.schedule_name, self.schedule_kwargs = schedule, dict(schedule_kwargs or {})
        self.schedule: Schedule | None = None
        self.callbacks: list[Callback] = []
        self._by_event: dict[str, list[Callback]] = {e: [] for e in EVENTS}
        for callback in [*callbacks, *([ProgressBar()] if progress else [])]:
            self.add_callback(callback)
        self._penalized = [p for p in self.model.parameters() if p.ndim > 1]
        self.history = History()
        self.epoch = 0  # epochs completed
        self.steps_per_epoch = 0
        self.stop_training = False
        self._pending_schedule_state: dict[str, Any] | None = None
        self._device_data: dict[int, tuple[Dataset, Dataset]] = {}

    def add_callback(self, callback: Callback) -> None:
        """Append a callback (it runs after the ones already there)."""
        if not isinstance(callback, Callback):
            raise ConfigError(f"Trainer callbacks must be neuronet.callbacks.Callback objects. Got {callback!r} instead.")
        self.callbacks.append(callback)
        self._by_event = {e: [cb for cb in self.callbacks if cb.uses(e)] for e in EVENTS}

    # --- building blocks ---------------------------------------------------------------
    def penalty(self) -> torch.Tensor | float:
        """The L1 + L2 penalty on weight matrices (0 when both are off)."""
        total: torch.Tensor | float = 0.0
        if self.l1:
            total = total + self.l1 * sum(p.abs().sum() for p in self._penalized)
        if self.l2:
            total = total + self.l2 * sum(p.pow(2).sum() for p in self._penalized)
        return total

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step on a batch; returns the (detached) data loss and outputs."""
        out = self.model(x)
        loss = self.loss_fn(out, y)
        objective = loss + self.penalty() if (self.l1 or self.l2) else loss
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip, foreach=True)
        self.optimizer.step()
        return loss.detach(), tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()

    @torch.no_grad()
    def eval_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and outputs on a batch, without gradients (call `model.eval()` first)."""
        out = self.model(x)
        return self.loss_fn(out, y), out

    # --- data ----------------------------------------------------------------------------
    def _on_device(self, data: Dataset) -> Dataset:
        """`data` on the training device, copied once and kept for the next epochs (train, val)."""
        if self.device.type == "cpu":
            return data
        cached = self._device_data.get(id(data))
        if cached is None or cached[0] is not data:
            cached = (data, data.to(self.device))
            self._device_data[id(data)] = cached
            while len(self._device_data) > 3:  # bounded: predictions on many sets do not pile up
                self._device_data.pop(next(iter(self._device_data)))
        return cached[1]

    def batches(self, data: Data, shuffle: bool = False, epoch: int = 0,
                batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Mini-batches on the device; the order is a function of (seed, epoch) only."""
        size = batch_size or self.batch_size
        if isinstance(data, Dataset) and self.in_memory:
            moved = self._on_device(data)
            order = epoch_permutation(len(moved), self.seed, epoch, self.device) if shuffle else None
            yield from tensor_batches(moved.x, moved.y, size, order)
            return
        if isinstance(data, DataLoader):
            loader = data
        else:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            loader = DataLoader(data, batch_size=size, shuffle=shuffle, generator=generator)
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def _count_batches(self, data: Data) -> int:
        return len(data) if isinstance(data, DataLoader) else num_batches(len(data), self.batch_size)

    # --- the loop --------------------------------------------------------------------------
    def _emit(self, event: str, *args: Any) -> None:
        for cb in self._by_event[event]:
            getattr(cb, event)(self, *args)

    def _ensure_schedule(self) -> None:
        if self.schedule_name and self.schedule is None:
            self.schedule = build_schedule(self.schedule_name, self.optimizer, self.epochs, self.steps_per_epoch,
                                           **self.schedule_kwargs)
            if self._pending_schedule_state is not None:
                self.schedule.load_state_dict(self._pending_schedule_state)

    def fit(self, train: Data, val: Data | None = None) -> History:
        """Train for the remaining epochs (all of them, or those left after `load_checkpoint`).

        Returns:
            The History: per-epoch losses and metrics, per-iteration losses and LRs.

        Raises:
            TrainingDivergedError: the loss became NaN/inf; the last good weights are restored.
        """
        self.steps_per_epoch = self._count_batches(train)
        self._ensure_schedule()
        self.stop_training = False
        rng_devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices):
            self._emit("before_fit")
            try:
                while self.epoch < self.epochs and not self.stop_training:
                    self._fit_epoch(train, val)
            finally:
                self._emit("after_fit")
        return self.history

    def _fit_epoch(self, train: Data, val: Data | None) -> None:
        epoch = self.epoch
        self._seed_global_rng(self.seed * 1_000_003 + epoch)  # dropout etc.: a function of (seed, epoch)
        last_good = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.train()
        self._emit("before_epoch")
        start = time.perf_counter()
        losses, outputs, targets, lrs = [], [], [], []
        per_step = self.schedule is not None and self.schedule.interval == "step"
        on_cpu = self.device.type == "cpu"
        keep_outputs = self.train_metrics and bool(self.metrics)
        y_seen = None  # hard labels for train metrics when augmentation makes soft ones
        before, after = self._by_event["before_batch"], self._by_event["after_batch"]
        lr = self.optimizer.param_groups[0]["lr"]
        for x, y in self.batches(train, shuffle=True, epoch=epoch):
            for cb in before:
                cb.before_batch(self)
            if self.augment is not None:
                x, y = self.augment(x, y)
                if y.is_floating_point() and self.kind == "multiclass":  # mixup: soft labels
                    y_seen = y.argmax(dim=1)
            loss, out = self.train_step(x, y)
            if per_step:
                lrs.append(self.optimizer.param_groups[0]["lr"])  # the LR this step used
                self.schedule.step()
            losses.append(loss.item() if on_cpu else loss)  # on a GPU, no sync per step
            if keep_outputs:
                outputs.append(out)
                targets.append(y_seen if y_seen is not None else y)
                y_seen = None
            for cb in after:
                cb.after_batch(self, loss)
            if len(losses) % 50 == 0 and not math.isfinite(float(losses[-1])):
                break
        step_losses = torch.tensor(losses) if on_cpu else torch.stack(losses).float().cpu()
        if not torch.isfinite(step_losses).all():
            self._diverged(epoch, step_losses, last_good)
        logs: dict[str, Any] = {"epoch": epoch + 1, "train_loss": float(step_losses.mean())}
        if keep_outputs:
            logs.update(compute_metrics(self.metrics, torch.cat(outputs), torch.cat(targets), self.kind, "train_"))
        logs.update(self.epoch_logs())
        if val is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(val).items()})
        logs["time"] = time.perf_counter() - start
        self.history.log_steps(epoch + 1, step_losses.tolist(), lrs if per_step else [lr] * len(losses))
        self.epoch += 1
        if self.schedule is not None and self.schedule.interval == "epoch":
            self.schedule.step(logs.get(self.schedule.monitor) if self.schedule.monitor else None)
        self.history.log_epoch(logs)  # the same dict: callbacks may add keys (e.g. lr)
        self._emit("after_epoch", logs)

    def epoch_logs(self) -> dict[str, float]:
        """Extra entries for the epoch record; subclasses (e.g. GANTrainer) add their own."""
        return {}

    def _seed_global_rng(self, seed: int) -> None:
        # torch.manual_seed also walks every accelerator backend (~80 µs); seed only what is used.
        torch.default_generator.manual_seed(seed)
        if self.device.type == "cuda":
            torch.cuda.manual_seed(seed)

    def _diverged(self, epoch: int, step_losses: torch.Tensor, last_good: dict[str, torch.Tensor]) -> None:
        bad_step = int((~torch.isfinite(step_losses)).nonzero()[0]) + 1
        self.model.load_state_dict(last_good)
        lr = self.optimizer.param_groups[0]["lr"]
        restored = f"the weights from the end of epoch {epoch}" if epoch else "the initial weights"
        raise TrainingDivergedError(
            f"The training loss became {step_losses[bad_step - 1].item()} at epoch {epoch + 1}, batch {bad_step}; "
            f"training stopped and {restored} were restored. "
            f"The learning rate ({lr:g}) may be too high: try a smaller one or grad_clip."
        )

    # --- evaluation and prediction ---------------------------------------------------------
    @torch.no_grad()
    def outputs(self, data: Data) -> tuple[torch.Tensor, torch.Tensor]:
        """Model outputs and targets over a whole data set, in eval mode, in order."""
        self.model.eval()
        outs, ys = [], []
        for x, y in self.batches(data, shuffle=False, batch_size=max(self.batch_size, 1024)):
            outs.append(self.model(x))
            ys.append(y)
        if isinstance(outs[0], tuple):  # e.g. a VAE's (reconstruction, mu, logvar)
            return tuple(torch.cat(parts) for parts in zip(*outs)), torch.cat(ys)
        return torch.cat(outs), torch.cat(ys)

    def evaluate(self, data: Data, metrics: Sequence[str] | None = None) -> dict[str, float]:
        """Loss and metrics on `data`: {"loss": ..., "accuracy": ...}."""
        out, y = self.outputs(data)
        with torch.no_grad():
            results = {"loss": float(self.loss_fn(out, y))}
        results.update(compute_metrics(metrics or self.metrics, out, y, self.kind))
        return results

    def predict(self, data: Data | torch.Tensor) -> torch.Tensor:
        """Class indices (classification) or values (regression) for every example."""
        out = self._forward_all(data)
        return out if self.kind == "regression" else predicted_labels(out, self.kind)

    def predict_proba(self, data: Data | torch.Tensor) -> torch.Tensor:
        """Class probabilities (N, classes); for a binary model, P(class 1) as (N, 2)."""
        if self.kind == "regression":
            raise ConfigError("predict_proba needs a classification model (cross_entropy or binary_cross_entropy loss).")
        return probabilities(self._forward_all(data), self.kind)

    def _forward_all(self, data: Data | torch.Tensor) -> torch.Tensor:
        if isinstance(data, torch.Tensor):
            data = torch.utils.data.TensorDataset(data, torch.zeros(len(data)))
        return self.outputs(data)[0]

    # --- persistence ------------------------------------------------------------------------
    def save_weights(self, path: str | Path) -> None:
        """Write the model's weights to a safetensors file (atomically)."""
        atomic_save_file(dict(self.model.state_dict()), path)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: weights, optimizer, schedule, epoch, history, callbacks."""
        return {
            "model": dict(self.model.state_dict()), "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule else None, "epoch": self.epoch,
            "history": self.history.to_dict(), "callbacks": [cb.state_dict() for cb in self.callbacks],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; `fit` then continues with the next epoch."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._pending_schedule_state = state["schedule"]
        self.schedule = None
        self.epoch = state["epoch"]
        self.history = History.from_dict(state["history"])
        for cb, cb_state in zip(self.callbacks, state["callbacks"]):
            cb.load_state_dict(cb_state)

    def save_checkpoint(self, path: str | Path) -> None:
        """Write `state_dict()` to a safetensors file (tensors) with JSON metadata (the rest)."""
        save_state(path, self.state_dict())

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a `save_checkpoint` file."""
        self.load_state_dict(load_state(path, self.device))
