"""Scaling fitted on the training split only, saved as JSON: features (`Scaler`) and targets (`TargetScaler`)."""

from __future__ import annotations

from typing import Any

import torch

from neuronet.datasets.dataset import Dataset
from neuronet.errors import ConfigError, DataError, NotFittedError

__all__ = ["Scaler", "TargetScaler", "SCALINGS"]

SCALINGS = ("standard", "minmax", "robust", "none")


def _as_list(t: torch.Tensor | None) -> list | None:
    return None if t is None else t.tolist()


def _as_tensor(v: list | None) -> torch.Tensor | None:
    return None if v is None else torch.tensor(v, dtype=torch.float64)


class Scaler:
    """Scale float features with statistics of the training data.

    Statistics are per feature for tables (N, F) and sequences (N, T, F), and per channel for
    images (N, C, H, W); token ids are left alone. Follows the scikit-learn contract:
    `__init__` stores arguments, `fit` returns self, learned state ends in `_`.

    Args:
        method: "standard" (zero mean, unit variance), "minmax" (to [0, 1]), "robust"
            (median 0, inter-quartile range 1) or "none".
        target_feature: Scale the targets with this feature's statistics too (forecasting:
            the targets are the series' next values, so inputs and outputs share one scale,
            and a model that adds the last input value to its output stays consistent).

    Example:
        >>> from neuronet.datasets import load
        >>> train, _, test = load("iris").split(val=0, test=0.2)
        >>> scaler = Scaler().fit(train)
        >>> abs(float(scaler.transform(train).x.mean())) < 1e-6
        True
    """

    kind = "scaler"  # its name in neuronet.datasets.PREPROCESSORS

    def __init__(self, method: str = "standard", target_feature: int | None = None) -> None:
        self.method, self.target_feature = method, target_feature

    def fit(self, data: Dataset) -> Scaler:
        """Learn the statistics from `data` (the training split)."""
        if self.method not in SCALINGS:
            raise ConfigError(f"The 'method' parameter of Scaler must be one of {', '.join(SCALINGS)}. "
                              f"Got {self.method!r} instead.")
        x = data.x.double()
        self.feature_dim_ = x.ndim - 1 if data.layout == "sequence" else 1  # features / channels
        dims = [d for d in range(x.ndim) if d != self.feature_dim_]
        if self.method == "none" or data.layout == "tokens":  # token ids are categories, never scaled
            self.shift_ = torch.zeros(x.shape[self.feature_dim_] if x.ndim > 1 else 1, dtype=torch.float64)
            self.scale_ = torch.ones_like(self.shift_)
        elif self.method == "standard":
            self.shift_, self.scale_ = x.mean(dim=dims), x.std(dim=dims, unbiased=False)
        elif self.method == "minmax":
            self.shift_ = x.amin(dim=dims)
            self.scale_ = x.amax(dim=dims) - self.shift_
        else:  # robust: median and inter-quartile range per feature
            flat = x.movedim(self.feature_dim_, -1).reshape(-1, x.shape[self.feature_dim_])
            q = torch.quantile(flat, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64), dim=0)
            self.shift_, self.scale_ = q[1], q[2] - q[0]
        self.scale_ = torch.where(self.scale_ > 0, self.scale_, torch.ones_like(self.scale_))
        self.identity_ = self.method == "none" or data.layout == "tokens"
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
        if self.identity_ or not x.is_floating_point():
            return x
        features = x.shape[self.feature_dim_] if x.ndim > self.feature_dim_ else 1
        if self.shift_.numel() != features or self.scale_.numel() != features:  # a stored state edited: never broadcast
            raise DataError(f"The stored scaling has {self.shift_.numel()} statistics for inputs with {features} "
                            "features or channels; the run's preprocessing.json was edited (restore it).")
        return (x - self._view(self.shift_, x.ndim).to(x.device)) / self._view(self.scale_, x.ndim).to(x.device)

    def transform(self, data: Dataset) -> Dataset:
        """Scaled copy of `data` (and of its targets, with `target_feature`)."""
        y = data.y
        if self.target_feature is not None and y is not None and not self.identity_:
            k = self.target_feature
            y = ((y.double() - self.shift_[k]) / self.scale_[k]).float()
        return data.with_tensors(self.transform_x(data.x), y)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Targets or outputs back in the data's own units (identity unless `target_feature` is set)."""
        if self.target_feature is None or self.identity_:
            return y
        k = self.target_feature
        return (y.double() * self.scale_[k] + self.shift_[k]).float()

    def summary(self) -> str:
        if self.identity_:
            return "features: no scaling"
        tied = "; the forecast targets with the series' own statistics" if self.target_feature is not None else ""
        return f"features: {self.method} scaling (training statistics){tied}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        self._check()
        return {"method": self.method, "target_feature": self.target_feature, "feature_dim": self.feature_dim_,
                "identity": self.identity_, "shift": _as_list(self.shift_), "scale": _as_list(self.scale_)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Scaler:
        """Rebuild a fitted Scaler from `to_dict` output."""
        scaler = cls(state["method"], state.get("target_feature"))
        scaler.shift_, scaler.scale_ = _as_tensor(state["shift"]), _as_tensor(state["scale"])
        scaler.feature_dim_, scaler.identity_ = state["feature_dim"], state["identity"]
        return scaler


class TargetScaler:
    """Standardise regression targets with training statistics; `inverse` maps outputs back to the data's units.

    Example:
        >>> data = Dataset(torch.zeros(3, 1), torch.tensor([[1.0], [2.0], [3.0]]), "regression")
        >>> scaler = TargetScaler().fit(data)
        >>> scaler.transform(data).y.flatten().tolist(), scaler.inverse(torch.tensor([[0.0]])).item()
        ([-1.0, 0.0, 1.0], 2.0)
    """

    kind = "target_scaler"  # its name in neuronet.datasets.PREPROCESSORS

    def fit(self, data: Dataset) -> TargetScaler:
        y = data.y.double()
        self.mean_ = y.mean(dim=0)
        std = y.std(dim=0, correction=1 if len(y) > 1 else 0)  # unbiased; 0 for a single row, which becomes 1
        self.std_ = torch.where(std > 0, std, torch.ones_like(std))
        return self

    def _check(self) -> None:
        if not hasattr(self, "mean_"):
            raise NotFittedError("This TargetScaler is not fitted yet; call fit(train) first.")

    def transform(self, data: Dataset) -> Dataset:
        if data.y is None:
            return data
        self._check()
        return data.with_tensors(data.x, ((data.y.double() - self.mean_) / self.std_).float())

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Outputs in the data's own units."""
        self._check()
        return (y.double() * self.std_.to(y.device) + self.mean_.to(y.device)).float()

    def summary(self) -> str:
        return "targets: standardised for training; predictions and metrics in the data's own units"

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {"mean": _as_list(self.mean_), "std": _as_list(self.std_)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TargetScaler:
        scaler = cls()
        scaler.mean_, scaler.std_ = _as_tensor(state["mean"]), _as_tensor(state["std"])
        return scaler
