"""Imbalanced classes: class weights for the loss, and re-sampling of the training split."""

from __future__ import annotations

import numpy as np
import torch

from neuronet.datasets.dataset import Dataset
from neuronet.errors import ConfigError

__all__ = ["class_weights", "resample"]


def class_weights(data: Dataset) -> torch.Tensor:
    """'Balanced' weights n / (k * n_c) per class (scikit-learn's), for `CrossEntropyLoss(weight=...)`.

    Example:
        >>> d = Dataset(torch.zeros(4, 1), torch.tensor([0, 0, 0, 1]), "classification", class_names=["a", "b"])
        >>> class_weights(d).tolist()
        [0.6666666666666666, 2.0]
    """
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.arange(data.num_outputs)
    present = np.unique(data.y.cpu().numpy())
    weights = np.ones(len(classes))
    weights[present] = compute_class_weight("balanced", classes=present, y=data.y.cpu().numpy())
    return torch.tensor(weights, dtype=torch.float64)


def resample(data: Dataset, how: str, seed: int = 0) -> Dataset:
    """Balance the classes: "undersample" every class to the smallest, or "oversample" (with
    replacement) to the largest. Use on the training split only.
    """
    if data.task != "classification":
        raise ConfigError("Re-sampling balances classes, so it needs a classification data set.")
    if how not in ("undersample", "oversample"):
        raise ConfigError(f"The 'resample' option must be 'undersample' or 'oversample'. Got {how!r} instead.")
    rng = np.random.default_rng(seed)
    y = data.y.cpu().numpy()
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    size = min(map(len, groups)) if how == "undersample" else max(map(len, groups))
    picked = [rng.choice(g, size=size, replace=len(g) < size) for g in groups]
    return data.subset(np.sort(np.concatenate(picked)))
