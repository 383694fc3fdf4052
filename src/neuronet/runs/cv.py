"""Cross-validation of a run config: k-fold, stratified k-fold, group k-fold, or expanding-window time splits.

Every fold repeats the whole preparation on its own training rows (scaling, imputation,
encoding, re-sampling, class weights), so the held-out fold never leaks into training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

from neuronet.atomic import atomic_dir, write_text
from neuronet.config import RunConfig, model_task, to_yaml
from neuronet.errors import ConfigError, DataError
from neuronet.runs.build import Fold, cached_features, load_data, make_trainer, plan_run
from neuronet.rundir.files import safe_stem, write_json
from neuronet.runs.kinds import kind_for_config

__all__ = ["CVResult", "cross_validate", "folds_for"]

Split = Literal["auto", "kfold", "stratified", "group", "time"]


@dataclass
class CVResult:
    """Per-fold metrics, their mean and standard deviation, and where they were written."""

    folds: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]
    split: str
    path: Path | None = None
    notes: list[str] = field(default_factory=list)  # what reading and preparing the data did (first fold)


def folds_for(config: RunConfig, k: int, split: Split = "auto") -> tuple[list[Fold], str]:
    """The (training rows, held-out rows) of each fold over the raw data, and the splitter used.

    "auto": time splits for time-ordered data, group k-fold when `data.group` is set,
    stratified for classification, plain k-fold otherwise. Every row (of the training part,
    where the data has an official test set) is held out exactly once.
    """
    if not isinstance(k, int) or k < 2:
        raise ConfigError(f"The number of folds must be an int >= 2. Got {k!r} instead.")
    data = load_data(config)
    n, ordered, task = len(data), data.ordered, data.task
    labels = data.y.cpu().numpy() if data.y is not None else None
    groups = None
    if config.data.group:
        if data.layout != "frame":
            raise ConfigError("data.group names a column, so it applies to tables (CSV / Parquet).")
        if config.data.group not in data.x.columns:
            raise DataError(f"Group column '{config.data.group}' is not in {config.data.source}.")
        groups = data.x[config.data.group].astype(str).to_numpy()
    if split == "auto":
        split = "time" if ordered else "group" if groups is not None else "stratified" if task == "classification" else "kfold"
    splitters = {
        "kfold": lambda: KFold(k, shuffle=True, random_state=config.seed).split(np.arange(n)),
        "stratified": lambda: StratifiedKFold(k, shuffle=True, random_state=config.seed).split(np.arange(n), labels),
        "group": lambda: GroupKFold(k).split(np.arange(n), groups=groups),
        "time": lambda: TimeSeriesSplit(k, gap=data.gap).split(np.arange(n)),  # expanding window: train on the past
    }
    if split not in splitters:
        raise ConfigError(f"Unknown split {split!r}; use one of auto, {', '.join(splitters)}.")
    if split == "group" and groups is None:
        raise ConfigError("A group split needs data.group (a column of the table).")
    if split == "stratified" and task != "classification":
        raise ConfigError("A stratified split needs a classification target; use --split kfold.")
    try:
        return [(np.asarray(a), np.asarray(b)) for a, b in splitters[split]()], split
    except ValueError as err:
        raise DataError(f"Cannot make {k} {split} folds of {n} rows: {str(err).rstrip('.')}.") from None


def _fold_metrics(config: RunConfig, fold: Fold) -> tuple[dict[str, float], list[str]]:
    plan = plan_run(config, fold=fold)
    cached = cached_features(plan, progress=False)  # a frozen pretrained backbone: embed once
    trainer = make_trainer(plan, progress=False, model=cached[0] if cached else None)
    trainer.fit(*(cached[1:] if cached else (plan.train, plan.val)))
    metrics = plan.predictor(trainer.loss_kwargs).score(plan.test)[0]
    return ({**metrics, "epochs": trainer.epoch, "train_rows": len(plan.train), "test_rows": len(plan.test)},
            list(plan.state.get("summary", [])))


def cross_validate(config: RunConfig, k: int = 5, split: Split = "auto", write: bool = True,
                   on_fold: Any = None) -> CVResult:
    """Train and score the config on each of `k` folds; write runs/<name>-cv/ (config, folds.csv, cv.json).

    Args:
        config: The run config (its data.val is carved from each fold's training rows).
        k: Number of folds.
        split: "auto", "kfold", "stratified", "group" or "time".
        write: Write the results folder.
        on_fold: Called as on_fold(i, metrics) after each fold (progress).
    """
    kind_for_config(config).check_cv(config)  # a kind cv does not apply to says so
    if model_task(config.model.type) is not None:
        raise ConfigError("Cross-validation scores supervised models; autoencoders and GANs have no labels to score.")
    folds, used = folds_for(config, k, split)
    rows, notes = [], []
    for i, fold in enumerate(folds, 1):
        metrics, summary = _fold_metrics(config, fold)
        rows.append({"fold": i, **metrics})
        notes = notes or summary
        if on_fold:
            on_fold(i, rows[-1])
    keys = [key for key in rows[0] if key not in ("fold", "epochs", "train_rows", "test_rows")]
    values = {key: np.array([r[key] for r in rows], dtype=float) for key in keys}
    mean = {key: float(np.mean(v)) for key, v in values.items()}
    std = {key: float(np.std(v, ddof=1)) for key, v in values.items()}
    result = CVResult(rows, mean, std, used, notes=notes)
    if write:
        result.path = _write(config, result)
    return result


def _write(config: RunConfig, result: CVResult) -> Path:
    out = Path(config.output_dir)
    stem = safe_stem(Path(config.data.source).stem)
    name = config.name or f"{stem}-{config.model.type}-cv-{datetime.now():%Y%m%d-%H%M%S}"
    root = out / name
    if out.exists() and not out.is_dir():
        raise ConfigError(f"The output folder {out} is a file; give a folder with --output-dir (or output_dir:).")
    if root.exists():
        raise ConfigError(f"{root} already exists; choose another --name.")
    columns = list(result.folds[0])
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in result.folds]
    try:
        with atomic_dir(root) as staging:
            write_text(staging / "config.yaml", to_yaml(config))
            write_text(staging / "folds.csv", "\n".join(lines) + "\n")
            write_json(staging / "cv.json", {"split": result.split, "folds": result.folds, "mean": result.mean,
                                             "std": result.std})
    except FileExistsError:
        raise ConfigError(f"{root} already exists (another process wrote it meanwhile); choose another --name.") from None
    return root
