"""From a validated RunConfig to data splits, a fitted scaler, a model and a Trainer."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.config import RunConfig
from neuronet.datasets import (
    DATASETS, TABLE_SUFFIXES, Dataset, Scaler, TablePreprocessor, build_augmentations, class_weights, load_raw_table, load_table,
    Table, load_image_folder, load_text_table, resample,
)
from neuronet.errors import ConfigError, DataError
from neuronet.models import MODELS, build_model
from neuronet.nn import loss_task
from neuronet.registry import check_arguments
from neuronet.train import Callback, EarlyStopping, GANTrainer, LRLogger, Trainer, compute_metrics, default_metrics

Fold = tuple[np.ndarray, np.ndarray]  # (training rows, held-out rows)

__all__ = ["Fold", "Prepared", "load_configured_table", "configured_model", "default_loss", "load_data", "make_trainer", "model_task", "prepare", "score"]


def model_task(model_type: str) -> str:
    """'supervised', 'reconstruction' (autoencoders: the target is the input) or 'adversarial' (GANs)."""
    return getattr(MODELS.get(model_type), "task", "supervised")


def default_loss(task: str, model_type: str = "mlp") -> str:
    """cross_entropy for classification, mse for regression and autoencoders, the ELBO for a VAE."""
    if model_type == "vae":
        return "vae"
    return "cross_entropy" if task == "classification" and model_task(model_type) == "supervised" else "mse"


def _check_options(options: dict[str, Any], loader: Any, where: str) -> None:
    check_arguments(f"The loader of {where} (data.options)", options, list(inspect.signature(loader).parameters))


def load_data(config: RunConfig) -> Dataset:
    """Load the configured data set, passing only the options its loader takes."""
    data = config.data
    if Path(data.source).suffix.lower() in TABLE_SUFFIXES:
        for key in ("data_dir", "limit"):
            if getattr(data, key) is not None:
                raise ConfigError(f"data.{key} does not apply to a file source ({data.source}); remove it.")
        if data.text:
            _check_options(data.options, load_text_table, "a text table")
            return load_text_table(data.source, text=data.text, target=data.target or "", **data.options)
        _check_options(data.options, load_table, "a table")
        return load_table(data.source, target=data.target, task=data.task, **data.options)
    if Path(data.source).is_dir():
        _check_options(data.options, load_image_folder, "an image folder")
        return load_image_folder(data.source, **data.options)
    loader = DATASETS.get(data.source)
    options = {k: v for k, v in {"data_dir": data.data_dir, "limit": data.limit}.items() if v is not None}
    _check_options({**options, **data.options}, loader, f"the built-in data set '{data.source}'")
    for key in ("target", "text"):
        if getattr(data, key) is not None:
            raise ConfigError(f"data.{key} applies to CSV / Parquet files, not to the built-in data set '{data.source}'.")
    return loader(**options, **data.options)


@dataclass
class Prepared:
    """Everything a run needs, built and checked before anything is written to disk."""

    config: RunConfig
    data: Dataset
    train: Dataset
    val: Dataset | None
    test: Dataset | None
    scaler: Scaler
    model: nn.Module
    loss: str
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    extra_state: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return loss_task(self.loss)

    @property
    def task(self) -> str:
        return model_task(self.config.model.type)

    def preprocessing_state(self) -> dict[str, Any]:
        """JSON state of the data side: metadata and the fitted scaler."""
        return {"data": self.data.meta(), "scaler": self.scaler.to_dict(), **self.extra_state}


def load_configured_table(config: RunConfig) -> Table:
    """The raw table of a config with `data.preprocess` (rows with missing values dropped if asked).

    The `data.group` column, if any, is not a feature: it only keeps rows together in group splits.
    """
    pp, data = config.data.preprocess, config.data
    if Path(data.source).suffix.lower() not in TABLE_SUFFIXES or data.text:
        raise ConfigError("data.preprocess applies to CSV / Parquet tables (without data.text); remove it.")
    return load_raw_table(data.source, data.target, data.task, drop_missing=pp.missing == "drop",
                          ignore=[*pp.ignore, *([data.group] if data.group else [])])


def _split(data: Dataset | Table, config: RunConfig, fold: Fold | None) -> list:
    """(train, val, test): the configured split, or a cross-validation fold (validation carved from its training rows)."""
    if fold is None:
        return list(data.split(val=config.data.val, test=config.data.test, seed=config.seed))
    train, val, _ = data.subset(fold[0]).split(val=config.data.val, test=0.0, seed=config.seed)
    return [train, val, data.subset(fold[1])]


def _table_parts(config: RunConfig, fold: Fold | None) -> tuple[Dataset, list[Dataset | None], dict[str, Any]]:
    """A raw table split first, its preprocessor fitted on the training rows, each part transformed."""
    pp = config.data.preprocess
    table = load_configured_table(config)
    parts = _split(table, config, fold)
    options = pp.model_dump(exclude={"ignore"})
    options["missing"] = "error" if pp.missing == "drop" else pp.missing
    pre = TablePreprocessor(**options).fit(parts[0].frame)
    datasets = [None if part is None else part.to_dataset(pre) for part in parts]
    state = {"table": pre.to_dict(), "missing_values": table.missing(), "class_counts": table.class_counts(),
             "rows": len(table)}
    return datasets[0], datasets, state


def _constant(y: torch.Tensor) -> bool:
    return len(y) > 0 and bool((y == y[:1]).all())


def prepare(config: RunConfig, scaler: Scaler | None = None, fold: Fold | None = None) -> Prepared:
    """Load and split the data, fit (or reuse) the preprocessing on the training split, build the model.

    Raises:
        ConfigError / DataError: anything wrong with the config or the data.
    """
    task = model_task(config.model.type)
    extra: dict[str, Any] = {}
    if config.data.preprocess is not None:
        data, (train, val, test), extra = _table_parts(config, fold)
        method = "none"  # the table preprocessor scales
    else:
        data = load_data(config)
        if task != "supervised":
            data = data.unlabelled()
        train, val, test = _split(data, config, fold)
        method = config.data.scale or ("standard" if task == "supervised" else "none")
    scaler = scaler or Scaler(method, scale_target=task == "supervised").fit(train)
    train, val, test = (None if part is None else scaler.transform(part) for part in (train, val, test))
    if config.data.resample:
        extra["train_before_resampling"] = len(train)
        train = resample(train, config.data.resample, seed=config.seed)
    if task == "supervised" and _constant(data.y):
        raise DataError(f"The target of '{config.data.source}' has a single value ({data.y.flatten()[0].item()!r}) "
                        "in the training data; there is nothing to learn.")
    loss = config.train.loss or default_loss(data.task, config.model.type)
    if task == "supervised" and (data.task == "classification") != (loss_task(loss) != "regression"):
        raise ConfigError(f"train.loss '{loss}' does not fit a {data.task} data set; use '{default_loss(data.task)}'.")
    if loss_task(loss) == "binary" and data.num_outputs != 2:
        raise ConfigError(f"binary_cross_entropy needs 2 classes; '{data.name}' has {data.num_outputs}. Use cross_entropy.")
    model = configured_model(config, data.model_inputs(), loss)
    loss_kwargs = {"weight": class_weights(train).float()} if config.train.class_weights else {}
    return Prepared(config, data, train, val, test, scaler, model, loss, loss_kwargs, extra)


def configured_model(config: RunConfig, inputs: dict[str, Any], loss: str) -> nn.Module:
    """The model the config describes, built from the data's `model_inputs()`.

    The run's seed is used unless the model section sets one; vocabulary size and padding
    index are passed to models that take them.
    """
    kwargs = config.model.kwargs()
    accepted = inspect.signature(MODELS.get(config.model.type)).parameters
    if "seed" in accepted:
        kwargs.setdefault("seed", config.seed)
    for key in ("vocab_size", "pad_index"):
        if key in inputs and key in accepted:
            kwargs.setdefault(key, inputs[key])
    outputs = 1 if loss_task(loss) == "binary" else inputs["num_outputs"]  # one logit for binary cross-entropy
    return build_model(config.model.type, tuple(inputs["input_shape"]), outputs, **kwargs)


def make_trainer(prep: Prepared, callbacks: list[Callback] | tuple = (), progress: bool = True) -> Trainer:
    """The Trainer the config describes (early stopping and LR logging included)."""
    t = prep.config.train
    common = dict(batch_size=t.batch_size, epochs=t.epochs, seed=prep.config.seed, device=t.device, progress=progress)
    if prep.task == "adversarial":
        return GANTrainer(prep.model, lr=t.lr, callbacks=[LRLogger(), *callbacks], **common)
    standard: list[Callback] = [LRLogger()]
    if t.early_stopping is not None and prep.val is not None:
        es = t.early_stopping
        standard.append(EarlyStopping(monitor=es.monitor, patience=es.patience, min_delta=es.min_delta))
    return Trainer(
        prep.model, loss=prep.loss, loss_kwargs=prep.loss_kwargs, optimizer=t.optimizer, lr=t.lr, callbacks=[*standard, *callbacks],
        metrics=t.metrics, weight_decay=t.weight_decay, l1=t.l1, l2=t.l2, grad_clip=t.grad_clip,
        schedule=t.schedule.type if t.schedule else None, schedule_kwargs=t.schedule.kwargs() if t.schedule else None,
        optimizer_kwargs=t.optimizer_kwargs,
        augment=build_augmentations(t.augment, num_classes=prep.data.num_outputs) if t.augment else None, **common,
    )


def score(trainer: Trainer, prep: Prepared, part: Dataset) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """The loss and the full metric set of a supervised model on `part`, plus its outputs and targets.

    Regression outputs and targets are returned (and scored) in the data's own units; the loss
    stays in the units the model was trained on.
    """
    out, y = trainer.outputs(part)
    loss = float(trainer.loss_fn(out, y))
    if trainer.kind == "regression":
        out, y = prep.scaler.inverse_target(out), prep.scaler.inverse_target(y)
    metrics = {"loss": loss, **compute_metrics(default_metrics(trainer.kind, full=True), out, y, trainer.kind)}
    return metrics, out, y
