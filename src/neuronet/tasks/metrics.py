"""Evaluation metrics by name, computed from model outputs and targets.

Each metric takes `outputs` (raw model outputs), `targets` and the `Task` that says how to
read the outputs (`task.labels`, `task.probabilities`, `task.values`). Classification metrics
from scikit-learn are macro-averaged over classes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from neuronet.errors import ConfigError
from neuronet.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.tasks.base import Task

__all__ = ["METRICS", "Metric", "check_metrics", "compute_metrics"]


@dataclass(frozen=True)
class Metric:
    """A metric function, the tasks it applies to, and whether higher is better."""

    fn: Callable[[Any, torch.Tensor, "Task"], float]
    tasks: tuple[str, ...]
    higher_is_better: bool
    help: str = ""


METRICS: Registry[Metric] = Registry("metric")


def _sklearn_labels(name: str, **kwargs: Any) -> Callable:
    def metric(outputs: Any, targets: torch.Tensor, task: Task) -> float:
        from sklearn import metrics as skm  # imported on first use: predicting needs no scikit-learn

        fn = getattr(skm, name)
        with warnings.catch_warnings():  # a class predicted but absent from these targets: scored over the present
            warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
            return float(fn(targets.reshape(-1).cpu().numpy(), task.labels(outputs).cpu().numpy(), **kwargs))

    return metric


def _accuracy(outputs: Any, targets: torch.Tensor, task: Task) -> float:
    # In torch rather than scikit-learn: it runs every epoch, and sklearn's input checks cost ~1 ms.
    return float((task.labels(outputs) == targets.reshape(-1)).double().mean())


def _pr_auc(outputs: Any, targets: torch.Tensor, task: Task) -> float:
    from sklearn import metrics as skm

    proba = task.probabilities(outputs).cpu().numpy()
    y = targets.reshape(-1).cpu().numpy()
    if proba.shape[1] == 2:
        return float(skm.average_precision_score(y, proba[:, 1]))
    onehot = (y[:, None] == range(proba.shape[1])).astype(int)
    present = onehot.sum(axis=0) > 0  # classes absent from this split have no precision-recall curve
    return float(skm.average_precision_score(onehot[:, present], proba[:, present], average="macro"))


def _values(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable:
    def metric(outputs: Any, targets: torch.Tensor, task: Task) -> float:
        out = task.values(outputs).double().reshape(len(targets), -1)
        return float(fn(out, targets.double().reshape(out.shape)))

    return metric


def _r2(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if len(y) < 2:
        return torch.tensor(float("nan"))  # undefined for a single example, as in scikit-learn
    ss_res = ((y - pred) ** 2).sum(dim=0)
    ss_tot = ((y - y.mean(dim=0)) ** 2).sum(dim=0)
    # A constant target has no variance to explain: 1 if predicted exactly, else 0, like sklearn's.
    r2 = torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp(min=1e-300), (ss_res == 0).to(y.dtype))
    return r2.mean()  # averaged over target columns, like sklearn's default


_CLS = ("classification",)
_VALUES = ("regression", "forecasting", "reconstruction")
_REG = ("regression", "forecasting")
for _name, _metric in {
    "accuracy": Metric(_accuracy, _CLS, True, "Fraction of correct predictions."),
    "balanced_accuracy": Metric(_sklearn_labels("balanced_accuracy_score"), _CLS, True, "Mean recall over classes."),
    "precision": Metric(_sklearn_labels("precision_score", average="macro", zero_division=0), _CLS, True,
                        "Macro-averaged precision: TP / (TP + FP) per class."),
    "recall": Metric(_sklearn_labels("recall_score", average="macro", zero_division=0), _CLS, True,
                     "Macro-averaged recall: TP / (TP + FN) per class."),
    "f1": Metric(_sklearn_labels("f1_score", average="macro", zero_division=0), _CLS, True,
                 "Macro-averaged F1, the harmonic mean of precision and recall."),
    "pr_auc": Metric(_pr_auc, _CLS, True, "Area under the precision-recall curve (average precision), macro over classes."),
    "mae": Metric(_values(lambda p, y: (p - y).abs().mean()), _VALUES, False, "Mean absolute error."),
    "mse": Metric(_values(lambda p, y: ((p - y) ** 2).mean()), _VALUES, False, "Mean squared error."),
    "rmse": Metric(_values(lambda p, y: ((p - y) ** 2).mean(dim=0).sqrt().mean()), _VALUES, False,
                   "Root mean squared error (per target column, then averaged, like scikit-learn)."),
    "r2": Metric(_values(_r2), _REG, True, "Coefficient of determination, 1 - SS_res / SS_tot."),
}.items():
    METRICS.add(_name, _metric, _metric.help)


def check_metrics(names: Sequence[str], task: Task) -> None:
    """Raise a ConfigError for an unknown metric or one that does not apply to `task`."""
    for name in names:
        if task.name not in METRICS.get(name).tasks:
            valid = [n for n in METRICS.names() if task.name in METRICS.get(n).tasks]
            raise ConfigError(f"Metric '{name}' does not apply to a {task.name} task; use one of "
                              f"{', '.join(valid) or 'none (this task reports its loss)'}.")


def compute_metrics(names: Sequence[str], outputs: Any, targets: torch.Tensor, task: Task,
                    prefix: str = "") -> dict[str, float]:
    """Compute several metrics at once: {prefix + name: value}.

    Raises:
        ConfigError: a metric that does not apply to this task.

    Example:
        >>> from neuronet.tasks import TASKS
        >>> compute_metrics(["accuracy"], torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]),
        ...                 TASKS.get("classification")())
        {'accuracy': 0.5}
    """
    check_metrics(names, task)
    return {prefix + name: METRICS.get(name).fn(outputs, targets, task) for name in names}
