"""A short Markdown report of a finished run."""

from __future__ import annotations

from typing import Any

from neuronet.train import History

__all__ = ["render_report"]


def _table(rows: dict[str, Any]) -> list[str]:
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in rows.items()]
    return lines


def render_report(name: str, meta: dict[str, Any], config: dict[str, Any], n_params: int, history: History,
                  metrics: dict[str, Any], plots: list[str]) -> str:
    """Markdown text: what was trained on what, how it went, the test metrics and the plots."""
    train = config["train"]
    best = metrics.get("best_epoch")
    lines = [
        f"# Run `{name}`", "",
        f"- **Data**: `{meta['name']}` ({meta['task']}, input shape {tuple(meta['input_shape'])}, "
        f"{meta['num_outputs']} outputs; {metrics['sizes']['train']} train / {metrics['sizes']['val']} val / "
        f"{metrics['sizes']['test']} test examples)",
        f"- **Model**: `{config['model']['type']}` with {n_params:,} trainable parameters",
        f"- **Training**: {train['optimizer']} (lr {train['lr']:g}), batch {train['batch_size']}, "
        f"{len(history)} of {train['epochs']} epochs in {metrics['train_time_s']:.1f} s"
        + (f"; best epoch {best} by {metrics['monitor']}" if best else ""),
        "", "## Test metrics", "", *_table(metrics.get("test", {})), "",
    ]
    if history.epochs:
        last = history.epochs[-1]
        lines += ["## Last epoch", "", *_table({k: v for k, v in last.items() if k != "epoch"}), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)
