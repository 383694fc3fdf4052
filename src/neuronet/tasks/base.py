"""`Task`: what a model's outputs mean, and everything that follows from it.

A task owns its outputs end to end: its default loss, how a batch of examples is collated (and batches joined),
how outputs are decoded into predictions (a label, a value, an anomaly score; next a string or
boxes), its metrics, the columns of a prediction table, the server's response schema, the web
page's widget, which plots show the test outputs, and whether it can be exported. Predictor,
server, page, report and explanations ask the task object; none of them branches on its name,
so a new task is one file (a subclass registered in `TASKS`) plus its models and data source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.registry import Registry
from neuronet.tasks.metrics import compute_metrics

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pydantic import BaseModel

__all__ = ["TASKS", "Task", "get_task", "infer_task", "tasks_that"]

InverseTarget = Callable[[torch.Tensor], torch.Tensor]  # model outputs back in the data's own units

TASKS: Registry[type["Task"]] = Registry("task")


class Task:
    """Base class. Subclasses set the class attributes and override what differs.

    Attributes:
        name: The registered name.
        default_loss: Loss used when none is given.
        metrics: Metrics reported every epoch.
        report_metrics: Metrics of the final report (test split, `neuronet evaluate`).
        supervised: Targets come from labels (False: the inputs are their own targets).
        ordered: Rows are in time order (splits hold out the most recent rows).
        curves_fall: A falling training loss means learning (not so for a GAN's adversarial losses).
        losses: Registered loss names that fit this task (empty: any).
        has_classes: Outputs are scores over named classes (`meta["class_names"]`): a Predictor
            has `classes` and `predict_proba`; explanations name outputs by class.
        loss_in_report: Evaluation reports the training loss (a GAN's `score` computes its own).
        onnx_ok: The ONNX backend serves it (its outputs are plain tensors the task reads).
        attributable: Each output is a number an attribution can explain (a class score, a value).
        offers: Predictor methods beyond `predict` this task's models answer ("scores", "sample").
        plot_files: The files `plots` writes, in the order a report shows them.
        widget: How the web page shows one response: `value` names the field shown as the
            prediction; `bars`, if given, a {name: probability} field drawn as bars; `rectangles`, a field
            of boxes [{"label", "score", "box": [x0, y0, x1, y1]}] drawn over the image sent; `overlay`, a
            field holding a base64 PNG of class indices painted over it.
        baselines: The classical baselines a run fits beside the network and reports with its
            test metrics (names in `neuronet.tasks.baselines.BASELINES`; empty: none).
        explains: The parts of `neuronet explain` that can apply to its runs (`neuronet.runs.explain.PARTS`);
            the others are neither tried nor listed.
        output: The kind of model output it reads where only some models make it (a detector's "boxes", a
            segmenter's "mask": the model's own `output`); None: any model's.
        train_metrics: Its metrics are also measured on the training batches each epoch (False where that costs a
            large part of the epoch: a detector would decode every training batch and COCO-evaluate them).
    """

    name: ClassVar[str] = "task"
    default_loss: ClassVar[str] = "mse"
    metrics: ClassVar[tuple[str, ...]] = ()
    report_metrics: ClassVar[tuple[str, ...]] = ()
    supervised: ClassVar[bool] = True
    ordered: ClassVar[bool] = False
    curves_fall: ClassVar[bool] = True  # the training loss should fall (the training doctor reads its curve)
    losses: ClassVar[tuple[str, ...]] = ()  # registered loss names that fit this task (empty: any)
    has_classes: ClassVar[bool] = False
    loss_in_report: ClassVar[bool] = True
    onnx_ok: ClassVar[bool] = False
    attributable: ClassVar[bool] = False
    offers: ClassVar[tuple[str, ...]] = ()
    plot_files: ClassVar[tuple[str, ...]] = ()
    widget: ClassVar[dict[str, str]] = {"value": "prediction"}
    baselines: ClassVar[tuple[str, ...]] = ()
    explains: ClassVar[tuple[str, ...]] = ("tsne", "attribution", "attention", "wrong", "per_class")
    train_metrics: ClassVar[bool] = True
    output: ClassVar[str | None] = None  # the model output it reads, where a model must make it ("boxes", "mask")

    # --- training ----------------------------------------------------------------------
    def loss_for(self, model: nn.Module | None = None) -> str:
        """The default loss, unless the model declares its own (a VAE trains on the ELBO)."""
        return getattr(model, "default_loss", None) or self.default_loss

    def check_loss(self, loss: Any) -> None:
        """Raise a ConfigError when a registered loss name does not fit this task."""
        if isinstance(loss, str) and self.losses and loss not in self.losses:
            raise ConfigError(f"The loss '{loss}' does not fit a {self.name} task; use one of {', '.join(self.losses)}.")

    def output_size(self, num_outputs: int, loss: Any = None) -> int:
        """Width of the model's output layer for `num_outputs` classes / targets."""
        return num_outputs

    def targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What the loss compares the outputs with (the labels; the inputs for reconstruction)."""
        return y

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> Any:
        """Outputs used to score a batch (the model's forward pass; GANs ask their discriminator; a
        translation model reads the target so far, `y`: teacher forcing)."""
        return model(x)

    def compact(self, outputs: Any, targets: torch.Tensor) -> Any:
        """What is kept of a batch's outputs to score a whole split (all of them, unless they are too large:
        a sequence task keeps each token's loss and prediction, not the logits over its vocabulary)."""
        return outputs

    def collate(self, batch: list[Any]) -> Any:
        """One mini-batch from a list of examples: tensors stacked (tasks with variable-size targets pad them).

        Example:
            >>> x, y = Task().collate([(torch.zeros(3), torch.tensor(1)), (torch.ones(3), torch.tensor(0))])
            >>> x.shape, y.tolist()
            (torch.Size([2, 3]), [1, 0])
        """
        return torch.utils.data.default_collate(batch)

    def join(self, parts: list[Any]) -> Any:
        """Per-batch outputs or targets joined over a whole data set, in order (what metrics and `evaluate` read).

        Tensors are concatenated, tuples joined part by part, and lists (variable-size targets, one
        entry per example) chained.

        Example:
            >>> Task().join([torch.tensor([1, 2]), torch.tensor([3])]).tolist()
            [1, 2, 3]
            >>> Task().join([[torch.zeros(2)], [torch.zeros(0), torch.zeros(5)]])[2].shape
            torch.Size([5])
        """
        first = parts[0]
        if isinstance(first, tuple):
            return tuple(self.join(list(part)) for part in zip(*parts))
        if isinstance(first, list):
            return [item for part in parts for item in part]
        return torch.cat(parts)

    # --- reading outputs -----------------------------------------------------------------
    def labels(self, outputs: Any) -> torch.Tensor:
        raise ConfigError(f"A {self.name} model predicts no class labels.")

    def probabilities(self, outputs: Any) -> torch.Tensor:
        raise ConfigError(f"A {self.name} model predicts no class probabilities; predict_proba needs classification.")

    def values(self, outputs: Any) -> torch.Tensor:
        raise ConfigError(f"A {self.name} model predicts no values.")

    def predictions(self, outputs: Any) -> torch.Tensor:
        """Outputs as tensors of predictions: class indices or values."""
        return self.values(outputs)

    def decode(self, outputs: Any, meta: dict[str, Any], inverse_target: InverseTarget | None = None,
               x: torch.Tensor | None = None) -> Any:
        """What `Predictor.predict` returns for a batch of outputs: labels, values in the data's own
        units, scores; a task with structured outputs returns one object per example (a string, boxes).

        Args:
            outputs: The outputs of `forward` for the prepared inputs `x`.
            meta: The training data's metadata (class names, target names, vocabulary...).
            inverse_target: Undoes the target scaling of training (None: identity).
            x: The prepared inputs (for predictions measured against them, such as a reconstruction error).

        Example:
            >>> from neuronet.tasks import Classification
            >>> Classification().decode(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), {"class_names": ["cat", "dog"]}).tolist()
            ['cat', 'dog']
        """
        return self.predictions(outputs).cpu().numpy()

    def predict_with(self, predictor: Any, inputs: Any) -> Any:
        """What `Predictor.predict` returns for raw `inputs` (a task that generates decodes step by step)."""
        data = predictor.prepare(inputs)
        return self.decode(predictor.forward(data), predictor.meta, predictor.pipeline.inverse_target, data.x)

    def frame_with(self, predictor: Any, inputs: Any) -> tuple[dict[str, Any], list[str] | None]:
        """The columns of `Predictor.predict_frame` for raw `inputs`, batch by batch (`prediction_columns`), and
        the name of each row's input where they came from files (None otherwise)."""
        import numpy as np

        data = predictor.prepare(inputs)
        parts = [self.prediction_columns(predictor.model, chunk.to(predictor.device), predictor.meta,
                                         predictor.pipeline.inverse_target) for chunk in predictor.batches(data.x)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, data.ids

    def score_decoded(self, predictor: Any, data: Any) -> dict[str, Any]:
        """Report metrics measured on decoded predictions rather than on outputs (BLEU of translations); none by default."""
        return {}

    def showcase(self, predictor: Any, data: Any, folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
        """Decoded examples of the test split for the report (texts a model wrote), and plots that need the model
        (attention between a source and its translation) written to `folder`; none by default."""
        return [], []

    def worst(self, predictor: Any, data: Any, outputs: Any, targets: torch.Tensor) -> list[dict[str, str]]:
        """The examples `neuronet evaluate` shows beside the metrics (the clips transcribed worst), from the outputs
        `Predictor.score` kept for prepared `data`; none by default."""
        return []

    def prediction_columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                           inverse_target: InverseTarget | None = None) -> dict[str, Any]:
        """Columns of a prediction table for one batch of prepared inputs (`Predictor.predict_frame`)."""
        raise ConfigError(f"A {self.name} model makes no prediction table.")

    def to_data_units(self, outputs: Any, targets: torch.Tensor,
                      inverse_target: InverseTarget | None = None) -> tuple[Any, torch.Tensor]:
        """Outputs and targets in the data's own units, to score and plot (unchanged unless targets were scaled)."""
        return outputs, targets

    def require(self, what: str) -> None:
        """Raise a ConfigError unless this task's models answer the Predictor method `what` (see `offers`)."""
        if what not in self.offers:
            owners = tasks_that(lambda task: what in task.offers, "or") or "different"
            raise ConfigError(f"{what}() needs a {owners} model; this one is {self.name}.")

    def check_stored(self, pipeline: Any, num_outputs: int, source: Any) -> None:
        """Raise a DataError when a stored run's pipeline cannot go with its model of `num_outputs` outputs (an
        edited preprocessing.json, `source`); nothing is checked by default."""

    def check_export(self) -> None:
        """Raise a ConfigError when models of this task cannot be exported for serving (none by default)."""

    # --- serving ---------------------------------------------------------------------------
    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        """The pydantic model of one prediction in the server's responses (`POST /predict`)."""
        from pydantic import Field, create_model

        return create_model("Prediction", prediction=(Any, Field(description="The prediction.")))

    def to_responses(self, frame: pd.DataFrame, classes: list[str] | None) -> list[dict[str, Any]]:
        """Rows of `Predictor.predict_frame` → one response dict per instance (see `response`).

        Example:
            >>> import pandas as pd
            >>> from neuronet.tasks import Regression
            >>> Regression().to_responses(pd.DataFrame({"input": ["a.csv"], "prediction": [2.5]}), None)
            [{'prediction': 2.5}]
        """
        rows = frame.drop(columns=[c for c in ("input",) if c in frame.columns]).to_dict("records")
        return [self.response(row, classes) for row in rows]

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        """One row of the prediction table as the body of one response (plain JSON values)."""
        value = row["prediction"]
        return {"prediction": value.tolist() if hasattr(value, "tolist") else value}

    # --- scoring and plots -------------------------------------------------------------
    def score(self, outputs: Any, targets: torch.Tensor, metrics: list[str] | None = None) -> dict[str, float]:
        """The report metrics (or `metrics`) on outputs and targets in the data's own units."""
        return compute_metrics(list(self.report_metrics if metrics is None else metrics), outputs, targets, self)

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        """PNG files that show the test outputs (none by default)."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def tasks_that(has: Callable[[type[Task]], bool], last: str = "and") -> str:
    """The registered tasks for which `has` holds, in registration order, as words: "a, b and c".

    Messages list tasks this way, so that they stay true when a task is added.

    Example:
        >>> tasks_that(lambda task: task.onnx_ok)
        'classification, regression and forecasting'
    """
    names = [name for name in TASKS.names() if has(TASKS.get(name))]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}" if names else ""


def get_task(task: str | Task | None) -> Task | None:
    """A Task from its name (a Task passes through; None stays None)."""
    if task is None or isinstance(task, Task):
        return task
    return TASKS.get(task)()


def infer_task(data: Any = None, model: nn.Module | None = None) -> Task:
    """The task of a model and its data: the model's own (autoencoders, GANs), else the data's.

    A Dataset says its task; for other data the targets decide: integer class indices are
    classification, floats regression. The loss never decides.

    Example:
        >>> from neuronet.datasets import Dataset
        >>> infer_task(Dataset(torch.zeros(4, 2), torch.tensor([0.5, 1.0, 2.0, 3.0])))
        Regression()
    """
    declared = getattr(model, "task", None)
    if isinstance(declared, str):
        return TASKS.get(declared)()
    named = getattr(data, "task", None)
    if isinstance(named, str):
        return TASKS.get(named)()
    y = _first_targets(data)
    if y is None:
        raise ConfigError("Cannot tell the task from this data; pass task='classification' or 'regression'.")
    return TASKS.get("regression" if y.is_floating_point() else "classification")()


def _first_targets(data: Any) -> torch.Tensor | None:
    if data is None:
        return None
    if isinstance(data, torch.utils.data.DataLoader):
        batch = next(iter(data), None)
        return batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None
    try:
        item = data[0]
    except (TypeError, IndexError, KeyError):
        return None
    return torch.as_tensor(item[1]) if isinstance(item, (tuple, list)) and len(item) > 1 else None
