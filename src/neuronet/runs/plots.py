"""Plots of a run: loss and metric curves, confusion matrix, predicted-vs-true (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from neuronet.atomic import atomic_path  # noqa: E402
from neuronet.train import History  # noqa: E402

__all__ = ["plot_curves", "plot_confusion_matrix", "plot_regression", "save_figure"]


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Save a figure as PNG atomically and close it."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return path


def plot_curves(history: History, folder: Path) -> list[Path]:
    """One PNG per quantity (loss, then each metric): train and validation per epoch."""
    keys = history.keys()
    names = ["loss"] + sorted({k[len("train_"):] for k in keys if k.startswith("train_")} - {"loss"})
    epochs = history["epoch"]
    paths = []
    for name in names:
        fig, ax = plt.subplots(figsize=(6, 4))
        for split in ("train", "val"):
            if f"{split}_{name}" in keys:
                ax.plot(epochs, history[f"{split}_{name}"], marker="o", markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{name} per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        paths.append(save_figure(fig, folder / f"{name}.png"))
    return paths


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str], path: Path) -> Path:
    """Confusion matrix (rows: true class, columns: predicted) with counts in each cell."""
    n = len(class_names)
    cm = confusion_matrix(y_true, y_pred, labels=list(range(n)))
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (test)")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    return save_figure(fig, path)


def plot_regression(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> Path:
    """Predicted against true values, with the identity line."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y_true.ravel(), y_pred.ravel(), s=8, alpha=0.6)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title("predicted vs true (test)")
    return save_figure(fig, path)
