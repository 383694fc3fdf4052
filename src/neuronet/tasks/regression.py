"""Regression (one or more values per example) and forecasting (the next values of a time series)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Union

import numpy as np
import torch
from torch import nn

from neuronet.tasks.base import TASKS, InverseTarget, Task

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

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
    onnx_ok: ClassVar[bool] = True
    attributable: ClassVar[bool] = True
    plot_files: ClassVar[tuple[str, ...]] = ("predictions.png",)
    baselines: ClassVar[tuple[str, ...]] = ("mean", "linear")

    def values(self, outputs: Any) -> torch.Tensor:
        out = outputs[0] if isinstance(outputs, tuple) else outputs
        return out.reshape(len(out), -1)

    def _in_units(self, outputs: Any, inverse_target: InverseTarget | None) -> np.ndarray:
        values = self.values(outputs)
        return (inverse_target(values) if inverse_target else values).cpu().numpy()

    def decode(self, outputs: Any, meta: dict[str, Any], inverse_target: InverseTarget | None = None,
               x: torch.Tensor | None = None) -> np.ndarray:
        """Values in the data's own units: (N,) for one target, (N, k) for several."""
        values = self._in_units(outputs, inverse_target)
        return values[:, 0] if values.shape[1] == 1 else values

    def prediction_columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                           inverse_target: InverseTarget | None = None) -> dict[str, np.ndarray]:
        """`prediction` for one target; `prediction_<target>` for several."""
        values = self._in_units(model(x), inverse_target)
        names = meta.get("target_names") or [f"target_{i}" for i in range(values.shape[1])]
        if len(names) == 1:
            return {"prediction": values[:, 0]}
        return {f"prediction_{name}": values[:, i] for i, name in enumerate(names)}

    def to_data_units(self, outputs: Any, targets: torch.Tensor,
                      inverse_target: InverseTarget | None = None) -> tuple[Any, torch.Tensor]:
        if inverse_target is None:
            return self.values(outputs), targets
        return inverse_target(self.values(outputs)), inverse_target(targets)

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import Field, create_model

        return create_model("Prediction", prediction=(Union[float, None, dict[str, Union[float, None]]],
                                                      Field(description="The value, or one per target name.")))

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        if list(row) == ["prediction"]:
            return {"prediction": _number(row["prediction"])}
        return {"prediction": {k.removeprefix("prediction_"): _number(v) for k, v in row.items()}}

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
    plot_files: ClassVar[tuple[str, ...]] = ("forecast.png",)
    baselines: ClassVar[tuple[str, ...]] = ("persistence", "seasonal_naive")

    def decode(self, outputs: Any, meta: dict[str, Any], inverse_target: InverseTarget | None = None,
               x: torch.Tensor | None = None) -> np.ndarray:
        """The forecasts in the data's own units: (N, horizon), one step ahead included."""
        return self._in_units(outputs, inverse_target)

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        from neuronet.plots import plot_forecast

        return [plot_forecast(targets.cpu().numpy(), self.values(outputs).cpu().numpy(), folder / "forecast.png")]


def _number(value: Any) -> float | None:
    """A JSON number, or null for a value that is not finite."""
    value = float(value)
    return value if np.isfinite(value) else None
