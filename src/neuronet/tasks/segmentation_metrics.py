"""Segmentation metrics from a confusion matrix: IoU (Jaccard), Dice (F1), mean IoU and pixel accuracy.

`confusion` counts the pixels of a batch; confusion matrices of several batches add up, so a split is
scored by summing them and then calling the metric functions once. Rows are the true classes and columns
the predicted ones (scikit-learn's convention): with TP = conf[k, k], FP = column k minus TP (pixels
predicted k that are not) and FN = row k minus TP (pixels of class k predicted otherwise),

    IoU_k = TP / (TP + FP + FN),   Dice_k = 2 TP / (2 TP + FP + FN) = 2 IoU_k / (1 + IoU_k).

A class absent from both the prediction and the target has 0 / 0: NaN, left out of the means.
"""

from __future__ import annotations

import torch

__all__ = ["confusion", "dice_per_class", "iou_per_class", "mean_dice", "mean_iou", "pixel_accuracy"]


def confusion(pred: torch.Tensor, target: torch.Tensor, classes: int, ignore_index: int | None = 255) -> torch.Tensor:
    """Count pixels by (true class, predicted class).

    Args:
        pred: Predicted class of each pixel, integers in [0, classes), e.g. (N, H, W) from `logits.argmax(1)`.
        target: True class of each pixel, the same shape; `ignore_index` marks pixels left out (borders, unlabelled).
        classes: Number of classes K, background included.
        ignore_index: Target value of the pixels to leave out (255 as in Pascal VOC); None to keep every pixel.

    Returns:
        (K, K) int64: entry [t, p] is the number of pixels of true class t predicted as p.

    Raises:
        ValueError: the shapes differ, or a class id is outside [0, classes).

    Example:
        >>> confusion(torch.tensor([[0, 1, 1]]), torch.tensor([[0, 1, 255]]), classes=2)
        tensor([[1, 0],
                [0, 1]])
    """
    if pred.shape != target.shape:
        raise ValueError(f"Predicted and true masks must have the same shape; got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    if classes < 1:
        raise ValueError(f"The 'classes' parameter of confusion must be an int >= 1. Got {classes} instead")
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        kept = target != ignore_index
        pred, target = pred[kept], target[kept]
    for name, values in (("predicted", pred), ("true", target)):
        outside = (values < 0) | (values >= classes)
        if outside.any():
            raise ValueError(f"A {name} class id {int(values[outside][0])} is outside [0, {classes}) "
                             f"(the ignored target value is {ignore_index})")
    counts = torch.bincount(target * classes + pred, minlength=classes * classes)  # one bin per (true, pred)
    return counts.reshape(classes, classes).to(torch.int64)


def _counts(conf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(TP, FP, FN) per class, float64, from a (K, K) confusion matrix."""
    if conf.dim() != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f"A confusion matrix must be square (K, K); got shape {tuple(conf.shape)}")
    conf = conf.double()
    tp = conf.diagonal()
    return tp, conf.sum(dim=0) - tp, conf.sum(dim=1) - tp


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, NaN where den is 0 (a class neither predicted nor present)."""
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, float("nan")))


def iou_per_class(conf: torch.Tensor) -> torch.Tensor:
    """Intersection over union (Jaccard index) of each class: TP / (TP + FP + FN).

    Args:
        conf: (K, K) confusion matrix from `confusion` (rows true, columns predicted).

    Returns:
        (K,) float64; NaN for a class absent from both prediction and target.

    Example:
        >>> iou_per_class(torch.tensor([[1, 1], [0, 2]]))
        tensor([0.5000, 0.6667], dtype=torch.float64)
    """
    tp, fp, fn = _counts(conf)
    return _ratio(tp, tp + fp + fn)


def dice_per_class(conf: torch.Tensor) -> torch.Tensor:
    """Dice coefficient (F1) of each class: 2 TP / (2 TP + FP + FN), which is 2 IoU / (1 + IoU).

    Args:
        conf: (K, K) confusion matrix from `confusion` (rows true, columns predicted).

    Returns:
        (K,) float64; NaN for a class absent from both prediction and target.

    Example:
        >>> dice_per_class(torch.tensor([[1, 1], [0, 2]]))
        tensor([0.6667, 0.8000], dtype=torch.float64)
    """
    tp, fp, fn = _counts(conf)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _class_mean(per_class: torch.Tensor, include_background: bool, background: int) -> float:
    if not include_background:
        if not 0 <= background < len(per_class):
            raise ValueError(f"The 'background' class must be in [0, {len(per_class)}). Got {background} instead")
        per_class = torch.cat([per_class[:background], per_class[background + 1:]])
    return float(per_class.nanmean())  # NaN when no class is present at all


def mean_iou(conf: torch.Tensor, include_background: bool = True, background: int = 0) -> float:
    """Mean IoU over the classes present in the prediction or the target (NaN classes left out).

    Background counts as a class by default, as in Pascal VOC, Cityscapes and ADE20K's mIoU.

    Args:
        conf: (K, K) confusion matrix from `confusion`.
        include_background: Average over the background class too.
        background: Index of the background class.

    Returns:
        The mean, or NaN when no class is present (every pixel ignored).

    Example:
        >>> mean_iou(torch.tensor([[1, 1], [0, 2]])), mean_iou(torch.tensor([[1, 1], [0, 2]]), include_background=False)
        (0.5833333333333333, 0.6666666666666666)
    """
    return _class_mean(iou_per_class(conf), include_background, background)


def mean_dice(conf: torch.Tensor, include_background: bool = True, background: int = 0) -> float:
    """Mean Dice over the classes present in the prediction or the target (see `mean_iou` for the arguments).

    Example:
        >>> round(mean_dice(torch.tensor([[1, 1], [0, 2]])), 4)
        0.7333
    """
    return _class_mean(dice_per_class(conf), include_background, background)


def pixel_accuracy(conf: torch.Tensor) -> float:
    """Fraction of (not ignored) pixels whose class is right: trace / total; NaN when there is no pixel.

    Example:
        >>> pixel_accuracy(torch.tensor([[1, 1], [0, 2]]))
        0.75
    """
    _counts(conf)  # checks the shape
    total = int(conf.sum())
    return float(conf.diagonal().sum()) / total if total else float("nan")
