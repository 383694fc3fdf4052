"""Where a classifier goes wrong: its most confident mistakes, and precision / recall per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.explain.subject import Subject, subject
from neuronet.predict import Predictor
from neuronet.tasks import tasks_that

__all__ = ["confidently_wrong", "per_class_metrics"]


def confidently_wrong(predictor: Predictor | nn.Module, data: Any, k: int = 8, path: str | Path | None = None, *,
                      prepared: bool | None = None) -> list[dict[str, Any]]:
    """The `k` examples a classifier got wrong with the highest probability, most confident first.

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module` with a prepared Dataset.
        data: Labelled inputs (a raw Dataset such as a run's test split, or labelled inputs a Predictor reads).
        k: How many mistakes at most.
        path: Where to write a PNG (none when None): images in a grid titled "true → predicted (p)",
            other inputs as lines of text.
        prepared: Whether a Dataset given with a Predictor is already prepared (see `subject`).

    Returns:
        One dict per mistake: {"index", "true", "predicted", "probability" (of the predicted class),
        "input": the text (the raw string where the data holds raw texts), the image array (C, H, W),
        a table row as {feature: value}, or the series array}.

    Raises:
        ConfigError: a model that is not a classifier, or k < 1.
        DataError: inputs without labels.

    Example:
        >>> import neuronet as nt
        >>> from neuronet.runs.evaluate import test_split
        >>> nt.explain.confidently_wrong(nt.load("runs/digits"), test_split("runs/digits"), k=3)  # doctest: +SKIP
        [{'index': 41, 'true': '8', 'predicted': '1', 'probability': 0.97, 'input': array(...)}, ...]
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"The 'k' parameter of confidently_wrong must be an int >= 1. Got {k!r} instead.")
    s = _classifier(predictor, data, prepared, "confidently_wrong")
    y = s.need_labels("confidently_wrong").numpy()
    proba = _probabilities(s)
    predicted = proba.argmax(axis=1)
    confidence = proba[np.arange(len(proba)), predicted]
    wrong = np.flatnonzero(predicted != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:k]
    names = _class_names(s, proba.shape[1])
    found = [{"index": int(i), "true": names[y[i]], "predicted": names[predicted[i]],
              "probability": float(confidence[i]), "input": _shown(s, int(i))} for i in order]
    if path is not None:
        from neuronet.explain.plots import plot_mistakes

        plot_mistakes(found, s.layout, Path(path))
    return found


def per_class_metrics(predictor: Predictor | nn.Module, data: Any, *,
                      prepared: bool | None = None) -> dict[str, Any]:
    """Precision, recall, F1 and support per class: scikit-learn's `classification_report`, keyed by class name.

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module` with a prepared Dataset.
        data: Labelled inputs (a raw Dataset such as a run's test split, or labelled inputs a Predictor reads).
        prepared: Whether a Dataset given with a Predictor is already prepared (see `subject`).

    Returns:
        {class name: {"precision", "recall", "f1-score", "support"}, ..., "accuracy", "macro avg",
        "weighted avg"} (`output_dict=True, zero_division=0`).

    Raises:
        ConfigError: a model that is not a classifier.
        DataError: inputs without labels.

    Example:
        >>> from neuronet.datasets import Dataset
        >>> from neuronet.models import MLP
        >>> data = Dataset(torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]), class_names=["a", "b", "c"])
        >>> sorted(per_class_metrics(MLP((4,), 3, seed=0), data)["a"])
        ['f1-score', 'precision', 'recall', 'support']
    """
    from sklearn.metrics import classification_report

    s = _classifier(predictor, data, prepared, "per_class_metrics")
    y = s.need_labels("per_class_metrics").numpy()
    proba = _probabilities(s)
    names = _class_names(s, proba.shape[1])
    return classification_report(y, proba.argmax(axis=1), labels=list(range(len(names))), target_names=names,
                                 output_dict=True, zero_division=0)


def _classifier(predictor: Predictor | nn.Module, data: Any, prepared: bool | None, what: str) -> Subject:
    s = subject(predictor, data, labelled=True, prepared=prepared)
    if not s.has_classes:
        raise ConfigError(f"{what} needs a {tasks_that(lambda task: task.has_classes, 'or')} model; this one is "
                          f"{s.task.name if s.task is not None else 'not labelled as one'}.")
    return s


def _probabilities(s: Subject) -> np.ndarray:
    """Class probabilities (N, classes), as the Predictor computes them (a single logit: two classes)."""
    return s.task.probabilities(s.outputs()).numpy()


def _class_names(s: Subject, n: int) -> list[str]:
    names = list(s.class_names or [])
    return names + [str(i) for i in range(len(names), n)]


def _shown(s: Subject, i: int) -> Any:
    """Example `i` as its user knows it: the raw text, the image, the table row by feature name."""
    raw = s.raw
    if s.layout == "tokens":
        if raw is not None and raw.layout == "text":
            return str(raw.x[i])
        ids = s.data.x[i]
        return " ".join(s.token_names(ids[s.real_tokens(ids)]))
    if raw is not None and raw.layout == "frame":
        return raw.x.iloc[i].to_dict()
    source = raw if raw is not None and isinstance(raw.x, torch.Tensor) else s.data
    values = source.x[i].detach().cpu().numpy()
    if s.layout == "table":
        names = source.feature_names or s.feature_names or [f"x{j}" for j in range(len(values))]
        return {str(name): float(f"{v:.7g}") for name, v in zip(names, values)}  # float32 shown as typed: 3.2
    return values
