"""Objects as points (CenterNet, Zhou et al., 2019): the targets, loss and decoding of an anchor-free detector.

A CenterNet-style model predicts, on a grid `stride` times coarser than the image, a heatmap per
class whose peaks are object centres, and at each cell the object's width and height and the
centre's offset inside the cell. Training draws a gaussian at each box centre on the target
heatmap (radius from the box size, as CenterNet does) and reads the size and offset at the
centre's cell only.

Boxes are (x0, y0, x1, y1) in input pixels (`neuronet.nn.boxes`); targets of a batch are
(B, M, 5) rows of (class, x0, y0, x1, y1), padded with class -1. Sizes are regressed as the log
of the box size in grid cells (FCOS and later CenterNet versions regress sizes on a log scale,
so a large box does not dominate the L1 loss).

Example:
    >>> out = DetectionOutput(torch.full((1, 2, 8, 8), -4.0), torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8),
    ...                       torch.tensor([4.0]))
    >>> boxes = torch.tensor([[[1.0, 4.0, 4.0, 12.0, 12.0]]])  # class 1, an 8 x 8 box centred at (8, 8)
    >>> float(CenterNetLoss()(out, boxes)) > 0
    True
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from neuronet.nn.boxes import batched_nms, draw_gaussian, gaussian_radius, heatmap_peaks

__all__ = ["CenterNetLoss", "DetectionOutput", "Targets", "decode_detections", "detections_to_list", "encode_targets",
           "focal_loss"]

MAX_DETECTIONS = 100  # boxes kept per image (COCO's maxDets)


class DetectionOutput(NamedTuple):
    """What a CenterNet-style model returns for a batch of images.

    heatmap: (B, classes, h, w) logits of "an object of this class is centred in this cell".
    size: (B, 2, h, w) log of the box width and height, in cells.
    offset: (B, 2, h, w) where the centre lies inside its cell, x and y in [0, 1).
    stride: (B,) input pixels per cell (the same for every row; a tensor so that outputs join like the others).
    """

    heatmap: torch.Tensor
    size: torch.Tensor
    offset: torch.Tensor
    stride: torch.Tensor


class Targets(NamedTuple):
    """A batch of boxes drawn on the output grid: the gaussian heatmap (B, C, h, w), and at each centre cell
    (mask (B, h, w) True) the log size (B, 2, h, w) and offset (B, 2, h, w)."""

    heatmap: torch.Tensor
    size: torch.Tensor
    offset: torch.Tensor
    mask: torch.Tensor


@torch.no_grad()
def encode_targets(boxes: torch.Tensor, classes: int, grid: tuple[int, int], stride: float) -> Targets:
    """Boxes (B, M, 5) of (class, x0, y0, x1, y1) in pixels, class -1 for padding, drawn on an (h, w) grid.

    Where two centres fall in one cell, the later box's size and offset are kept (rare at stride 4).

    Example:
        >>> t = encode_targets(torch.tensor([[[0.0, 4.0, 4.0, 12.0, 12.0]]]), 1, (4, 4), 4.0)
        >>> t.heatmap[0, 0, 2, 2].item(), t.mask.nonzero().tolist(), t.size[0, :, 2, 2].exp().tolist()
        (1.0, [[0, 2, 2]], [2.0, 2.0])
    """
    h, w = grid
    b = boxes.shape[0]
    heat = torch.zeros(b, classes, h, w)
    size, offset = torch.zeros(b, 2, h, w), torch.zeros(b, 2, h, w)
    mask = torch.zeros(b, h, w, dtype=torch.bool)
    for i, row in enumerate(boxes.detach().float().cpu()):
        for cls, x0, y0, x1, y1 in row[row[:, 0] >= 0].tolist():
            bw, bh = (x1 - x0) / stride, (y1 - y0) / stride
            if bw <= 0 or bh <= 0:
                continue
            cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
            cell_x, cell_y = min(int(cx), w - 1), min(int(cy), h - 1)
            radius = max(0, int(gaussian_radius(bh, bw)))
            draw_gaussian(heat[i, int(cls)], (cell_x, cell_y), radius)
            size[i, :, cell_y, cell_x] = torch.tensor([bw, bh]).log()
            offset[i, :, cell_y, cell_x] = torch.tensor([cx - cell_x, cy - cell_y])
            mask[i, cell_y, cell_x] = True
    device = boxes.device
    return Targets(heat.to(device), size.to(device), offset.to(device), mask.to(device))


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss per image (B,), summed over cells and divided by the image's
    objects (at least 1): peaks (target 1) are positives; elsewhere the loss is damped by (1 - target)^beta
    near a centre.

    Example:
        >>> round(float(focal_loss(torch.tensor([[[[0.0]]]]), torch.tensor([[[[1.0]]]]))[0]), 4)  # -(1/2)^2 log(1/2)
        0.1733
    """
    logits, target = logits.float(), target.float()
    p = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    pos = -(1 - p).pow(alpha) * p.log() * positive
    neg = -(1 - target).pow(beta) * p.pow(alpha) * (1 - p).log() * (1 - positive)
    count = positive.flatten(1).sum(1).clamp(min=1)
    return (pos + neg).flatten(1).sum(1) / count


class CenterNetLoss(nn.Module):
    """Focal loss on the heatmap + `size_weight` * L1 on log sizes + `offset_weight` * L1 on offsets, per image,
    averaged over the batch.

    Also takes the kept form of earlier outputs (each image's loss and its detections, see
    `neuronet.tasks.detection`): their mean, the same number.

    Args:
        size_weight: Weight of the size term (CenterNet: 0.1 on raw sizes; 1 on log sizes here).
        offset_weight: Weight of the offset term.
    """

    def __init__(self, size_weight: float = 1.0, offset_weight: float = 1.0) -> None:
        super().__init__()
        self.size_weight, self.offset_weight = size_weight, offset_weight

    def per_image(self, outputs: DetectionOutput, target: torch.Tensor) -> torch.Tensor:
        """Each image's loss (B,)."""
        heat = outputs[0]
        t = encode_targets(target, heat.shape[1], tuple(heat.shape[2:]), float(outputs[3][0]))
        mask = t.mask.unsqueeze(1).float()  # (B, 1, h, w)
        count = t.mask.flatten(1).sum(1).clamp(min=1)
        size = ((outputs[1].float() - t.size).abs() * mask).flatten(1).sum(1) / (2 * count)
        offset = ((outputs[2].float() - t.offset).abs() * mask).flatten(1).sum(1) / (2 * count)
        return focal_loss(heat, t.heatmap) + self.size_weight * size + self.offset_weight * offset

    def forward(self, outputs: tuple, target: torch.Tensor) -> torch.Tensor:
        if outputs[0].dim() == 1:  # kept: each image's loss already
            return outputs[0].mean()
        return self.per_image(outputs, target).mean()


@torch.no_grad()
def decode_detections(outputs: DetectionOutput, image_size: tuple[int, int] | None = None, k: int = MAX_DETECTIONS,
                      threshold: float = 0.01, iou: float = 0.6) -> torch.Tensor:
    """Boxes (B, k, 6) of (class, score, x0, y0, x1, y1) in input pixels, best first, padded with class -1.

    The `k` highest heatmap peaks (a 3x3 max-pool keeps local maxima, as CenterNet does instead of
    non-maximum suppression), those scoring at least `threshold`, then per-class non-maximum
    suppression at IoU `iou` for boxes that peak twice; clipped to the image (h * stride, w * stride
    unless `image_size` (height, width) says otherwise).
    """
    heat, size, offset, stride = outputs
    b, _, h, w = heat.shape
    s = float(stride[0]) if len(stride) else 1.0
    height, width = image_size or (h * s, w * s)
    scores, classes, ys, xs = heatmap_peaks(heat.float().sigmoid(), min(k, heat[0].numel()))
    found = torch.full((b, k, 6), -1.0, device=heat.device)
    found[:, :, 1:] = 0.0
    rows = torch.arange(b, device=heat.device)[:, None]
    wh = size.float()[rows, :, ys, xs].exp() * s  # (B, k, 2): advanced indexing puts the channel last
    centre = (torch.stack([xs, ys], -1).float() + offset.float()[rows, :, ys, xs]) * s
    boxes = torch.cat([centre - wh / 2, centre + wh / 2], -1)
    boxes[..., 0::2] = boxes[..., 0::2].clamp(0, width)
    boxes[..., 1::2] = boxes[..., 1::2].clamp(0, height)
    for i in range(b):
        keep = scores[i] >= threshold
        kept_boxes, kept_scores, kept_classes = boxes[i][keep], scores[i][keep], classes[i][keep]
        order = batched_nms(kept_boxes, kept_scores, kept_classes, iou)
        n = len(order)
        found[i, :n, 0] = kept_classes[order].float()
        found[i, :n, 1] = kept_scores[order]
        found[i, :n, 2:] = kept_boxes[order]
    return found


def detections_to_list(found: torch.Tensor) -> list[torch.Tensor]:
    """Rows of `decode_detections` (B, k, 6) as one (n_i, 6) tensor per image, padding dropped."""
    return [row[row[:, 0] >= 0] for row in found]

