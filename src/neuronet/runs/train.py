"""The supervised kind's training: config → planned run → training → a complete run directory, resumable."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from neuronet.atomic import write_text
from neuronet.config import RunConfig, to_yaml
from neuronet.doctor import Finding
from neuronet.datasets import Pipeline
from neuronet.runs.baselines import baseline_finding, run_baselines
from neuronet.runs.build import RunPlan, cached_features, make_trainer, plan_run, resolved_config, uses_feature_cache
from neuronet.runs.evaluate import check_same_data
from neuronet.runs.diagnosis import check_data, plot_doctor, write_findings
from neuronet.rundir.files import RunFiles, read_json, write_json
from neuronet.runs.folder import RunResult, created, reopen, run_root
from neuronet.runs.lifecycle import RunInterrupted, restore_checkpoint, run_lifecycle, write_status
from neuronet.rundir.lock import RunLock
from neuronet.runs.report import render_report
from neuronet.errors import ConfigError
from neuronet.runs.processes import check_processes, say_processes
from neuronet.train import Callback, EarlyStopping, Trainer, resolve_device
from neuronet.train.distributed import PeerLost, Ranks, broadcast_text, join
from neuronet.train.checkpoint import atomic_save_file

__all__ = ["RunResult", "train_supervised", "RunInterrupted"]


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
    baselines = run_baselines(plan)  # the same training and test rows, the same metrics
    if baselines is not None:
        metrics.update(baselines.to_dict())
        beaten = baseline_finding(metrics) if trainer.doctor else None
        if beaten is not None:
            trainer.doctor.announce([beaten])
            data_findings = [*data_findings, beaten]
    shown_plots: list[Path] = []
    if plan.test is not None:  # texts the model wrote, and plots that need the model (attention)
        examples, shown_plots = plan.task.showcase(predictor, plan.test, files.plots)
        if examples:
            metrics["examples"] = examples
    write_json(files.metrics, metrics)
    plots = plot_curves(trainer.history.epochs, files.plots)
    if test_outputs is not None:
        plots += plan.task.plots(*test_outputs, plan.train.meta(), files.plots)
    plots += shown_plots
    findings = write_findings(files, trainer, data_findings)
    plots += plot_doctor(trainer.doctor.monitor.records if trainer.doctor else [], files.plots)
    n_params = sum(p.numel() for p in plan.model.parameters() if p.requires_grad)
    rel = [str(p.relative_to(files.root)) for p in plots]
    state = read_json(files.preprocessing)
    write_text(files.report, render_report(files.root.name, state, read_json(files.model),
                                           to_yaml(resolved_config(plan, trainer)), n_params, trainer.history, metrics, rel,
                                           findings, trainer.doctor is not None, _samples(files.root / "samples")))
    _status(files, trainer, "completed")
    return metrics, findings


def _samples(folder: Path) -> list[tuple[str, str]]:
    """The texts a language model wrote after each epoch (samples/epoch_NNN.txt), oldest first."""
    if not folder.is_dir():
        return []
    return [(p.stem, p.read_text(encoding="utf-8", errors="replace").rstrip("\n"))
            for p in sorted(folder.glob("epoch_*.txt"))]


def train_supervised(config: Any, resume: Path | None = None, callbacks: list[Callback] | tuple = (),
                     progress: bool = True) -> RunResult:
    """Train a supervised run as the config says (or continue `resume`) into a complete run directory.

    The supervised kind's training (`neuronet.runs.train_run` chooses the kind). Everything is
    checked before the directory is created; a run stopped at any moment continues from its
    last checkpoint with `resume` and ends with the same weights and history as an
    uninterrupted run.
    """
    if resume is None:
        resume = _restarted(config or RunConfig())
    if resume is None:
        return _train(config or RunConfig(), None, None, callbacks, progress)
    if not Ranks.from_env().main:  # rank 0 holds the lock and writes; the others read the run's config and checkpoint
        from neuronet.config import load_config

        files = RunFiles(Path(resume))
        return _train(load_config(files.config), files, None, callbacks, progress)
    files, config, lock = reopen(resume)
    try:
        return _train(config, files, lock, callbacks, progress)
    finally:
        lock.release()


def _restarted(config: RunConfig) -> Path | None:
    """Under torchrun's --max-restarts, a restarted group continues the named run its last try left (else None)."""
    if int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0) == 0 or not config.name:
        return None
    root = Path(config.output_dir) / config.name
    return root if (root / "status.json").is_file() else None


def _train(config: RunConfig, files: RunFiles | None, lock: RunLock | None, callbacks: Any,
           progress: bool) -> RunResult:
    pipeline = Pipeline.stored(files.preprocessing_state(), files.preprocessing) if files else None
    plan = plan_run(config, pipeline)
    ranks = join(resolve_device(plan.config.train_options().get("device", "auto")))
    resuming = files is not None
    if resuming:  # the split is drawn again from the data as it is now
        check_same_data(files.root, files.preprocessing_state(), plan.data, "restore the file, or train a new run")
        check_processes(plan.config, ranks, files.root)
    if files is None:  # the chosen model names the run (model.type auto); rank 0 names it for every rank
        files = RunFiles(Path(broadcast_text(str(run_root(plan.config)) if ranks.main else "", ranks)))
    if ranks.distributed and uses_feature_cache(plan):
        raise ConfigError("A frozen pretrained backbone trains its head on features embedded once, in one process; "
                          "train it without --nproc / torchrun (or unfreeze the backbone).")
    if not ranks.main:
        return _train_replica(plan, files, resuming, callbacks)
    cached = cached_features(plan, progress)  # a frozen pretrained backbone: embed once, train the head
    trainer = make_trainer(plan, callbacks, progress, checkpoint=files.checkpoint, on_save=_save_progress(files),
                           samples=files.root / "samples", model=cached[0] if cached else None)
    if ranks.distributed:
        say_processes(ranks, trainer.batch_size)
    with contextlib.nullcontext(lock) if lock else created(files, _write_new(plan, trainer)):
        if resuming:
            restore_checkpoint(trainer, files)
        data_findings = check_data(plan) if trainer.doctor else []
        if trainer.doctor:
            trainer.doctor.announce(data_findings)  # once: a resumed run knows what it said
        start = time.perf_counter()
        kept = lambda: (f" (checkpoint of epoch {trainer.epoch} kept)" if files.checkpoint.is_file() else  # noqa: E731
                        " (no epoch finished, so no checkpoint)")
        with run_lifecycle(files, lambda name, **extra: _status(files, trainer, name, **extra),
                           lambda: write_findings(files, trainer, data_findings), lambda: _done(trainer), kept):
            with _named_in_errors(files.root):
                trainer.fit(*(cached[1:] if cached else (plan.train, plan.val)))
            metrics, findings = _finish(files, trainer, plan, time.perf_counter() - start, data_findings)
    return RunResult(files.root, metrics, trainer, plan, findings)


def _train_replica(plan: RunPlan, files: RunFiles, resuming: bool, callbacks: Any) -> RunResult:
    """A rank other than 0: the same training on its part of each batch, writing nothing (rank 0 writes the run)."""
    trainer = make_trainer(plan, callbacks, progress=False)
    if resuming:
        restore_checkpoint(trainer, files)
    with _named_in_errors(files.root):
        trainer.fit(plan.train, plan.val)
    return RunResult(files.root, {}, trainer, plan, [])


@contextlib.contextmanager
def _named_in_errors(root: Path) -> Iterator[None]:
    """A lost training process' sentence names the run folder to resume."""
    try:
        yield
    except PeerLost as lost:
        raise lost.in_run(root) from None


def _done(trainer: Any) -> tuple[int, str | None]:
    """How far training got, for the interruption message: "epoch 3", or "12 batches of epoch 1" mid-epoch."""
    if trainer.batch or trainer.epoch == 0:
        return trainer.epoch, f"{trainer.batch:,} batch{'es' if trainer.batch != 1 else ''} of epoch {trainer.epoch + 1}"
    return trainer.epoch, None
