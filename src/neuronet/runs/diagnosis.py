"""The training doctor in a run directory: the data checked before training, the findings and
per-layer statistics written to `RUN/doctor.json` (its I/O: `neuronet.rundir.doctor`), read back by
`neuronet doctor` and the reports.

Reading findings imports nothing from training, so that `neuronet doctor RUN` starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuronet.doctor.findings import Finding, sort_findings
from neuronet.errors import DataError
from neuronet.rundir.doctor import checked_findings, read_doctor, write_doctor
from neuronet.rundir.files import RunFiles

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.runs.build import RunPlan

__all__ = ["check_data", "write_findings", "read_findings", "plot_doctor"]


def check_data(plan: RunPlan) -> list[Finding]:
    """The data findings of a planned run (a class-weighted or resampled run has no imbalance finding)."""
    from neuronet.doctor import diagnose_data

    train = plan.config.train_options()
    balanced = bool(train.get("class_weights") or plan.config.data.resample)
    columns = [str(c) for c in plan.data.x.columns] if hasattr(plan.data.x, "columns") else None
    return diagnose_data(plan.train, plan.val, plan.test, balanced=balanced, columns=columns)


def write_findings(files: RunFiles, trainer: Any, data: list[Finding], kind: str = "supervised") -> list[Finding]:
    """Write doctor.json (data + training findings, and the sampled statistics); returns the findings."""
    doctor = trainer.doctor
    findings = sort_findings([*data, *(doctor.findings if doctor else [])])
    write_doctor(files, [f.to_dict() for f in findings], enabled=doctor is not None, kind=kind,
                 every_steps=doctor.monitor.every_steps if doctor else None,
                 records=doctor.monitor.records if doctor else [])
    return findings


def read_findings(run: str | Path) -> tuple[list[Finding], dict[str, Any]]:
    """The findings of a run and the whole doctor.json (findings, records)."""
    state = read_doctor(run)
    return findings_of(state, RunFiles(run).doctor), state


def findings_of(state: dict[str, Any], source: Path) -> list[Finding]:
    """The findings doctor.json holds; an edited one (a key missing, a wrong type) is one sentence naming it."""
    found = checked_findings(state, source)
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
