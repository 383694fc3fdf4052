"""Learning-rate schedules by name, each built on PyTorch's `lr_scheduler`.

A `Schedule` knows whether it steps after every batch ("step") or every epoch ("epoch"),
and whether it needs a monitored metric (reduce-on-plateau).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import torch
from torch.optim import lr_scheduler as sched

from neuronet.errors import ConfigError
from neuronet.registry import Registry, suggest

__all__ = ["SCHEDULES", "Built", "Schedule", "build_schedule", "check_schedule_arguments"]


class Built(NamedTuple):
    """A PyTorch LR scheduler plus when to step it."""

    scheduler: sched.LRScheduler | sched.ReduceLROnPlateau
    interval: Literal["step", "epoch"]
    monitor: str | None = None


def check_schedule_arguments(name: str, kwargs: dict[str, Any]) -> Builder:
    """The builder of schedule `name`; a ConfigError for an unknown name or argument."""
    builder = SCHEDULES.get(name)
    accepted = [p for p in inspect.signature(builder).parameters if p not in ("opt", "epochs", "steps_per_epoch")]
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise ConfigError(f"Bad arguments for schedule '{name}' ({kwargs}): no parameter '{unknown[0]}'."
                          f"{suggest(unknown[0], accepted)} Valid: {', '.join(accepted) or 'none'}.")
    return builder


class Schedule:
    """A learning-rate schedule by name, made when the Trainer is, bound to the batch count when fit starts.

    Schedules that span the whole run (cosine, one-cycle, warm-up) need the number of
    batches per epoch, which is known only from the training data: `bind` builds PyTorch's
    scheduler then. The state round-trips before binding too (a checkpoint loaded and saved
    again without training keeps it).

    Args:
        name: One of `SCHEDULES.names()`.
        optimizer: The optimizer whose LR it drives.
        epochs: Planned epochs.
        **kwargs: The schedule's own arguments (e.g. `gamma=0.5`).

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.SGD([w], lr=1.0)
        >>> s = Schedule("exponential", opt, 10, gamma=0.5).bind(5)
        >>> opt.step(); s.step(); s.scheduler.get_last_lr()
        [0.5]
    """

    def __init__(self, name: str, optimizer: torch.optim.Optimizer, epochs: int, **kwargs: Any) -> None:
        self.builder = check_schedule_arguments(name, kwargs)
        self.name, self.optimizer, self.epochs, self.kwargs = name, optimizer, epochs, kwargs
        self.steps_per_epoch: int | None = None
        self.scheduler: sched.LRScheduler | sched.ReduceLROnPlateau | None = None
        self.interval: str | None = None
        self.monitor: str | None = None
        self._pending: dict[str, Any] | None = None

    def bind(self, steps_per_epoch: int) -> Schedule:
        """Build PyTorch's scheduler for `steps_per_epoch` batches per epoch (once; again if the count changes)."""
        if self.scheduler is not None and steps_per_epoch == self.steps_per_epoch:
            return self
        # Building a scheduler resets the optimizer's hyper-parameters (lr; one-cycle also Adam's betas).
        current = [{k: v for k, v in group.items() if k != "params"} for group in self.optimizer.param_groups]
        try:
            built = self.builder(self.optimizer, self.epochs, steps_per_epoch, **self.kwargs)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"Bad arguments for schedule '{self.name}' ({self.kwargs}): {err}.") from err
        self.scheduler, self.interval, self.monitor = built
        self.steps_per_epoch = steps_per_epoch
        if self._pending is not None:  # resuming: the scheduler's state, and the optimizer's settings of then
            self.scheduler.load_state_dict(self._pending)
            self._pending = None
            for group, saved in zip(self.optimizer.param_groups, current):
                group.update(saved)
        return self

    def step(self, metric: float | None = None) -> None:
        """Advance the schedule (with the monitored metric for reduce-on-plateau)."""
        if isinstance(self.scheduler, sched.ReduceLROnPlateau):
            if metric is not None:
                self.scheduler.step(metric)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any] | None:
        return self.scheduler.state_dict() if self.scheduler is not None else self._pending

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state is None:
            return
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)
        else:
            self._pending = state


Builder = Callable[..., Built]
SCHEDULES: Registry[Builder] = Registry("schedule")


@SCHEDULES.register("step", "Step decay: multiply the LR by `gamma` every `step_size` epochs.")
def step_decay(opt, epochs: int, steps_per_epoch: int, step_size: int | None = None, gamma: float = 0.1) -> Built:
    return Built(sched.StepLR(opt, step_size=step_size or max(1, epochs // 3), gamma=gamma), "epoch")


@SCHEDULES.register("exponential", "Exponential decay: multiply the LR by `gamma` after every epoch.")
def exponential(opt, epochs: int, steps_per_epoch: int, gamma: float = 0.95) -> Built:
    return Built(sched.ExponentialLR(opt, gamma=gamma), "epoch")


@SCHEDULES.register("cosine", "Cosine annealing from the LR to `eta_min` over the whole run, per batch.")
def cosine(opt, epochs: int, steps_per_epoch: int, eta_min: float = 0.0) -> Built:
    return Built(sched.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch, eta_min=eta_min), "step")


@SCHEDULES.register("one_cycle", "One-cycle: warm up to `max_lr` then anneal, per batch (Smith 2018).")
def one_cycle(opt, epochs: int, steps_per_epoch: int, max_lr: float | None = None, pct_start: float = 0.3) -> Built:
    max_lr = max_lr or opt.param_groups[0]["lr"]
    return Built(sched.OneCycleLR(opt, max_lr=max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                     pct_start=pct_start), "step")


@SCHEDULES.register("reduce_on_plateau", "Divide the LR by 1/`factor` when the monitored metric stops improving.")
def reduce_on_plateau(opt, epochs: int, steps_per_epoch: int, monitor: str = "val_loss", mode: str = "min",
                      factor: float = 0.1, patience: int = 5, min_lr: float = 0.0) -> Built:
    plateau = sched.ReduceLROnPlateau(opt, mode=mode, factor=factor, patience=patience, min_lr=min_lr)
    return Built(plateau, "epoch", monitor)


@SCHEDULES.register("warmup", "Linear warm-up over `warmup_steps` batches, then constant or cosine (`then`).")
def warmup(opt, epochs: int, steps_per_epoch: int, warmup_steps: int | None = None,
           start_factor: float = 0.01, then: Literal["constant", "cosine"] = "constant") -> Built:
    total = epochs * steps_per_epoch
    warm = warmup_steps or max(1, total // 10)
    if warm >= total:
        warnings.warn(f"warmup: warmup_steps ({warm}) is not shorter than the whole run ({epochs} epochs x "
                      f"{steps_per_epoch} batches = {total} steps), so the learning rate never reaches lr; use "
                      "fewer warmup steps or more epochs.", UserWarning, stacklevel=2)
    ramp = sched.LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warm)
    if then == "constant":
        return Built(ramp, "step")
    if then != "cosine":
        raise ConfigError(f"The 'then' parameter of warmup must be 'constant' or 'cosine'. Got {then!r} instead.")
    tail = sched.CosineAnnealingLR(opt, T_max=max(1, total - warm))
    return Built(sched.SequentialLR(opt, [ramp, tail], milestones=[warm]), "step")


def build_schedule(name: str, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
                   **kwargs: Any) -> Schedule:
    """Build a schedule by name, bound to `steps_per_epoch` batches per epoch.

    Args:
        name: One of `SCHEDULES.names()`.
        optimizer: The optimizer whose LR it drives.
        epochs: Planned epochs (schedules that span the run need it).
        steps_per_epoch: Batches per epoch.
        **kwargs: The schedule's own arguments (e.g. `gamma=0.5`).

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.SGD([w], lr=1.0)
        >>> s = build_schedule("exponential", opt, 10, 5, gamma=0.5)
        >>> opt.step(); s.step(); s.scheduler.get_last_lr()
        [0.5]
    """
    return Schedule(name, optimizer, epochs, **kwargs).bind(steps_per_epoch)
