"""The rule that compares the network with the classical baselines fitted beside it on the same rows.

Plain data in, a `Finding` out: the run layer fits the baselines (`neuronet.tasks.baselines`)
and passes their scores here, with whether the metric is higher-is-better.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuronet.doctor.findings import Finding

__all__ = ["BaselineScore", "below_baseline"]


@dataclass(frozen=True)
class BaselineScore:
    """One baseline's test score on the headline metric.

    Args:
        name: Its key in metrics.json ("majority", "logistic").
        title: What it is ("logistic regression on TF-IDF").
        value: Its score on the test rows.
        slack: How far below it the network may fall before it counts as not beating it
            (one test example for a fitted model's accuracy: less is noise). For a baseline that
            uses no input (the majority class, the mean) the slack is 0 and a tie counts.
        trivial: It uses no input.
    """

    name: str
    title: str
    value: float
    slack: float = 0.0
    trivial: bool = False


def below_baseline(metric: str, network: float, baselines: list[BaselineScore], higher_is_better: bool,
                   perfect: float | None = None) -> Finding | None:
    """A warning when the network's test `metric` does not beat a baseline's on the same test rows; else None.

    Example:
        >>> f = below_baseline("accuracy", 0.923, [BaselineScore("logistic", "logistic regression on TF-IDF", 0.975)], True)
        >>> f.evidence
        "The network's test accuracy 0.9230 is below the 0.9750 of logistic regression on TF-IDF on the same test rows."
    """
    if perfect is not None and network == perfect:
        return None  # nothing left to beat
    sign = 1.0 if higher_is_better else -1.0
    losing = [b for b in baselines if sign * (b.value - network) > b.slack
              or (b.trivial and sign * (b.value - network) >= 0)]
    if not losing:
        return None
    worst = max(losing, key=lambda b: sign * b.value)  # the best-scoring baseline the network does not beat
    tie = worst.value == network
    others = [b for b in losing if b is not worst]
    evidence = (f"The network's test {metric} {network:.4f} {'only ties' if tie else 'is below' if higher_is_better else 'is above'} the "
                f"{worst.value:.4f} of {worst.title} on the same test rows"
                + (f" (also {', '.join(f'{b.title}: {b.value:.4f}' for b in others)})" if others else "") + ".")
    if worst.trivial:
        explanation = ("A baseline that looks at no input scores as well: the network has learned nothing beyond "
                       "the targets' distribution.")
        fix = ("train longer (train.epochs), a larger train.lr, or check that the inputs carry the signal "
               "(neuronet doctor RUN lists the data findings).")
    else:
        explanation = ("A classical model fitted in seconds on the same training rows does better; the network "
                       "is undertrained, too large for the data, or reads the inputs less well than the baseline.")
        fix = ("train longer or with early stopping (train.epochs, train.early_stopping), tune it (`neuronet tune`), "
               "try another model.type, or use the baseline.")
    return Finding("below_baseline", "warning", "The network does not beat a simple baseline", evidence, explanation,
                   fix, values={"metric": metric, "network": network, "baseline": worst.name,
                                "baseline_value": worst.value, **{f"baseline_{b.name}": b.value for b in baselines}})
