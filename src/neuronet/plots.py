"""Plots as PNG files: curves, confusion matrix, predicted vs true, forecasts, reconstructions, image grids.

Figures are made with matplotlib's object API (`Figure`), not pyplot: no global backend is
switched and no window can open, so plotting is safe inside a user's session or a server
thread. Prediction and serving never import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.image import imsave

from neuronet.atomic import atomic_path

__all__ = ["figure", "save_figure", "plot_detections", "plot_segmentation", "plot_curves", "plot_confusion_matrix", "plot_regression", "plot_forecast",
           "plot_image_pairs", "image_grid", "save_image_grid", "plot_attention_pairs", "plot_alignment"]


def figure(width: float, height: float) -> tuple[Figure, object]:
    """A figure with one set of axes, outside pyplot's global state."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def save_figure(fig: Figure, path: Path) -> Path:
    """Save a figure as PNG atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return path


def plot_curves(epochs: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """One PNG per quantity (loss, then each metric): train and validation per epoch."""
    keys = list(dict.fromkeys(k for record in epochs for k in record))
    names = ["loss"] + sorted({k[len("train_"):] for k in keys if k.startswith("train_")} - {"loss"})
    x = [r.get("epoch") for r in epochs]
    paths = []
    for name in names:
        fig, ax = figure(6, 4)
        for split in ("train", "val"):
            if f"{split}_{name}" in keys:
                ax.plot(x, [r.get(f"{split}_{name}", np.nan) for r in epochs], marker="o", markersize=3, label=split)
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
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    fig, ax = figure(1.0 + 0.5 * n, 0.8 + 0.5 * n)
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
    fig, ax = figure(5, 5)
    ax.scatter(y_true.ravel(), y_pred.ravel(), s=8, alpha=0.6)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title("predicted vs true (test)")
    return save_figure(fig, path)


def plot_forecast(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> Path:
    """The next-step forecast against what happened, over the test windows in time order."""
    fig, ax = figure(7, 4)
    steps = np.arange(len(y_true))
    ax.plot(steps, y_true.reshape(len(y_true), -1)[:, 0], marker="o", markersize=3, label="actual")
    ax.plot(steps, y_pred.reshape(len(y_pred), -1)[:, 0], marker="o", markersize=3, label="forecast")
    ax.set_xlabel("test window (time order)")
    ax.set_ylabel("value (first step ahead)")
    ax.set_title("forecast vs actual (test)")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def image_grid(images: Any, columns: int = 8) -> np.ndarray:
    """Tile (N, C, H, W) images in [0, 1] into one (rows*H, columns*W[, C]) array."""
    images = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    n, c, h, w = images.shape
    rows = -(-n // columns)
    grid = np.ones((c, rows * h, columns * w), dtype=np.float32)
    for i, image in enumerate(images):
        r, k = divmod(i, columns)
        grid[:, r * h:(r + 1) * h, k * w:(k + 1) * w] = image
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images: Any, path: Path, columns: int = 8) -> Path:
    """Write an image grid as PNG (grey for one channel)."""
    with atomic_path(path) as tmp:
        imsave(tmp, image_grid(images, columns), cmap="gray", vmin=0, vmax=1, format="png")
    return path


def plot_image_pairs(originals: np.ndarray, reconstructions: np.ndarray, path: Path, n: int = 8) -> Path:
    """Originals (top row) above their reconstructions (bottom row)."""
    n = min(n, len(originals))
    lo, hi = float(originals[:n].min()), float(originals[:n].max())
    scale = lambda a: (a - lo) / (hi - lo) if hi > lo else a  # noqa: E731 - show standardised data too
    return save_image_grid(np.concatenate([scale(originals[:n]), scale(reconstructions[:n])]), path, columns=n)


def plot_attention_pairs(weights: np.ndarray, sources: list[str], outputs: list[str], path: Path) -> Path:
    """A heat map of how much each output token (rows) attends to each source token (columns).

    Args:
        weights: (outputs, sources) attention weights, each row summing to 1.
        sources, outputs: The tokens, as the vocabularies write them.
    """
    rows, cols = weights.shape
    fig, ax = figure(max(4.0, 0.32 * cols + 1.5), max(3.0, 0.3 * rows + 1.2))
    ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
    ax.set_xticks(range(cols), [repr(t)[1:-1] for t in sources], rotation=90, fontsize=7)
    ax.set_yticks(range(rows), [repr(t)[1:-1] for t in outputs], fontsize=7)
    ax.set_xlabel("source token")
    ax.set_ylabel("output token")
    ax.set_title("Attention between the source and its translation")
    return save_figure(fig, path)


def plot_alignment(spectrogram: np.ndarray, confidence: Sequence[float], emitted: Sequence[tuple[int, str]],
                   heard: str, said: str | None, path: Path) -> Path:
    """A clip's spectrogram and, below it, where a CTC model emits each character along it.

    Args:
        spectrogram: (mel bands, frames) the model read.
        confidence: The probability of each output frame's most likely symbol (blank included).
        emitted: (output frame, character) where the best frame path starts each character.
        heard: The transcript the path reads as; said: the reference (None: unknown).
    """
    frames, outs = spectrogram.shape[1], max(len(confidence), 1)
    step = frames / outs  # spectrogram frames per output frame
    fig = Figure(figsize=(max(8.0, min(24.0, frames / 25)), 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    top.imshow(spectrogram, origin="lower", aspect="auto", cmap="magma", extent=(0, frames, 0, spectrogram.shape[0]))
    top.set_ylabel("mel band")
    top.set_title(f"heard: {heard!r}" + (f"\nsaid: {said!r}" if said is not None else ""), fontsize=10, loc="left")
    bottom.plot([(t + 0.5) * step for t in range(len(confidence))], confidence, color="0.6", lw=1)
    for t, char in emitted:
        at = (t + 0.5) * step
        top.axvline(at, color="white", lw=0.6, alpha=0.6)
        bottom.text(at, 0.5, "␣" if char == " " else char, ha="center", va="center", fontsize=11, color="tab:blue",
                    fontweight="bold")
    bottom.set_ylim(0, 1.05)
    bottom.set_ylabel("p(symbol)")
    bottom.set_xlabel("10 ms frame (each character is drawn where the model emits it; blank frames are empty)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path)


def _shown(image: np.ndarray) -> np.ndarray:
    """A prepared image (C, H, W), whatever its scaling, as (H, W, 3) in [0, 1] for imshow."""
    low, high = image.min(axis=(1, 2), keepdims=True), image.max(axis=(1, 2), keepdims=True)
    scaled = ((image - low) / np.maximum(high - low, 1e-6)).transpose(1, 2, 0)
    return np.repeat(scaled, 3, axis=2) if scaled.shape[2] == 1 else scaled


def plot_detections(images: np.ndarray, found: np.ndarray, truth: np.ndarray, names: Sequence[str], path: Path,
                    threshold: float = 0.3) -> Path:
    """Images (N, C, H, W) with the boxes found (N, k, 6: class, score, x0, y0, x1, y1) scoring at least `threshold`
    in their class's colour and labelled, over the true boxes (N, M, 5) in dashed white, four to a row."""
    from matplotlib.patches import Rectangle

    n = len(images)
    columns = min(4, n)
    rows = -(-n // columns)
    fig = Figure(figsize=(3.2 * columns, 3.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    colours = matplotlib.colormaps["tab10"]
    for ax, image, boxes, true in zip(axes, images, found, truth):
        ax.imshow(_shown(image))
        for cls, x0, y0, x1, y1 in true[true[:, 0] >= 0]:
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", ls="--", lw=1))
        for cls, score, x0, y0, x1, y1 in boxes[(boxes[:, 0] >= 0) & (boxes[:, 1] >= threshold)]:
            colour = colours(int(cls) % 10)
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=colour, lw=1.8))
            ax.text(x0, y0, f"{names[int(cls)] if int(cls) < len(names) else int(cls)} {score:.2f}", fontsize=7,
                    color="white", va="bottom", bbox={"fc": colour, "ec": "none", "pad": 1})
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"test images: boxes found (score >= {threshold:g}) over the true boxes (dashed)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_segmentation(images: np.ndarray, predicted: np.ndarray, truth: np.ndarray, names: Sequence[str],
                      path: Path) -> Path:
    """Each image (N, C, H, W) beside its predicted and its true class masks (N, H, W), one row per image, with a
    legend of the classes that appear."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    classes = max(len(names), int(max(predicted.max(), truth.max())) + 1)
    palette = ListedColormap(["black", *[matplotlib.colormaps["tab10"](k % 10) for k in range(classes - 1)]])
    fig = Figure(figsize=(7.5, 2.5 * len(images) + 0.6))
    axes = np.atleast_2d(fig.subplots(len(images), 3))
    for row, image, guess, true in zip(axes, images, predicted, truth):
        row[0].imshow(_shown(image))
        row[1].imshow(guess, cmap=palette, vmin=0, vmax=classes - 1, interpolation="nearest")
        row[2].imshow(true, cmap=palette, vmin=0, vmax=classes - 1, interpolation="nearest")
        for ax in row:
            ax.axis("off")
    for ax, title in zip(axes[0], ("image", "predicted", "true")):
        ax.set_title(title, fontsize=10)
    seen = sorted(set(np.unique(predicted).tolist()) | set(np.unique(truth).tolist()))
    fig.legend(handles=[Patch(color=palette(k), label=names[k] if k < len(names) else str(k)) for k in seen],
               loc="lower center", ncol=min(6, len(seen)), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save_figure(fig, path)
