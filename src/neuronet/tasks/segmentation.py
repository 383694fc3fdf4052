"""Semantic segmentation: a class for every pixel, scored by mean intersection over union and Dice.

Outputs are logits (B, classes, H, W); targets class masks (B, H, W), class 0 the background
(`neuronet.datasets.vision`). For scoring a split each image keeps its loss and its
predicted mask (uint8), not the logits (`compact`). Mean IoU averages the classes' IoU over the
classes present in the prediction or the truth, background included (as PASCAL VOC and
Cityscapes report it); Dice is 2 |A ∩ B| / (|A| + |B|) per class.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from neuronet.errors import ConfigError
from neuronet.tasks.base import TASKS, Task
from neuronet.tasks.metrics import METRICS, Metric
from neuronet.tasks.segmentation_metrics import confusion, dice_per_class, iou_per_class, mean_dice, mean_iou

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pydantic import BaseModel

__all__ = ["Segmentation", "mask_png"]


def _confusion(outputs: Any, targets: torch.Tensor) -> torch.Tensor:
    masks = outputs[1]
    classes = int(max(int(targets.max()), int(masks.max()))) + 1
    return confusion(masks.long(), targets.long(), classes, ignore_index=None)


for _name, _fn, _help in (
        ("mean_iou", lambda o, t, task: mean_iou(_confusion(o, t)),
         "Mean intersection over union of the classes present, background included."),
        ("dice", lambda o, t, task: mean_dice(_confusion(o, t)), "Mean Dice coefficient 2|A∩B| / (|A| + |B|) over the "
                                                                "classes present, background included.")):
    METRICS.add(_name, Metric(_fn, ("segmentation",), True, _help), _help)


def mask_png(mask: np.ndarray) -> str:
    """A class mask (H, W) as a palette PNG of class indices, base64-encoded (what the server returns)."""
    from neuronet.datasets.masks import write_mask

    buffer = io.BytesIO()
    write_mask(buffer, mask)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@TASKS.register("segmentation", "Semantic segmentation: a class for each pixel, scored by mean IoU and Dice.")
class Segmentation(Task):
    """Outputs are logits (B, classes, H, W); targets class masks (B, H, W); predictions are masks.

    Example:
        >>> logits = torch.zeros(1, 2, 2, 2); logits[0, 1, 0] = 5.0  # the top row is class 1
        >>> kept = Segmentation().compact(logits, torch.tensor([[[1, 1], [0, 0]]]))
        >>> kept[1].tolist(), Segmentation().score(kept, torch.tensor([[[1, 1], [0, 0]]]))
        ([[[1, 1], [0, 0]]], {'mean_iou': 1.0, 'dice': 1.0})
    """

    name: ClassVar[str] = "segmentation"
    default_loss: ClassVar[str] = "pixel_cross_entropy"
    losses: ClassVar[tuple[str, ...]] = ("pixel_cross_entropy",)
    metrics: ClassVar[tuple[str, ...]] = ("mean_iou",)
    report_metrics: ClassVar[tuple[str, ...]] = ("mean_iou", "dice")
    offers: ClassVar[tuple[str, ...]] = ("segment",)
    widget: ClassVar[dict[str, str]] = {"value": "summary", "overlay": "mask"}
    plot_files: ClassVar[tuple[str, ...]] = ("segmentation.png",)
    explains: ClassVar[tuple[str, ...]] = ()
    output: ClassVar[str | None] = "mask"

    def compact(self, outputs: Any, targets: torch.Tensor) -> Any:
        """Each image's loss (B,: pixel cross-entropy + soft Dice) and its predicted mask (B, H, W) as uint8."""
        if isinstance(outputs, tuple):  # already kept
            return outputs
        from neuronet.nn.losses import PixelCrossEntropy

        return PixelCrossEntropy().per_image(outputs, targets).detach(), outputs.argmax(dim=1).to(torch.uint8)

    def check_export(self) -> None:
        raise ConfigError("A segmentation model is served with `neuronet serve RUN` (the torch backend); ONNX export "
                          "covers classification, regression and forecasting.")

    # --- predictions ---------------------------------------------------------------------
    def predict_with(self, predictor: Any, inputs: Any) -> list[np.ndarray]:
        """A class mask (H, W) per image, in the image's own size."""
        return predictor.segment(inputs)

    def frame_with(self, predictor: Any, inputs: Any) -> tuple[dict[str, Any], list[str] | None]:
        """One row per image: its size, the share of its pixels in each class, and its mask as a base64 PNG."""
        data = predictor.prepare(inputs)
        masks = predictor.segment_prepared(data)
        names = predictor.meta.get("class_names") or []
        columns: dict[str, Any] = {"width": np.array([m.shape[1] for m in masks]),
                                   "height": np.array([m.shape[0] for m in masks])}
        for k, name in enumerate(names):
            columns[f"share_{name}"] = np.array([round(float((m == k).mean()), 4) for m in masks])
        columns["mask"] = np.array([mask_png(m) for m in masks], dtype=object)
        return columns, data.ids

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import Field, create_model

        return create_model(
            "Prediction",
            mask=(str, Field(description="The class of each pixel: a PNG of class indices (0 = the first class), "
                                         "base64-encoded, the image's own size.")),
            shares=(dict[str, float], Field(description="The share of the image's pixels in each class.")),
            summary=(str, Field(description="What the image holds, in words.")))

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        shares = {k[len("share_"):]: float(v) for k, v in row.items() if k.startswith("share_")}
        shown = [f"{name} {share:.0%}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1]) if share > 0]
        return {"mask": str(row["mask"]), "shares": shares, "summary": ", ".join(shown[:4])}

    def to_responses(self, frame: pd.DataFrame, classes: list[str] | None) -> list[dict[str, Any]]:
        rows = frame.drop(columns=[c for c in ("input",) if c in frame.columns]).to_dict("records")
        return [self.response(row, classes) for row in rows]

    # --- the report --------------------------------------------------------------------------
    def showcase(self, predictor: Any, data: Any, folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
        """IoU and Dice per class on the test split, and the first test images with their predicted and true
        masks (segmentation.png)."""
        if data is None or not len(data.x):
            return [], []
        from neuronet.plots import plot_segmentation

        _, outputs, targets = predictor.score(data)
        conf = _confusion(outputs, targets)
        names = predictor.meta.get("class_names") or []
        iou, dice = iou_per_class(conf).tolist(), dice_per_class(conf).tolist()
        rows = [{"class": name, "iou": "-" if np.isnan(i) else f"{i:.3f}", "dice": "-" if np.isnan(d) else f"{d:.3f}"}
                for name, i, d in zip(names, iou, dice)]
        shown = slice(0, 6)
        return rows, [plot_segmentation(data.x[shown].float().numpy(), outputs[1][shown].numpy(), targets[shown].numpy(),
                                        names, folder / "segmentation.png")]
