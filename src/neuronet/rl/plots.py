"""Plots of a reinforcement-learning run: returns over environment steps, and the agent's losses."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from neuronet.plots import figure, save_figure

__all__ = ["plot_rl_curves"]


def _points(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    rows = [(r["steps"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    return [x for x, _ in rows], [y for _, y in rows]


def plot_rl_curves(records: list[dict[str, Any]], evaluations: list[dict[str, Any]], folder: Path) -> list[Path]:
    """returns.png (training episodes' mean return, evaluations' mean ± std), losses.png, and
    exploration.png (entropy or epsilon), each over environment steps."""
    paths = []
    fig, ax = figure(7, 4)
    x, y = _points(records, "mean_return")
    ax.plot(x, y, label="training episodes (mean of the last 100)")
    if evaluations:
        ex = [e["steps"] for e in evaluations]
        mean = [e["mean_return"] for e in evaluations]
        std = [e["std_return"] for e in evaluations]
        ax.errorbar(ex, mean, yerr=std, marker="o", markersize=3, capsize=3, label="evaluation (greedy) mean ± std")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title("return per episode")
    ax.grid(alpha=0.3)
    ax.legend()
    paths.append(save_figure(fig, folder / "returns.png"))
    loss_keys = [k for k in ("loss", "policy_loss", "value_loss") if _points(records, k)[0]]
    if loss_keys:
        fig, ax = figure(7, 4)
        for key in loss_keys:
            ax.plot(*_points(records, key), label=key)
        if all(v > 0 for k in loss_keys for v in _points(records, k)[1]):
            ax.set_yscale("log")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("loss")
        ax.set_title("losses (mean per record)")
        ax.grid(alpha=0.3)
        ax.legend()
        paths.append(save_figure(fig, folder / "losses.png"))
    key = "entropy" if _points(records, "entropy")[0] else "epsilon" if _points(records, "epsilon")[0] else None
    if key:
        fig, ax = figure(7, 4)
        ax.plot(*_points(records, key))
        ax.set_xlabel("environment steps")
        ax.set_ylabel(key)
        ax.set_title("policy entropy" if key == "entropy" else "exploration rate epsilon")
        ax.grid(alpha=0.3)
        paths.append(save_figure(fig, folder / "exploration.png"))
    return paths
