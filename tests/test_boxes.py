"""Box operations and NMS (neuronet.nn.boxes): worked examples, a pure-Python reference on random boxes,
Hypothesis properties, gradcheck, empty inputs, dtypes and devices."""

from __future__ import annotations

import itertools
import math
import os
import random

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuronet.nn import boxes as boxes_module
from neuronet.nn import (
    batched_nms, box_area, box_iou, clip_boxes, cxcywh_to_xyxy, draw_gaussian, flip_boxes_horizontal, gaussian_radius,
    heatmap_peaks, nms, scale_boxes, valid_boxes, xywh_to_xyxy, xyxy_to_cxcywh, xyxy_to_xywh,
)

# Examples per Hypothesis test: 300 in `make test` (as CI); `make check` sets fewer for a fast loop.
FUZZ = settings(max_examples=int(os.environ.get("NEURONET_FUZZ_EXAMPLES", "300")), deadline=None, derandomize=True,
                database=None, suppress_health_check=[HealthCheck.too_slow])


def t(rows, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(rows, dtype=dtype).reshape(-1, 4)


# ---------------------------------------------------------------- the reference: plain Python, float64


def ref_iou(a: list[float], b: list[float]) -> float:
    """IoU of two boxes, written out; 0 where the union is empty."""
    area_a = max(a[2] - a[0], 0.0) * max(a[3] - a[1], 0.0)
    area_b = max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)
    inter = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def ref_nms(boxes: list[list[float]], scores: list[float], threshold: float) -> list[int]:
    """Greedy NMS as torchvision documents it: by decreasing score, equal scores lower index first."""
    kept: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda i: (-scores[i], i)):
        if all(ref_iou(boxes[i], boxes[j]) <= threshold for j in kept):
            kept.append(i)
    return kept


def ref_batched_nms(boxes, scores, classes, threshold) -> list[int]:
    kept = []
    for c in set(classes):
        members = [i for i in range(len(boxes)) if classes[i] == c]
        kept += [members[i] for i in ref_nms([boxes[i] for i in members], [scores[i] for i in members], threshold)]
    return sorted(kept, key=lambda i: (-scores[i], i))


def random_boxes(rng: random.Random, n: int) -> list[list[float]]:
    """Boxes on a whole-pixel grid (so IoU can equal a threshold exactly), some degenerate: zero width or height,
    inverted, or repeated."""
    boxes = []
    for _ in range(n):
        x0, y0 = rng.randint(0, 20), rng.randint(0, 20)
        kind = rng.random()
        if kind < 0.1:  # zero width
            boxes.append([x0, y0, x0, y0 + rng.randint(0, 5)])
        elif kind < 0.15:  # inverted
            boxes.append([x0 + 3, y0, x0, y0 + 4])
        elif kind < 0.25 and boxes:  # a repeat
            boxes.append(list(rng.choice(boxes)))
        else:
            boxes.append([x0, y0, x0 + rng.randint(1, 10), y0 + rng.randint(1, 10)])
    return [[float(v) for v in box] for box in boxes]


# ---------------------------------------------------------------- worked examples


def test_iou_worked_examples():
    a = t([0, 0, 2, 2])  # area 4
    others = t([
        [1, 1, 3, 3],  # overlap [1, 2] x [1, 2] = 1, union 4 + 4 - 1 = 7: 1/7
        [5, 5, 6, 6],  # disjoint: 0
        [0.5, 0.5, 1.5, 1.5],  # inside a: overlap 1, union 4: 1/4
        [0, 0, 2, 2],  # identical: 1
        [2, 0, 4, 2],  # shares the edge x = 2: overlap 0 x 2 = 0
        [2, 2, 3, 3],  # shares the corner (2, 2): 0
        [1, 0, 1, 2],  # zero width, inside a: area 0, IoU 0
    ])
    expected = torch.tensor([[1 / 7, 0, 1 / 4, 1, 0, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(box_iou(a, others), expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(box_iou(others, a), expected.T, rtol=0, atol=1e-15)


def test_iou_of_degenerate_boxes_is_zero_not_nan():
    boxes = t([[1, 1, 1, 1], [1, 1, 1, 3], [3, 0, 1, 2]])  # a point, a vertical line, an inverted box
    iou = box_iou(boxes, boxes)
    assert torch.equal(iou, torch.zeros(3, 3, dtype=torch.float64))
    boxes.requires_grad_(True)
    box_iou(boxes, t([[0, 0, 4, 4]])).sum().backward()
    assert torch.isfinite(boxes.grad).all()


def test_area_and_pixel_convention():
    # a box covering pixel columns 2..5 and rows 1..3 inclusive: x0 = 2, x1 = 6, y0 = 1, y1 = 4; 4 x 3 = 12
    assert box_area(t([2, 1, 6, 4])).tolist() == [12.0]
    assert box_area(t([6, 1, 2, 4])).tolist() == [0.0]  # inverted: 0, not -12


def test_nms_worked_example():
    # A = [0,0,10,10] 0.9 and B = [2,0,12,10] 0.8: overlap 8 x 10 = 80, union 120: IoU 2/3 > 0.5, B suppressed.
    # C = [5,0,15,10] 0.7: with A overlap 50, union 150: 1/3 <= 0.5, kept even though its IoU with B is
    # 70 / 130 = 0.54 > 0.5 (B, suppressed, suppresses nothing). D = [20,20,30,30] 0.6 overlaps nothing.
    # Given in the order C, D, A, B: kept by decreasing score A, C, D = indices 2, 0, 1.
    boxes = t([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10], [2, 0, 12, 10]])
    kept = nms(boxes, torch.tensor([0.7, 0.6, 0.9, 0.8]), iou_threshold=0.5)
    assert kept.tolist() == [2, 0, 1] and kept.dtype == torch.int64
    # at threshold 0.7, 2/3 is not above it: all four kept, by score
    assert nms(boxes, torch.tensor([0.7, 0.6, 0.9, 0.8]), iou_threshold=0.7).tolist() == [2, 3, 0, 1]


def test_nms_equal_scores_keep_the_lower_index_and_iou_equal_to_threshold_is_kept():
    boxes = t([[0, 0, 2, 2], [0, 0, 2, 2], [1, 0, 3, 2]])  # 0 and 1 identical; 2 overlaps them by 2, union 6
    assert nms(boxes, torch.tensor([0.5, 0.5, 0.5]), 0.5).tolist() == [0, 2]
    assert nms(boxes, torch.tensor([0.5, 0.5, 0.5]), 1 / 3).tolist() == [0, 2]  # 1/3 is not > 1/3 ...
    assert nms(boxes, torch.tensor([0.5, 0.5, 0.5]), 0.3).tolist() == [0]  # ... but is > 0.3


def test_batched_nms_keeps_overlapping_boxes_of_different_classes():
    # A, B, C of the NMS example above, classes 0, 1, 1: A and B (IoU 2/3) are of different classes, both kept;
    # C overlaps B (7/13 > 0.5), which is of its class and higher: suppressed.
    boxes = t([[0, 0, 10, 10], [2, 0, 12, 10], [5, 0, 15, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert batched_nms(boxes, scores, torch.tensor([0, 1, 1]), 0.5).tolist() == [0, 1]
    same_class = batched_nms(boxes, scores, torch.tensor([0, 0, 0]), 0.5)
    assert same_class.tolist() == nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert batched_nms(boxes, scores, torch.tensor([2, 1, 0]), 0.5).tolist() == [0, 1, 2]


def test_conversions_worked_examples():
    xyxy = t([2, 1, 6, 4])  # columns 2..5, rows 1..3
    assert xyxy_to_xywh(xyxy).tolist() == [[2, 1, 4, 3]]
    assert xywh_to_xyxy(t([2, 1, 4, 3])).tolist() == [[2, 1, 6, 4]]
    assert xyxy_to_cxcywh(xyxy).tolist() == [[4, 2.5, 4, 3]]
    assert xyxy_to_cxcywh(xyxy, width=8, height=5).tolist() == [[0.5, 0.5, 0.5, 0.6]]
    assert cxcywh_to_xyxy(t([0.5, 0.5, 0.5, 0.6]), width=8, height=5).tolist() == [[2, 1, 6, 4]]
    assert scale_boxes(xyxy, 2).tolist() == [[4, 2, 12, 8]]
    assert scale_boxes(xyxy, 0.5, 3).tolist() == [[1, 3, 3, 12]]


def test_conversions_round_trip():
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(50, 2, generator=gen, dtype=torch.float64) * 100
    boxes = torch.cat([xy, xy + torch.rand(50, 2, generator=gen, dtype=torch.float64) * 50], dim=1)
    torch.testing.assert_close(xywh_to_xyxy(xyxy_to_xywh(boxes)), boxes)
    torch.testing.assert_close(cxcywh_to_xyxy(xyxy_to_cxcywh(boxes)), boxes)
    torch.testing.assert_close(cxcywh_to_xyxy(xyxy_to_cxcywh(boxes, width=640, height=480), width=640, height=480),
                               boxes)
    torch.testing.assert_close(flip_boxes_horizontal(flip_boxes_horizontal(boxes, 160), 160), boxes)
    torch.testing.assert_close(scale_boxes(scale_boxes(boxes, 4, 0.25), 0.25, 4), boxes)
    torch.testing.assert_close(box_area(scale_boxes(boxes, 2, 3)), 6 * box_area(boxes))


def test_flip_matches_flipping_the_image():
    image = torch.zeros(6, 10)
    image[1:4, 2:6] = 1  # rows 1..3, columns 2..5: the box [2, 1, 6, 4]
    flipped = image.flip(-1)
    rows, cols = flipped.nonzero().T
    box = [cols.min().item(), rows.min().item(), cols.max().item() + 1, rows.max().item() + 1]
    assert flip_boxes_horizontal(t([2, 1, 6, 4]), 10).tolist() == [box] == [[4, 1, 8, 4]]


def test_clip_and_valid():
    boxes = t([[-3, 2, 12, 30], [1, 1, 5, 5], [12, 0, 15, 5]])  # partly out, inside, wholly right of the image
    clipped = clip_boxes(boxes, height=20, width=10)
    assert clipped.tolist() == [[0, 2, 10, 20], [1, 1, 5, 5], [10, 0, 10, 5]]
    assert valid_boxes(clipped).tolist() == [True, True, False]  # the last one is now 0 pixels wide
    sizes = t([[0, 0, 1, 1], [0, 0, 0.99, 5], [0, 0, 5, 0.5], [0, 0, math.nan, 3], [4, 0, 2, 3]])
    assert valid_boxes(sizes).tolist() == [True, False, False, False, False]
    assert valid_boxes(sizes, min_size=0.5).tolist() == [True, True, True, False, False]


def test_gaussian_radius_worked_example_and_its_cases():
    # 10 x 10 at IoU 0.7: both corners inside gives (10 - 2r)^2 = 70, r = (10 - sqrt(70)) / 2 = 0.8167; the other
    # cases allow more (one in one out: r = 0.925, both out: (10 + 2r)^2 = 100 / 0.7, r = 0.976), the minimum wins
    assert gaussian_radius(10, 10) == pytest.approx((10 - math.sqrt(70)) / 2, rel=1e-12)
    h, w, o = 24.0, 40.0, 0.7
    r = gaussian_radius(h, w, o)
    shifted = [((h - r) * (w - r)) / (2 * h * w - (h - r) * (w - r)), (h - 2 * r) * (w - 2 * r) / (h * w),
               h * w / ((h + 2 * r) * (w + 2 * r))]
    assert min(shifted) == pytest.approx(o, rel=1e-9) and all(s >= o - 1e-9 for s in shifted)
    sizes = torch.tensor([10.0, 24.0], dtype=torch.float64)
    radii = gaussian_radius(sizes, sizes * 2, 0.5)
    assert radii.dtype == torch.float64
    assert radii.tolist() == pytest.approx([gaussian_radius(10.0, 20.0, 0.5), gaussian_radius(24.0, 48.0, 0.5)])
    with pytest.raises(ValueError, match="min_overlap"):
        gaussian_radius(10, 10, 1.0)


def test_draw_gaussian_worked_example_and_borders():
    heatmap = torch.zeros(5, 5)
    same = draw_gaussian(heatmap, (2, 2), radius=1)  # sigma = 3 / 6: exp(-1 / (2 * 0.25)) = exp(-2) beside
    assert same is heatmap and heatmap[2, 2] == 1
    assert heatmap[2, 3].item() == pytest.approx(math.exp(-2)) and heatmap[1, 1].item() == pytest.approx(math.exp(-4))
    assert heatmap[0].abs().sum() == 0 and heatmap[:, 4].abs().sum() == 0  # outside the 3 x 3 square
    draw_gaussian(heatmap, (0, 4), radius=2)  # in the corner: only the part inside is drawn
    assert heatmap[4, 0] == 1 and heatmap[2, 2] == 1  # the earlier peak is kept (max, not sum)
    heatmap = torch.full((3, 3), 0.5)
    draw_gaussian(heatmap, (1, 1), radius=1)
    assert heatmap[1, 1] == 1 and heatmap[0, 0] == 0.5  # exp(-4) < 0.5 leaves the old value
    draw_gaussian(heatmap, (10, 10), radius=1)  # wholly outside: nothing
    with pytest.raises(ValueError, match="whole number"):
        draw_gaussian(heatmap, (1, 1), radius=1.5)


def test_heatmap_peaks_worked_example():
    heatmap = torch.zeros(2, 3, 5, 5)
    heatmap[0, 2, 4, 0] = 0.9  # a corner
    heatmap[0, 0, 1, 1], heatmap[0, 0, 1, 2] = 0.8, 0.7  # 0.7 is beside 0.8: not a peak
    heatmap[0, 1, 3, 3] = 0.6
    heatmap[1, 1, 2, 2] = 0.3
    scores, classes, ys, xs = heatmap_peaks(heatmap, 3)
    torch.testing.assert_close(scores[0], torch.tensor([0.9, 0.8, 0.6]))
    assert classes[0].tolist() == [2, 0, 1] and ys[0].tolist() == [4, 1, 3] and xs[0].tolist() == [0, 1, 3]
    assert scores[1, 0].item() == pytest.approx(0.3) and (classes[1, 0], ys[1, 0], xs[1, 0]) == (1, 2, 2)
    assert classes.dtype == ys.dtype == xs.dtype == torch.int64
    # fewer local maxima than asked: the rest are -inf
    scores, *_ = heatmap_peaks(torch.tensor([[[[0.0, 1.0, 0.0]]]]), 3)
    assert scores.tolist() == [[1.0, -math.inf, -math.inf]]


# ---------------------------------------------------------------- against the reference


@pytest.mark.parametrize("seed", range(5))
def test_iou_matches_the_reference(seed):
    rng = random.Random(seed)
    a, b = random_boxes(rng, 25), random_boxes(rng, 17)
    expected = torch.tensor([[ref_iou(x, y) for y in b] for x in a], dtype=torch.float64)
    torch.testing.assert_close(box_iou(t(a), t(b)), expected, rtol=0, atol=1e-12)  # float64, same formula
    torch.testing.assert_close(box_iou(t(a, torch.float32), t(b, torch.float32)), expected.float(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("block", [512, 3])  # the IoU rows nms computes at once: one block, and many
@pytest.mark.parametrize("seed", range(20))
def test_nms_matches_the_reference(seed, block, monkeypatch):
    monkeypatch.setattr(boxes_module, "_NMS_BLOCK", block)
    rng = random.Random(seed)
    boxes = random_boxes(rng, rng.randint(0, 40))
    scores = [rng.choice([0.1, 0.2, 0.5, 0.9]) for _ in boxes]  # many ties
    classes = [rng.randint(0, 2) for _ in boxes]
    for threshold in (0.0, 0.3, 0.5, 0.7, 1.0):  # whole-pixel boxes hit 0.5 exactly: it must not suppress
        assert nms(t(boxes), torch.tensor(scores), threshold).tolist() == ref_nms(boxes, scores, threshold)
        assert (batched_nms(t(boxes), torch.tensor(scores), torch.tensor(classes), threshold).tolist()
                == ref_batched_nms(boxes, scores, classes, threshold))


# ---------------------------------------------------------------- properties

coordinate = st.floats(-50, 150, allow_nan=False, width=64)
size = st.one_of(st.just(0.0), st.floats(0, 80, width=64))


@st.composite
def boxes_strategy(draw, min_size: int = 0, max_size: int = 12) -> torch.Tensor:
    rows = draw(st.lists(st.tuples(coordinate, coordinate, size, size), min_size=min_size, max_size=max_size))
    return t([[x, y, x + w, y + h] for x, y, w, h in rows])


@FUZZ
@given(boxes_strategy(), boxes_strategy())
def test_iou_is_symmetric_and_in_unit_interval(a, b):
    iou = box_iou(a, b)
    assert iou.shape == (len(a), len(b))
    assert torch.equal(iou, box_iou(b, a).T)
    assert ((iou >= 0) & (iou <= 1)).all()


@FUZZ
@given(boxes_strategy(min_size=1))
def test_iou_of_a_box_with_itself_is_one(boxes):
    positive = box_area(boxes) > 0
    diagonal = box_iou(boxes, boxes).diagonal()
    assert (diagonal[positive] == 1).all() and (diagonal[~positive] == 0).all()


@FUZZ
@given(boxes_strategy(max_size=20), st.data(), st.sampled_from([0.0, 0.1, 0.5, 0.9]))
def test_nms_keeps_no_overlapping_pair_and_explains_every_suppression(boxes, data, threshold):
    n = len(boxes)
    scores = torch.tensor(data.draw(st.lists(st.sampled_from([0.2, 0.4, 0.6, 0.8]), min_size=n, max_size=n)))
    classes = torch.tensor(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=torch.int64)
    kept = batched_nms(boxes, scores, classes, threshold).tolist()
    rank = {i: r for r, i in enumerate(sorted(range(n), key=lambda i: (-scores[i].item(), i)))}
    iou = box_iou(boxes, boxes)
    assert [rank[i] for i in kept] == sorted(rank[i] for i in kept)  # by decreasing score
    for i, j in itertools.combinations(kept, 2):
        assert classes[i] != classes[j] or iou[i, j] <= threshold
    for i in set(range(n)) - set(kept):
        assert any(classes[j] == classes[i] and rank[j] < rank[i] and iou[i, j] > threshold for j in kept)


@FUZZ
@given(st.integers(0, 12), st.integers(0, 4), st.integers(0, 4))
def test_draw_gaussian_peaks_at_the_centre_and_is_symmetric(radius, margin_y, margin_x):
    heatmap = torch.zeros(2 * (radius + margin_y) + 1, 2 * (radius + margin_x) + 1, dtype=torch.float64)
    draw_gaussian(heatmap, (radius + margin_x, radius + margin_y), radius)
    assert heatmap[radius + margin_y, radius + margin_x] == 1 and heatmap.max() == 1
    assert torch.equal(heatmap, heatmap.flip(0)) and torch.equal(heatmap, heatmap.flip(1))
    assert (heatmap > 0).sum() == (2 * radius + 1) ** 2  # exactly the square around the centre
    square = heatmap[margin_y:margin_y + 2 * radius + 1, margin_x:margin_x + 2 * radius + 1]
    assert torch.equal(square, square.T)
    if radius:
        edge = math.exp(-(radius**2) / (2 * ((2 * radius + 1) / 6) ** 2))  # r from the centre, sigma = (2r + 1) / 6
        assert heatmap[radius + margin_y, margin_x].item() == pytest.approx(edge)


@FUZZ
@given(st.integers(1, 2), st.integers(1, 3), st.integers(3, 10), st.integers(3, 10), st.data())
def test_heatmap_peaks_finds_planted_peaks(batch, channels, height, width, data):
    cells = st.tuples(st.integers(0, channels - 1), st.integers(0, height - 1), st.integers(0, width - 1))
    heatmap = torch.rand(batch, channels, height, width, generator=torch.Generator().manual_seed(0)) * 0.1
    planted: list[list[tuple[float, int, int, int]]] = []
    for b in range(batch):
        peaks: list[tuple[float, int, int, int]] = []
        for c, y, x in data.draw(st.lists(cells, min_size=1, max_size=6)):
            if all(c != pc or max(abs(y - py), abs(x - px)) >= 2 for _, pc, py, px in peaks):  # not neighbours
                peaks.append((0.5 + 0.05 * len(peaks), c, y, x))  # distinct scores, above the noise
                heatmap[b, c, y, x] = peaks[-1][0]
        planted.append(sorted(peaks, reverse=True))
    k = min(len(p) for p in planted)
    scores, classes, ys, xs = heatmap_peaks(heatmap, k)
    assert scores.shape == classes.shape == ys.shape == xs.shape == (batch, k)
    for b in range(batch):
        found = list(zip(scores[b].tolist(), classes[b].tolist(), ys[b].tolist(), xs[b].tolist()))
        assert [(pytest.approx(s), c, y, x) for s, c, y, x in planted[b][:k]] == found


# ---------------------------------------------------------------- gradients, empty inputs, dtypes, devices


def test_box_iou_gradcheck():
    gen = torch.Generator().manual_seed(0)
    corners = torch.rand(6, 2, generator=gen, dtype=torch.float64)
    a = torch.cat([corners, corners + 0.3 + torch.rand(6, 2, generator=gen, dtype=torch.float64)], 1)
    corners = torch.rand(5, 2, generator=gen, dtype=torch.float64) + 0.5
    b = torch.cat([corners, corners + 0.3 + torch.rand(5, 2, generator=gen, dtype=torch.float64)], 1)
    assert (box_iou(a, b) > 0).any() and (box_iou(a, b) < 1).all()
    assert torch.autograd.gradcheck(box_iou, (a.requires_grad_(), b.requires_grad_()))
    assert torch.autograd.gradgradcheck(box_iou, (a, b))


def test_batches_of_boxes():
    gen = torch.Generator().manual_seed(1)
    xy = torch.rand(3, 7, 2, generator=gen)
    a = torch.cat([xy, xy + torch.rand(3, 7, 2, generator=gen)], -1)
    b = a[:, :4].flip(1)
    iou = box_iou(a, b)
    assert iou.shape == (3, 7, 4)
    torch.testing.assert_close(iou[1], box_iou(a[1], b[1]))


EMPTY_CASES = {
    "box_area": lambda e: box_area(e),
    "box_iou": lambda e: box_iou(e, torch.ones(3, 4, dtype=e.dtype)),
    "box_iou_both": lambda e: box_iou(e, e),
    "clip_boxes": lambda e: clip_boxes(e, 10, 10),
    "xywh_to_xyxy": xywh_to_xyxy,
    "xyxy_to_xywh": xyxy_to_xywh,
    "cxcywh_to_xyxy": lambda e: cxcywh_to_xyxy(e, width=4, height=3),
    "xyxy_to_cxcywh": lambda e: xyxy_to_cxcywh(e, width=4, height=3),
    "flip_boxes_horizontal": lambda e: flip_boxes_horizontal(e, 10),
    "scale_boxes": lambda e: scale_boxes(e, 2),
    "valid_boxes": valid_boxes,
    "nms": lambda e: nms(e, torch.ones(len(e), dtype=e.dtype), 0.5),
    "batched_nms": lambda e: batched_nms(e, torch.ones(len(e)), torch.zeros(len(e), dtype=torch.int64), 0.5),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_empty_inputs_and_dtypes(name, dtype):
    empty = EMPTY_CASES[name](torch.zeros(0, 4, dtype=dtype))
    full = EMPTY_CASES[name](t([[0, 0, 2, 2], [1, 1, 3, 3]], dtype))
    assert empty.numel() == 0 and full.numel() > 0
    expected = {"valid_boxes": torch.bool, "nms": torch.int64, "batched_nms": torch.int64}.get(name, dtype)
    assert empty.dtype == full.dtype == expected


def test_empty_heatmaps():
    for shape, k in [((0, 2, 4, 4), 3), ((1, 2, 4, 4), 0), ((1, 0, 4, 4), 5), ((1, 2, 0, 4), 5)]:
        outputs = heatmap_peaks(torch.zeros(shape, dtype=torch.float64), k)
        assert [o.shape[0] for o in outputs] == [shape[0]] * 4 and all(o.numel() == 0 for o in outputs)
        assert outputs[0].dtype == torch.float64 and outputs[1].dtype == torch.int64
    assert heatmap_peaks(torch.zeros(1, 1, 2, 2), 10)[0].shape == (1, 4)  # at most C * H * W


def test_nms_scores_and_batches_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"boxes must be a tensor \(N, 4\)"):
        nms(torch.zeros(2, 5), torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match=r"scores must be a tensor \(N,\) with one value per box \(N = 2\)"):
        nms(torch.zeros(2, 4), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="classes"):
        batched_nms(torch.zeros(2, 4), torch.zeros(2), torch.zeros(1), 0.5)
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_iou(torch.zeros(3), torch.zeros(2, 4))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_results_stay_on_the_device_and_match_the_cpu():
    rng = random.Random(0)
    boxes, scores = t(random_boxes(rng, 60), torch.float32), torch.rand(60, generator=torch.Generator().manual_seed(0))
    classes = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(1))
    cuda = [x.cuda() for x in (boxes, scores, classes)]
    assert box_iou(cuda[0], cuda[0]).device.type == "cuda"
    torch.testing.assert_close(box_iou(cuda[0], cuda[0]).cpu(), box_iou(boxes, boxes))
    kept = batched_nms(*cuda, 0.5)
    assert kept.device.type == "cuda" and kept.tolist() == batched_nms(boxes, scores, classes, 0.5).tolist()
    assert nms(cuda[0], cuda[1], 0.5).tolist() == nms(boxes, scores, 0.5).tolist()
    heatmap = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    assert all(torch.equal(g.cpu(), c) for g, c in zip(heatmap_peaks(heatmap.cuda(), 5), heatmap_peaks(heatmap, 5)))
    drawn = draw_gaussian(torch.zeros(9, 9, device="cuda"), (4, 4), 3)
    torch.testing.assert_close(drawn.cpu(), draw_gaussian(torch.zeros(9, 9), (4, 4), 3))
