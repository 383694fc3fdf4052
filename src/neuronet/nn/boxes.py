"""Bounding boxes for object detection: areas, IoU, format conversions, non-maximum suppression (NMS), and
the Gaussian heatmaps of a CenterNet-style detector.

Boxes are float tensors (..., 4) of (x0, y0, x1, y1) in pixels, continuous coordinates as in COCO and
torchvision: a box covering pixel columns 2..5 inclusive has x0 = 2, x1 = 6, width x1 - x0 = 4. A box with
x1 <= x0 or y1 <= y0 is degenerate: its area is 0 and its IoU with any box is 0. Every function keeps the
dtype and device of its input and accepts 0 boxes.
"""

from __future__ import annotations

import math
import operator

import torch
from torch.nn import functional as F

__all__ = [
    "batched_nms", "box_area", "box_iou", "clip_boxes", "cxcywh_to_xyxy", "draw_gaussian", "flip_boxes_horizontal",
    "gaussian_radius", "heatmap_peaks", "nms", "scale_boxes", "valid_boxes", "xywh_to_xyxy", "xyxy_to_cxcywh",
    "xyxy_to_xywh",
]


def _check(boxes: torch.Tensor, name: str = "boxes", flat: bool = False) -> None:
    """Raise unless `boxes` is a tensor (..., 4), or (N, 4) when `flat`."""
    if not isinstance(boxes, torch.Tensor):
        raise ValueError(f"{name} must be a tensor of boxes (x0, y0, x1, y1); got a {type(boxes).__name__}.")
    if boxes.dim() == 0 or boxes.shape[-1] != 4 or (flat and boxes.dim() != 2):
        raise ValueError(f"{name} must be a tensor {'(N, 4)' if flat else '(..., 4)'} of boxes (x0, y0, x1, y1); "
                         f"got shape {tuple(boxes.shape)}.")


def _check_per_box(values: torch.Tensor, name: str, boxes: torch.Tensor) -> None:
    """Raise unless `values` is a tensor (N,), one value per box."""
    if not isinstance(values, torch.Tensor) or values.shape != boxes.shape[:1]:
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"{name} must be a tensor (N,) with one value per box (N = {len(boxes)}); got {shape}.")


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Area (x1 - x0) * (y1 - y0) of each box, 0 for a degenerate box.

    Args:
        boxes: (..., 4) boxes (x0, y0, x1, y1).

    Returns:
        (...,) areas, in the boxes' dtype.

    Raises:
        ValueError: `boxes` is not (..., 4).

    Example:
        >>> box_area(torch.tensor([[2.0, 0.0, 6.0, 3.0], [5.0, 5.0, 4.0, 9.0]]))  # 4 x 3; inverted x
        tensor([12.,  0.])
    """
    _check(boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every box of `a` with every box of `b` (differentiable; 0, never NaN, where
    the union is empty).

    Args:
        a: (N, 4) boxes, or (..., N, 4) for batches of boxes.
        b: (M, 4) boxes, or (..., M, 4) with batch dimensions that broadcast with `a`'s.

    Returns:
        (N, M) IoU in [0, 1] ((..., N, M) for batches); integer boxes give float32.

    Raises:
        ValueError: `a` or `b` is not (..., 4).

    Example:
        >>> a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> box_iou(a, torch.tensor([[1.0, 0.0, 3.0, 2.0], [2.0, 0.0, 4.0, 2.0]]))  # overlap 2 / union 6; touching
        tensor([[0.3333, 0.0000]])
    """
    _check(a, "a")
    _check(b, "b")
    dtype = torch.promote_types(a.dtype, b.dtype)
    dtype = dtype if dtype.is_floating_point else torch.get_default_dtype()
    a, b = a.to(dtype).unsqueeze(-2), b.to(dtype).unsqueeze(-3)  # (..., N, 1, 4), (..., 1, M, 4)
    width = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    height = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = width * height  # (..., N, M)
    union = box_area(a) + box_area(b) - inter  # >= inter, so IoU <= 1 even in floating point
    iou = inter / union.clamp(min=torch.finfo(dtype).tiny)  # no 0 / 0, whose gradient would be NaN too
    return torch.where(union > 0, iou, torch.zeros((), dtype=dtype, device=iou.device))


def clip_boxes(boxes: torch.Tensor, height: float, width: float) -> torch.Tensor:
    """Boxes clipped to an image of `height` x `width` pixels: x into [0, width], y into [0, height].

    Args:
        boxes: (..., 4) boxes (x0, y0, x1, y1).
        height: Image height in pixels.
        width: Image width in pixels.

    Returns:
        (..., 4) clipped boxes (a new tensor); a box wholly outside the image becomes degenerate.

    Raises:
        ValueError: `boxes` is not (..., 4).

    Example:
        >>> clip_boxes(torch.tensor([[-3.0, 2.0, 12.0, 30.0]]), height=20, width=10)
        tensor([[ 0.,  2., 10., 20.]])
    """
    _check(boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([x0.clamp(0, width), y0.clamp(0, height), x1.clamp(0, width), y1.clamp(0, height)], dim=-1)


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """COCO's [x, y, width, height] (top-left corner and size) to (x0, y0, x1, y1).

    Example:
        >>> xywh_to_xyxy(torch.tensor([[2.0, 1.0, 4.0, 3.0]]))
        tensor([[2., 1., 6., 4.]])
    """
    _check(boxes)
    x, y, w, h = boxes.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """(x0, y0, x1, y1) to COCO's [x, y, width, height]; the inverse of `xywh_to_xyxy`.

    Example:
        >>> xyxy_to_xywh(torch.tensor([[2.0, 1.0, 6.0, 4.0]]))
        tensor([[2., 1., 4., 3.]])
    """
    _check(boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([x0, y0, x1 - x0, y1 - y0], dim=-1)


def cxcywh_to_xyxy(boxes: torch.Tensor, *, width: float = 1.0, height: float = 1.0) -> torch.Tensor:
    """YOLO's (centre x, centre y, width, height) to (x0, y0, x1, y1), scaled to pixels by the image size.

    Args:
        boxes: (..., 4) centre boxes, normalised to [0, 1] by YOLO (or already in pixels with the default size).
        width: Image width in pixels: x coordinates are multiplied by it.
        height: Image height in pixels: y coordinates are multiplied by it.

    Returns:
        (..., 4) boxes (x0, y0, x1, y1).

    Example:
        >>> cxcywh_to_xyxy(torch.tensor([[0.5, 0.5, 0.25, 0.5]]), width=100, height=40)
        tensor([[37.5000, 10.0000, 62.5000, 30.0000]])
    """
    _check(boxes)
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], -1)


def xyxy_to_cxcywh(boxes: torch.Tensor, *, width: float = 1.0, height: float = 1.0) -> torch.Tensor:
    """(x0, y0, x1, y1) to (centre x, centre y, width, height), normalised by the image size for YOLO; the
    inverse of `cxcywh_to_xyxy`.

    Example:
        >>> xyxy_to_cxcywh(torch.tensor([[37.5, 10.0, 62.5, 30.0]]), width=100, height=40)
        tensor([[0.5000, 0.5000, 0.2500, 0.5000]])
    """
    _check(boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height], -1)


def flip_boxes_horizontal(boxes: torch.Tensor, width: float) -> torch.Tensor:
    """The boxes of an image `width` pixels wide mirrored left to right (as the image is by `flip(-1)`).

    Example:
        >>> flip_boxes_horizontal(torch.tensor([[2.0, 1.0, 6.0, 4.0]]), width=10)  # columns 2..5 -> 4..7
        tensor([[4., 1., 8., 4.]])
    """
    _check(boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([width - x1, y0, width - x0, y1], dim=-1)


def scale_boxes(boxes: torch.Tensor, sx: float, sy: float | None = None) -> torch.Tensor:
    """Boxes of an image resized by `sx` horizontally and `sy` vertically (`sy` defaults to `sx`).

    Example:
        >>> scale_boxes(torch.tensor([[2.0, 1.0, 6.0, 4.0]]), 0.5, 2.0)
        tensor([[1., 2., 3., 8.]])
    """
    _check(boxes)
    sy = sx if sy is None else sy
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([x0 * sx, y0 * sy, x1 * sx, y1 * sy], dim=-1)


def valid_boxes(boxes: torch.Tensor, min_size: float = 1.0) -> torch.Tensor:
    """Which boxes are finite and at least `min_size` pixels wide and high (to drop degenerate targets).

    Example:
        >>> valid_boxes(torch.tensor([[0.0, 0.0, 1.0, 5.0], [0.0, 0.0, 0.5, 5.0], [3.0, 0.0, 2.0, 5.0]]))
        tensor([ True, False, False])
    """
    _check(boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return boxes.isfinite().all(-1) & (x1 - x0 >= min_size) & (y1 - y0 >= min_size)


_NMS_BLOCK = 512  # rows of IoU computed at once by nms


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression, as `torchvision.ops.nms`: take boxes by decreasing score and drop each
    box whose IoU with an already kept box is > `iou_threshold`. Equal scores go lower index first.

    The IoUs are computed 512 rows at a time, for the rows not yet suppressed: memory stays O(N), time O(N^2);
    run it on the few thousand best boxes, not on every anchor.

    Args:
        boxes: (N, 4) boxes (x0, y0, x1, y1).
        scores: (N,) scores.
        iou_threshold: Overlap above which the lower-scored box is suppressed.

    Returns:
        (K,) int64 indices of the kept boxes, by decreasing score, on the boxes' device.

    Raises:
        ValueError: `boxes` is not (N, 4) or `scores` not (N,).

    Example:
        >>> boxes = torch.tensor([[0.0, 0, 2, 2], [1, 0, 3, 2], [0, 0, 2, 2.1]])  # IoU 1/3 and 20/21 with box 0
        >>> nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
        tensor([0, 1])
    """
    _check(boxes, flat=True)
    _check_per_box(scores, "scores", boxes)
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,)
    boxes = boxes[order]  # in score order from here on
    kept = torch.ones(len(order), dtype=torch.bool)  # on the CPU: read once per box
    for start in range(0, len(order), _NMS_BLOCK):
        rows = start + torch.nonzero(kept[start:start + _NMS_BLOCK]).flatten()  # (R,) still candidates
        overlaps = (box_iou(boxes[rows.to(boxes.device)], boxes[start:]) > iou_threshold).cpu()  # (R, N - start)
        for row, i in enumerate(rows.tolist()):
            if kept[i]:
                kept[i + 1:] &= ~overlaps[row, i + 1 - start:]
    return order[kept.to(order.device)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """Non-maximum suppression within each class: boxes of different classes never suppress each other.

    Args:
        boxes: (N, 4) boxes (x0, y0, x1, y1).
        scores: (N,) scores.
        classes: (N,) integer class of each box.
        iou_threshold: Overlap above which the lower-scored box of the same class is suppressed.

    Returns:
        (K,) int64 indices of the kept boxes, by decreasing score (equal scores lower index first).

    Raises:
        ValueError: `boxes` is not (N, 4), or `scores` or `classes` not (N,).

    Example:
        >>> boxes = torch.tensor([[0.0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2]])
        >>> batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([1, 2, 1]), 0.5)  # box 2: class 1 again
        tensor([0, 1])
    """
    _check(boxes, flat=True)
    _check_per_box(scores, "scores", boxes)
    _check_per_box(classes, "classes", boxes)
    kept = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    for label in classes.unique():  # a loop, not the offset trick: offsets cost float precision on large boxes
        members = torch.nonzero(classes == label).flatten()
        kept[members[nms(boxes[members], scores[members], iou_threshold)]] = True
    kept = torch.nonzero(kept).flatten()  # ascending, so that the stable sort breaks ties by index
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]


def gaussian_radius(height: float | torch.Tensor, width: float | torch.Tensor,
                    min_overlap: float = 0.7) -> float | torch.Tensor:
    """CenterNet's Gaussian radius for a box of `height` x `width`: the largest corner shift r that keeps the
    IoU of a shifted box with the true one >= `min_overlap` in CornerNet's three cases, the corrected formula.

    Each case is a quadratic in r, solved for its smallest positive root: one corner in and one out,
    (h - r)(w - r) / (2hw - (h - r)(w - r)) = o; both in, (h - 2r)(w - 2r) / hw = o; both out,
    hw / ((h + 2r)(w + 2r)) = o. (CenterNet's code, from CornerNet's first release, divides by 2 instead of 2a
    and takes the larger root of the first two: CornerNet issue #110.)

    Args:
        height: Box height in pixels (heatmap cells for CenterNet), a number or a tensor of them.
        width: Box width, likewise.
        min_overlap: The IoU to keep, in (0, 1).

    Returns:
        The radius, a float (a tensor for tensor sizes); round it down for `draw_gaussian`.

    Raises:
        ValueError: `min_overlap` is not in (0, 1).

    Example:
        >>> round(gaussian_radius(10, 10), 4)  # both corners in: (10 - 2r)^2 / 100 = 0.7
        0.8167
    """
    if not 0 < min_overlap < 1:
        raise ValueError(f"The 'min_overlap' parameter of gaussian_radius must be a float in (0, 1). "
                         f"Got {min_overlap!r} instead.")
    o, h, w = min_overlap, height, width
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    r1 = (b1 - (b1**2 - 4 * c1) ** 0.5) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - o) * w * h
    r2 = (b2 - (b2**2 - 4 * a2 * c2) ** 0.5) / (2 * a2)
    a3, b3, c3 = 4 * o, 2 * o * (h + w), (o - 1) * w * h
    r3 = (-b3 + (b3**2 - 4 * a3 * c3) ** 0.5) / (2 * a3)
    if isinstance(r1, torch.Tensor):  # a size was a tensor
        return torch.minimum(torch.minimum(r1, r2), r3)
    return min(r1, r2, r3)


def draw_gaussian(heatmap: torch.Tensor, center: tuple[int, int], radius: int) -> torch.Tensor:
    """Draw a 2-D Gaussian of peak 1 at `center` into `heatmap`, in place, keeping the larger value where
    Gaussians meet (CenterNet's training target).

    The Gaussian covers the (2r + 1) x (2r + 1) square around the centre with sigma = (2r + 1) / 6: at distance r
    along an axis it is exp(-18 r^2 / (2r + 1)^2), exp(-2) for r = 1 and near exp(-4.5) ~ 0.011 for large r (the
    square's edge is 3 sigma out). The part outside the heatmap is left out.

    Args:
        heatmap: (H, W) float heatmap of one class.
        center: (cx, cy), the centre's column and row.
        radius: Whole number of cells >= 0 (`int(gaussian_radius(...))`).

    Returns:
        `heatmap` itself.

    Raises:
        ValueError: `heatmap` is not 2-D or `radius` is not a whole number >= 0.

    Example:
        >>> heatmap = draw_gaussian(torch.zeros(3, 4), (1, 1), radius=1)  # sigma 1/2: exp(-2) beside the centre
        >>> heatmap
        tensor([[0.0183, 0.1353, 0.0183, 0.0000],
                [0.1353, 1.0000, 0.1353, 0.0000],
                [0.0183, 0.1353, 0.0183, 0.0000]])
    """
    if heatmap.dim() != 2:
        raise ValueError(f"heatmap must be a tensor (H, W); got shape {tuple(heatmap.shape)}.")
    try:
        cells = operator.index(radius)
    except TypeError:
        cells = -1
    if cells < 0:
        raise ValueError(f"radius must be a whole number of cells >= 0, such as int(gaussian_radius(h, w)); "
                         f"got {radius!r}.")
    radius = cells
    cx, cy = int(center[0]), int(center[1])
    x0, x1 = max(cx - radius, 0), min(cx + radius + 1, heatmap.shape[1])
    y0, y1 = max(cy - radius, 0), min(cy + radius + 1, heatmap.shape[0])
    if x0 >= x1 or y0 >= y1:
        return heatmap
    sigma = (2 * radius + 1) / 6
    dx = torch.arange(x0 - cx, x1 - cx, dtype=heatmap.dtype, device=heatmap.device)  # (w,)
    dy = torch.arange(y0 - cy, y1 - cy, dtype=heatmap.dtype, device=heatmap.device)  # (h,)
    gaussian = torch.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * sigma**2))  # (h, w)
    region = heatmap[y0:y1, x0:x1]
    torch.maximum(region, gaussian, out=region)
    return heatmap


def heatmap_peaks(heatmap: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The `k` highest local maxima of each image's class heatmaps (CenterNet's decoding, NMS by max-pooling).

    A cell is a local maximum when no cell of its 3 x 3 neighbourhood is larger; the top k of those are taken
    over all classes and positions together.

    Args:
        heatmap: (B, C, H, W) float scores (probabilities or logits).
        k: Peaks per image; at most C * H * W are returned.

    Returns:
        (scores, classes, ys, xs), each (B, k): the peak's score and its class, row and column (int64). If an
        image has fewer than k local maxima, the remaining entries have score -inf.

    Raises:
        ValueError: `heatmap` is not 4-D or `k` is negative.

    Example:
        >>> heatmap = torch.zeros(1, 2, 4, 4)
        >>> heatmap[0, 1, 2, 3], heatmap[0, 0, 1, 1], heatmap[0, 0, 1, 2] = 0.9, 0.8, 0.5
        >>> scores, classes, ys, xs = heatmap_peaks(heatmap, 2)  # 0.5 is next to 0.8: not a peak
        >>> scores, classes, ys, xs
        (tensor([[0.9000, 0.8000]]), tensor([[1, 0]]), tensor([[2, 1]]), tensor([[3, 1]]))
    """
    if heatmap.dim() != 4:
        raise ValueError(f"heatmap must be a tensor (B, C, H, W); got shape {tuple(heatmap.shape)}.")
    if k < 0:
        raise ValueError(f"The 'k' parameter of heatmap_peaks must be an int >= 0. Got {k!r} instead.")
    batch, _, height, width = heatmap.shape
    k = min(k, math.prod(heatmap.shape[1:]))
    if heatmap.numel() == 0 or k == 0:
        empty = torch.zeros(batch, k, dtype=torch.int64, device=heatmap.device)
        return heatmap.new_zeros(batch, k), empty, empty.clone(), empty.clone()
    pooled = F.max_pool2d(heatmap, kernel_size=3, stride=1, padding=1)  # (B, C, H, W)
    peaks = heatmap.masked_fill(pooled != heatmap, -math.inf)
    scores, index = peaks.flatten(1).topk(k, dim=1)  # (B, k) each, over C * H * W
    classes, cell = index // (height * width), index % (height * width)
    return scores, classes, cell // width, cell % width
