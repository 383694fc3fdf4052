"""The PNGs of `neuronet.explain`: t-SNE scatter, attention heatmaps, attributions, confident mistakes.

Made with matplotlib's object API (`Figure`), never pyplot, and written atomically through
`neuronet.plots.save_figure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from neuronet.explain.subject import Subject
from neuronet.plots import figure, save_figure

__all__ = ["plot_attention", "plot_attributions", "plot_embedding", "plot_mistakes"]

MAX_TOKENS = 40  # attention maps show at most this many tokens (the first ones)
MAX_FEATURES = 30  # attribution bars: the most important features


def plot_embedding(embedding: np.ndarray, labels: list[str] | None, values: np.ndarray | None, title: str,
                   path: Path) -> Path:
    """A 2-D scatter: coloured by class with a legend, or by target value with a colour bar."""
    fig, ax = figure(7, 6)
    if labels is not None:
        classes = list(dict.fromkeys(sorted(labels, key=_natural)))
        colours = _colours(len(classes))
        for colour, name in zip(colours, classes):
            mask = np.array([label == name for label in labels])
            ax.scatter(embedding[mask, 0], embedding[mask, 1], s=10, alpha=0.75, color=colour, label=name)
        ax.legend(markerscale=2, fontsize=8, loc="best", ncol=1 + len(classes) // 16)
    else:
        points = ax.scatter(embedding[:, 0], embedding[:, 1], s=10, alpha=0.75,
                            c=values if values is not None else "tab:blue", cmap="viridis")
        if values is not None:
            fig.colorbar(points, ax=ax, label="target")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return save_figure(fig, path)


def plot_attention(weights: np.ndarray, tokens: list[str], title: str, path: Path) -> Path:
    """A grid of heatmaps, rows = layers, columns = heads (queries down, keys across); the first 40 tokens."""
    layers, heads = weights.shape[:2]
    shown = min(len(tokens), MAX_TOKENS)
    side = max(2.6, 0.16 * shown + 1.0)
    fig = Figure(figsize=(side * heads + 1.0, side * layers), layout="constrained")
    axes = np.asarray(fig.subplots(layers, heads, squeeze=False))
    top = float(weights[:, :, :shown, :shown].max()) or 1.0  # one colour scale for every head
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer, head]
            image = ax.imshow(weights[layer, head, :shown, :shown], cmap="viridis", vmin=0, vmax=top)
            ax.set_xticks(range(shown), tokens[:shown], rotation=90, fontsize=7)
            ax.set_yticks(range(shown), tokens[:shown], fontsize=7)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    cut = f" (first {shown} of {len(tokens)} tokens)" if shown < len(tokens) else ""
    fig.suptitle(f"{title}{cut}: rows attend to columns")
    return save_figure(fig, path)


def plot_attributions(s: Subject, result: dict[str, Any], x: torch.Tensor, path: Path) -> Path:
    """The plot that suits the inputs: images with heat maps, highlighted tokens, bars per feature, or lines."""
    values, method = result["attributions"], result["method"].replace("_", " ")
    title = f"{method} of output {', '.join(dict.fromkeys(_names(s, result['targets'])))}"
    heads = [f"example {i} → {name}" for i, name in zip(result["examples"], _names(s, result["targets"]))]
    if s.layout == "image":
        return _image_attributions(_images(s, result["examples"], x), values, heads, method, path)
    if s.layout == "tokens":
        rows = [values[i][s.real_tokens(x[i])] for i in range(len(values))]
        return _token_attributions(result["tokens"], rows, heads, method, path)
    if s.layout == "table":
        names = s.feature_names or [f"x{j}" for j in range(values.shape[1])]
        return _table_attributions(values, names, title, path)
    return _series_attributions(values, result["examples"], title, path)


def _image_attributions(images: np.ndarray, values: np.ndarray, heads: list[str], title: str, path: Path) -> Path:
    """Top row: the images; bottom row: each image in grey with its attribution over it (red +, blue -)."""
    n = len(images)
    fig = Figure(figsize=(2.2 * n, 4.8), layout="constrained")
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    for k in range(n):
        picture = _displayable(images[k])
        heat = values[k].sum(axis=0)  # (C, H, W) -> (H, W)
        limit = float(np.abs(heat).max()) or 1.0
        axes[0, k].imshow(picture, cmap=None if picture.ndim == 3 else "gray")
        axes[1, k].imshow(picture if picture.ndim == 2 else picture.mean(axis=2), cmap="gray")
        axes[1, k].imshow(heat, cmap="bwr", vmin=-limit, vmax=limit, alpha=0.6)
        axes[0, k].set_title(heads[k], fontsize=8)
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{title} (red: for the output, blue: against)", fontsize=9)
    return save_figure(fig, path)


def _token_attributions(tokens: list[list[str]], values: list[np.ndarray], heads: list[str], title: str,
                        path: Path, width: int = 90) -> Path:
    """Each example's tokens in boxes coloured by attribution (red: for the output, blue: against)."""
    from matplotlib import colormaps

    lines = [_wrap(row, width) for row in tokens]
    height = sum(len(rows) for rows in lines) + 1.5 * len(lines)
    fig, ax = figure(width * 0.085 + 0.5, 0.32 * height + 0.6)
    ax.set_xlim(0, width + 2)
    ax.set_ylim(height, 0)
    ax.axis("off")
    cmap, y = colormaps["bwr"], 0.0
    for head, rows, scores in zip(heads, lines, values):
        limit = float(np.abs(scores).max()) if len(scores) else 1.0
        ax.text(0, y + 0.5, head, fontsize=8, color="grey", va="center")
        y += 1.2
        for row in rows:
            for position, start, token in row:
                colour = cmap(0.5 + 0.5 * float(scores[position]) / (limit or 1.0))
                ax.text(start, y + 0.5, token, fontsize=9, family="monospace", va="center",
                        bbox={"facecolor": colour, "edgecolor": "none", "pad": 1.5})
            y += 1.0
        y += 0.3
    ax.set_title(f"{title} (red: for the output, blue: against)", fontsize=9)
    return save_figure(fig, path)


def _wrap(tokens: list[str], width: int) -> list[list[tuple[int, float, str]]]:
    """Tokens laid out in lines of at most `width` characters: (position, start column, token)."""
    rows: list[list[tuple[int, float, str]]] = [[]]
    column = 0.0
    for position, token in enumerate(tokens):
        token = token if len(token) <= width else token[:width - 1] + "…"
        if column + len(token) > width and rows[-1]:
            rows.append([])
            column = 0.0
        rows[-1].append((position, column, token))
        column += len(token) + 1.2
    return rows


def _table_attributions(values: np.ndarray, names: list[str], title: str, path: Path) -> Path:
    """One bar per feature: mean |attribution| over the examples; red where the mean is positive, blue where not."""
    size, mean = np.abs(values).mean(axis=0), values.mean(axis=0)
    order = np.argsort(-size, kind="stable")[:MAX_FEATURES][::-1]
    fig, ax = figure(7, 0.8 + 0.28 * len(order))
    ax.barh(range(len(order)), size[order], color=["tab:red" if mean[j] >= 0 else "tab:blue" for j in order])
    ax.set_yticks(range(len(order)), [str(names[j]) if j < len(names) else f"x{j}" for j in order], fontsize=8)
    signed = bool((values < 0).any())
    ax.set_xlabel(f"mean |attribution| over {len(values)} example(s)"
                  + (" (red: raises the output, blue: lowers it)" if signed else " (a size without a sign)"))
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def _series_attributions(values: np.ndarray, examples: list[int], title: str, path: Path) -> Path:
    """Attribution per time step (summed over features), one line per example."""
    fig, ax = figure(7, 4)
    per_step = values.reshape(len(values), values.shape[1], -1).sum(axis=2)
    steps = per_step.shape[1]
    for example, row in zip(examples, per_step):
        ax.plot(range(steps), row, marker="o", markersize=3, label=f"example {example}")
    ax.set_xticks(range(0, steps, max(1, steps // 12)),
                  [f"t-{steps - 1 - k}" for k in range(0, steps, max(1, steps // 12))], fontsize=8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("attribution")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_mistakes(mistakes: list[dict[str, Any]], layout: str, path: Path) -> Path:
    """Images in a grid titled "true → predicted (p)"; other inputs as one line of text each."""
    if layout == "image" and mistakes:
        columns = min(4, len(mistakes))
        rows = -(-len(mistakes) // columns)
        fig = Figure(figsize=(2.4 * columns, 2.6 * rows))
        axes = np.asarray(fig.subplots(rows, columns, squeeze=False)).ravel()
        for ax in axes:
            ax.axis("off")
        for ax, m in zip(axes, mistakes):
            picture = _displayable(np.asarray(m["input"]))
            ax.imshow(picture, cmap=None if picture.ndim == 3 else "gray")
            ax.set_title(f"{m['true']} → {m['predicted']} ({m['probability']:.2f})", fontsize=9)
        fig.suptitle("most confident mistakes")
        return save_figure(fig, path)
    fig, ax = figure(10, 0.6 + 0.4 * max(1, len(mistakes)))
    ax.axis("off")
    lines = [f"{m['true']} → {m['predicted']} ({m['probability']:.2f}): {_short(m['input'])}" for m in mistakes]
    ax.text(0, 1, "\n".join(lines) or "no mistakes", va="top", family="monospace", fontsize=8,
            transform=ax.transAxes)
    ax.set_title("most confident mistakes")
    return save_figure(fig, path)


def _images(s: Subject, examples: list[int], x: torch.Tensor) -> np.ndarray:
    """The examples' images as the user gave them (raw), or the prepared ones."""
    raw = s.raw
    if raw is not None and isinstance(raw.x, torch.Tensor) and tuple(raw.x.shape[1:]) == tuple(x.shape[1:]):
        return raw.x[examples].detach().cpu().float().numpy()
    return x.detach().cpu().float().numpy()


def _displayable(image: np.ndarray) -> np.ndarray:
    """(C, H, W) → (H, W) grey or (H, W, 3) colour, scaled into [0, 1]."""
    image = image.astype(np.float32)
    lo, hi = float(image.min()), float(image.max())
    image = (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image)
    return image[0] if image.shape[0] == 1 else image[:3].transpose(1, 2, 0)


def _short(value: Any, width: int = 90) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _names(s: Subject, targets: list[int]) -> list[str]:
    """Each explained output's name: its class (classification) or its index."""
    names = s.class_names if s.has_classes else None
    return [names[t] if names and t < len(names) else str(t) for t in targets]


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _natural(label: str) -> tuple[int, Any]:
    """Sort "2" before "10", and numbers before words."""
    return (0, int(label)) if label.lstrip("-").isdigit() else (1, label)
