"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates"; fastai's `lr_find`).

Train for a short while with the learning rate growing geometrically from `start_lr` to
`end_lr`, one step per mini-batch, and record the loss. The loss first stays flat (the LR is
too small to matter), then falls, reaches a minimum and blows up. A good LR lies on the
falling part, well before the minimum. The trainer is left exactly as it was: its whole
state (weights, optimizer, schedule, precision scaler, history, callbacks) is saved before
and restored after, and the random-number generators are forked. It drives the trainer through
its public pieces only (`RangeTestable`: `setup`, `batches`, `train_step`, `state_dict`...), so
`Trainer.lr_find(train)` is this function with the trainer as its first argument.

The suggestion (`suggestion_from`) is the steepest descent of the smoothed loss against
log10(lr), looked for before the minimum and away from the ends of the curve, then kept
within one decade below a tenth of the LR at the minimum (fastai's "minimum / 10"):

    suggestion = clip(steepest, min_div_10 / 10, min_div_10)

The minimum is where training is about to become unstable, so a tenth of it bounds the
safe LRs from above, and a steepest point that sits further than that below it is the
noise of the flat start or a small early dip rather than the descent. Where the curve has
no usable descent (the loss never fell by 5% from its start, or fewer than 10 points were
recorded before it diverged) the suggestion is None and `reason` says why in one sentence.

Example:
    >>> import neuronet as nt
    >>> train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
    >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), batch_size=16, progress=False, doctor=False)
    >>> result = lr_find(trainer, train, steps=60)
    >>> len(result.lrs) <= 60 and (result.suggestion is None) == (result.steepest is None)
    True
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError, DataError
from neuronet.params import Interval, validate_params
from neuronet.train.loop import NonFiniteLoss
from neuronet.transfer.freeze import frozen_batchnorm_eval

__all__ = ["LRFinderResult", "LR_FIND_PARAMS", "RangeTestable", "lr_find", "plot_lr_find", "smooth",
           "smoothed_slope", "suggestion_from"]

MIN_POINTS = 10  # fewer recorded losses than this give no suggestion
MIN_FALL = 0.05  # the smoothed loss must fall at least this fraction below its start
EDGE = 0.1  # the fraction of points at each end of the curve where the steepest point is not looked for

LR_FIND_PARAMS = {
    "start_lr": [Interval(float, 0, None, closed="neither")],
    "end_lr": [Interval(float, 0, None, closed="neither")],
    "steps": [Interval(int, MIN_POINTS, None)],
    "smoothing": [Interval(float, 0, 1, closed="right")],
    "diverge": [Interval(float, 1, None, closed="neither")],
}


class RangeTestable(Protocol):
    """The public pieces of a trainer that the range test drives (the Trainer and GANTrainer have them)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    augment: Callable | None  # the training-batch augmentation, once `setup` has bound it
    seed: int

    def setup(self, train: Any) -> None: ...  # bind the task, class weights and augmentations to the data
    def batches(self, data: Any, shuffle: bool = False,
                epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...
    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, Any]: ...  # raises NonFiniteLoss
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
    def forked_rng(self) -> contextlib.AbstractContextManager: ...


@dataclass
class LRFinderResult:
    """What the LR range test measured and suggests.

    Attributes:
        lrs: The LR of the first parameter group at each step.
        losses: The raw training loss of each step (its batch's loss, before that step's update).
        smoothed: The bias-corrected exponential moving average of `losses`.
        suggestion: The suggested LR (see the module docstring), or None where the curve has no usable descent.
        steepest: The LR of the steepest descent of the smoothed loss (None where there is none).
        min_div_10: A tenth of the LR at the smoothed minimum (None where there is no suggestion).
        reason: One sentence: how the suggestion was chosen, or why there is none.
        stopped: "end_lr" (every step ran), "diverged" (smoothed loss above `diverge` x its best)
            or "non-finite" (a loss was NaN or infinite; that point is not recorded).
        path: The plot's PNG, when one was written.
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    steepest: float | None
    min_div_10: float | None
    reason: str
    stopped: str = "end_lr"
    path: Path | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types (the path as a string)."""
        return {"lrs": list(self.lrs), "losses": list(self.losses), "smoothed": list(self.smoothed),
                "suggestion": self.suggestion, "steepest": self.steepest, "min_div_10": self.min_div_10,
                "reason": self.reason, "stopped": self.stopped, "path": None if self.path is None else str(self.path)}


def smooth(losses: list[float], smoothing: float) -> list[float]:
    """Exponential moving average with bias correction (fastai's smoothed loss).

    Args:
        losses: Raw losses in order.
        smoothing: The weight of each new loss (fastai's `1 - beta`); 1 leaves the losses as they are.

    Returns:
        `avg_i / (1 - beta^(i+1))` with `avg_i = beta avg_(i-1) + (1 - beta) loss_i`, `avg_(-1) = 0`.

    Example:
        >>> [round(v, 4) for v in smooth([1.0, 1.0, 4.0], 0.5)]
        [1.0, 1.0, 2.7143]
    """
    beta, avg, out = 1.0 - smoothing, 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1.0 - beta) * loss
        out.append(avg / (1.0 - beta ** (i + 1)))
    return out


def smoothed_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dy/dx (`np.gradient`), averaged over a centred window of about a tenth of the points (at least 3).

    Args:
        x: Increasing positions (here log10 of the LRs).
        y: Values at `x` (here the smoothed loss).

    Returns:
        The smoothed slope at each point; near the ends the window is cut to the points there are.

    Example:
        >>> x = np.linspace(0, 1, 30)
        >>> np.allclose(smoothed_slope(x, 3 * x + 1), 3)
        True
    """
    slope = np.gradient(y, x)
    kernel = np.ones(max(3, (len(y) // 10) | 1))
    return np.convolve(slope, kernel, "same") / np.convolve(np.ones_like(slope), kernel, "same")


def suggestion_from(lrs: list[float], smoothed: list[float]) -> tuple[float | None, float | None, float | None, str]:
    """The suggested LR of a range-test curve, with its two candidates and a one-sentence reason.

    Args:
        lrs: Increasing LRs.
        smoothed: The smoothed loss at each LR (finite).

    Returns:
        (suggestion, steepest, min_div_10, reason); the first three are None where the curve has no usable descent.

    Example:
        >>> lrs = list(np.logspace(-5, 0, 50))
        >>> loss = [2 / (1 + (lr / 1e-3) ** 2) + (lr / 0.1) ** 2 for lr in lrs]  # falls around 1e-3, rises after 0.1
        >>> suggestion, steepest, min_div_10, reason = suggestion_from(lrs, loss)
        >>> 5e-4 < suggestion < 2e-3, suggestion == steepest, 1e-3 < min_div_10 < 1e-2
        (True, True, True)
    """
    n, span = len(lrs), f"lr {lrs[0]:.2g}..{lrs[-1]:.2g}" if lrs else "no lr"
    if n < MIN_POINTS:
        return None, None, None, (f"only {n} losses were recorded ({span}) before the loss diverged, fewer than "
                                  f"{MIN_POINTS}; start_lr may already be too high: try a smaller one.")
    loss = np.asarray(smoothed, dtype=np.float64)
    lowest = int(np.argmin(loss))
    if loss[lowest] > (1.0 - MIN_FALL) * loss[0]:
        return None, None, None, (f"the loss never fell {MIN_FALL:.0%} below its start over {span}; the model or data "
                                  "may be broken (labels that do not match the inputs, an output that ignores the "
                                  "input), or try a wider range (end_lr).")
    edge = max(1, math.ceil(EDGE * n))
    slope = smoothed_slope(np.log10(np.asarray(lrs, dtype=np.float64)), loss)
    window = slope[edge:min(lowest, n - 1 - edge) + 1]
    if window.size == 0 or not (window < 0).any():
        return None, None, None, (f"the loss fell only in the first {EDGE:.0%} of the range (up to lr "
                                  f"{lrs[lowest]:.2g}); start_lr ({lrs[0]:.2g}) is already too high: "
                                  "try a smaller one.")
    steepest = float(lrs[edge + int(np.argmin(window))])
    min_div_10 = float(lrs[lowest]) / 10
    suggestion = min(max(steepest, min_div_10 / 10), min_div_10)
    return suggestion, steepest, min_div_10, _why(suggestion, steepest, float(lrs[lowest]))


def _why(suggestion: float, steepest: float, lowest: float) -> str:
    """The sentence that says how the suggestion was chosen."""
    if suggestion == steepest:
        return (f"lr {suggestion:.2g}: the steepest descent of the smoothed loss, within a decade below a tenth of "
                f"the lr where the loss is lowest ({lowest:.2g}).")
    if steepest > suggestion:
        return (f"lr {suggestion:.2g}: a tenth of the lr where the loss is lowest ({lowest:.2g}); the steepest descent "
                f"({steepest:.2g}) is closer to the minimum than that.")
    return (f"lr {suggestion:.2g}: a hundredth of the lr where the loss is lowest ({lowest:.2g}), the smallest "
            f"suggested; the steepest descent ({steepest:.2g}) lies further below.")


def lr_find(trainer: RangeTestable, train: Any, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100,
            smoothing: float = 0.05, diverge: float = 4.0, path: str | Path | None = None,
            progress: bool = False) -> LRFinderResult:
    """Run the LR range test with `trainer` on `train`, and leave the trainer exactly as it was.

    Args:
        trainer: The Trainer to test (its model, optimizer, loss, precision and device are used; its schedule
            is set aside: the test drives the LR itself).
        train: Training data (a Dataset, a torch Dataset or a DataLoader); shuffled mini-batches of the trainer's batch size, cycling epochs if it is short.
        start_lr: The first LR of the first parameter group (float > 0).
        end_lr: The last LR (> start_lr). Other parameter groups (discriminative LRs) keep their ratio to the first.
        steps: Training steps at most (int >= 10).
        smoothing: The weight of each new loss in the moving average, in (0, 1] (fastai's `1 - beta`).
        diverge: Stop once the smoothed loss exceeds this multiple of its best so far (float > 1).
        path: Write the plot (loss against LR) to this PNG.
        progress: Show a live progress bar (otherwise nothing is printed).

    Returns:
        An LRFinderResult: the curve, the suggestion (or None, with the reason) and the plot's path.

    Raises:
        ConfigError: a parameter out of range, or end_lr not above start_lr.
        DataError: `train` holds no batches (or is not prepared).

    Example:
        >>> import neuronet as nt
        >>> train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
        >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), batch_size=16, progress=False, doctor=False)
        >>> before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        >>> result = lr_find(trainer, train, steps=30)
        >>> all(torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
        True
    """
    validate_params(LR_FIND_PARAMS, {"start_lr": start_lr, "end_lr": end_lr, "steps": steps,
                                     "smoothing": smoothing, "diverge": diverge}, "lr_find")
    if end_lr <= start_lr:
        raise ConfigError(f"The 'end_lr' parameter of lr_find must be above start_lr ({start_lr:g}). "
                          f"Got {end_lr:g} instead.")
    trainer.setup(train)  # what fit binds from the data, but not the schedule: it would rewrite the LRs
    saved = copy.deepcopy(trainer.state_dict())
    modes = {module: module.training for module in trainer.model.modules()}
    try:
        with trainer.forked_rng():
            torch.manual_seed(trainer.seed)
            lrs, losses, stopped = _run(trainer, train, np.geomspace(start_lr, end_lr, steps), smoothing, diverge,
                                        progress)
    finally:
        trainer.load_state_dict(saved)
        for module, training in modes.items():
            module.training = training
    smoothed = smooth(losses, smoothing)
    suggestion, steepest, min_div_10, reason = suggestion_from(lrs, smoothed)
    result = LRFinderResult(lrs, losses, smoothed, suggestion, steepest, min_div_10, reason, stopped)
    if path is not None:
        result.path = plot_lr_find(result, Path(path))
    return result


def _run(trainer: RangeTestable, train: Any, schedule: np.ndarray, smoothing: float, diverge: float,
         progress: bool) -> tuple[list[float], list[float], str]:
    """The training steps of the test: (lrs, raw losses, why it stopped)."""
    groups = trainer.optimizer.param_groups
    ratios = [float(g["lr"]) / float(groups[0]["lr"]) if float(groups[0]["lr"]) > 0 else 1.0 for g in groups]
    trainer.model.train()
    frozen_batchnorm_eval(trainer.model)  # as in training: frozen (pretrained) batch norms keep their statistics
    lrs: list[float] = []
    losses: list[float] = []
    beta, avg, best = 1.0 - smoothing, 0.0, math.inf
    with _progress_bar(progress, len(schedule)) as advance:
        for lr, (x, y) in zip(schedule, _endless_batches(trainer, train)):
            for group, ratio in zip(groups, ratios):
                _set_lr(group, float(lr) * ratio)
            if trainer.augment is not None:
                x, y = trainer.augment(x, y)
            try:
                loss, _ = trainer.train_step(x, y)
            except NonFiniteLoss:
                return lrs, losses, "non-finite"
            lrs.append(float(lr))
            losses.append(loss)
            avg = beta * avg + (1.0 - beta) * loss
            smoothed = avg / (1.0 - beta ** len(losses))
            best = min(best, smoothed)
            advance(loss)
            if smoothed > diverge * best:
                return lrs, losses, "diverged"
    return lrs, losses, "end_lr"


def _set_lr(group: dict[str, Any], lr: float) -> None:
    """Set a parameter group's LR (in place where the optimizer keeps it as a tensor)."""
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(lr)
    else:
        group["lr"] = lr


def _endless_batches(trainer: RangeTestable, train: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled mini-batches, epoch after epoch (each epoch's order is the trainer's for that epoch)."""
    epoch = 0
    while True:
        empty = True
        for batch in trainer.batches(train, shuffle=True, epoch=epoch):
            empty = False
            yield batch
        if empty:
            raise DataError("lr_find needs training data with at least one mini-batch; the data given holds none.")
        epoch += 1


@contextlib.contextmanager
def _progress_bar(show: bool, total: int) -> Iterator[Callable[[float], None]]:
    """A transient Rich progress bar over the test's steps (or nothing); yields `advance(loss)`."""
    if not show:
        yield lambda loss: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold]lr_find"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                   console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task("lr_find", total=total, info="")
    with bar:
        yield lambda loss: bar.update(task, advance=1, info=f"loss {loss:.4f}")


def plot_lr_find(result: LRFinderResult, path: Path) -> Path:
    """Write the range-test curve as a PNG: the smoothed loss (raw, faintly) against the LR on a log axis,
    with the suggestion and a tenth of the minimum's LR marked.

    Args:
        result: What `lr_find` measured.
        path: The PNG to write (atomically).

    Returns:
        `path`.

    Example:
        >>> import tempfile
        >>> lrs = list(np.logspace(-5, 0, 30))
        >>> losses = [2 / (1 + (lr / 1e-3) ** 2) + (lr / 0.1) ** 2 for lr in lrs]
        >>> result = LRFinderResult(lrs, losses, losses, *suggestion_from(lrs, losses))
        >>> plot_lr_find(result, Path(tempfile.mkdtemp()) / "lr_find.png").exists()
        True
    """
    from neuronet.plots import figure, save_figure

    fig, ax = figure(6, 4)
    ax.plot(result.lrs, result.losses, color="tab:blue", alpha=0.25, linewidth=1, label="loss (raw)")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", linewidth=2, label="smoothed loss")
    marks = [(result.suggestion, "tab:red", "suggestion"), (result.min_div_10, "tab:grey", "minimum / 10")]
    for lr, color, name in marks:
        if lr is not None:
            ax.axvline(lr, color=color, linestyle="--", linewidth=1, label=f"{name} {lr:.2g}")
    if result.suggestion is not None:
        ax.plot([result.suggestion], [np.interp(np.log(result.suggestion), np.log(result.lrs), result.smoothed)],
                marker="o", color="tab:red")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test" + ("" if result.suggestion is not None else ": no suggestion"))
    if result.smoothed:  # the raw spikes of the last steps would squash the curve
        low, high = min(min(result.losses), min(result.smoothed)), max(result.smoothed)
        ax.set_ylim(low - 0.05 * (high - low), high + 0.1 * (high - low) + 1e-12)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
