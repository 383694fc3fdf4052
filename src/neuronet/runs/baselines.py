"""A supervised run's baselines: fitted on its training rows, scored on its test rows, compared by the doctor.

The task names its baselines (`neuronet.tasks.baselines`); this module hands them the run's
splits (and the raw texts or series windows where the network read those), and turns their
scores into the doctor's finding and the tables `neuronet train`, `neuronet evaluate` and the
reports show. Runs from before baselines (no "baselines" in metrics.json) show none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuronet.doctor.baselines import BaselineScore, below_baseline
from neuronet.errors import DataError
from neuronet.doctor.findings import Finding
from neuronet.tasks import METRICS, BaselineRows, Baselines, fit_baselines

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.runs.build import RunPlan

__all__ = ["run_baselines", "baseline_finding", "baseline_grid", "check_stored_baselines", "HEADLINES"]

HEADLINES = ("accuracy", "rmse", "mse", "d_real", "perplexity")  # the test metric a run is summed up by, first found


def run_baselines(plan: RunPlan) -> Baselines | None:
    """The task's baselines on the plan's training and test rows; None when off (`baselines: false`), when
    the task has none, or when there is no test split."""
    if not plan.config.baselines or not plan.task.baselines or plan.test is None:
        return None
    raw_train = raw_test = None
    if plan.data.layout == "text" or plan.task.name == "forecasting":  # the network read texts / scaled windows
        c = plan.config
        raw_train, _, raw_test = plan.data.split(val=c.data.val, test=c.data.test, seed=c.seed)
    rows = BaselineRows(plan.train, plan.test, raw_train, raw_test, plan.pipeline.inverse_target, plan.config.seed)
    return fit_baselines(plan.task, rows)


def headline(test: dict[str, Any]) -> str | None:
    """The metric a run is summed up by: the first of HEADLINES among its test metrics."""
    return next((k for k in HEADLINES if isinstance(test.get(k), (int, float))), None)


def baseline_finding(metrics: dict[str, Any]) -> Finding | None:
    """The doctor's warning when the network's headline test metric does not beat a baseline's (metrics.json)."""
    test, scores = metrics.get("test") or {}, metrics.get("baselines") or {}
    metric = headline(test)
    if metric is None or not scores:
        return None
    notes, trivial = metrics.get("baseline_notes") or {}, set(metrics.get("baselines_trivial") or [])
    higher = METRICS.get(metric).higher_is_better
    n_test = (metrics.get("sizes") or {}).get("test") or 0
    one_example = 1.0 / n_test if metric == "accuracy" and n_test else 0.0  # less than one test example is noise
    found = [BaselineScore(name, notes.get(name, name), float(score[metric]),
                           0.0 if name in trivial else one_example, name in trivial)
             for name, score in scores.items() if isinstance(score.get(metric), (int, float))]
    return below_baseline(metric, float(test[metric]), found, higher, perfect=1.0 if higher else 0.0)


def check_stored_baselines(metrics: dict[str, Any], where: Any) -> None:
    """Raise a DataError naming `where` (a run's metrics.json) when its baselines are not as a run writes them.

    A run directory is data: an edited file is one sentence, never a traceback in the tables
    `neuronet evaluate` and the report build from it. Runs without baselines pass.
    """
    scores, notes = metrics.get("baselines", {}), metrics.get("baseline_notes", {})
    trivial, seconds = metrics.get("baselines_trivial", []), metrics.get("baselines_time_s")
    if not (isinstance(scores, dict) and all(isinstance(v, dict) and all(
            isinstance(x, (int, float)) or x is None for x in v.values()) for v in scores.values())):
        raise DataError(f"{where} holds baselines that are not {{name: {{metric: number}}}}; it was edited or damaged "
                        "(train the run again, or delete the \"baselines\" entry to use the run without them).")
    if not (isinstance(notes, dict) and all(isinstance(v, str) for v in notes.values())
            and isinstance(trivial, list) and (seconds is None or isinstance(seconds, (int, float)))):
        raise DataError(f"{where} holds baseline notes that are not as a run writes them ({{name: text}}, a list of "
                        "names, seconds); it was edited or damaged (train the run again).")


def baseline_grid(test: dict[str, Any], metrics: dict[str, Any]) -> tuple[list[str], list[tuple[str, ...]]] | None:
    """Columns and rows of a table: each test metric, the network's value and each baseline's; None without baselines."""
    scores = metrics.get("baselines") or {}
    if not scores:
        return None
    names = list(scores)
    rows = [(key, _cell(value), *(_cell(scores[n].get(key)) for n in names))
            for key, value in test.items() if any(key in scores[n] for n in names)]
    return ["metric", "network", *names], rows


def baseline_lines(metrics: dict[str, Any]) -> list[str]:
    """One line per baseline: what it is (or why it was skipped)."""
    notes = metrics.get("baseline_notes") or {}
    seconds = metrics.get("baselines_time_s")
    lines = [f"baseline {name}: {note}" for name, note in notes.items()]
    return lines + ([f"baselines fitted in {seconds:.2f} s (`baselines: false` turns them off)"]
                    if lines and isinstance(seconds, (int, float)) else [])


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "" if value is None else str(value)
