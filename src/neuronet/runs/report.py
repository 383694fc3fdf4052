"""A short Markdown report of a finished run."""

from __future__ import annotations

from typing import Any

from neuronet.doctor import Finding
from neuronet.train import History

__all__ = ["render_report", "render_rl_report"]


def _table(rows: dict[str, Any]) -> list[str]:
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in rows.items()]
    return lines


def _quoted(text: str, limit: int = 600) -> str:
    """A model's text on one Markdown line: line breaks shown as ⏎, Markdown's own characters escaped."""
    text = text[:limit] + (" ..." if len(text) > limit else "")
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ⏎ ")


def _test_table(metrics: dict[str, Any]) -> list[str]:
    """The test metrics; with baselines (fitted on the same training rows), a column for each and what it is."""
    test, baselines = metrics.get("test", {}), metrics.get("baselines") or {}
    if not baselines:
        return _table(test)
    names = list(baselines)
    cell = lambda v: f"{v:.4f}" if isinstance(v, float) else "" if v is None else str(v)  # noqa: E731
    lines = ["| metric | network | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    lines += [f"| {k} | {cell(v)} | " + " | ".join(cell(baselines[n].get(k)) for n in names) + " |"
              for k, v in test.items()]
    notes = metrics.get("baseline_notes") or {}
    return lines + ["", "Baselines, fitted on the same training rows and scored on the same test rows:",
                    *(f"- **{n}**: {note}" for n, note in notes.items())]


def render_report(name: str, state: dict[str, Any], model: dict[str, Any], config_yaml: str, n_params: int,
                  history: History, metrics: dict[str, Any], plots: list[str], findings: list[Finding] = (),
                  doctor: bool = True, samples: list[tuple[str, str]] = ()) -> str:
    """Markdown text: what was trained on what, how the data was prepared, how it went, the doctor's findings,
    the test metrics, texts the model wrote (`samples`: (epoch file, text) written during training), the plots."""
    meta, sizes = state["data"], metrics["sizes"]
    best = metrics.get("best_epoch")
    lines = [
        f"# Run `{name}`", "",
        f"- **Data**: `{meta['name']}` ({model['task']}, input shape {tuple(meta['input_shape'])}, "
        f"{meta['num_outputs']} outputs; {sizes['train']} train / {sizes['val']} val / {sizes['test']} test examples)",
        f"- **Model**: `{model['type']}` with {n_params:,} trainable parameters",
        f"- **Training**: {len(history)} epochs in {metrics['train_time_s']:.1f} s"
        + (f"; best epoch {best} by {metrics['monitor']}" if best else ""),
        "", "## Data preparation (fitted on the training split)", "",
        *[f"- {line}" for line in state.get("summary", [])], "",
        "## Test metrics", "", *_test_table(metrics), "",
        "## Doctor", "", *([f"- **{f.severity}: {f.title}** — {f.evidence} {f.explanation} *Try*: {f.fix}"
                            for f in findings] or ["No problems found (`neuronet doctor` explains what was checked)."
                                                   if doctor else "The doctor was off (train.doctor: false)."]),
        "",
    ]
    if metrics.get("examples"):  # texts the model wrote (generated samples, translations of test sentences)
        lines += ["## Examples", ""]
        rows = metrics["examples"]
        if len({tuple(row) for row in rows}) == 1 and all(len(str(v)) <= 40 for row in rows for v in row.values()):
            columns = list(rows[0])  # short values under the same keys (AP per class): one table
            lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
                      *("| " + " | ".join(str(row[c]).replace("|", "\\|") for c in columns) + " |" for row in rows), ""]
        else:
            for example in rows:
                lines += [f"- **{key}**: {_quoted(str(value))}" for key, value in example.items()] + [""]
    if samples:
        lines += ["## Samples by epoch", "", *(f"- **{name}**: {_quoted(text)}" for name, text in samples), ""]
    if history.epochs:
        last = history.epochs[-1]
        lines += ["## Last epoch", "", *_table({k: v for k, v in last.items() if k != "epoch"}), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += ["## Config", "", "```yaml", config_yaml.rstrip(), "```", ""]
    return "\n".join(lines)


def render_rl_report(name: str, model: dict[str, Any], config_yaml: str, n_params: int, history: History,
                     metrics: dict[str, Any], plots: list[str], findings: list[Finding] = (), doctor: bool = True) -> str:
    """Markdown text of a reinforcement-learning run: the agent, how training went, the evaluation, the plots."""
    evaluation = metrics["evaluation"]
    lines = [
        f"# Run `{name}`", "",
        f"- **Agent**: `{model['agent']}` with a `{model['model'].get('type', 'mlp')}` policy, {n_params:,} trainable "
        f"parameters; observations {tuple(model['obs_shape'])}, "
        + (f"{model['action_dim']} discrete actions" if model["discrete"] else f"{model['action_dim']}-D actions"),
        f"- **Training**: {metrics['steps']:,} environment steps, {metrics['episodes']:,} episodes, "
        f"{metrics['train_time_s']:.1f} s", "",
        f"## Evaluation ({evaluation['episodes']} seeded episodes, greedy policy)", "",
        *_table({k: evaluation[k] for k in ("mean_return", "std_return", "min_return", "max_return", "mean_length")}), "",
        "## Doctor", "", *([f"- **{f.severity}: {f.title}** — {f.evidence} {f.explanation} *Try*: {f.fix}"
                            for f in findings] or ["No problems found." if doctor else "The doctor was off."]), "",
    ]
    if history.epochs:
        lines += ["## Last record", "", *_table({k: v for k, v in history.epochs[-1].items() if k != "epoch"}), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += ["## Config", "", "```yaml", config_yaml.rstrip(), "```", ""]
    return "\n".join(lines)
