"""Why a detector found a box: attributions of the image's pixels to that box's score.

A CenterNet-style detector scores a box by one heatmap logit: its class's channel at the cell of
its centre. That logit, as a function of the image, is what integrated gradients (or saliency)
explains here, for the best box of each chosen image; the PNG shows the image with the box, and
beside it where the evidence for the box lies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.explain.subject import captum, evaluating

__all__ = ["BoxScore", "box_attributions"]

STEPS = 32  # integrated gradients: points of the path integral


class BoxScore(nn.Module):
    """A detector seen as a model with one output: the heatmap logit of class `cls` at cell (`row`, `column`).

    Example:
        >>> from neuronet.models import CenterNet
        >>> model = CenterNet((3, 32, 32), 2, channels=(4, 4, 4, 4), width=4, seed=0).eval()
        >>> BoxScore(model, 1, 3, 5)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 1])
    """

    def __init__(self, detector: nn.Module, cls: int, row: int, column: int) -> None:
        super().__init__()
        self.detector, self.cls, self.row, self.column = detector, cls, row, column

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.detector(x).heatmap[:, self.cls, self.row, self.column].unsqueeze(1)  # (B, 1)


def box_attributions(predictor: Any, data: Any, examples: Sequence[int] = (0, 1, 2, 3),
                     method: str = "integrated_gradients", path: Path | None = None) -> dict[str, Any]:
    """Attributions of each chosen prepared image (`data`, a Dataset of a detection run) to its best box's score.

    Args:
        predictor: A detection run's Predictor.
        data: Prepared images (and their boxes).
        examples: The images to explain.
        method: "integrated_gradients" (baseline: zeros, the training mean) or "saliency".
        path: Where to write the PNG (none when None).

    Returns:
        {"method", "examples", "boxes": the box explained per image (class name, score, x0, y0, x1, y1) or None
        when the image has none, "attributions": (N, C, H, W), "path"}.

    Raises:
        ConfigError: another method (LRP has no rule for the detector's upsampling and its several outputs).
    """
    if method not in ("integrated_gradients", "saliency"):
        raise ConfigError(f"A detected box is explained by integrated_gradients or saliency, not {method!r} (LRP has no "
                          "rule for the detector's feature pyramid).")
    from neuronet.nn.centernet import decode_detections

    attr = captum(f"Attribution ({method})")
    model, names = predictor.model, predictor.meta.get("class_names") or []
    chosen = list(examples)
    x = data.x[chosen].to(predictor.device)
    with evaluating(model), torch.no_grad():
        out = model(x)
        found = decode_detections(out)
    stride = float(out.stride[0])
    values, boxes = [], []
    for i in range(len(chosen)):
        best = found[i, 0]
        if best[0] < 0:  # nothing found in this image
            values.append(torch.zeros_like(x[i]))
            boxes.append(None)
            continue
        cls, _, x0, y0, x1, y1 = best.tolist()
        row = min(int((y0 + y1) / 2 / stride), out.heatmap.shape[2] - 1)
        column = min(int((x0 + x1) / 2 / stride), out.heatmap.shape[3] - 1)
        scorer = BoxScore(model, int(cls), row, column)
        image = x[i:i + 1].detach().clone().requires_grad_(True)
        with evaluating(model), torch.enable_grad():
            if method == "saliency":
                value = attr.Saliency(scorer).attribute(image, target=0)
            else:
                value = attr.IntegratedGradients(scorer).attribute(image, baselines=torch.zeros_like(image), target=0,
                                                                   n_steps=STEPS, internal_batch_size=STEPS)
        values.append(value[0].detach())
        boxes.append((names[int(cls)] if int(cls) < len(names) else str(int(cls)), round(float(best[1]), 4),
                      x0, y0, x1, y1))
    result = {"method": method, "examples": chosen, "boxes": boxes,
              "attributions": torch.stack(values).cpu().numpy(), "path": None}
    if path is not None:
        result["path"] = _plot(data.x[chosen], result, Path(path))
    return result


def _plot(images: torch.Tensor, result: dict[str, Any], path: Path) -> Path:
    """One row per image: the image with its explained box, and the attribution (red: for the box, blue: against)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from neuronet.plots import save_figure

    n = len(images)
    fig = Figure(figsize=(6, 3 * n))
    axes = fig.subplots(n, 2, squeeze=False)
    for i, (image, box, value) in enumerate(zip(images, result["boxes"], result["attributions"])):
        picture = image.float().permute(1, 2, 0).numpy()
        picture = (picture - picture.min()) / max(float(np.ptp(picture)), 1e-6)
        heat = value.sum(axis=0)
        limit = max(float(np.abs(heat).max()), 1e-12)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].imshow(picture.squeeze() if picture.shape[-1] == 1 else picture, cmap="gray")
        axes[i][1].imshow(heat, cmap="bwr", vmin=-limit, vmax=limit)
        if box is None:
            axes[i][0].set_title(f"image {result['examples'][i]}: no box found", fontsize=9)
            continue
        name, score, x0, y0, x1, y1 = box
        for ax in axes[i]:
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="lime", linewidth=1.5))
        axes[i][0].set_title(f"image {result['examples'][i]}: {name} {score:.2f}", fontsize=9)
        axes[i][1].set_title(f"{result['method']}: evidence for the box", fontsize=9)
    return save_figure(fig, path)
