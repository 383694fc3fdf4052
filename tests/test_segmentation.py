"""Segmentation: the task's kept outputs and metrics, the loss, the images/ + masks/ loader and its errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from neuronet.datasets.masks import write_mask
from neuronet.datasets.vision import load_annotated, load_segmentation
from neuronet.errors import DataError
from neuronet.nn import loss_fn
from neuronet.tasks import Segmentation


def test_kept_outputs_score_like_the_logits():
    torch.manual_seed(0)
    logits, masks = torch.randn(3, 4, 6, 5), torch.randint(0, 4, (3, 6, 5))
    kept = Segmentation().compact(logits, masks)
    assert kept[1].dtype == torch.uint8 and torch.equal(kept[1].long(), logits.argmax(1))
    assert torch.isclose(loss_fn("pixel_cross_entropy")(kept, masks), loss_fn("pixel_cross_entropy")(logits, masks))
    # mean IoU by hand from the same predictions: per class |A ∩ B| / |A ∪ B|, over the classes present
    pred = logits.argmax(1)
    ious = [((pred == k) & (masks == k)).sum() / ((pred == k) | (masks == k)).sum() for k in range(4)
            if ((pred == k) | (masks == k)).any()]
    assert Segmentation().score(kept, masks)["mean_iou"] == pytest.approx(float(torch.stack(ious).mean()), abs=1e-6)


def test_the_dice_term_against_a_float64_reference():
    from neuronet.nn.losses import PixelCrossEntropy

    torch.manual_seed(1)
    logits, masks = torch.randn(2, 3, 4, 5, dtype=torch.float64), torch.randint(0, 3, (2, 4, 5))
    p = logits.softmax(1)
    dice = torch.stack([torch.stack([(2 * (p[b, k] * (masks[b] == k)).sum() + 1) / (p[b, k].sum() + (masks[b] == k).sum() + 1)
                                     for k in range(3)]).mean() for b in range(2)])
    ce = torch.stack([torch.nn.functional.cross_entropy(logits[b:b + 1], masks[b:b + 1]) for b in range(2)])
    assert torch.allclose(PixelCrossEntropy(dice=0.5).per_image(logits, masks).double(), ce + 0.5 * (1 - dice),
                          rtol=1e-5)
    perfect = torch.nn.functional.one_hot(masks, 3).permute(0, 3, 1, 2).double() * 40
    assert PixelCrossEntropy()(perfect, masks) < 1e-6


def folder(tmp_path, sizes=((20, 16), (20, 16)), names="background\ncat\ndog\n", values=(0, 1, 2)):
    root = tmp_path / "pets"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / "images" / f"p{i}.jpg")
        write_mask(root / "masks" / f"p{i}.png", rng.choice(values, (h, w)))
    if names is not None:
        (root / "masks" / "classes.txt").write_text(names)
    return root


def test_images_and_palette_masks_load_with_their_class_names(tmp_path):
    data = load_segmentation(folder(tmp_path))
    assert data.task == "segmentation" and data.class_names == ["background", "cat", "dog"]
    assert data.x.shape == (2, 3, 16, 20) and data.y.shape == (2, 16, 20) and data.y.dtype == torch.long
    assert load_annotated(str(tmp_path / "pets")).task == "segmentation"  # masks only: segmentation


def test_resizing_keeps_mask_classes_whole(tmp_path):
    data = load_segmentation(folder(tmp_path, sizes=((20, 16), (40, 30))), size=[24, 24])
    assert data.y.shape == (2, 24, 24) and set(data.y.unique().tolist()) <= {0, 1, 2}
    assert data.sizes == [(20, 16), (40, 30)]


def test_names_from_a_yolo_style_list_get_the_background_first(tmp_path):
    root = folder(tmp_path, names=None)
    (root / "classes.txt").write_text("cat\ndog\n")
    assert load_segmentation(root).class_names == ["background", "cat", "dog"]


@pytest.mark.parametrize("problem, message", [
    ("orphan mask", "has no image"), ("missing mask", "has no mask"), ("wrong size", "size"),
    ("rgb mask", "class"), ("too few names", "names 2 classes"), ("mixed sizes", "data.options.size")])
def test_bad_segmentation_folders_are_one_sentence_naming_the_file(tmp_path, problem, message):
    root = folder(tmp_path, sizes=((20, 16), (30, 16)) if problem == "mixed sizes" else ((20, 16), (20, 16)))
    if problem == "orphan mask":
        write_mask(root / "masks" / "ghost.png", np.zeros((16, 20)))
    elif problem == "missing mask":
        (root / "masks" / "p1.png").unlink()
    elif problem == "wrong size":
        write_mask(root / "masks" / "p1.png", np.zeros((10, 10)))
    elif problem == "rgb mask":
        Image.new("RGB", (20, 16), (255, 0, 0)).save(root / "masks" / "p1.png")
    elif problem == "too few names":
        (root / "masks" / "classes.txt").write_text("background\ncat\n")
    with pytest.raises(DataError, match=message) as err:
        load_segmentation(root)
    assert "\n" not in str(err.value)
