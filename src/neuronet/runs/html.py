"""`neuronet report RUN`: one self-contained HTML page of a run (images embedded, no network, no script).

Config, data summary, curves, metrics, the doctor's findings, confusion matrix, t-SNE,
attributions, attention maps and the most confidently wrong test examples, as far as they apply.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from neuronet.atomic import write_text
from neuronet.doctor.findings import CHECKED
from neuronet.runs.baselines import check_stored_baselines
from neuronet.runs.diagnosis import findings_of
from neuronet.rundir.files import RunFiles, read_json
from neuronet.rundir.lock import RunLock
from neuronet.tasks import TASKS

__all__ = ["write_html_report", "check_report_inputs", "supervised_sections", "rl_sections"]

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}pre{background:#f7f7f7;padding:.8em;overflow:auto}
.finding{border-left:5px solid #999;padding:.4em .8em;margin:.6em 0;background:#fafafa}
.error{border-color:#c0392b}.warning{border-color:#e6a100}.info{border-color:#2e86c1}
.sev{font-weight:bold;text-transform:uppercase;font-size:.8em}.muted{color:#777}
.grid{display:flex;flex-wrap:wrap;gap:1em}.grid img{max-width:48%}
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _table(rows: list[list[Any]], head: list[str]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f'<td class="n">{v:.4f}</td>'
        return f"<td>{html.escape(str(v))}</td>"

    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" if any(head) else ""
    return ("<table>" + header
            + "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows) + "</table>")


def _findings(run: Path) -> str:
    files = RunFiles(run)
    if not files.doctor.is_file():
        return '<p class="muted">No doctor.json: this run was trained without the doctor.</p>'
    state = read_json(files.doctor)
    if not state.get("enabled", True):
        return '<p class="muted">The doctor was off for this run (train.doctor: false): nothing was diagnosed.</p>'
    found = findings_of(state, files.doctor)
    if not found:
        return f"<p>No problems found. Checked: {html.escape(CHECKED)}.</p>"
    return "".join(
        f'<div class="finding {f.severity}"><span class="sev">{f.severity}</span> '
        f'<b>{html.escape(f.title)}</b><br>{html.escape(f.evidence)}<br>'
        f'<span class="muted">{html.escape(f.explanation)}</span><br><b>Try:</b> {html.escape(f.fix)}</div>'
        for f in found)


def _plots(folder: Path, names: list[str]) -> str:
    found = [folder / n for n in names if (folder / n).is_file()]
    return '<div class="grid">' + "".join(_img(p, p.stem) for p in found) + "</div>" if found else ""


def _explained(run: Path, explained: dict[str, Any]) -> list[tuple[str, str]]:
    sections = []
    if explained.get("per_class"):
        rows = [[name, v["precision"], v["recall"], v["f1-score"], int(v["support"])]
                for name, v in explained["per_class"].items() if isinstance(v, dict)]
        sections.append(("Per-class metrics (test)", _table(rows, ["class", "precision", "recall", "F1", "support"])))
    parts = [("tsne", "t-SNE of the learned features (test)"), ("attribution", "Attributions"),
             ("wrong", "Most confidently wrong (test)")]
    for key, title in parts:
        info = explained.get(key)
        if key == "wrong" and info:
            quoted = any("input" in m for m in info)  # texts and table rows; images are in the picture
            rows = [[m["index"], m["true"], m["predicted"], m["probability"]]
                    + ([str(m.get("input", ""))[:160]] if quoted else []) for m in info]
            body = _plots(run / "explain", ["wrong.png"]) + _table(
                rows, ["example", "true", "predicted", "p"] + (["input"] if quoted else []))
        elif info and info.get("path"):
            note = f"layer <code>{html.escape(info['layer'])}</code>" if key == "tsne" else \
                f"method <code>{html.escape(info['method'])}</code>, examples {info['examples']}"
            body = f"<p>{note}</p>" + _img(run / info["path"], title)
        else:
            continue
        sections.append((title, body))
    maps = [m for m in explained.get("attention", []) if m.get("path")]
    if maps:
        sections.append(("Attention maps", "".join(_img(run / m["path"], f"attention {m['example']}") for m in maps)))
    skipped = explained.get("skipped", {})
    if skipped:
        sections.append(("Not shown", "<ul>" + "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                                                      for k, v in skipped.items()) + "</ul>"))
    return sections


def check_report_inputs(run: str | Path) -> None:
    """Raise the one-sentence error a damaged file the page reads would raise (model.json, metrics.json, doctor.json),
    before `neuronet report` spends time on explanations and writes RUN/explain/."""
    files = RunFiles(run)
    files.check()
    read_json(files.model)
    if files.metrics.is_file():
        check_stored_baselines(read_json(files.metrics), files.metrics)
    if files.doctor.is_file():
        state = read_json(files.doctor)
        if state.get("enabled", True):
            findings_of(state, files.doctor)


def write_html_report(run: str | Path) -> Path:
    """Write RUN/report.html (atomically) and return its path: the run's kind says what the page holds.

    Args:
        run: A run directory (completed, or failed / stopped: then with what it has).
    """
    from neuronet.runs.kinds import kind_of_run

    files = RunFiles(run)
    files.check()  # a failed or stopped run too: its curves so far and the doctor's findings are worth a page
    model = read_json(files.model)
    metrics = read_json(files.metrics) if files.metrics.is_file() else {}
    check_stored_baselines(metrics, files.metrics)
    return _write_page(files, kind_of_run(files.root).report_sections(files, model, metrics))


def supervised_sections(files: RunFiles, model: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The page of a run that learned from data: data, metrics, curves, the doctor, predictions, explanations."""
    from neuronet.runs.explain import read_explained

    root = files.root
    state = read_json(files.preprocessing)
    meta, sizes = state["data"], metrics.get("sizes", {})
    explained = read_explained(root) or {}
    head = _table([["data", f"{meta['name']} ({model['task']}), input {tuple(meta['input_shape'])}, "
                            f"{meta['num_outputs']} outputs"],
                   ["examples", f"{sizes.get('train')} train / {sizes.get('val')} val / {sizes.get('test')} test"],
                   ["model", model["type"]],
                   ["training", f"{metrics.get('epochs_run')} epochs in {metrics.get('train_time_s', 0):.1f} s"
                    if metrics else f"status: {read_json(files.status).get('status')} — "
                                    f"{read_json(files.status).get('message', 'not finished')}"]],
                  ["", ""])
    baselines = metrics.get("baselines") or {}  # runs from before baselines have none
    names = list(baselines) if isinstance(baselines, dict) else []
    metric_rows = [[k, metrics.get("val", {}).get(k, ""), v, *((baselines[n] or {}).get(k, "") for n in names)]
                   for k, v in metrics.get("test", {}).items()]
    notes = metrics.get("baseline_notes") or {}
    baseline_notes = ("<p>Baselines, fitted on the same training rows and scored on the same test rows:</p><ul>"
                      + "".join(f"<li><b>{html.escape(str(n))}</b>: {html.escape(str(note))}</li>"
                                for n, note in notes.items()) + "</ul>") if notes else ""
    sections = [
        ("Run", head),
        ("Data preparation (fitted on the training split)",
         "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in state.get("summary", [])) + "</ul>"),
        ("Metrics", _table(metric_rows, ["metric", "validation", "test", *(f"{n} (baseline)" for n in names)])
         + baseline_notes),
        ("Training curves", _plots(files.plots, sorted((p.name for p in files.plots.glob("*.png")
                                                        if p.stem in _curve_names(root)), key=lambda n: n != "loss.png"))),
        ("Doctor", _findings(root) + _plots(files.plots, ["gradients.png", "dead_relu.png"])),
        ("Test predictions", _plots(files.plots, _prediction_plots(model["task"]))),
        *_explained(root, explained),
        ("Config", _config(files)),
    ]
    return sections


def _prediction_plots(task: str) -> list[str]:
    """The test-prediction plots of the run's task (`Task.plot_files`); every task's for a name not registered."""
    names = [task] if task in TASKS else TASKS.names()
    return [file for name in names for file in TASKS.get(name).plot_files]


def _config(files: RunFiles) -> str:
    return f"<pre>{html.escape(files.config.read_bytes().decode('utf-8', errors='replace'))}</pre>"


def rl_sections(files: RunFiles, model: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The page of a reinforcement-learning run: the agent, its evaluation, curves, the doctor, the config."""
    status = read_json(files.status) if files.status.is_file() else {}
    head = _table([["agent", f"{model['agent']} (observations {tuple(model.get('obs_shape', ()))}, "
                             f"{model.get('action_dim')} {'discrete actions' if model.get('discrete') else 'action dims'})"],
                   ["training", f"{metrics.get('steps')} steps, {metrics.get('episodes')} episodes in "
                                f"{metrics.get('train_time_s', 0):.1f} s" if metrics else
                    f"status: {status.get('status')} — {status.get('message', 'not finished')}"]], ["", ""])
    evaluation = metrics.get("evaluation", {})
    rows = [[k, v] for k, v in evaluation.items() if isinstance(v, (int, float))]
    return [("Run", head), ("Evaluation (seeded episodes)", _table(rows, ["metric", "value"]) if rows else ""),
            ("Training curves", _plots(files.plots, ["returns.png", "losses.png", "exploration.png"])),
            ("Doctor", _findings(files.root)), ("Config", _config(files))]


def _write_page(files: RunFiles, sections: list[tuple[str, str]]) -> Path:
    root = files.root
    body = "".join(f"<h2>{html.escape(t)}</h2>{b}" for t, b in sections if b)
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>neuronet run {html.escape(root.name)}'
            f'</title><style>{_CSS}</style></head><body><h1>Run <code>{html.escape(root.name)}</code></h1>{body}'
            f"</body></html>\n")
    path = root / "report.html"
    with RunLock(root, "report"):
        write_text(path, page)
    return path


def _curve_names(root: Path) -> set[str]:
    """loss and each metric with a train_ column in history.csv: the curves plot_curves made."""
    text = (root / "history.csv").read_bytes()[:10_000].decode("utf-8", errors="replace") \
        if (root / "history.csv").is_file() else ""
    header = text.splitlines()[0].split(",") if text else []
    return {"loss"} | {c[len("train_"):] for c in header if c.startswith("train_")}
