"""t-SNE of a layer's features: do examples of one class lie together in what the network learned?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from neuronet.errors import DataError
from neuronet.explain.features import layer_outputs
from neuronet.explain.subject import Subject, subject
from neuronet.predict import Predictor

__all__ = ["tsne", "sample"]


def tsne(predictor: Predictor | nn.Module, data: Any, layer: str | None = None, limit: int = 2000, seed: int = 0,
         path: str | Path | None = None, *, prepared: bool | None = None) -> dict[str, Any]:
    """A 2-D t-SNE map of a layer's features (default: the penultimate layer), coloured by class.

    Uses scikit-learn's `TSNE` (init="pca", perplexity min(30, (N - 1) / 3), random_state=seed).

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module` with a prepared Dataset.
        data: The inputs (a raw Dataset such as a run's test split, or anything a Predictor accepts).
        layer: A module name as in `model.named_modules()`; default: the input of the last `nn.Linear`.
        limit: At most this many examples: a seeded sample keeping class proportions.
        seed: Seed of the sample and of t-SNE.
        path: Where to write the PNG scatter plot (none when None).
        prepared: Whether a Dataset given with a Predictor is already prepared (see `subject`).

    Returns:
        {"embedding": (N, 2) array, "labels": class name per point or None, "indices": the examples
        used, "layer": the layer's name, "path": the PNG or None}.

    Raises:
        DataError: fewer than 5 examples.
        ConfigError: an unknown layer name.

    Example:
        >>> import neuronet as nt
        >>> from neuronet.runs.evaluate import test_split
        >>> nt.explain.tsne(nt.load("runs/digits"), test_split("runs/digits"), path="tsne.png")  # doctest: +SKIP
    """
    from sklearn.manifold import TSNE

    s = subject(predictor, data, prepared=prepared)
    classes = s.data.y.numpy() if s.has_classes and s.data.y is not None else None
    idx = sample(len(s.data), limit, seed, classes)
    if len(idx) < 5:
        raise DataError(f"t-SNE needs at least 5 examples; the data has {len(idx)}.")
    values, name = layer_outputs(s.model, s.data.x[idx], layer)
    perplexity = min(30.0, (len(idx) - 1) / 3)
    embedding = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(values)
    labels = None if classes is None else [(s.class_names or [])[c] if c < len(s.class_names or []) else str(c)
                                          for c in classes[idx]]
    if path is not None:
        from neuronet.explain.plots import plot_embedding

        path = plot_embedding(embedding, labels, _values(s, idx) if labels is None else None,
                              f"t-SNE of {name}", Path(path))
    return {"embedding": embedding, "labels": labels, "indices": idx, "layer": name, "path": path}


def sample(n: int, limit: int | None, seed: int = 0, classes: np.ndarray | None = None) -> np.ndarray:
    """At most `limit` row indices of `n`, sorted: a seeded sample keeping class proportions, or the first rows.

    Example:
        >>> sample(10, 4, classes=np.array([0, 1] * 5)).tolist()
        [0, 1, 4, 5]
        >>> sample(10, 4).tolist()
        [0, 1, 2, 3]
    """
    if limit is None or n <= limit:
        return np.arange(n)
    if classes is not None:
        from sklearn.model_selection import train_test_split

        try:
            kept, _ = train_test_split(np.arange(n), train_size=limit, random_state=seed, stratify=classes)
            return np.sort(kept)
        except ValueError:  # a class too small to keep its share: the first rows instead
            pass
    return np.arange(limit)


def _values(s: Subject, idx: np.ndarray) -> np.ndarray | None:
    """Target values in the data's own units (regression: the colour of each point), or None."""
    if s.data.y is None or not s.data.y.is_floating_point():
        return None
    y = s.data.y[idx]
    if s.predictor is not None:
        y = s.predictor.pipeline.inverse_target(y)
    return y.reshape(len(y), -1)[:, 0].numpy()
