"""Object detection: CenterNet's targets, loss and decoding, COCO mAP, boxes moved by augmentations, the loaders."""

import json

import numpy as np
import pytest
import torch

from neuronet.datasets.augment import build_augmentations
from neuronet.datasets.vision import boxes_tensor, load_detection
from neuronet.errors import ConfigError, DataError
from neuronet.nn.centernet import CenterNetLoss, DetectionOutput, decode_detections, encode_targets, focal_loss
from neuronet.tasks import Detection
from neuronet.tasks.detection import coco_map

pytest.importorskip("pycocotools", reason="detection metrics need pycocotools (neuronet[vision])")


def perfect_outputs(boxes, classes=3, grid=(16, 16), stride=4.0):
    """The outputs a perfect CenterNet would give for `boxes` (B, M, 5): its own encoded targets, as logits."""
    t = encode_targets(boxes, classes, grid, stride)
    logits = torch.logit(t.heatmap.clamp(1e-4, 1 - 1e-4))
    return DetectionOutput(logits, t.size, t.offset, torch.full((len(boxes),), stride))


def test_encoded_boxes_decode_back_exactly():
    boxes = torch.tensor([[[0, 4.0, 6.0, 20.0, 30.0], [2, 30.0, 30.0, 62.0, 50.0]],
                          [[1, 10.5, 12.25, 33.0, 41.0], [-1, 0, 0, 0, 0]]])
    found = decode_detections(perfect_outputs(boxes))
    for image, rows in zip(found, boxes):
        real = rows[rows[:, 0] >= 0]
        kept = image[image[:, 0] >= 0][: len(real)]
        order = kept[:, 2].argsort()
        assert torch.allclose(kept[order][:, [0, 2, 3, 4, 5]], real[real[:, 1].argsort()], atol=1e-4)
        assert (kept[:, 1] > 0.99).all()


def test_the_centre_cell_holds_the_size_and_offset():
    t = encode_targets(torch.tensor([[[1, 10.0, 2.0, 30.0, 10.0]]]), 2, (8, 8), 4.0)  # centre (20, 6): cell (5, 1)
    assert t.mask.nonzero().tolist() == [[0, 1, 5]]
    assert t.heatmap[0, 1, 1, 5] == 1 and t.heatmap[0, 0].sum() == 0
    assert torch.allclose(t.size[0, :, 1, 5].exp(), torch.tensor([5.0, 2.0]))  # 20 x 8 px in cells of 4
    assert torch.allclose(t.offset[0, :, 1, 5], torch.tensor([0.0, 0.5]))


def test_focal_loss_against_a_float64_reference():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 3, 5, 5, dtype=torch.float64), torch.rand(2, 3, 5, 5, dtype=torch.float64) * 0.9
    target[0, 1, 2, 2] = target[1, 0, 4, 4] = target[1, 2, 0, 1] = 1.0
    p = logits.sigmoid()
    expected = []
    for b in range(2):
        pos = target[b] == 1
        loss = -((1 - p[b][pos]) ** 2 * p[b][pos].log()).sum() - \
            ((1 - target[b][~pos]) ** 4 * p[b][~pos] ** 2 * (1 - p[b][~pos]).log()).sum()
        expected.append(loss / pos.sum())
    assert torch.allclose(focal_loss(logits, target).double(), torch.stack(expected), rtol=1e-4)


def test_loss_falls_to_near_zero_for_perfect_outputs_and_kept_form_gives_the_same_number():
    boxes = torch.tensor([[[0, 4.0, 6.0, 20.0, 30.0]], [[2, 30.0, 30.0, 62.0, 50.0]]])
    wrong = DetectionOutput(torch.zeros(2, 3, 16, 16), torch.zeros(2, 2, 16, 16), torch.zeros(2, 2, 16, 16),
                            torch.full((2,), 4.0))
    assert CenterNetLoss()(perfect_outputs(boxes), boxes) < 0.05 < CenterNetLoss()(wrong, boxes)
    kept = Detection().compact(wrong, boxes)
    assert torch.isclose(CenterNetLoss()(kept, boxes), CenterNetLoss()(wrong, boxes))


def test_coco_map_on_hand_worked_cases():
    truth = torch.tensor([[[0, 10.0, 10.0, 50.0, 50.0]], [[1, 0.0, 0.0, 20.0, 20.0]]])
    exact = torch.tensor([[[0, 0.9, 10.0, 10.0, 50.0, 50.0]], [[1, 0.8, 0.0, 0.0, 20.0, 20.0]]])
    assert coco_map(exact, truth)["map"] == 1.0
    # shifted by 12 px: IoU 28*40 / (2*1600 - 1120) = 0.538, so found at IoU 0.5, missed from 0.55 on
    shifted = exact.clone()
    shifted[0, 0, 2] += 12
    shifted[0, 0, 4] += 12
    scores = coco_map(shifted, truth)
    assert scores["map50"] == 1.0 and scores["per_class50"] == [1.0, 1.0]
    assert scores["map"] == pytest.approx((1.0 + 1 / 10) / 2, abs=1e-6)  # class 1 perfect, class 0 at 1 of 10 IoUs
    wrong_class = exact.clone()
    wrong_class[:, :, 0] = 1 - wrong_class[:, :, 0]
    assert coco_map(wrong_class, truth)["map50"] == 0.0
    assert np.isnan(coco_map(exact, torch.full((2, 1, 5), -1.0))["map"])  # no box anywhere: nothing to measure


def test_task_scores_keep_decoded_boxes():
    boxes = torch.tensor([[[0, 4.0, 6.0, 20.0, 30.0], [2, 30.0, 30.0, 62.0, 50.0]]])
    kept = Detection().compact(perfect_outputs(boxes), boxes)
    assert kept[1].shape == (1, 100, 6)
    assert Detection().score(kept, boxes) == {"map": 1.0, "map50": 1.0}
    assert Detection().join([kept, kept])[1].shape == (2, 100, 6)


def bright_boxes(boxes, size=32):
    """Images (B, 1, size, size) that are 1 inside each box of `boxes` (B, M, 5), 0 elsewhere."""
    x = torch.zeros(len(boxes), 1, size, size)
    for i, rows in enumerate(boxes):
        for c, x0, y0, x1, y1 in rows.tolist():
            if c >= 0:
                x[i, 0, int(y0):int(y1), int(x0):int(x1)] = 1
    return x


@pytest.mark.parametrize("spec", [{"type": "hflip", "p": 1.0}, {"type": "random_crop", "padding": 6},
                                  {"type": "zoom", "amount": 0.3}])
def test_geometric_augmentations_move_boxes_and_masks_with_the_pixels(spec):
    boxes = torch.tensor([[[0, 4.0, 6.0, 14.0, 20.0], [1, 20.0, 2.0, 30.0, 10.0]],
                          [[2, 8.0, 8.0, 24.0, 24.0], [-1, 0, 0, 0, 0]]])
    x = bright_boxes(boxes)
    torch.manual_seed(3)
    moved_x, moved = build_augmentations([spec])(x, boxes)
    for i in range(2):  # every kept box covers the pixels that are still bright, give or take a pixel of resampling
        kept = moved[i][moved[i, :, 0] >= 0]
        drawn = bright_boxes(moved[i:i + 1])[0, 0]
        assert (moved_x[i, 0] > 0.5).float().sub(drawn).abs().mean() < 0.06
        assert (kept[:, [0]] == boxes[i][: len(kept), [0]]).all()
    masks = (x[:, 0] > 0.5).long() * 3  # a mask of class 3 wherever the image is bright
    torch.manual_seed(3)
    moved_x, moved_mask = build_augmentations([spec])(x, masks)
    assert moved_mask.dtype == torch.long and moved_mask.shape == masks.shape
    assert ((moved_x[:, 0] > 0.5).long() * 3 != moved_mask).float().mean() < 0.02


def test_rotation_and_cutout_are_refused_for_boxes():
    from neuronet.datasets.augment import check_augmentations

    with pytest.raises(ConfigError, match="rotation.*not to images with boxes"):
        check_augmentations([{"type": "rotation"}], "boxes")
    with pytest.raises(ConfigError, match="cutout"):
        check_augmentations([{"type": "cutout"}], "masks")
    check_augmentations([{"type": "rotation"}, {"type": "zoom"}], "masks")


def test_boxes_tensor_pads_with_class_minus_one():
    y = boxes_tensor([np.zeros((0, 4)), np.array([[1, 2, 3, 4], [5, 6, 7, 8]])], [np.zeros(0), np.array([3, 4])])
    assert y.shape == (2, 2, 5) and y[0, :, 0].tolist() == [-1, -1] and y[1, :, 0].tolist() == [3, 4]


@pytest.fixture(scope="module")
def scene_folder(tmp_path_factory):
    from neuronet.datasets.scenes import make_scenes, write_scenes

    pytest.importorskip("PIL")
    try:
        scenes = make_scenes(12, seed=1, size=64, split="test")
    except DataError as err:
        pytest.skip(str(err))
    return write_scenes(tmp_path_factory.mktemp("scenes") / "scenes", scenes), scenes


def test_coco_and_yolo_layouts_load_the_same_dataset(scene_folder):
    folder, scenes = scene_folder
    coco, yolo = load_detection(folder), load_detection(folder, format="yolo")
    assert coco.task == "detection" and coco.class_names == scenes.class_names == yolo.class_names
    assert torch.equal(coco.x, yolo.x) and torch.allclose(coco.y, yolo.y, atol=64e-4)
    assert torch.allclose(coco.y, boxes_tensor(scenes.boxes, scenes.classes))
    assert coco.sizes == [(64, 64)] * 12 and coco.ids[0] == "images/scene_00000.png"


def test_resizing_scales_the_boxes(scene_folder):
    folder, scenes = scene_folder
    data = load_detection(folder, size=[32, 128])
    expected = boxes_tensor(scenes.boxes, scenes.classes)
    real = expected[..., 0] >= 0
    expected[..., 1::2][real] *= 2.0
    expected[..., 2::2][real] *= 0.5
    assert data.x.shape[-2:] == (32, 128) and torch.allclose(data.y, expected, atol=1e-4)
    assert any("resized to 128 x 32" in note for note in data.notes)


def test_bad_detection_files_are_one_sentence_naming_the_file(scene_folder, tmp_path):
    import shutil

    folder, _ = scene_folder
    copy = shutil.copytree(folder, tmp_path / "copy")
    coco = json.loads((copy / "annotations.json").read_text())
    coco["annotations"][0]["bbox"] = [10, 10, -4, 5]
    (copy / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DataError, match="annotations.json"):
        load_detection(copy)
    (copy / "annotations.json").write_text("{not json")
    with pytest.raises(DataError, match="annotations.json"):
        load_detection(copy)
    (copy / "annotations.json").unlink()
    (copy / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DataError, match="ghost"):
        load_detection(copy)
    with pytest.raises(ConfigError, match="size"):
        load_detection(folder, size=[0, 10])


def test_built_in_scenes_hold_out_validation_and_test_scenes_of_unseen_garments():
    from neuronet.datasets.vision import HELD_OUT, fashion_scene_masks, fashion_scenes

    try:
        boxes, masks = fashion_scenes(scenes=20, size=64), fashion_scene_masks(scenes=20, size=64)
    except DataError as err:
        pytest.skip(str(err))
    assert (len(boxes), len(boxes.official_val), len(boxes.official_test)) == (20, HELD_OUT, HELD_OUT)
    assert boxes.task == "detection" and masks.task == "segmentation" and masks.class_names[0] == "background"
    assert torch.equal(boxes.x, masks.x)  # the same scenes: boxes and masks agree
    for i in range(20):
        real = boxes.y[i][boxes.y[i, :, 0] >= 0]
        found = set((masks.y[i].unique() - 1).clamp(min=-1).tolist()) - {-1}
        assert found <= set(real[:, 0].long().tolist())  # every garment class painted has a box
    assert "never seen in training" in boxes.notes[0]


def test_sixteen_bit_images_are_scaled_not_clipped_to_white():
    from PIL import Image

    from neuronet.datasets.images import images_to_tensor

    grey = Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16))  # mid-grey in 16 bits
    assert grey.mode.startswith("I")
    x = images_to_tensor([grey], [4, 4], "RGB")
    assert torch.allclose(x, torch.full_like(x, 128 / 255), atol=1 / 255)


def test_sets_without_boxes_or_with_repeated_names_are_refused(scene_folder, tmp_path):
    import shutil

    folder, _ = scene_folder
    copy = shutil.copytree(folder, tmp_path / "copy", ignore=shutil.ignore_patterns("annotations.json"))
    (copy / "data.yaml").write_text("names: [a, a, b, c, d, e, f, g, h, i]\n")
    with pytest.raises(DataError, match="'a' more than once"):
        load_detection(copy)
    (copy / "data.yaml").unlink()
    (copy / "classes.txt").unlink()
    for label in (copy / "labels").iterdir():
        label.write_text("")
    with pytest.raises(DataError, match="no box in any"):
        load_detection(copy)
    shutil.rmtree(copy / "labels")
    shutil.rmtree(copy / "masks")
    (copy / "data.yaml").write_text("names: [a, b]\n")  # images/ and data.yaml, no labels/: still boxes wanted
    from neuronet.datasets import load_source

    with pytest.raises(DataError, match="holds no boxes"):
        load_source(str(copy))


def test_a_deeply_nested_annotation_file_is_one_sentence(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="too deeply"):
        load_detection(tmp_path)
