"""Classification: one class per example, from logits (softmax) or one binary logit (sigmoid)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from neuronet.tasks.base import TASKS, InverseTarget, Task

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

__all__ = ["Classification"]


@TASKS.register("classification", "Assign each example one of k classes (binary or multiclass).")
class Classification(Task):
    """Outputs are logits: (N, k) for k classes (softmax), or (N, 1) for two classes (sigmoid).

    Example:
        >>> task = Classification()
        >>> task.labels(torch.tensor([[2.0, 1.0], [0.0, 3.0]])).tolist(), task.labels(torch.tensor([[-1.0], [2.0]])).tolist()
        ([0, 1], [0, 1])
    """

    name: ClassVar[str] = "classification"
    default_loss: ClassVar[str] = "cross_entropy"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    report_metrics: ClassVar[tuple[str, ...]] = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "pr_auc")
    losses: ClassVar[tuple[str, ...]] = ("cross_entropy", "binary_cross_entropy")
    has_classes: ClassVar[bool] = True
    onnx_ok: ClassVar[bool] = True
    attributable: ClassVar[bool] = True
    plot_files: ClassVar[tuple[str, ...]] = ("confusion_matrix.png",)
    widget: ClassVar[dict[str, str]] = {"value": "prediction", "bars": "probabilities"}
    baselines: ClassVar[tuple[str, ...]] = ("majority", "logistic")

    def output_size(self, num_outputs: int, loss: Any = None) -> int:
        return 1 if loss == "binary_cross_entropy" else num_outputs  # one logit for binary cross-entropy

    @staticmethod
    def _logits(outputs: Any) -> torch.Tensor:
        return outputs[0] if isinstance(outputs, tuple) else outputs

    def labels(self, outputs: Any) -> torch.Tensor:
        logits = self._logits(outputs)
        if logits.ndim == 1 or logits.shape[1] == 1:  # one binary logit: class 1 where it is > 0
            return (logits.reshape(len(logits), -1)[:, 0] > 0).long()
        return logits.argmax(dim=1)

    def probabilities(self, outputs: Any) -> torch.Tensor:
        logits = self._logits(outputs)
        if logits.ndim == 1 or logits.shape[1] == 1:
            p = torch.sigmoid(logits.reshape(len(logits), -1)[:, 0].float())
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(logits.float(), dim=1)

    def predictions(self, outputs: Any) -> torch.Tensor:
        return self.labels(outputs)

    def decode(self, outputs: Any, meta: dict[str, Any], inverse_target: InverseTarget | None = None,
               x: torch.Tensor | None = None) -> np.ndarray:
        """The class labels (as in training) of the outputs: an object array (N,)."""
        return np.asarray(meta.get("class_names"), dtype=object)[self.labels(outputs).cpu().numpy()]

    def prediction_columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                           inverse_target: InverseTarget | None = None) -> dict[str, np.ndarray]:
        """`prediction` (the label) and `p_<class>`, each class's probability."""
        out = model(x)
        classes = np.asarray(meta["class_names"], dtype=object)
        columns = {"prediction": classes[self.labels(out).cpu().numpy()]}
        proba = self.probabilities(out).cpu().numpy()
        for i, name in enumerate(meta["class_names"]):
            columns[f"p_{name}"] = proba[:, i]
        return columns

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import Field, create_model

        return create_model("Prediction", prediction=(str, Field(description=f"One of: {', '.join(classes or [])}.")),
                            probabilities=(dict[str, float], Field(description="Each class's probability.")))

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        return {"prediction": str(row["prediction"]), "probabilities": {c: float(row[f"p_{c}"]) for c in classes or []}}

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        from neuronet.plots import plot_confusion_matrix

        pred = self.labels(outputs).cpu().numpy()
        return [plot_confusion_matrix(targets.reshape(-1).cpu().numpy(), pred, meta["class_names"],
                                      folder / "confusion_matrix.png")]
