"""Segmentation metrics against hand-worked masks and a per-pixel Python loop."""

import math

import pytest
import torch

from neuronet.tasks.segmentation_metrics import (confusion, dice_per_class, iou_per_class, mean_dice, mean_iou,
                                                 pixel_accuracy)

NAN = float("nan")


def test_a_hand_worked_2x3_mask():
    pred = torch.tensor([[[0, 1, 1],
                          [2, 2, 0]]])
    target = torch.tensor([[[0, 1, 2],
                            [2, 1, 0]]])
    # (true, predicted) per pixel: (0,0) (1,1) (2,1) / (2,2) (1,2) (0,0)
    conf = confusion(pred, target, classes=3)
    assert conf.dtype == torch.int64
    assert conf.tolist() == [[2, 0, 0],
                             [0, 1, 1],
                             [0, 1, 1]]
    # class 0: TP 2, FP 0, FN 0 -> IoU 2/2 = 1,   Dice 4/4 = 1
    # class 1: TP 1, FP 1 (the true 2 predicted 1), FN 1 (the true 1 predicted 2) -> IoU 1/3, Dice 2/4
    # class 2: TP 1, FP 1, FN 1 -> IoU 1/3, Dice 1/2
    torch.testing.assert_close(iou_per_class(conf), torch.tensor([1, 1 / 3, 1 / 3], dtype=torch.float64))
    torch.testing.assert_close(dice_per_class(conf), torch.tensor([1, 0.5, 0.5], dtype=torch.float64))
    assert mean_iou(conf) == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)  # 5/9, background (class 0) included
    assert mean_iou(conf, include_background=False) == pytest.approx(1 / 3)
    assert mean_dice(conf) == pytest.approx(2 / 3)  # (1 + 0.5 + 0.5) / 3
    assert pixel_accuracy(conf) == pytest.approx(4 / 6)


def test_ignored_pixels_and_a_class_absent_from_both_masks():
    pred = torch.tensor([[[0, 0, 1],
                          [1, 1, 0]]])
    target = torch.tensor([[[0, 255, 1],
                            [1, 0, 255]]])
    # the two 255 pixels are left out, though predicted 0; kept (true, predicted): (0,0) (1,1) (1,1) (0,1)
    conf = confusion(pred, target, classes=3)
    assert conf.tolist() == [[1, 1, 0],
                             [0, 2, 0],
                             [0, 0, 0]]  # class 2 neither predicted nor present
    # class 0: TP 1, FP 0, FN 1 -> IoU 1/2, Dice 2/3;  class 1: TP 2, FP 1, FN 0 -> IoU 2/3, Dice 4/5;  class 2: 0/0
    torch.testing.assert_close(iou_per_class(conf), torch.tensor([1 / 2, 2 / 3, NAN], dtype=torch.float64),
                               equal_nan=True)
    torch.testing.assert_close(dice_per_class(conf), torch.tensor([2 / 3, 4 / 5, NAN], dtype=torch.float64),
                               equal_nan=True)
    assert mean_iou(conf) == pytest.approx((1 / 2 + 2 / 3) / 2)  # 7/12: the absent class is left out of the mean
    assert mean_iou(conf, include_background=False) == pytest.approx(2 / 3)
    assert mean_iou(conf, include_background=False, background=1) == pytest.approx(1 / 2)
    assert pixel_accuracy(conf) == pytest.approx(3 / 4)
    everything = confusion(pred, target.where(target != 255, 2), classes=3, ignore_index=None)
    assert everything.sum() == 6 and everything[2].tolist() == [2, 0, 0]


def brute_force(pred, target, classes, ignore_index):
    """Confusion counts and IoU / Dice per class by looking at each pixel in turn (plain Python)."""
    conf = [[0] * classes for _ in range(classes)]
    inter, in_pred, in_target = [0] * classes, [0] * classes, [0] * classes
    for p, t in zip(pred.flatten().tolist(), target.flatten().tolist()):
        if t == ignore_index:
            continue
        conf[t][p] += 1
        in_pred[p] += 1
        in_target[t] += 1
        inter[p] += p == t
    iou = [inter[k] / (in_pred[k] + in_target[k] - inter[k]) if in_pred[k] + in_target[k] else NAN
           for k in range(classes)]
    dice = [2 * inter[k] / (in_pred[k] + in_target[k]) if in_pred[k] + in_target[k] else NAN for k in range(classes)]
    return conf, iou, dice


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_masks_match_a_per_pixel_loop(seed):
    g = torch.Generator().manual_seed(seed)
    classes = 6
    pred = torch.randint(0, 5, (3, 5, 7), generator=g)  # class 5 never predicted nor present: NaN
    target = torch.randint(0, 5, (3, 5, 7), generator=g)
    target[torch.rand(target.shape, generator=g) < 0.1] = 255
    conf = confusion(pred, target, classes)
    ref_conf, ref_iou, ref_dice = brute_force(pred, target, classes, 255)
    assert conf.tolist() == ref_conf
    torch.testing.assert_close(iou_per_class(conf), torch.tensor(ref_iou, dtype=torch.float64), equal_nan=True,
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dice_per_class(conf), torch.tensor(ref_dice, dtype=torch.float64), equal_nan=True,
                               rtol=1e-12, atol=1e-12)
    assert mean_iou(conf) == pytest.approx(sum(ref_iou[:5]) / 5, rel=1e-12)
    assert mean_iou(conf, include_background=False) == pytest.approx(sum(ref_iou[1:5]) / 4, rel=1e-12)
    kept = target != 255
    assert pixel_accuracy(conf) == pytest.approx(float((pred[kept] == target[kept]).double().mean()), rel=1e-12)


def test_confusions_of_batches_add_up_to_the_whole_split():
    g = torch.Generator().manual_seed(3)
    pred, target = torch.randint(0, 4, (10, 6, 6), generator=g), torch.randint(0, 4, (10, 6, 6), generator=g)
    parts = confusion(pred[:4], target[:4], 4) + confusion(pred[4:], target[4:], 4)
    assert torch.equal(parts, confusion(pred, target, 4))


@pytest.mark.parametrize("seed", range(5))
def test_dice_is_two_iou_over_one_plus_iou(seed):
    g = torch.Generator().manual_seed(seed)
    conf = torch.randint(0, 20, (5, 5), generator=g)
    conf[3] = 0
    conf[:, 3] = 0  # a class absent from both: NaN in both
    iou = iou_per_class(conf)
    torch.testing.assert_close(dice_per_class(conf), 2 * iou / (1 + iou), equal_nan=True, rtol=1e-12, atol=1e-12)
    assert math.isnan(iou[3]) and not iou[[0, 1, 2, 4]].isnan().any()


def test_perfect_and_empty_predictions():
    mask = torch.tensor([[[0, 1], [2, 2]]])
    conf = confusion(mask, mask, 3)
    assert iou_per_class(conf).tolist() == [1.0, 1.0, 1.0] and mean_iou(conf) == 1.0 and pixel_accuracy(conf) == 1.0
    nothing = confusion(mask, torch.full_like(mask, 255), 3)  # every pixel ignored
    assert nothing.sum() == 0 and math.isnan(mean_iou(nothing)) and math.isnan(pixel_accuracy(nothing))


def test_errors_name_the_problem():
    mask = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"same shape; got \(1, 2, 2\) and \(2, 2\)"):
        confusion(mask, mask[0], 2)
    with pytest.raises(ValueError, match=r"predicted class id 3 is outside \[0, 2\)"):
        confusion(mask + 3, mask, 2)
    with pytest.raises(ValueError, match=r"true class id 255 is outside \[0, 2\)"):
        confusion(mask, mask + 255, 2, ignore_index=None)
    with pytest.raises(ValueError, match="must be square"):
        iou_per_class(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"'background' class must be in \[0, 2\)"):
        mean_iou(torch.eye(2), include_background=False, background=2)
