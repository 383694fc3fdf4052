"""`Task`: what a model's outputs mean, and everything that follows from it.

A task owns its default loss, its metrics, how outputs become predictions (labels,
probabilities, values, anomaly scores), how they are scored, and which plots show them.
Code that needs to know the task asks the task object instead of branching on a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.registry import Registry
from neuronet.tasks.metrics import compute_metrics

__all__ = ["TASKS", "Task", "get_task", "infer_task"]

TASKS: Registry[type["Task"]] = Registry("task")


class Task:
    """Base class. Subclasses set the class attributes and override what differs.

    Attributes:
        name: The registered name.
        default_loss: Loss used when none is given.
        metrics: Metrics reported every epoch.
        report_metrics: Metrics of the final report (test split, `neuronet evaluate`).
        supervised: Targets come from labels (False: the inputs are their own targets).
        ordered: Rows are in time order (splits hold out the most recent rows).
        curves_fall: A falling training loss means learning (not so for a GAN's adversarial losses).
    """

    name: ClassVar[str] = "task"
    default_loss: ClassVar[str] = "mse"
    metrics: ClassVar[tuple[str, ...]] = ()
    report_metrics: ClassVar[tuple[str, ...]] = ()
    supervised: ClassVar[bool] = True
    ordered: ClassVar[bool] = False
    curves_fall: ClassVar[bool] = True  # the training loss should fall (the training doctor reads its curve)
    losses: ClassVar[tuple[str, ...]] = ()  # registered loss names that fit this task (empty: any)

    # --- training ----------------------------------------------------------------------
    def loss_for(self, model: nn.Module | None = None) -> str:
        """The default loss, unless the model declares its own (a VAE trains on the ELBO)."""
        return getattr(model, "default_loss", None) or self.default_loss

    def check_loss(self, loss: Any) -> None:
        """Raise a ConfigError when a registered loss name does not fit this task."""
        if isinstance(loss, str) and self.losses and loss not in self.losses:
            raise ConfigError(f"The loss '{loss}' does not fit a {self.name} task; use one of {', '.join(self.losses)}.")

    def output_size(self, num_outputs: int, loss: Any = None) -> int:
        """Width of the model's output layer for `num_outputs` classes / targets."""
        return num_outputs

    def targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What the loss compares the outputs with (the labels; the inputs for reconstruction)."""
        return y

    def forward(self, model: nn.Module, x: torch.Tensor) -> Any:
        """Outputs used to score a batch (the model's forward pass; GANs ask their discriminator)."""
        return model(x)

    # --- reading outputs -----------------------------------------------------------------
    def labels(self, outputs: Any) -> torch.Tensor:
        raise ConfigError(f"A {self.name} model predicts no class labels.")

    def probabilities(self, outputs: Any) -> torch.Tensor:
        raise ConfigError(f"A {self.name} model predicts no class probabilities; predict_proba needs classification.")

    def values(self, outputs: Any) -> torch.Tensor:
        raise ConfigError(f"A {self.name} model predicts no values.")

    def predictions(self, outputs: Any) -> torch.Tensor:
        """What `predict` returns: class indices or values."""
        return self.values(outputs)

    def columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                inverse_target: Any = None) -> dict[str, np.ndarray]:
        """Columns of a prediction table for one batch of prepared inputs."""
        raise NotImplementedError

    # --- scoring and plots -------------------------------------------------------------
    def score(self, outputs: Any, targets: torch.Tensor, metrics: list[str] | None = None) -> dict[str, float]:
        """The report metrics (or `metrics`) on outputs and targets in the data's own units."""
        return compute_metrics(list(self.report_metrics if metrics is None else metrics), outputs, targets, self)

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        """PNG files that show the test outputs (none by default)."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def get_task(task: str | Task | None) -> Task | None:
    """A Task from its name (a Task passes through; None stays None)."""
    if task is None or isinstance(task, Task):
        return task
    return TASKS.get(task)()


def infer_task(data: Any = None, model: nn.Module | None = None) -> Task:
    """The task of a model and its data: the model's own (autoencoders, GANs), else the data's.

    A Dataset says its task; for other data the targets decide: integer class indices are
    classification, floats regression. The loss never decides.

    Example:
        >>> from neuronet.datasets import Dataset
        >>> infer_task(Dataset(torch.zeros(4, 2), torch.tensor([0.5, 1.0, 2.0, 3.0])))
        Regression()
    """
    declared = getattr(model, "task", None)
    if isinstance(declared, str):
        return TASKS.get(declared)()
    named = getattr(data, "task", None)
    if isinstance(named, str):
        return TASKS.get(named)()
    y = _first_targets(data)
    if y is None:
        raise ConfigError("Cannot tell the task from this data; pass task='classification' or 'regression'.")
    return TASKS.get("regression" if y.is_floating_point() else "classification")()


def _first_targets(data: Any) -> torch.Tensor | None:
    if data is None:
        return None
    if isinstance(data, torch.utils.data.DataLoader):
        batch = next(iter(data), None)
        return batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None
    try:
        item = data[0]
    except (TypeError, IndexError, KeyError):
        return None
    return torch.as_tensor(item[1]) if isinstance(item, (tuple, list)) and len(item) > 1 else None
