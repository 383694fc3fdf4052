"""Loss functions by name, each PyTorch's own module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neuronet.registry import Registry

__all__ = ["LOSSES", "BinaryCrossEntropy", "loss_fn", "loss_task"]

LOSSES: Registry[Callable[..., nn.Module]] = Registry("loss")


class BinaryCrossEntropy(nn.BCEWithLogitsLoss):
    """Binary cross-entropy on logits; accepts 0/1 class indices (N,) as targets.

    -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], averaged.
    """

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return super().forward(input, target.to(input.dtype).view_as(input))


for _name, _factory, _help in [
    ("mse", nn.MSELoss, "Mean squared error, mean((y - y_hat)^2)."),
    ("mae", nn.L1Loss, "Mean absolute error, mean(|y - y_hat|)."),
    ("huber", nn.HuberLoss, "Squared error below `delta`, absolute error above (robust to outliers)."),
    ("binary_cross_entropy", BinaryCrossEntropy, "Binary cross-entropy on logits (one output, 0/1 targets)."),
    ("cross_entropy", nn.CrossEntropyLoss, "Softmax + negative log-likelihood on logits (class-index targets)."),
]:
    LOSSES.add(_name, _factory, _help)

_CLASSIFICATION_LOSSES = {"cross_entropy": "multiclass", "binary_cross_entropy": "binary"}


def loss_fn(name: str | nn.Module | Callable, **kwargs: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Build a loss from its name; a module or callable passes through unchanged.

    Example:
        >>> loss_fn("mse")(torch.tensor([1.0]), torch.tensor([3.0]))
        tensor(4.)
    """
    if callable(name):
        return name
    return LOSSES.get(name)(**kwargs)


def loss_task(name: str | object) -> str:
    """'multiclass', 'binary' or 'regression': what predictions of a model trained with this loss mean."""
    if isinstance(name, nn.CrossEntropyLoss):
        return "multiclass"
    if isinstance(name, nn.BCEWithLogitsLoss):
        return "binary"
    return _CLASSIFICATION_LOSSES.get(name, "regression") if isinstance(name, str) else "regression"
