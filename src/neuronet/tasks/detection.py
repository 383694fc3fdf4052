"""Object detection: labelled boxes around every object in an image, scored by COCO mean average precision.

Targets are (B, M, 5) rows of (class, x0, y0, x1, y1) in input pixels, padded with class -1
(`neuronet.datasets.vision`); outputs a `DetectionOutput` (`neuronet.nn.centernet`). For
scoring a split each image keeps its loss and its decoded boxes (B, 100, 6) of (class, score,
x0, y0, x1, y1), not the heatmaps (`compact`). mAP is pycocotools' COCOeval, the reference
implementation: mAP@[.5:.95] (`map`), mAP@0.5 (`map50`) and AP@0.5 per class.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from neuronet.errors import ConfigError
from neuronet.tasks.base import TASKS, Task
from neuronet.tasks.metrics import METRICS, Metric

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pydantic import BaseModel

__all__ = ["Detection", "coco_map", "THRESHOLD"]
THRESHOLD = 0.3  # the score from which `predict` and the server report a box (metrics read every box)


_LAST: list[tuple[torch.Tensor, torch.Tensor, dict[str, Any]]] = []  # the last evaluation: its metrics share it


def coco_map(found: torch.Tensor, targets: torch.Tensor, classes: int | None = None) -> dict[str, Any]:
    """`_coco_map`, evaluated once for the same tensors: mAP and mAP@0.5 of a split (two metrics) and its AP per class
    (the report) read one pycocotools evaluation, the slow part of scoring a detector."""
    if _LAST and _LAST[0][0] is found and _LAST[0][1] is targets:
        result = _LAST[0][2]
    else:
        result = _coco_map(found, targets)
        _LAST[:] = [(found, targets, result)]
    per_class = result["per_class50"]
    if classes is not None:  # classes of the data set without any box or detection here: NaN
        per_class = (per_class + [float("nan")] * classes)[:classes]
    return {**result, "per_class50": list(per_class)}


def _coco_map(found: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
    """COCO mean average precision of detections (N, k, 6) against boxes (N, M, 5), through pycocotools.

    Returns:
        {"map": mAP@[.5:.95], "map50": mAP@0.5, "per_class50": AP@0.5 of each class that has boxes (else NaN)}.
        A split without any box has NaN throughout.

    Example:
        >>> t = torch.tensor([[[0.0, 10.0, 10.0, 50.0, 50.0]]])
        >>> d = torch.tensor([[[0.0, 0.9, 10.0, 10.0, 50.0, 50.0]]])
        >>> {k: v for k, v in coco_map(d, t).items() if k != "per_class50"}
        {'map': 1.0, 'map50': 1.0}
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise ConfigError("Detection metrics are measured with pycocotools: pip install 'neuronet[vision]'.") from None
    classes = int(max(targets[..., 0].max(), found[..., 0].max(), 0)) + 1  # coco_map pads to the data set's
    images, truth, guesses = [], [], []
    for i, (rows, dets) in enumerate(zip(targets.tolist(), found.tolist())):
        images.append({"id": i, "width": 1, "height": 1})
        for cls, x0, y0, x1, y1 in rows:
            if cls >= 0:
                truth.append({"id": len(truth) + 1, "image_id": i, "category_id": int(cls) + 1, "iscrowd": 0,
                              "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0)})
        guesses += [{"image_id": i, "category_id": int(cls) + 1, "score": score, "bbox": [x0, y0, x1 - x0, y1 - y0]}
                    for cls, score, x0, y0, x1, y1 in dets if cls >= 0]
    nan = {"map": float("nan"), "map50": float("nan"), "per_class50": [float("nan")] * classes}
    if not truth:
        return nan
    gt = COCO()
    gt.dataset = {"images": images, "annotations": truth, "categories": [{"id": c + 1} for c in range(classes)]}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt.createIndex()
        if not guesses:
            return {"map": 0.0, "map50": 0.0, "per_class50": [0.0 if _has(truth, c) else float("nan")
                                                              for c in range(classes)]}
        evaluation = COCOeval(gt, gt.loadRes(guesses), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"][0, :, :, 0, -1]  # IoU 0.5, recall points, classes, all areas, 100 dets
    per_class = [float(np.mean(p[p > -1])) if (p > -1).any() else float("nan") for p in precision.T]
    return {"map": round(float(evaluation.stats[0]), 6), "map50": round(float(evaluation.stats[1]), 6),
            "per_class50": [round(v, 6) for v in per_class]}


def _has(truth: list[dict[str, Any]], cls: int) -> bool:
    return any(t["category_id"] == cls + 1 for t in truth)


def _metric(which: str):  # noqa: ANN202 - a metric function
    def metric(outputs: Any, targets: torch.Tensor, task: Task) -> float:
        return coco_map(outputs[1], targets)[which]

    return metric


for _name, _help in (("map", "COCO mean average precision over IoU 0.5:0.95 (pycocotools)."),
                     ("map50", "COCO mean average precision at IoU 0.5 (pycocotools).")):
    METRICS.add(_name, Metric(_metric(_name), ("detection",), True, _help), _help)


@TASKS.register("detection", "Object detection: labelled boxes around the objects of each image, scored by COCO mAP.")
class Detection(Task):
    """Outputs are a `DetectionOutput`; targets (B, M, 5) boxes padded with class -1; predictions are boxes.

    Example:
        >>> from neuronet.nn.centernet import DetectionOutput
        >>> heat = torch.full((1, 1, 4, 4), -9.0); heat[0, 0, 1, 1] = 9.0
        >>> out = DetectionOutput(heat, torch.zeros(1, 2, 4, 4), torch.full((1, 2, 4, 4), 0.5), torch.tensor([4.0]))
        >>> Detection().compact(out, torch.zeros(1, 1, 5))[1][0, 0].tolist()  # class 0 around (6, 6), 4 px wide
        [0.0, 0.9998766183853149, 4.0, 4.0, 8.0, 8.0]
    """

    name: ClassVar[str] = "detection"
    default_loss: ClassVar[str] = "centernet"
    losses: ClassVar[tuple[str, ...]] = ("centernet",)
    metrics: ClassVar[tuple[str, ...]] = ("map50",)
    report_metrics: ClassVar[tuple[str, ...]] = ("map", "map50")
    offers: ClassVar[tuple[str, ...]] = ("detect",)
    widget: ClassVar[dict[str, str]] = {"value": "summary", "rectangles": "boxes"}
    plot_files: ClassVar[tuple[str, ...]] = ("detections.png",)
    explains: ClassVar[tuple[str, ...]] = ("boxes",)
    output: ClassVar[str | None] = "boxes"
    train_metrics: ClassVar[bool] = False  # decoding every training batch and COCO-evaluating them: ~20% of an epoch

    def compact(self, outputs: Any, targets: torch.Tensor) -> Any:
        """Each image's loss and its decoded boxes (B, 100, 6): class, score, x0, y0, x1, y1 (class -1: none)."""
        if outputs[0].dim() == 1:  # already kept
            return outputs
        from neuronet.nn.centernet import CenterNetLoss, decode_detections

        return CenterNetLoss().per_image(outputs, targets).detach(), decode_detections(outputs)

    def check_export(self) -> None:
        raise ConfigError("A detection model is not exported to ONNX here (its decoding, peaks and non-maximum "
                          "suppression, runs in PyTorch); serve it with `neuronet serve RUN` (the torch backend).")

    def check_stored(self, pipeline: Any, num_outputs: int, source: Any) -> None:
        """Nothing beyond the classes (the model's outputs are its heatmaps, one per class)."""

    # --- predictions ---------------------------------------------------------------------
    def predict_with(self, predictor: Any, inputs: Any) -> list[list[dict[str, Any]]]:
        """The boxes found in each image (score at least `THRESHOLD`), in the image's own pixels: a list per image
        of {"class", "score", "x0", "y0", "x1", "y1"}."""
        return predictor.detect(inputs)

    def frame_with(self, predictor: Any, inputs: Any) -> tuple[dict[str, Any], list[str] | None]:
        """One row per box: the image's index, its class, score and corners in the image's own pixels."""
        found, ids = predictor.detect_frame(inputs)
        return found, ids

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import BaseModel, Field, create_model

        class Box(BaseModel):
            label: str = Field(description="The object's class.")
            score: float = Field(description="How sure the model is, 0-1.")
            box: list[float] = Field(description="[x0, y0, x1, y1] in the image's pixels, from its top-left corner.")

        return create_model("Prediction", boxes=(list[Box], Field(description="The objects found, best first.")),
                            summary=(str, Field(description="What was found, in words.")))

    def to_responses(self, frame: pd.DataFrame, classes: list[str] | None) -> list[dict[str, Any]]:
        """One response per image, its boxes grouped from the table's rows (a row with objects 0: none found)."""
        responses: dict[int, dict[str, Any]] = {}
        for row in frame.to_dict("records"):
            boxes = responses.setdefault(int(row["image"]), {"boxes": []})["boxes"]
            if int(row["objects"]):
                boxes.append({"label": str(row["class"]), "score": round(float(row["score"]), 4),
                              "box": [round(float(row[k]), 2) for k in ("x0", "y0", "x1", "y1")]})
        for response in responses.values():
            names = [b["label"] for b in response["boxes"]]
            response["summary"] = ", ".join(f"{names.count(n)} {n}" for n in dict.fromkeys(names)) or "nothing found"
        return [responses[i] for i in sorted(responses)]

    # --- the report --------------------------------------------------------------------------
    def showcase(self, predictor: Any, data: Any, folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
        """AP@0.5 per class on the test split, and the first test images with their boxes (detections.png)."""
        if data is None or not len(data.x):
            return [], []
        from neuronet.plots import plot_detections

        _, outputs, targets = predictor.score(data)
        names = predictor.meta.get("class_names") or []
        per_class = coco_map(outputs[1], targets, len(names))["per_class50"]
        rows = [{"class": name, "ap50": "-" if np.isnan(ap) else f"{ap:.3f}"} for name, ap in zip(names, per_class)]
        shown = slice(0, 8)
        return rows, [plot_detections(data.x[shown].float().numpy(), outputs[1][shown].numpy(), targets[shown].numpy(),
                                      names, folder / "detections.png", THRESHOLD)]
