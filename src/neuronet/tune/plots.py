"""Plots of a search: the optimisation history, parameter importances, parallel coordinates (PNG)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from neuronet.plots import figure, save_figure
from neuronet.space import Param
from neuronet.tune.study import Search, TrialRecord

__all__ = ["plot_study", "importances"]


def _position(p: Param, value: Any) -> float:
    """A parameter's value on a 0..1 axis (log scale for log ranges, the index for choices)."""
    if p.kind == "choice":
        index = next((i for i, c in enumerate(p.choices) if c == value), 0)
        return index / max(1, len(p.choices) - 1)
    lo, hi, v = p.low, p.high, float(value)
    if p.kind == "log_uniform":
        lo, hi, v = math.log(lo), math.log(hi), math.log(v)
    return 0.5 if hi == lo else (v - lo) / (hi - lo)


def importances(rows: list[TrialRecord], search: Search) -> dict[str, float]:
    """How much each parameter explains the metric: Optuna's fANOVA importances over the completed trials."""
    import optuna

    from neuronet.tune.study import open_study

    study = open_study(search, create=False)
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(done) < 2 or len(search.params) < 1:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError):  # e.g. every trial drew the same value
        return {}


def plot_study(rows: list[TrialRecord], search: Search, folder: Path) -> list[Path]:
    """history.png, importances.png (when there are enough trials) and parallel.png."""
    done = [r for r in rows if r.state == "complete" and r.value is not None]
    paths: list[Path] = []
    if not done:
        return paths
    better = min if search.direction == "minimize" else max
    fig, ax = figure(7, 4)
    ax.scatter([r.number for r in done], [r.value for r in done], s=14, label="trial")
    best, line = None, []
    for r in done:
        best = r.value if best is None else better(best, r.value)
        line.append(best)
    ax.step([r.number for r in done], line, where="post", color="C3", label="best so far")
    pruned = [r for r in rows if r.state == "pruned"]
    if pruned:
        ax.scatter([r.number for r in pruned], [np.nan] * len(pruned), label=f"{len(pruned)} pruned")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(search.tune.metric)
    ax.set_title(f"{search.tune.method} search: {search.tune.metric} per trial")
    ax.grid(alpha=0.3)
    ax.legend()
    paths.append(save_figure(fig, folder / "history.png"))
    weights = importances(rows, search)
    if weights:
        fig, ax = figure(6, 0.6 + 0.45 * len(weights))
        names = list(weights)[::-1]
        ax.barh(names, [weights[n] for n in names])
        ax.set_xlabel("importance (fANOVA)")
        ax.set_title(f"what drives {search.tune.metric}")
        paths.append(save_figure(fig, folder / "importances.png"))
    fig, ax = figure(1.6 + 1.6 * len(search.params), 4)
    values = np.array([r.value for r in done], dtype=float)
    span = (values.max() - values.min()) or 1.0
    colours = (values - values.min()) / span if search.direction == "maximize" else (values.max() - values) / span
    for r, c in zip(done, colours):
        ys = [_position(p, r.params.get(p.path)) for p in search.params]
        ax.plot(range(len(ys)), ys, color=(1 - c, 0.3, c), alpha=0.7)
    ax.set_xticks(range(len(search.params)), [p.path for p in search.params], rotation=20, ha="right")
    ax.set_yticks([0, 1], ["low / first", "high / last"])
    ax.set_title(f"parallel coordinates (blue: better {search.tune.metric})")
    paths.append(save_figure(fig, folder / "parallel.png"))
    return paths
