"""`train_run`: config → prepared data and model → training → a complete run directory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from neuronet.config import RunConfig, load_config, to_yaml
from neuronet.datasets import Scaler
from neuronet.errors import ConfigError, TrainingDivergedError
from neuronet.atomic import atomic_dir, write_text
from neuronet.runs.files import RunFiles, read_json, write_json
from neuronet.runs.plots import plot_confusion_matrix, plot_curves, plot_regression
from neuronet.runs.prepare import Prepared, make_trainer, prepare, score
from neuronet.runs.report import render_report
from neuronet.train import Callback, EarlyStopping, GANSamples, Trainer
from neuronet.train.metrics import predicted_labels

__all__ = ["RunResult", "train_run", "RunInterrupted"]


class RunInterrupted(KeyboardInterrupt):
    """Training was interrupted; the run directory holds a checkpoint to resume from."""

    def __init__(self, root: Path, epoch: int) -> None:
        super().__init__(f"Interrupted after epoch {epoch}; resume with: neuronet train --resume {root}")
        self.root, self.epoch = root, epoch


@dataclass
class RunResult:
    """What a finished run produced."""

    path: Path
    metrics: dict[str, Any]
    trainer: Trainer


class _SaveProgress(Callback):
    """After every epoch: checkpoint, history and status, each written atomically."""

    def __init__(self, files: RunFiles) -> None:
        self.files = files

    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        trainer.save_checkpoint(self.files.checkpoint)
        write_text(self.files.history, trainer.history.epochs_csv())
        write_text(self.files.steps, trainer.history.steps_csv())
        write_json(self.files.status, {"status": "running", "epochs_done": trainer.epoch})


def _new_run_dir(config: RunConfig, prep: Prepared) -> RunFiles:
    """Create runs/<name>/ with config, preprocessing state and status, all at once (rename)."""
    out = Path(config.output_dir)
    if config.name:
        root = out / config.name
        if root.exists():
            raise ConfigError(f"Run directory {root} already exists; choose another name, or continue it with "
                              f"`neuronet train --resume {root}`.")
    else:
        stem = f"{Path(config.data.source).stem}-{config.model.type}-{datetime.now():%Y%m%d-%H%M%S}"
        root, n = out / stem, 1
        while root.exists():
            n += 1
            root = out / f"{stem}-{n}"
    with atomic_dir(root) as folder:
        staging = RunFiles(folder)
        write_text(staging.config, to_yaml(config))
        write_json(staging.preprocessing, prep.preprocessing_state())
        write_json(staging.status, {"status": "created", "epochs_done": 0})
    return RunFiles(root)


def _final_metrics(trainer: Trainer, prep: Prepared, elapsed: float) -> tuple[dict[str, Any], tuple | None]:
    """Validation and test metrics; also the test outputs and targets (for the plots) of a supervised model."""
    sizes = {k: 0 if d is None else len(d) for k, d in (("train", prep.train), ("val", prep.val), ("test", prep.test))}
    result: dict[str, Any] = {"sizes": sizes, "epochs_run": trainer.epoch, "train_time_s": elapsed}
    test_outputs = None
    for split, part in (("val", prep.val), ("test", prep.test)):
        if part is None:
            continue
        if prep.task == "adversarial":  # the discriminator on held-out real images vs generated ones
            result[split] = trainer.evaluate(part)
            continue
        result[split], out, y = score(trainer, prep, part)
        if split == "test":
            test_outputs = (out, y)
    stopper = next((cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping)), None)
    if stopper is not None and stopper.best_epoch:
        result.update(best_epoch=stopper.best_epoch, monitor=stopper.monitor)
    return result, test_outputs


def _finish(files: RunFiles, trainer: Trainer, prep: Prepared, elapsed: float) -> dict[str, Any]:
    """Weights, metrics, plots and report of a completed run."""
    trainer.save_weights(files.weights)
    write_text(files.history, trainer.history.epochs_csv())
    write_text(files.steps, trainer.history.steps_csv())
    metrics, test_outputs = _final_metrics(trainer, prep, elapsed)
    write_json(files.metrics, metrics)
    plots = plot_curves(trainer.history, files.plots)
    if test_outputs is not None and prep.task == "supervised":
        out, y = test_outputs
        if trainer.kind == "regression":  # already in the data's own units
            plots.append(plot_regression(y.cpu().numpy(), out.cpu().numpy(), files.plots / "predictions.png"))
        else:
            pred = predicted_labels(out, trainer.kind).cpu().numpy()
            plots.append(plot_confusion_matrix(y.cpu().numpy(), pred, prep.data.class_names, files.plots / "confusion_matrix.png"))
    n_params = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    rel = [str(p.relative_to(files.root)) for p in plots]
    write_text(files.report, render_report(files.root.name, prep.data.meta(), prep.config.model_dump(mode="json"),
                                           n_params, trainer.history, metrics, rel))
    write_json(files.status, {"status": "completed", "epochs_done": trainer.epoch})
    return metrics


def train_run(config: RunConfig | None = None, resume: str | Path | None = None,
              callbacks: list[Callback] | tuple = (), progress: bool = True) -> RunResult:
    """Train as the config says and write a complete run directory.

    Everything is checked (config, data, model, optimizer) before the directory is created.

    Args:
        config: The run config (None: defaults, the digits CNN demo). Ignored with `resume`.
        resume: A run directory to continue from its last checkpoint.
        callbacks: Extra callbacks.
        progress: Show the live progress bar.

    Raises:
        ConfigError / DataError: bad config or data (nothing written).
        TrainingDivergedError: NaN/inf loss (the last good checkpoint is kept).
        RunInterrupted: Ctrl-C; the run directory can be resumed.
    """
    files = None
    if resume is not None:
        files = RunFiles(Path(resume))
        files.check()
        status = read_json(files.status).get("status")
        if status == "completed":
            raise ConfigError(f"Run {files.root} already completed; nothing to resume.")
        config = load_config(files.config)
    config = config or RunConfig()
    scaler = Scaler.from_dict(read_json(files.preprocessing)["scaler"]) if files else None
    prep = prepare(config, scaler)
    trainer = make_trainer(prep, callbacks, progress)
    if files is None:
        files = _new_run_dir(config, prep)
    elif files.checkpoint.is_file():
        trainer.load_checkpoint(files.checkpoint)
    if prep.task == "adversarial":
        trainer.add_callback(GANSamples(files.root / "samples", seed=config.seed))
    trainer.add_callback(_SaveProgress(files))  # last, so it saves every other callback's state
    start = time.perf_counter()
    try:
        trainer.fit(prep.train, val=prep.val)
    except KeyboardInterrupt:
        write_json(files.status, {"status": "interrupted", "epochs_done": trainer.epoch})
        raise RunInterrupted(files.root, trainer.epoch) from None
    except TrainingDivergedError as err:
        write_json(files.status, {"status": "failed", "epochs_done": trainer.epoch, "message": str(err)})
        kept = f"checkpoint of epoch {trainer.epoch} kept" if trainer.epoch else "no epoch finished, so no checkpoint"
        raise TrainingDivergedError(f"{err} Run directory: {files.root} ({kept}).") from None
    elapsed = time.perf_counter() - start
    return RunResult(files.root, _finish(files, trainer, prep, elapsed), trainer)
