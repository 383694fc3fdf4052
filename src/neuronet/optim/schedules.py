"""Learning-rate schedules by name, each built on PyTorch's `lr_scheduler`.

A `Schedule` knows whether it steps after every batch ("step") or every epoch ("epoch"),
and whether it needs a monitored metric (reduce-on-plateau).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.optim import lr_scheduler as sched

from neuronet.errors import ConfigError
from neuronet.registry import Registry

__all__ = ["SCHEDULES", "Schedule", "build_schedule"]


@dataclass
class Schedule:
    """A PyTorch LR scheduler plus when to step it."""

    scheduler: sched.LRScheduler | sched.ReduceLROnPlateau
    interval: Literal["step", "epoch"]
    monitor: str | None = None

    def step(self, metric: float | None = None) -> None:
        """Advance the schedule (with the monitored metric for reduce-on-plateau)."""
        if isinstance(self.scheduler, sched.ReduceLROnPlateau):
            if metric is not None:
                self.scheduler.step(metric)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


Builder = Callable[..., Schedule]
SCHEDULES: Registry[Builder] = Registry("schedule")


@SCHEDULES.register("step", "Step decay: multiply the LR by `gamma` every `step_size` epochs.")
def step_decay(opt, epochs: int, steps_per_epoch: int, step_size: int | None = None, gamma: float = 0.1) -> Schedule:
    return Schedule(sched.StepLR(opt, step_size=step_size or max(1, epochs // 3), gamma=gamma), "epoch")


@SCHEDULES.register("exponential", "Exponential decay: multiply the LR by `gamma` after every epoch.")
def exponential(opt, epochs: int, steps_per_epoch: int, gamma: float = 0.95) -> Schedule:
    return Schedule(sched.ExponentialLR(opt, gamma=gamma), "epoch")


@SCHEDULES.register("cosine", "Cosine annealing from the LR to `eta_min` over the whole run, per batch.")
def cosine(opt, epochs: int, steps_per_epoch: int, eta_min: float = 0.0) -> Schedule:
    return Schedule(sched.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch, eta_min=eta_min), "step")


@SCHEDULES.register("one_cycle", "One-cycle: warm up to `max_lr` then anneal, per batch (Smith 2018).")
def one_cycle(opt, epochs: int, steps_per_epoch: int, max_lr: float | None = None, pct_start: float = 0.3) -> Schedule:
    max_lr = max_lr or opt.param_groups[0]["lr"]
    return Schedule(sched.OneCycleLR(opt, max_lr=max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                     pct_start=pct_start), "step")


@SCHEDULES.register("reduce_on_plateau", "Divide the LR by 1/`factor` when the monitored metric stops improving.")
def reduce_on_plateau(opt, epochs: int, steps_per_epoch: int, monitor: str = "val_loss", mode: str = "min",
                      factor: float = 0.1, patience: int = 5, min_lr: float = 0.0) -> Schedule:
    plateau = sched.ReduceLROnPlateau(opt, mode=mode, factor=factor, patience=patience, min_lr=min_lr)
    return Schedule(plateau, "epoch", monitor)


@SCHEDULES.register("warmup", "Linear warm-up over `warmup_steps` batches, then constant or cosine (`then`).")
def warmup(opt, epochs: int, steps_per_epoch: int, warmup_steps: int | None = None,
           start_factor: float = 0.01, then: Literal["constant", "cosine"] = "constant") -> Schedule:
    total = epochs * steps_per_epoch
    warm = warmup_steps or max(1, total // 10)
    ramp = sched.LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warm)
    if then == "constant":
        return Schedule(ramp, "step")
    if then != "cosine":
        raise ConfigError(f"The 'then' parameter of warmup must be 'constant' or 'cosine'. Got {then!r} instead.")
    tail = sched.CosineAnnealingLR(opt, T_max=max(1, total - warm))
    return Schedule(sched.SequentialLR(opt, [ramp, tail], milestones=[warm]), "step")


def build_schedule(name: str, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
                   **kwargs: Any) -> Schedule:
    """Build a schedule by name.

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
    builder = SCHEDULES.get(name)
    try:
        return builder(optimizer, epochs, steps_per_epoch, **kwargs)
    except TypeError as err:
        raise ConfigError(f"Bad arguments for schedule '{name}' ({kwargs}): {err}.") from err
