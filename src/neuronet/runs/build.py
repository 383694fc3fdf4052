"""From a validated RunConfig to raw data, the task, the prepared splits, a model and its Trainer.

Everything here is checked before a run directory is created: a bad config, data the model
cannot read, or a trainer option that does not apply is one clear sentence, and nothing is
written.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.config import AUTO_MODEL, TRAIN_SECTION_EXCLUDES, ModelConfig, RunConfig, default_model, model_task
from neuronet.datasets import Dataset, Pipeline, Prepared, load_source, loader_defaults, prepare, resample
from neuronet.datasets.augment import augment_layout, check_augmentations
from neuronet.errors import ConfigError, DataError
from neuronet.models import MODELS, build_model
from neuronet.registry import check_arguments, suggest
from neuronet.predict import Predictor
from neuronet.tasks import TASKS, Task
from neuronet.train import Callback, GANSamples, TextSamples, Trainer, trainer_for

__all__ = ["RunPlan", "data_loaded_once", "load_data", "resolve_task", "plan_run", "make_trainer", "cached_features", "Fold"]

Fold = tuple[np.ndarray, np.ndarray]  # (training rows, held-out rows)
_SUPERVISED = ("classification", "regression", "forecasting", "transcription", "detection", "segmentation")
_HINTS = {"table": "mlp or perceptron", "image": "cnn, vgg, resnet, inception or mlp", "sequence": "rnn, lstm, gru, transformer or mlp",
          "tokens": "rnn, lstm, gru or transformer", "speech": "speech_ctc"}


def source_spec(config: RunConfig) -> dict[str, Any]:
    """Where the run's data comes from (stored in preprocessing.json, so `evaluate` can reload it)."""
    d = config.data
    task = config.task or model_task(config.model.type)  # a translator's model reads its table as text pairs
    return {"source": _absolute(d.source), "target": d.target, "text": d.text, "task": task,
            "data_dir": d.data_dir and _absolute(d.data_dir), "limit": d.limit, "options": d.options}


def _absolute(source: str) -> str:
    """A file or folder as an absolute path (evaluate may run from another folder); a built-in name as it is."""
    path = Path(source)
    return str(path.resolve()) if not path.is_absolute() and path.exists() else source


_LOADED: dict[str, Dataset] | None = None  # inside `data_loaded_once`: raw data by where it comes from


@contextmanager
def data_loaded_once() -> Iterator[None]:
    """Within this block, each data source is read once; every later `load_data` gets its own copy.

    Tuning runs many trials (and cross-validation many folds) on the same data.
    """
    global _LOADED
    outer, _LOADED = _LOADED, {} if _LOADED is None else _LOADED
    try:
        yield
    finally:
        _LOADED = outer


def load_data(config: RunConfig) -> Dataset:
    """The configured raw data (the source registry picks the loader)."""
    spec = source_spec(config)
    if _LOADED is None:
        return load_source(**spec)
    key = json.dumps(spec, sort_keys=True, default=str)
    if key not in _LOADED:
        _LOADED[key] = load_source(**spec)
    return copy.deepcopy(_LOADED[key])  # a run may change its data's fields; the next one gets them as read


def resolve_task(config: RunConfig, data: Dataset) -> Task:
    """The run's task: the config's, else the model's own (autoencoders, GANs), else the data's.

    Raises:
        ConfigError: a task that the model or the data cannot serve.
    """
    declared = model_task(config.model.type)
    name = config.task or declared or data.task
    if declared and name != declared:
        raise ConfigError(f"Model '{config.model.type}' does {declared}, not {name}; remove task: {name} or pick "
                          "another model.")
    if name in ("reconstruction", "generation") and not declared:
        makers = [n for n in MODELS.names() if getattr(MODELS.get(n), "task", None) == name]
        raise ConfigError(f"Task '{name}' needs a model made for it ({', '.join(makers)}), not '{config.model.type}'.")
    if name in _SUPERVISED and data.task != name:
        hint = " (a time series: task: forecasting on a table, with data.options.input_len)" if name == "forecasting" else ""
        raise ConfigError(f"Task '{name}' does not fit '{data.name}', whose targets are for {data.task}{hint}.")
    return TASKS.get(name)()


@dataclass
class RunPlan:
    """Everything a run needs, built and checked before anything is written to disk."""

    config: RunConfig
    task: Task
    data: Dataset
    prepared: Prepared
    model: nn.Module
    model_spec: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)  # preprocessing.json extras: summary, notes, counts

    @property
    def train(self) -> Dataset:
        return self.prepared.train

    @property
    def val(self) -> Dataset | None:
        return self.prepared.val

    @property
    def test(self) -> Dataset | None:
        return self.prepared.test

    @property
    def pipeline(self) -> Pipeline:
        return self.prepared.pipeline

    def preprocessing_state(self) -> dict[str, Any]:
        """preprocessing.json: the data's metadata, the fitted pipeline, where the data is and how it was split."""
        c = self.config
        split = {"val": c.data.val, "test": c.data.test, "seed": c.seed, "unlabelled": not self.task.supervised}
        return {"data": self.train.meta(), "pipeline": self.pipeline.to_dict(), "source": source_spec(c),
                "split": split, **self.state}

    def predictor(self, loss_kwargs: dict[str, Any] | None = None) -> Predictor:
        """The in-memory Predictor (what `nt.load` gives back from the run directory)."""
        return Predictor(self.model, self.pipeline, self.task, self.train.meta(), self.model_spec["loss"], loss_kwargs)


def _check_layout(config: RunConfig, data: Dataset) -> None:
    layouts = getattr(MODELS.get(config.model.type), "layouts", None)
    if layouts and data.layout not in layouts:
        shape = "x".join(map(str, data.input_shape))
        raise ConfigError(f"Model '{config.model.type}' reads {' or '.join(layouts)} inputs, but '{data.name}' is "
                          f"{data.layout} data (shape {shape}); use {_HINTS.get(data.layout, 'another model')}"
                          + (", or task: forecasting with data.options.input_len for a time series." if data.layout ==
                             "table" else "."))


MIN_ROWS = 5  # the fewest examples a run splits into train / validation / test


def _model(config: RunConfig, train: Dataset, task: Task, loss: Any) -> tuple[nn.Module, dict[str, Any]]:
    """The configured model for the prepared training data, and its spec for model.json."""
    kwargs = config.model.kwargs()
    weights = kwargs.pop("weights", None)  # a file (or run) to start from, any model
    accepted = inspect.signature(MODELS.get(config.model.type)).parameters
    if "seed" in accepted:
        kwargs.setdefault("seed", config.seed)
    inputs = train.model_inputs()
    for key in ("vocab_size", "pad_index", "rate"):
        if key in inputs and key in accepted:
            kwargs.setdefault(key, inputs[key])
    outputs = task.output_size(train.num_outputs, loss)
    model = build_model(config.model.type, inputs["input_shape"], outputs, **kwargs)
    if weights is not None:
        from neuronet.transfer.weights import load_weights

        load_weights(model, weights)
    rebuilt = model.rebuild_kwargs() if hasattr(model, "rebuild_kwargs") else None
    if rebuilt:  # e.g. a run's architecture instead of its path
        kwargs = rebuilt
    try:  # a dry run on two examples: a shape the model cannot take is an error now, not mid-training
        with torch.no_grad():
            task.forward(model.eval(), train.x[:2], None if train.y is None else train.y[:2])
    except (RuntimeError, IndexError, ValueError) as err:
        raise ConfigError(f"Model '{config.model.type}' cannot read the inputs of '{train.name}' (shape "
                          f"{tuple(train.x.shape[1:])}): {str(err).splitlines()[0][:160]}.") from None
    model.train()
    loss_name = loss if isinstance(loss, str) else None
    return model, {"kind": "supervised", "type": config.model.type, "kwargs": kwargs,
                   "input_shape": list(inputs["input_shape"]), "num_outputs": outputs, "task": task.name,
                   "loss": loss_name}


def _default_scale(config: RunConfig, data: Dataset, task: Task) -> str:
    """data.scale when not given: a named pretrained image network normalises inside (pixels in [0, 1]); a run
    used as the backbone reads inputs scaled the way it was trained; else "standard" for a
    supervised task."""
    kwargs = config.model.kwargs()
    if config.model.type == "pretrained" and kwargs.get("run"):
        state = Path(kwargs["run"]) / "preprocessing.json"
        if state.is_file():
            scale = json.loads(state.read_text()).get("scale")
            if scale:  # one of data.scale's values, checked when that run was made
                data.notes = [*data.notes, f"features: scaled '{scale}' as the run {kwargs['run']} was (data.scale)"]
                return scale
    if config.model.type == "pretrained" and data.layout == "image":
        return "none"
    return "standard" if task.supervised else "none"


def plan_run(config: RunConfig, pipeline: Pipeline | None = None, fold: Fold | None = None) -> RunPlan:
    """Load and split the data, fit (or reuse) the preprocessing on the training split, build the model.

    Raises:
        ConfigError / DataError: anything wrong with the config or the data.
    """
    data = load_data(config)
    if config.model.type == AUTO_MODEL:  # chosen from the data, and written so in the run's config.yaml
        chosen = default_model(data.layout, config.task or data.task)
        kwargs = config.model.kwargs()
        accepted = [p for p in inspect.signature(MODELS.get(chosen)).parameters if p not in ("input_shape", "num_outputs")]
        check_arguments(f"Model '{chosen}' (model.type auto, for {data.layout} data)", kwargs, [*accepted, "weights"])
        config = config.model_copy(update={"model": ModelConfig(type=chosen, **kwargs)})
        data.notes = [*data.notes, f"model: {chosen} (model.type auto, for {data.layout} data)"]
    if len(data) < MIN_ROWS:  # too few to split: the task inferred from them, the split, the scaling all mislead
        raise DataError(f"'{config.data.source}' has {len(data)} example(s){' (data.limit)' if config.data.limit else ''}"
                        f"; training, validation and test need at least {MIN_ROWS}.")
    task = resolve_task(config, data)
    if not task.supervised:
        data = data.unlabelled()
    preprocess = dict(config.data.preprocess or {})
    pretrained = config.model.type == "pretrained" and "run" not in config.model.kwargs()
    if config.model.type == "pretrained" and not pretrained and data.layout == "text":
        raise ConfigError("model.run cannot start a text model: a run's vocabulary belongs to its own texts; "
                          "fine-tune a pretrained encoder with its tokenizer instead (model.name: minilm-l6).")
    if config.model.type == "pretrained" and config.model.kwargs().get("freeze") == "backbone" and config.train.fine_tune:
        raise ConfigError("train.fine_tune trains every layer after its head epochs, but model.freeze is 'backbone' "
                          "(the head alone); set model.freeze: none to fine-tune, or drop train.fine_tune.")
    if pretrained and data.layout == "text":  # a pretrained encoder reads its own tokenizer's word pieces
        preprocess.setdefault("tokenizer", config.model.kwargs().get("name", "minilm-l6"))
    if config.data.group and data.layout != "frame":  # as `neuronet cv` says: it was silently ignored here
        raise ConfigError("data.group names a column, so it applies to tables (CSV / Parquet).")
    if config.data.group:  # the group column keeps rows together; it is no feature
        columns = [str(c) for c in data.x.columns]
        if str(config.data.group) not in columns:  # said as data.group's own error, not as a preprocessing one
            raise ConfigError(f"data.group names column '{config.data.group}', which is not in {config.data.source}."
                              f"{suggest(str(config.data.group), columns)} Columns: {', '.join(columns)}.")
        preprocess["ignore"] = [*preprocess.get("ignore", []), config.data.group]
    scale = config.data.scale or _default_scale(config, data, task)
    digest = data.digest()  # of the data as loaded, which is what evaluate and --resume load again
    prepared = prepare(data, val=config.data.val, test=config.data.test, seed=config.seed, fold=fold,
                       pipeline=pipeline, scale=scale, preprocess=preprocess)
    state: dict[str, Any] = {"summary": [*data.notes, *prepared.pipeline.summary()], "rows": len(data), "scale": scale,
                             "class_counts": data.class_counts(), "digest": digest,
                             "missing_values": {k: int(v) for k, v in data.x.isna().sum().items() if v}
                             if data.layout == "frame" else {}}
    if config.data.resample:
        state["train_before_resampling"] = len(prepared.train)
        prepared.train = resample(prepared.train, config.data.resample, seed=config.seed)
        state["summary"].append(f"classes balanced by {config.data.resample}: {state['train_before_resampling']} -> "
                                f"{len(prepared.train)} training rows")
    if task.supervised and len(prepared.train) and bool((prepared.train.y == prepared.train.y[:1]).all()):
        first = prepared.train.y.flatten()[0].item()
        value = f" ({prepared.train.class_names[int(first)]!r})" if prepared.train.class_names else ""
        raise DataError(f"The target of '{config.data.source}' has a single value{value} in all {len(prepared.train)} "
                        "training example(s); there is nothing to learn (more data, or other val / test fractions).")
    _check_layout(config, prepared.train)
    check_augmentations(config.train.augment if isinstance(config.train.augment, list) else None,
                        augment_layout(prepared.train))
    loss = config.train.loss or task.loss_for(MODELS.get(config.model.type))
    task.check_loss(loss)
    model, spec = _model(config, prepared.train, task, loss)
    return RunPlan(config, task, data, prepared, model, spec, state)


def make_trainer(plan: RunPlan, callbacks: list[Callback] | tuple = (), progress: bool = True,
                 checkpoint: Path | None = None, on_save: Any = None, samples: Path | None = None,
                 model: nn.Module | None = None) -> Trainer:
    """The Trainer the config describes (for `model`, default the plan's); with `checkpoint`, it saves its
    resumable state there."""
    cls = trainer_for(plan.task.name)
    options = plan.config.train_options()
    if options.get("early_stopping") and plan.val is None:
        raise ConfigError("train.early_stopping watches validation data, but data.val is 0; set data.val "
                          "(e.g. 0.1) or remove early_stopping.")
    spec = options.pop("checkpoint", None) or {}
    if checkpoint is not None:
        options["checkpoint"] = {**spec, "path": str(checkpoint), "on_save": on_save}
    if cls is Trainer:
        options["task"] = plan.task
    extra: list[Callback] = []
    if samples is not None and "sample" in plan.task.offers:  # a GAN's images, epoch by epoch
        extra.append(GANSamples(samples, seed=plan.config.seed))
    if samples is not None and "generate" in plan.task.offers:  # a language model's text, epoch by epoch
        extra.append(TextSamples(samples, plan.pipeline.language.tokenizer, seed=plan.config.seed))
    return cls(plan.model if model is None else model, seed=plan.config.seed, callbacks=[*callbacks, *extra], progress=progress, **options)


def uses_feature_cache(plan: RunPlan) -> bool:
    """Whether the run trains a head on features embedded once (a frozen pretrained backbone, inputs unchanged)."""
    from neuronet.transfer.features import cacheable

    options = plan.config.train_options()
    return cacheable(plan.model) and not any(options.get(k) for k in ("augment", "unfreeze", "fine_tune"))


def cached_features(plan: RunPlan, progress: bool = True) -> tuple[nn.Module, Dataset, Dataset | None] | None:
    """Feature extraction: with a frozen pretrained backbone (and nothing that changes inputs or unfreezes),
    the training and validation splits embedded once and the head that reads them; else None."""
    from neuronet.transfer.features import embed, head_of

    if not uses_feature_cache(plan):
        return None
    options = plan.config.train_options()
    from neuronet.train import resolve_device

    device = resolve_device(options.get("device", "auto"))
    train = embed(plan.model, plan.train, device=device, progress=progress)
    val = None if plan.val is None else embed(plan.model, plan.val, device=device, progress=progress)
    return head_of(plan.model), train, val


def resolved_config(plan: RunPlan, trainer: Trainer) -> dict[str, Any]:
    """The config as it ran: every default written out, the trainer's values as it used them."""
    config = plan.config.model_dump(mode="json")
    config["task"] = plan.task.name
    data = config["data"]
    data["scale"] = plan.state.get("scale") or plan.config.data.scale or ("standard" if plan.task.supervised else "none")
    defaults = loader_defaults(data["source"], data["text"], plan.config.task or plan.task.name)
    data["options"] = {**{k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()}, **data["options"]}
    step = plan.pipeline.steps[0]
    if step.kind in ("table", "text"):  # the preparation's options as they were used
        options = step.to_dict()["options"] if step.kind == "table" else \
            {k: getattr(step, k) for k in ("max_len", "min_freq", "max_vocab")}
        data["preprocess"] = {k: v for k, v in options.items() if k != "scale"}
    elif step.kind == "tokenizer":
        data["preprocess"] = {"tokenizer": step.name, "max_len": step.max_len}
    data_derived = ("vocab_size", "pad_index", "rate")
    config["model"] = {"type": plan.config.model.type,
                       **{k: v for k, v in getattr(plan.model, "hparams", plan.model_spec["kwargs"]).items()
                          if k not in data_derived}}
    if plan.config.model.kwargs().get("weights") is not None:  # where it started from (a resume starts there again)
        config["model"]["weights"] = plan.config.model.kwargs()["weights"]
    train = {k: v for k, v in trainer.hparams.items() if k not in TRAIN_SECTION_EXCLUDES}
    train["checkpoint"] = plan.config.train.checkpoint
    config["train"] = train
    world = trainer.ranks.world
    config["distributed"] = {"processes": world, "global_batch_size": trainer.batch_size * world}
    return config
