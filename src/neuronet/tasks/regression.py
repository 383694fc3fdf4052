"""Regression (one or more values per example) and forecasting (the next values of a time series)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from neuronet.tasks.base import TASKS, Task

__all__ = ["Regression", "Forecasting"]


@TASKS.register("regression", "Predict one or more real values per example.")
class Regression(Task):
    """Outputs are values (N, k), in the units the targets were scaled to for training.

    Example:
        >>> Regression().values(torch.tensor([1.0, 2.0])).shape
        torch.Size([2, 1])
    """

    name: ClassVar[str] = "regression"
    default_loss: ClassVar[str] = "mse"
    metrics: ClassVar[tuple[str, ...]] = ("mae",)
    report_metrics: ClassVar[tuple[str, ...]] = ("mae", "rmse", "r2")
    losses: ClassVar[tuple[str, ...]] = ("mse", "mae", "huber")

    def values(self, outputs: Any) -> torch.Tensor:
        out = outputs[0] if isinstance(outputs, tuple) else outputs
        return out.reshape(len(out), -1)

    def columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                inverse_target: Any = None) -> dict[str, np.ndarray]:
        values = self.values(model(x))
        values = (inverse_target(values) if inverse_target else values).cpu().numpy()
        names = meta.get("target_names") or [f"target_{i}" for i in range(values.shape[1])]
        if len(names) == 1:
            return {"prediction": values[:, 0]}
        return {f"prediction_{name}": values[:, i] for i, name in enumerate(names)}

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        from neuronet.plots import plot_regression

        return [plot_regression(targets.cpu().numpy(), self.values(outputs).cpu().numpy(), folder / "predictions.png")]


@TASKS.register("forecasting", "Predict the next values of a time series from a window of its past.")
class Forecasting(Regression):
    """Regression on time-ordered windows: splits hold out the most recent windows, never the past.

    Targets are the next `horizon` values (columns t+1 ... t+h).
    """

    name: ClassVar[str] = "forecasting"
    ordered: ClassVar[bool] = True

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        from neuronet.plots import plot_forecast

        return [plot_forecast(targets.cpu().numpy(), self.values(outputs).cpu().numpy(), folder / "forecast.png")]
