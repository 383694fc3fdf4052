"""The training doctor in a run directory: the data checked before training, the findings and
per-layer statistics written to `RUN/doctor.json`, read back by `neuronet doctor` and the reports.

Reading findings imports nothing from training, so that `neuronet doctor RUN` starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuronet.doctor.findings import Finding, sort_findings
from neuronet.runs.files import RunFiles, read_json, write_json

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.runs.build import RunPlan
    from neuronet.train import Trainer

__all__ = ["check_data", "write_findings", "read_findings", "plot_doctor"]


def check_data(plan: RunPlan) -> list[Finding]:
    """The data findings of a planned run (a class-weighted or resampled run has no imbalance finding)."""
    from neuronet.doctor import diagnose_data

    train = plan.config.train_options()
    balanced = bool(train.get("class_weights") or plan.config.data.resample)
    columns = [str(c) for c in plan.data.x.columns] if hasattr(plan.data.x, "columns") else None
    return diagnose_data(plan.train, plan.val, plan.test, balanced=balanced, columns=columns)


def write_findings(files: RunFiles, trainer: Trainer, data: list[Finding]) -> list[Finding]:
    """Write doctor.json (data + training findings, and the sampled statistics); returns the findings."""
    doctor = trainer.doctor
    findings = sort_findings([*data, *(doctor.findings if doctor else [])])
    kind = "reinforcement" if hasattr(trainer, "agent") else "supervised"
    write_json(files.doctor, {"findings": [f.to_dict() for f in findings], "enabled": doctor is not None, "kind": kind,
                              "every_steps": doctor.monitor.every_steps if doctor else None,
                              "records": doctor.monitor.records if doctor else []})
    return findings


def read_findings(run: str | Path) -> tuple[list[Finding], dict[str, Any]]:
    """The findings of a run and the whole doctor.json (findings, records)."""
    files = RunFiles(run)
    files.check()
    from neuronet.errors import DataError

    if not files.doctor.is_file():
        raise DataError(f"{files.root} has no doctor.json yet: it is still running or was stopped before it wrote "
                        f"one (continue it with `neuronet train --resume {files.root}`), or it was trained before "
                        "the doctor existed.")
    state = read_json(files.doctor)
    if not state.get("enabled", True):
        raise DataError(f"{files.root} was trained with train.doctor: false, so nothing was diagnosed; train it "
                        "again without that to diagnose it.")
    return findings_of(state, files.doctor), state


def findings_of(state: dict[str, Any], source: Path) -> list[Finding]:
    """The findings doctor.json holds; an edited one (a key missing, a wrong type) is one sentence naming it."""
    from neuronet.errors import DataError

    found = state["findings"]
    text = ("code", "severity", "title", "evidence", "explanation", "fix")
    if not isinstance(found, list) or not all(isinstance(f, dict) and all(isinstance(f.get(k), str) for k in text)
                                              for f in found):
        raise DataError(f"{source} holds findings that are not a list of {{{', '.join(text)}}} texts; it was edited: "
                        "restore it, or train the run again.")
    try:
        return [Finding.from_dict(f) for f in found]
    except (TypeError, ValueError) as err:
        raise DataError(f"{source} holds a finding that cannot be read ({err}); it was edited: restore it, or train "
                        "the run again.") from None


def _colours(n: int) -> list[Any]:
    """`n` distinct colours along a perceptual colour map (first layers dark, last layers bright)."""
    from matplotlib import colormaps

    return [colormaps["viridis"](i / max(1, n - 1)) for i in range(n)]


def plot_doctor(records: list[dict[str, Any]], folder: Path) -> list[Path]:
    """PNGs of the sampled statistics: gradient RMS per layer, and the share of dead ReLU units, over steps."""
    from neuronet.plots import figure, save_figure

    paths = []
    for key, part, title, ylabel, log in (
            ("grad", "layers", "gradient RMS per layer", "RMS of the gradient", True),
            ("dead", "activations", "dead ReLU units per layer", "share of units silent on a batch", False)):
        series: dict[str, list[tuple[int, float]]] = {}
        for r in records:
            for name, v in r[part].items():
                if key in v:
                    series.setdefault(name, []).append((r["step"], v[key]))
        if not series:
            continue
        fig, ax = figure(7, 4)
        names = list(series)
        shown = names if len(names) <= 12 else names[:6] + names[-6:]  # the first and last layers: the evidence
        colours = _colours(len(shown))
        for name, colour in zip(shown, colours):
            points = series[name]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=2, label=name, color=colour)
        if log and all(p[1] > 0 for pts in series.values() for p in pts):
            ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        ax.set_title(title + (f" (first and last 6 of {len(names)})" if len(names) > 12 else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        paths.append(save_figure(fig, folder / ("gradients.png" if key == "grad" else "dead_relu.png")))
    return paths
