"""Read a run directory back: the model, its preprocessing, and evaluate / predict with them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file
from torch import nn

from neuronet.config import RunConfig, load_config
from neuronet.datasets import (
    TABLE_SUFFIXES, Scaler, TablePreprocessor, Vocabulary, load_raw_table, load_table, read_table, table_features,
)
from neuronet.errors import DataError
from neuronet.models import anomaly_scores
from neuronet.nn import loss_task
from neuronet.runs.files import RunFiles, read_json
from neuronet.runs.prepare import configured_model, default_loss, model_task, prepare
from neuronet.train import GANTrainer, compute_metrics, default_metrics
from neuronet.train.metrics import predicted_labels, probabilities

__all__ = ["LoadedRun", "load_run", "evaluate_run", "predict_file"]


@dataclass
class LoadedRun:
    """A trained run: its config, data metadata, fitted scaler and model (a plain nn.Module)."""

    files: RunFiles
    config: RunConfig
    meta: dict[str, Any]
    scaler: Scaler
    model: nn.Module
    table: TablePreprocessor | None = None

    @property
    def kind(self) -> str:
        return loss_task(self.config.train.loss or default_loss(self.meta["task"], self.config.model.type))

    @torch.no_grad()
    def outputs(self, x: torch.Tensor, scaled: bool = False) -> torch.Tensor:
        """Raw model outputs for features `x` (N, *input_shape); `scaled`: already scaled."""
        self.model.eval()
        x = x if scaled else self.scaler.transform_x(x)
        return torch.cat([self.model(chunk) for chunk in x.split(1024)])


def load_run(path: str | Path) -> LoadedRun:
    """Load a completed run's model and preprocessing from its directory.

    Example:
        >>> run = load_run("runs/digits-cnn-20261123-171500")  # doctest: +SKIP
        >>> run.outputs(x_new).argmax(1)  # doctest: +SKIP
    """
    files = RunFiles(Path(path))
    files.check()
    if not files.weights.is_file():
        raise DataError(f"{files.root} has no model.safetensors (status: "
                        f"{read_json(files.status).get('status', 'unknown')}); finish it with `neuronet train --resume {files.root}`.")
    config = load_config(files.config)
    state = read_json(files.preprocessing)
    meta = state["data"]
    loss = config.train.loss or default_loss(meta["task"], config.model.type)
    vocab = meta.get("vocab")
    inputs = {**meta, **({"vocab_size": len(vocab["tokens"]), "pad_index": 0} if vocab else {})}
    model = configured_model(config, inputs, loss)
    model.load_state_dict(load_file(str(files.weights)))
    table = TablePreprocessor.from_dict(state["table"]) if "table" in state else None
    return LoadedRun(files, config, meta, Scaler.from_dict(state["scaler"]), model, table)


def _read_inputs(run: LoadedRun, path: Path) -> torch.Tensor:
    """Features from a table (columns named as in training) or a .npy array, shaped for the model."""
    shape = tuple(run.meta["input_shape"])
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise DataError(f"Input file {path} does not exist; check the path.")
        array = np.load(path, allow_pickle=False)
        if tuple(array.shape[1:]) not in (shape, (math.prod(shape),)):
            raise DataError(f"{path} holds arrays of shape {tuple(array.shape[1:])}; the model expects {shape}.")
        return torch.as_tensor(array, dtype=torch.float32).reshape(-1, *shape)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(f"Input file {path} must be .csv, .parquet or .npy, not '{path.suffix}'.")
    if run.meta.get("vocab"):  # a text model: read the text column and encode it with the run's vocabulary
        column = run.config.data.text or "text"
        frame = read_table(path)
        if column not in frame.columns:
            raise DataError(f"{path} has no '{column}' column with the texts to classify.")
        return Vocabulary.from_dict(run.meta["vocab"]).encode(frame[column].astype(str), shape[0])
    if run.table is not None:  # a preprocessed table: raw columns through the fitted steps
        return torch.from_numpy(run.table.transform(read_table(path)))
    names = run.meta["feature_names"]
    if not names:
        raise DataError(f"The data set '{run.meta['name']}' has no named features; pass a .npy array shaped {shape}.")
    return table_features(path, names).reshape(-1, *shape)


def predict_file(path: str | Path, file: str | Path) -> pd.DataFrame:
    """Predictions for every row of `file`: a `prediction` column, plus class probabilities.

    For an autoencoder: an `anomaly_score` (reconstruction error) and the latent code `z_i`.

    Raises:
        DataError: the file is missing, unreadable, or lacks the training columns.
    """
    run = load_run(path)
    task = model_task(run.config.model.type)
    if task == "adversarial":
        raise DataError(f"Run {run.files.root} is a GAN: it generates images rather than predicting; sample them with "
                        "neuronet.runs.load_run(RUN).model.sample(n).")
    x = _read_inputs(run, Path(file))
    if task == "reconstruction":  # an autoencoder: how unusual each row is, and its latent code
        scaled = run.scaler.transform_x(x)
        frame = pd.DataFrame({"anomaly_score": anomaly_scores(run.model, scaled).numpy()})
        with torch.no_grad():
            codes = run.model.encode(scaled).numpy()
        for i in range(codes.shape[1]):
            frame[f"z_{i}"] = codes[:, i]
        return frame
    out = run.outputs(x)
    if run.kind == "regression":
        values = run.scaler.inverse_target(out).numpy()
        names = run.meta["target_names"] or [f"target_{i}" for i in range(values.shape[1])]
        return pd.DataFrame(values, columns=[f"prediction_{n}" if len(names) > 1 else "prediction" for n in names])
    classes = run.meta["class_names"]
    labels = predicted_labels(out, run.kind).numpy()
    proba = probabilities(out, run.kind).numpy()
    frame = pd.DataFrame({"prediction": [classes[i] for i in labels]})
    for i, name in enumerate(classes):
        frame[f"p_{name}"] = proba[:, i]
    return frame


def evaluate_run(path: str | Path, file: str | Path | None = None) -> dict[str, float]:
    """Metrics of a trained run on its own test split (re-made from the seed), or on `file`.

    `file` is a CSV / Parquet table with the training feature columns and the target column.
    """
    run = load_run(path)
    if file is None:
        prep = prepare(run.config, run.scaler)
        if prep.test is None:
            raise DataError(f"Run {run.files.root} was trained with data.test = 0, so it has no test split; pass a file.")
        if prep.task == "adversarial":  # the discriminator on real test images vs generated ones
            return GANTrainer(run.model, progress=False).evaluate(prep.test)
        out, y = run.outputs(prep.test.x, scaled=True), prep.test.y
        y = run.scaler.inverse_target(y) if run.kind == "regression" else y
    else:
        target = run.config.data.target
        names = run.meta["feature_names"] or []
        if not target:
            raise DataError(f"Run {run.files.root} was trained on '{run.meta['name']}', which has no target column name; "
                            "evaluate it without a file.")
        if run.table is not None:
            table = load_raw_table(file, target, run.meta["task"]).to_dataset(run.table)
        else:
            table = load_table(file, target=target, task=run.meta["task"], features=names)
        x = table.x.reshape(-1, *run.meta["input_shape"])
        out = run.outputs(x)
        y = table.y
        if run.kind != "regression":
            index = {c: i for i, c in enumerate(run.meta["class_names"])}
            unknown = sorted(set(table.class_names) - set(index))
            if unknown:
                raise DataError(f"{file} has target classes the model never saw: {', '.join(unknown[:5])}.")
            y = torch.tensor([index[table.class_names[i]] for i in table.y.tolist()])
    if run.kind == "regression":
        out = run.scaler.inverse_target(out)
    return compute_metrics(default_metrics(run.kind, full=True), out, y, run.kind)
