"""Feature and target scaling fitted on the training split only, saved as JSON."""

from __future__ import annotations

from typing import Any, Literal

import torch

from neuronet.datasets.dataset import Dataset
from neuronet.errors import ConfigError, NotFittedError

__all__ = ["Scaler", "SCALINGS"]

SCALINGS = ("standard", "minmax", "none")


class Scaler:
    """Scale features (and regression targets) with statistics of the training data.

    Statistics are per feature for tabular data (N, F) and sequences (N, T, F), and per
    channel for images (N, C, H, W); token ids are left alone. Follows the scikit-learn contract: `__init__` stores arguments, `fit`
    returns self, learned state ends in `_`.

    Args:
        method: "standard" (zero mean, unit variance), "minmax" (to [0, 1]) or "none".
        scale_target: Also standardise regression targets (undone by `inverse_target`).

    Example:
        >>> from neuronet.datasets import load
        >>> train, _, test = load("iris").split(val=0, test=0.2)
        >>> scaler = Scaler().fit(train)
        >>> abs(float(scaler.transform(train).x.mean())) < 1e-6
        True
    """

    def __init__(self, method: Literal["standard", "minmax", "none"] = "standard", scale_target: bool = True) -> None:
        self.method = method
        self.scale_target = scale_target

    def fit(self, data: Dataset) -> Scaler:
        """Learn the statistics from `data` (the training split)."""
        if self.method not in SCALINGS:
            raise ConfigError(f"The 'method' parameter of Scaler must be one of {', '.join(SCALINGS)}. Got {self.method!r} instead.")
        if data.layout == "tokens":  # token ids are categories, never scaled
            self.method = "none"
        x = data.x.double()
        self.feature_dim_ = x.ndim - 1 if data.layout == "sequence" else 1  # features / channels
        dims = [d for d in range(x.ndim) if d != self.feature_dim_]
        if self.method == "standard":
            self.shift_ = x.mean(dim=dims)
            self.scale_ = x.std(dim=dims, unbiased=False)
        elif self.method == "minmax":
            self.shift_ = x.amin(dim=dims)
            self.scale_ = x.amax(dim=dims) - self.shift_
        else:
            self.shift_ = torch.zeros(x.shape[self.feature_dim_], dtype=torch.float64)
            self.scale_ = torch.ones(x.shape[self.feature_dim_], dtype=torch.float64)
        self.scale_ = torch.where(self.scale_ > 0, self.scale_, torch.ones_like(self.scale_))
        if data.task == "regression" and self.scale_target and self.method != "none":
            y = data.y.double()
            self.target_mean_ = y.mean(dim=0)
            self.target_std_ = torch.where(y.std(dim=0) > 0, y.std(dim=0), torch.ones(y.shape[1], dtype=torch.float64))
        else:
            self.target_mean_ = self.target_std_ = None
        return self

    def _check(self) -> None:
        if not hasattr(self, "shift_"):
            raise NotFittedError("This Scaler is not fitted yet; call fit(train) first.")

    def _view(self, t: torch.Tensor, ndim: int) -> torch.Tensor:
        shape = [1] * ndim
        shape[self.feature_dim_] = -1
        return t.view(shape).float()

    def transform_x(self, x: torch.Tensor) -> torch.Tensor:
        """Scale features: (N, F) tables, (N, C, H, W) images per channel, (N, T, F) sequences per feature."""
        self._check()
        if self.method == "none" or not x.is_floating_point():
            return x
        return (x - self._view(self.shift_, x.ndim).to(x.device)) / self._view(self.scale_, x.ndim).to(x.device)

    def transform(self, data: Dataset) -> Dataset:
        """Scaled copy of `data` (features, and regression targets when fitted for them)."""
        y = data.y
        if self.target_mean_ is not None:
            y = ((y.double() - self.target_mean_) / self.target_std_).float()
        return data.with_tensors(self.transform_x(data.x), y)

    def inverse_target(self, y: torch.Tensor) -> torch.Tensor:
        """Undo target scaling on model outputs (identity when targets were not scaled)."""
        self._check()
        if self.target_mean_ is None:
            return y
        return (y.double() * self.target_std_.to(y.device) + self.target_mean_.to(y.device)).float()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        self._check()
        as_list = lambda t: None if t is None else t.tolist()  # noqa: E731
        return {"method": self.method, "scale_target": self.scale_target, "feature_dim": self.feature_dim_,
                "shift": as_list(self.shift_),
                "scale": as_list(self.scale_), "target_mean": as_list(self.target_mean_),
                "target_std": as_list(self.target_std_)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Scaler:
        """Rebuild a fitted Scaler from `to_dict` output."""
        scaler = cls(state["method"], state["scale_target"])
        as_t = lambda v: None if v is None else torch.tensor(v, dtype=torch.float64)  # noqa: E731
        scaler.shift_, scaler.scale_ = as_t(state["shift"]), as_t(state["scale"])
        scaler.feature_dim_ = state["feature_dim"]
        scaler.target_mean_, scaler.target_std_ = as_t(state["target_mean"]), as_t(state["target_std"])
        return scaler
