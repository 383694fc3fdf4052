"""Evaluation metrics by name, computed from model outputs and targets.

Each metric takes `outputs` (logits for classification, values for regression) and
`targets`, plus the prediction kind ('multiclass', 'binary', 'regression').
Classification metrics from scikit-learn are macro-averaged over classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from sklearn import metrics as skm

from neuronet.errors import ConfigError
from neuronet.registry import Registry

__all__ = ["METRICS", "Metric", "check_metrics", "compute_metrics", "default_metrics", "predicted_labels", "probabilities"]


@dataclass(frozen=True)
class Metric:
    """A metric function, the kinds it applies to, and whether higher is better."""

    fn: Callable[[torch.Tensor, torch.Tensor], float]
    kinds: tuple[str, ...]
    higher_is_better: bool
    help: str = ""


METRICS: Registry[Metric] = Registry("metric")


def predicted_labels(outputs: torch.Tensor, kind: str) -> torch.Tensor:
    """Class indices from logits: argmax for multiclass, logit > 0 for binary."""
    if kind == "binary":
        return (outputs.reshape(len(outputs), -1)[:, 0] > 0).long()
    return outputs.argmax(dim=1)


def probabilities(outputs: torch.Tensor, kind: str) -> torch.Tensor:
    """Class probabilities (N, classes) from logits: softmax, or [1 - p, p] for one binary logit."""
    if kind == "binary":
        p = torch.sigmoid(outputs.reshape(len(outputs), -1)[:, 0])
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(outputs, dim=1)


def _labels(fn: Callable) -> Callable:
    def metric(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> float:
        return float(fn(targets.reshape(-1).cpu().numpy(), predicted_labels(outputs, kind).cpu().numpy()))

    return metric


def _accuracy(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> float:
    # In torch rather than scikit-learn: it runs every epoch, and sklearn's input checks cost ~1 ms.
    return float((predicted_labels(outputs, kind) == targets.reshape(-1)).double().mean())


def _pr_auc(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> float:
    proba = probabilities(outputs, kind).cpu().numpy()
    y = targets.reshape(-1).cpu().numpy()
    if kind == "binary":
        return float(skm.average_precision_score(y, proba[:, 1]))
    onehot = (y[:, None] == range(proba.shape[1])).astype(int)
    present = onehot.sum(axis=0) > 0  # classes absent from this split have no precision-recall curve
    return float(skm.average_precision_score(onehot[:, present], proba[:, present], average="macro"))


def _values(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable:
    def metric(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> float:
        out = outputs.double().reshape(len(outputs), -1)
        return float(fn(out, targets.double().reshape(out.shape)))

    return metric


def _r2(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    ss_res = ((y - pred) ** 2).sum(dim=0)
    ss_tot = ((y - y.mean(dim=0)) ** 2).sum(dim=0)
    return (1 - ss_res / ss_tot).mean()  # averaged over target columns, like sklearn's default


_CLS, _REG = ("multiclass", "binary"), ("regression",)
for _name, _metric in {
    "accuracy": Metric(_accuracy, _CLS, True, "Fraction of correct predictions."),
    "balanced_accuracy": Metric(_labels(skm.balanced_accuracy_score), _CLS, True, "Mean recall over classes."),
    "precision": Metric(_labels(lambda t, p: skm.precision_score(t, p, average="macro", zero_division=0)), _CLS, True,
                        "Macro-averaged precision: TP / (TP + FP) per class."),
    "recall": Metric(_labels(lambda t, p: skm.recall_score(t, p, average="macro", zero_division=0)), _CLS, True,
                     "Macro-averaged recall: TP / (TP + FN) per class."),
    "f1": Metric(_labels(lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0)), _CLS, True,
                 "Macro-averaged F1, the harmonic mean of precision and recall."),
    "pr_auc": Metric(_pr_auc, _CLS, True, "Area under the precision-recall curve (average precision), macro over classes."),
    "mae": Metric(_values(lambda p, y: (p - y).abs().mean()), _REG, False, "Mean absolute error."),
    "mse": Metric(_values(lambda p, y: ((p - y) ** 2).mean()), _REG, False, "Mean squared error."),
    "rmse": Metric(_values(lambda p, y: ((p - y) ** 2).mean(dim=0).sqrt().mean()), _REG, False,
                   "Root mean squared error (per target column, then averaged, like scikit-learn)."),
    "r2": Metric(_values(_r2), _REG, True, "Coefficient of determination, 1 - SS_res / SS_tot."),
}.items():
    METRICS.add(_name, _metric, _metric.help)


def default_metrics(kind: str, full: bool = False) -> list[str]:
    """The metrics reported by default for a prediction kind (`full`: the final report's set)."""
    if kind == "reconstruction":
        return []
    if kind == "regression":
        return ["mae", "rmse", "r2"] if full else ["mae"]
    return ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "pr_auc"] if full else ["accuracy"]


def compute_metrics(names: Sequence[str], outputs: torch.Tensor, targets: torch.Tensor, kind: str,
                    prefix: str = "") -> dict[str, float]:
    """Compute several metrics at once: {prefix + name: value}.

    Raises:
        ConfigError: a metric that does not apply to this kind of prediction.

    Example:
        >>> compute_metrics(["accuracy"], torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]), "multiclass")
        {'accuracy': 0.5}
    """
    check_metrics(names, kind)
    return {prefix + name: METRICS.get(name).fn(outputs, targets, kind) for name in names}


def check_metrics(names: Sequence[str], kind: str) -> None:
    """Raise a ConfigError for an unknown metric or one that does not apply to `kind`."""
    for name in names:
        if kind not in METRICS.get(name).kinds:
            raise ConfigError(f"Metric '{name}' does not apply to {kind} outputs; use one of "
                              f"{', '.join(n for n in METRICS.names() if kind in METRICS.get(n).kinds)}.")
