"""`train_run`: config → planned run → training → a complete run directory, resumable from any checkpoint."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from neuronet.atomic import atomic_dir, write_text
from neuronet.config import RunConfig, load_config, to_yaml
from neuronet.errors import ConfigError
from neuronet.doctor import Finding
from neuronet.runs.build import RunPlan, cached_features, make_trainer, plan_run, resolved_config
from neuronet.runs.diagnosis import check_data, plot_doctor, write_findings
from neuronet.runs.files import RunFiles, check_name, read_json, safe_stem, write_json
from neuronet.runs.lifecycle import RunInterrupted, lock_run, restore_checkpoint, run_lifecycle, write_status
from neuronet.runs.lock import RunLock
from neuronet.runs.report import render_report
from neuronet.train import Callback, EarlyStopping, Trainer
from neuronet.train.checkpoint import atomic_save_file

__all__ = ["RunResult", "train_run", "RunInterrupted"]


@dataclass
class RunResult:
    """What a finished run produced."""

    path: Path
    metrics: dict[str, Any]
    trainer: Trainer
    plan: RunPlan | None  # None for a reinforcement-learning run (no data to plan)
    findings: list[Finding]


def run_root(config: RunConfig, what: str | None = None) -> Path:
    """A new run directory: config.name, else `<what>-<time>` (what: the data and the model) under output_dir."""
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"The output folder {out} is a file; give a folder with --output-dir (or output_dir:).")
    if config.name:
        root = out / check_name(config.name)
        if root.exists():
            raise ConfigError(f"Run directory {root} already exists; choose another name, or continue it with "
                              f"`neuronet train --resume {root}`.")
        return root
    what = safe_stem(what or f"{Path(config.data.source).stem}-{config.model.type}")
    stem = f"{what}-{datetime.now():%Y%m%d-%H%M%S}"
    root, n = out / stem, 1
    while root.exists():
        n += 1
        root = out / f"{stem}-{n}"
    return root


def reopen(resume: str | Path) -> tuple[RunFiles, RunConfig, RunLock]:
    """An unfinished run directory to continue, locked, and its saved config; clears writes a killed process cut short.

    Raises:
        RunInUse: another process is training (or exporting, reporting) this run.
        ConfigError: the run already completed.
    """
    files = RunFiles(Path(resume))
    files.check()
    lock = lock_run(files.root, "resume")
    try:
        if read_json(files.status).get("status") == "completed":
            raise ConfigError(f"Run {files.root} already completed; nothing to resume.")
        for leftover in files.root.rglob(".*.tmp"):  # a write cut short by a killed process (the lock is ours)
            leftover.unlink(missing_ok=True)
        return files, load_config(files.config), lock
    except BaseException:
        lock.release()
        raise


@contextlib.contextmanager
def created(files: RunFiles, write: Callable[[RunFiles], None]) -> Iterator[RunLock]:
    """Create the run directory at once (a staging folder of this process, locked, renamed) and hold its lock.

    Raises:
        ConfigError: a run of that name appeared meanwhile (another process made it).
    """
    lock = None
    try:
        with atomic_dir(files.root) as folder:
            lock = RunLock(folder, "train").acquire()  # the lock follows the folder when it is renamed
            write(RunFiles(folder))
    except BaseException as err:
        if lock is not None:
            lock.release()
        if isinstance(err, FileExistsError):
            raise ConfigError(f"Run directory {files.root} already exists (another process made it just now); "
                              "choose another name.") from None
        raise
    try:
        yield lock
    finally:
        lock.release()


def _status(files: RunFiles, trainer: Trainer, status: str, **extra: Any) -> None:
    write_status(files, status, epochs_done=trainer.epoch, batches_done=trainer.batch, **extra)


def _write_new(plan: RunPlan, trainer: Trainer) -> Callable[[RunFiles], None]:
    """Write config, preprocessing state, model spec and status of a new run (into its staging folder)."""

    def write(staging: RunFiles) -> None:
        write_text(staging.config, to_yaml(resolved_config(plan, trainer)))
        write_json(staging.preprocessing, plan.preprocessing_state())
        write_json(staging.model, plan.model_spec)
        write_status(staging, "created", epochs_done=0, batches_done=0)

    return write


def _save_progress(files: RunFiles):
    """After each checkpoint: the history so far and the status, each written atomically."""

    def save(trainer: Trainer) -> None:
        write_text(files.history, trainer.history.epochs_csv())
        write_text(files.steps, trainer.history.steps_csv())
        _status(files, trainer, "running")

    return save


def _finish(files: RunFiles, trainer: Trainer, plan: RunPlan, elapsed: float,
            data_findings: list[Finding]) -> tuple[dict[str, Any], list[Finding]]:
    """Weights, metrics, plots and report of a completed run."""
    from neuronet.plots import plot_curves

    atomic_save_file(dict(plan.model.state_dict()), files.weights)  # the whole model (the head alone trained, maybe)
    write_text(files.history, trainer.history.epochs_csv())
    write_text(files.steps, trainer.history.steps_csv())
    loss_kwargs = {k: v.tolist() if hasattr(v, "tolist") else v for k, v in trainer.loss_kwargs.items()}
    if loss_kwargs:  # e.g. class weights computed from the training split: evaluation reuses them
        write_json(files.model, {**plan.model_spec, "loss_kwargs": loss_kwargs})
    predictor = plan.predictor(trainer.loss_kwargs)
    sizes = {k: 0 if d is None else len(d) for k, d in (("train", plan.train), ("val", plan.val), ("test", plan.test))}
    metrics: dict[str, Any] = {"sizes": sizes, "epochs_run": trainer.epoch, "train_time_s": elapsed}
    test_outputs = None
    for split, part in (("val", plan.val), ("test", plan.test)):
        if part is not None:
            metrics[split], out, y = predictor.score(part)
            test_outputs = (out, y) if split == "test" else test_outputs
    stopper = next((cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping)), None)
    if stopper is not None and stopper.best_epoch:
        metrics.update(best_epoch=stopper.best_epoch, monitor=stopper.monitor)
    write_json(files.metrics, metrics)
    plots = plot_curves(trainer.history.epochs, files.plots)
    if test_outputs is not None:
        plots += plan.task.plots(*test_outputs, plan.train.meta(), files.plots)
    findings = write_findings(files, trainer, data_findings)
    plots += plot_doctor(trainer.doctor.monitor.records if trainer.doctor else [], files.plots)
    n_params = sum(p.numel() for p in plan.model.parameters() if p.requires_grad)
    rel = [str(p.relative_to(files.root)) for p in plots]
    state = read_json(files.preprocessing)
    write_text(files.report, render_report(files.root.name, state, read_json(files.model),
                                           to_yaml(resolved_config(plan, trainer)), n_params, trainer.history, metrics, rel,
                                           findings, trainer.doctor is not None))
    _status(files, trainer, "completed")
    return metrics, findings


def train_run(config: RunConfig | None = None, resume: str | Path | None = None,
              callbacks: list[Callback] | tuple = (), progress: bool = True, trust_code: bool = False) -> RunResult:
    """Train as the config says and write a complete run directory.

    Everything is checked (config, data, model, optimizer) before the directory is created. A
    run stopped at any moment (Ctrl-C, a crash, a killed process) continues from its last
    checkpoint with `resume` and ends with the same weights and history as an uninterrupted run.

    Args:
        config: The run config (None: defaults, the digits CNN demo). Ignored with `resume`.
        resume: A run directory to continue from its last checkpoint.
        callbacks: Extra callbacks.
        progress: Show the live progress bar.
        trust_code: With `resume`: allow code the run's config names (an RL environment given as
            'module:function'); a run directory is data, so it is refused without this.

    Raises:
        ConfigError / DataError: bad config or data (nothing written).
        TrainingDivergedError: NaN/inf loss (the last checkpoint is kept).
        RunInterrupted: Ctrl-C, SIGTERM or SIGHUP; the run directory can be resumed.
        RunInUse: another process is writing the run (`resume`).
    """
    from neuronet.runs.rl import is_rl_run, train_rl_run

    if (config is not None and config.env is not None) or (resume is not None and is_rl_run(resume)):
        return train_rl_run(config, resume, callbacks, progress, trust_code)  # an agent in an environment (env: section)
    if resume is None:
        return _train(config or RunConfig(), None, None, callbacks, progress)
    files, config, lock = reopen(resume)
    try:
        return _train(config, files, lock, callbacks, progress)
    finally:
        lock.release()


def _train(config: RunConfig, files: RunFiles | None, lock: RunLock | None, callbacks: Any,
           progress: bool) -> RunResult:
    pipeline = files.pipeline() if files else None
    plan = plan_run(config, pipeline)
    files = files or RunFiles(run_root(plan.config))  # the chosen model names the run (model.type auto)
    cached = cached_features(plan, progress)  # a frozen pretrained backbone: embed once, train the head
    trainer = make_trainer(plan, callbacks, progress, checkpoint=files.checkpoint, on_save=_save_progress(files),
                           samples=files.root / "samples", model=cached[0] if cached else None)
    with contextlib.nullcontext(lock) if lock else created(files, _write_new(plan, trainer)):
        if lock is not None:
            restore_checkpoint(trainer, files)
        data_findings = check_data(plan) if trainer.doctor else []
        if trainer.doctor:
            trainer.doctor.announce(data_findings)  # once: a resumed run knows what it said
        start = time.perf_counter()
        kept = lambda: (f" (checkpoint of epoch {trainer.epoch} kept)" if files.checkpoint.is_file() else  # noqa: E731
                        " (no epoch finished, so no checkpoint)")
        with run_lifecycle(files, lambda name, **extra: _status(files, trainer, name, **extra),
                           lambda: write_findings(files, trainer, data_findings), lambda: (trainer.epoch, None), kept):
            trainer.fit(*(cached[1:] if cached else (plan.train, plan.val)))
            metrics, findings = _finish(files, trainer, plan, time.perf_counter() - start, data_findings)
    return RunResult(files.root, metrics, trainer, plan, findings)
