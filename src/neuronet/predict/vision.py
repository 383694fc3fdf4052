"""Boxes and masks predicted for images, in each image's own pixels, and drawn on them (Pillow only).

A detection or segmentation model reads every image resized to its training size; what it finds
is mapped back to the image as given (`Dataset.sizes`), so that a box or a mask lies on the
user's own picture. Drawing uses Pillow rather than matplotlib: a process that only predicts
stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["PALETTE", "boxes_in_images", "draw_boxes", "draw_predictions", "overlay_mask"]

# Distinct colours for classes (Tableau 10, then repeated), as RGB.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


@torch.no_grad()
def boxes_in_images(predictor: Any, data: Any, threshold: float) -> list[torch.Tensor]:
    """Each prepared image's boxes (n, 6) of (class, score, x0, y0, x1, y1) scoring at least `threshold`, in the
    pixels of the image as given (`data.sizes`; the prepared size where there are none)."""
    from neuronet.nn.centernet import decode_detections

    model = predictor.model.eval()
    found = torch.cat([decode_detections(model(chunk.to(predictor.device))).cpu()
                       for chunk in predictor.batches(data.x)])
    height, width = data.x.shape[-2:]
    sizes = data.sizes or [(width, height)] * len(found)
    kept = []
    for rows, (w0, h0) in zip(found, sizes):
        rows = rows[(rows[:, 0] >= 0) & (rows[:, 1] >= threshold)].clone()
        rows[:, 2::2] *= w0 / width
        rows[:, 3::2] *= h0 / height
        kept.append(rows)
    return kept


def draw_boxes(image: Any, boxes: torch.Tensor, names: list[str], truth: torch.Tensor | None = None) -> Any:
    """A copy of the Pillow `image` (RGB) with `boxes` (n, 6) drawn in their class's colour and labelled with the
    class and score; `truth` (m, 5) boxes, if given, in thin white lines beneath."""
    from PIL import ImageDraw

    out = image.convert("RGB")
    pen = ImageDraw.Draw(out)
    line = max(1, round(max(out.size) / 160))
    for cls, x0, y0, x1, y1 in [] if truth is None else truth[truth[:, 0] >= 0].tolist():
        pen.rectangle([x0, y0, x1 - 1, y1 - 1], outline=(255, 255, 255), width=1)
    for cls, score, x0, y0, x1, y1 in boxes.tolist():
        colour = PALETTE[int(cls) % len(PALETTE)]
        pen.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=colour, width=line)
        label = f"{names[int(cls)] if int(cls) < len(names) else int(cls)} {score:.2f}"
        left, top, right, bottom = pen.textbbox((x0, y0), label)
        above = max(0, y0 - (bottom - top) - 2)
        pen.rectangle([x0, above, x0 + right - left + 3, above + bottom - top + 2], fill=colour)
        pen.text((x0 + 2, above), label, fill=(255, 255, 255))
    return out


def overlay_mask(image: Any, mask: np.ndarray, alpha: float = 0.5) -> Any:
    """A copy of the Pillow `image` (RGB) with the class-index `mask` (H, W) painted over it (class 0, the
    background, left clear)."""
    from PIL import Image

    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    colours = np.array([(0, 0, 0)] + PALETTE * (1 + int(mask.max()) // len(PALETTE)), dtype=np.float32)
    painted = colours[mask]
    shown = np.where(mask[..., None] > 0, (1 - alpha) * rgb + alpha * painted, rgb)
    return Image.fromarray(shown.round().astype(np.uint8))


def _picture(x: torch.Tensor) -> Any:
    """A prepared image (C, H, W), whatever its scaling, as a Pillow RGB image stretched to 0-255."""
    from PIL import Image

    pixels = x.float()
    low, high = pixels.amin(dim=(1, 2), keepdim=True), pixels.amax(dim=(1, 2), keepdim=True)
    pixels = ((pixels - low) / (high - low).clamp(min=1e-6) * 255).round().byte()
    array = pixels.permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).convert("RGB")


def draw_predictions(predictor: Any, inputs: Any, folder: Path) -> list[Path]:
    """Each image of `inputs` with what the model found drawn on it (boxes, or the mask over it), written to `folder`
    as NAME.png (the image's own name where it came from a file, else image_0000.png...), at its own size; a
    segmenter's masks also as NAME_mask.png (class indices, a palette PNG: what a masks folder holds)."""
    from neuronet.atomic import atomic_dir
    from neuronet.datasets.images import open_image
    from neuronet.datasets.masks import write_mask

    data = predictor.prepare(inputs)
    names = predictor.meta.get("class_names") or []
    boxes = "detect" in predictor.task.offers  # a detector, else a segmenter
    if boxes:
        found = boxes_in_images(predictor, data, predictor._threshold(None))
    else:
        found = predictor.segment_prepared(data)
    stems = [Path(i).stem for i in data.ids] if data.ids else [f"image_{i:04d}" for i in range(len(data.x))]
    stems = [s if stems.count(s) == 1 else f"{s}_{i}" for i, s in enumerate(stems)]  # two a.png from two folders
    written = []
    with atomic_dir(folder, replace=True) as staging:
        for i, (stem, what) in enumerate(zip(stems, found)):
            picture = open_image(data.ids[i]) if data.ids else _picture(data.x[i])
            if boxes:
                draw_boxes(picture, what, names).save(Path(staging) / f"{stem}.png")
            else:  # the mask itself (class indices, a palette PNG) and the image with the mask painted over it
                write_mask(Path(staging) / f"{stem}_mask.png", what)
                overlay_mask(picture.convert("RGB"), what.astype(np.int64)).save(Path(staging) / f"{stem}.png")
                written.append(Path(folder) / f"{stem}_mask.png")
            written.append(Path(folder) / f"{stem}.png")
    return written
