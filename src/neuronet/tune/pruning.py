"""`OptunaPruning`: a Trainer callback that reports the tuned metric each epoch and stops a hopeless trial."""

from __future__ import annotations

import math
from typing import Any

from neuronet.train import Callback

__all__ = ["OptunaPruning"]


class OptunaPruning(Callback):
    """Report `metric` to an Optuna trial after every epoch; raise `optuna.TrialPruned` when its pruner says so.

    Args:
        trial: The running Optuna trial.
        metric: The epoch-record key being optimised (e.g. "val_accuracy").
    """

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial, self.metric = trial, metric

    def after_epoch(self, trainer: Any, logs: dict[str, Any]) -> None:
        value = logs.get(self.metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return  # a missing metric is said once training ends (best_value); NaN is no report
        self.trial.report(float(value), logs["epoch"])
        if self.trial.should_prune():
            import optuna

            self.trial.set_user_attr("epochs", logs["epoch"])
            raise optuna.TrialPruned(f"pruned after epoch {logs['epoch']} ({self.metric} {value:.4g})")
