"""Built-in scenes of Fashion-MNIST garments, written as COCO / YOLO / PNG masks and read back into one representation,
and what a bad annotation file, label file, image or mask gets: one sentence naming the file."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuronet.datasets import annotations as annotations_module
from neuronet.datasets import scenes as scenes_module
from neuronet.datasets.annotations import read_coco, read_yolo
from neuronet.datasets.builtin import FASHION_MNIST_DIR, read_idx
from neuronet.datasets.masks import mask_palette, mask_to_rle, read_mask, rle_to_mask, write_mask
from neuronet.datasets.scenes import MIN_VISIBLE, make_scenes, write_scenes
from neuronet.errors import ConfigError, DataError

needs_fashion = pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")


@pytest.fixture(scope="module")
def scenes():
    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip("dataset-fashion-mnist is not installed")
    return make_scenes(20, seed=1, size=64)


@pytest.fixture
def folder(scenes, tmp_path) -> Path:
    """The 20 scenes written in every layout, in a folder of the test's own."""
    return write_scenes(tmp_path / "scenes", scenes)


# --- the scenes ---------------------------------------------------------------------------------------------------
def _same(a, b) -> bool:
    return (a.images.tobytes() == b.images.tobytes() and a.semantic.tobytes() == b.semantic.tobytes() and
            all(np.array_equal(x, y) for x, y in zip(a.boxes + a.classes + a.instances, b.boxes + b.classes + b.instances)))


@needs_fashion
def test_the_same_seed_gives_the_same_bytes_whatever_the_global_random_state(scenes):
    np.random.seed(123)
    random.seed(123)
    again = make_scenes(20, seed=1, size=64)
    assert _same(scenes, again)
    assert not _same(scenes, make_scenes(20, seed=2, size=64))
    assert not _same(scenes, make_scenes(20, seed=1, size=64, split="val"))


@needs_fashion
def test_shapes_types_and_names(scenes):
    assert scenes.images.shape == (20, 64, 64, 3) and scenes.images.dtype == np.uint8
    assert scenes.semantic.shape == (20, 64, 64) and scenes.semantic.dtype == np.uint8
    assert scenes.class_names[:2] == ["T-shirt/top", "Trouser"] and len(scenes.class_names) == 10
    assert scenes.mask_names[:2] == ["background", "T-shirt/top"]
    for boxes, classes, instances in zip(scenes.boxes, scenes.classes, scenes.instances):
        m = len(boxes)
        assert boxes.dtype == np.float32 and boxes.shape == (m, 4)
        assert classes.dtype == np.int64 and classes.shape == (m,) and ((0 <= classes) & (classes <= 9)).all()
        assert instances.dtype == bool and instances.shape == (m, 64, 64)


@needs_fashion
def test_some_scenes_are_empty_and_the_others_hold_one_to_four_garments():
    many = make_scenes(200, seed=0, size=48)
    counts = np.array([len(b) for b in many.boxes])
    assert 2 <= (counts == 0).sum() <= 25 and counts.max() <= 4 and set(counts) >= {0, 1, 2, 3, 4}
    assert not many.semantic[counts == 0].any()
    assert make_scenes(5, items=(2, 2), size=48).boxes[0].shape[0] in (0, 2)


@needs_fashion
def test_boxes_are_exactly_the_tight_boxes_of_the_visible_masks(scenes):
    for boxes, instances in zip(scenes.boxes, scenes.instances):
        for box, mask in zip(boxes, instances):
            rows, cols = np.nonzero(mask)
            assert box.tolist() == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


@needs_fashion
def test_the_semantic_mask_is_the_union_of_the_visible_instances_with_their_classes(scenes):
    for i in range(len(scenes)):
        expected = np.zeros((64, 64), dtype=np.uint8)
        for mask, class_id in zip(scenes.instances[i], scenes.classes[i]):
            assert not expected[mask].any()  # visible instances do not overlap
            expected[mask] = 1 + class_id
        assert np.array_equal(scenes.semantic[i], expected)


@needs_fashion
def test_every_garment_keeps_most_of_its_pixels_in_sight():
    many = make_scenes(100, seed=3, size=64, items=(4, 4))
    shares = np.concatenate(many.visibility)
    assert shares.min() >= MIN_VISIBLE and shares.min() < 0.95  # garments do cover each other, within the rule
    for visible, instances in zip(many.visibility, many.instances):
        whole = instances.sum(axis=(1, 2)) / visible  # the garments' pixel counts before anything covered them
        assert np.allclose(whole, whole.round(), atol=1e-3) and (len(visible) == 0 or visible[-1] == 1.0)


def _fake_fashion(root: Path, train_classes: tuple[int, ...], val_classes: tuple[int, ...],
                  test_classes: tuple[int, ...]) -> Path:
    """IDX files in Fashion-MNIST's names whose garments are squares, labelled by part: training, the last 10,000
    training images (validation's) and test."""
    def idx(path: Path, array: np.ndarray) -> None:
        header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(header + array.tobytes())

    root.mkdir()
    square = np.zeros((28, 28), dtype=np.uint8)
    square[6:22, 6:22] = 200
    train = np.array([train_classes[i % len(train_classes)] for i in range(50)] +
                     [val_classes[i % len(val_classes)] for i in range(scenes_module.VAL_GARMENTS)], dtype=np.uint8)
    test = np.array([test_classes[i % len(test_classes)] for i in range(30)], dtype=np.uint8)
    for name, labels in (("train", train), ("t10k", test)):
        idx(root / f"{name}-images-idx3-ubyte.gz", np.broadcast_to(square, (len(labels), 28, 28)).copy())
        idx(root / f"{name}-labels-idx1-ubyte.gz", labels)
    return root


def test_held_out_splits_use_garments_training_never_sees(tmp_path):
    root = _fake_fashion(tmp_path / "fashion", (0, 1, 2), (3, 4, 5), (6, 7, 8, 9))
    for split, allowed in (("train", {0, 1, 2}), ("val", {3, 4, 5}), ("test", {6, 7, 8, 9})):
        made = make_scenes(30, seed=0, size=48, split=split, data_dir=root)
        found = set(np.concatenate(made.classes).tolist())
        assert found and found <= allowed, split


@needs_fashion
def test_test_scenes_draw_from_the_official_test_images():
    pool, labels = scenes_module._garments(str(FASHION_MNIST_DIR), "test")
    assert np.array_equal(pool, read_idx(FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz"))
    train, _ = scenes_module._garments(str(FASHION_MNIST_DIR), "train")
    val, _ = scenes_module._garments(str(FASHION_MNIST_DIR), "val")
    assert len(train) == 50_000 and len(val) == 10_000 and len(labels) == 10_000


def test_missing_fashion_mnist_files_say_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        make_scenes(2, data_dir=tmp_path)


@pytest.mark.parametrize("kwargs", [{"count": -1}, {"count": 2, "items": (3, 1)}, {"count": 2, "split": "dev"},
                                    {"count": 2, "size": 8}, {"count": 2, "seed": 1.5}])
def test_bad_parameters_are_config_errors(kwargs):
    with pytest.raises(ConfigError, match="parameter of make_scenes"):
        make_scenes(**kwargs)


# --- writing and reading back -------------------------------------------------------------------------------------
@needs_fashion
def test_coco_and_yolo_read_back_into_the_same_annotations(scenes, folder):
    coco, yolo = read_coco(folder / "annotations.json"), read_yolo(folder)
    assert coco.class_names == yolo.class_names == scenes.class_names
    assert coco.notes == yolo.notes == []
    assert len(coco) == len(yolo) == len(scenes)
    for i, (a, b) in enumerate(zip(coco, yolo)):
        assert a.path == b.path == (folder / "images" / f"scene_{i:05d}.png").resolve()
        assert (a.width, a.height) == (b.width, b.height) == (64, 64)
        assert a.boxes.dtype == b.boxes.dtype == np.float32 and a.classes.dtype == b.classes.dtype == np.int64
        assert np.array_equal(a.boxes, scenes.boxes[i]) and np.array_equal(a.classes, scenes.classes[i])
        assert np.allclose(b.boxes, scenes.boxes[i], rtol=0, atol=1e-4 * 64)
        assert np.array_equal(b.classes, scenes.classes[i])
    assert np.array_equal(np.asarray(Image.open(coco[3].path)), scenes.images[3])


@needs_fashion
def test_the_written_files_are_in_the_layouts_tools_expect(scenes, folder):
    import yaml

    data = json.loads((folder / "annotations.json").read_text())
    assert [c["id"] for c in data["categories"]] == list(range(1, 11))
    assert data["images"][0] == {"id": 1, "file_name": "scene_00000.png", "width": 64, "height": 64}
    first = data["annotations"][0]
    assert first["iscrowd"] == 0 and first["category_id"] == scenes.classes[0][0] + 1
    x0, y0, x1, y1 = scenes.boxes[0][0].tolist()
    assert first["bbox"] == [x0, y0, x1 - x0, y1 - y0] and first["area"] == scenes.instances[0][0].sum()
    assert yaml.safe_load((folder / "data.yaml").read_text())["names"] == dict(enumerate(scenes.class_names))
    assert (folder / "classes.txt").read_text().splitlines() == scenes.class_names
    empty = next(i for i, b in enumerate(scenes.boxes) if len(b) == 0) if any(len(b) == 0 for b in scenes.boxes) \
        else None
    lines = (folder / "labels" / "scene_00000.txt").read_text().splitlines()
    assert len(lines) == len(scenes.boxes[0]) and all(len(line.split()) == 5 for line in lines)
    if empty is not None:
        assert (folder / "labels" / f"scene_{empty:05d}.txt").read_text() == ""


@needs_fashion
def test_written_masks_read_back_equal(scenes, folder):
    for i in range(len(scenes)):
        path = folder / "masks" / f"scene_{i:05d}.png"
        assert Image.open(path).mode == "P"
        assert np.array_equal(read_mask(path, size=(64, 64), classes=scenes.mask_names), scenes.semantic[i])


@needs_fashion
def test_the_coco_segmentations_decode_to_the_instance_masks(scenes, folder):
    data = json.loads((folder / "annotations.json").read_text())
    masks = [m for instances in scenes.instances for m in instances]
    assert len(masks) == len(data["annotations"])
    for note, mask in zip(data["annotations"], masks):
        assert np.array_equal(rle_to_mask(note["segmentation"]), mask)


def _reference_rle(mask: np.ndarray) -> list[int]:
    """COCO's run lengths counted one pixel at a time, down the columns, starting with 0s."""
    counts, current, run = [], 0, 0
    for value in mask.T.ravel():
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    return [*counts, run]


@pytest.mark.parametrize("seed", range(5))
def test_rle_round_trip_against_a_pixel_by_pixel_reference(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((7, 5)) < [0.0, 0.3, 0.5, 0.9, 1.0][seed]
    rle = mask_to_rle(mask)
    assert rle["size"] == [7, 5] and rle["counts"] == _reference_rle(mask)
    assert np.array_equal(rle_to_mask(rle), mask)
    assert mask_to_rle(np.ones((2, 3), bool))["counts"] == [0, 6]


def test_a_bad_rle_is_refused():
    with pytest.raises(DataError, match="must cover the image once"):
        rle_to_mask({"counts": [1, 2], "size": [2, 2]})
    with pytest.raises(DataError, match="uncompressed run lengths"):
        rle_to_mask({"counts": "PQ0e", "size": [2, 2]})


@needs_fashion
def test_write_scenes_refuses_an_existing_folder_and_replaces_it_when_asked(scenes, folder):
    with pytest.raises(DataError, match="already exists"):
        write_scenes(folder, scenes)
    write_scenes(folder, scenes, layouts=["yolo"], replace=True)
    assert not (folder / "annotations.json").exists() and (folder / "labels").is_dir()
    with pytest.raises(ConfigError, match="coco, yolo, masks"):
        write_scenes(folder.parent / "other", scenes, layouts=["voc"])


@needs_fashion
def test_a_failure_part_way_leaves_nothing_half_written(scenes, tmp_path, monkeypatch):
    def broken(path, mask):
        raise OSError("disk gone")

    monkeypatch.setattr(scenes_module, "write_mask", broken)
    with pytest.raises(OSError):
        write_scenes(tmp_path / "scenes", scenes)
    assert os.listdir(tmp_path) == []


# --- what bad input gets ------------------------------------------------------------------------------------------
def _coco_edit(folder: Path, change) -> Path:
    path = folder / "annotations.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def _first_box(data: dict) -> dict:
    return data["annotations"][0]


@needs_fashion
@pytest.mark.parametrize("change, message", [
    (lambda d: _first_box(d).update(bbox=[10, 10, -3, 5]), r"Annotation 1 of .*annotations\.json.* width of -3"),
    (lambda d: _first_box(d).update(bbox=[10, 10, 5, 0]), r"Annotation 1 of .*annotations\.json.* height of 0"),
    (lambda d: _first_box(d).update(bbox=[50, 50, 40, 40]), r"Annotation 1 of .*annotations\.json.* outside its 64 x 64"),
    (lambda d: _first_box(d).update(bbox=[70, 10, 5, 5]), r"Annotation 1 of .*annotations\.json.* outside"),
    (lambda d: _first_box(d).update(bbox=[1, 2, 3]), r"Annotation 1 of .*annotations\.json.*4 numbers"),
    (lambda d: _first_box(d).update(image_id=999), r"Annotation 1 of .*annotations\.json.*image id 999"),
    (lambda d: _first_box(d).update(category_id=11), r"Annotation 1 of .*annotations\.json.*category_id 11"),
    (lambda d: d["images"][0].update(file_name="../outside.png"), r"annotations\.json names '\.\./outside\.png'.*outside"),
    (lambda d: d["images"][0].update(file_name="/etc/hostname"), r"annotations\.json names the absolute path"),
    (lambda d: d["images"][0].update(width=65), r"Image id 1 of .*annotations\.json.*65 x 64"),
    (lambda d: d["images"].append(dict(d["images"][0])), r"annotations\.json gives two images the id 1"),
    (lambda d: d.pop("categories"), r"annotations\.json is not COCO's layout"),
])
def test_bad_coco_annotations_name_the_file_and_the_annotation(folder, change, message):
    path = _coco_edit(folder, change)
    with pytest.raises(DataError, match=message):
        read_coco(path)


@needs_fashion
def test_a_coco_box_a_little_outside_is_clipped_and_counted(folder):
    path = _coco_edit(folder, lambda d: _first_box(d).update(bbox=[-2, 30, 20, 40]))
    read = read_coco(path)
    assert read[0].boxes[0].tolist() == [0, 30, 18, 64]
    assert read.notes == ["1 box(es) reaching a little outside their image were clipped to it"]


@needs_fashion
def test_coco_crowd_boxes_and_missing_images_are_left_out_with_a_note(folder):
    path = _coco_edit(folder, lambda d: _first_box(d).update(iscrowd=1))
    (folder / "images" / "scene_00001.png").unlink()
    read = read_coco(path)
    assert len(read) == 19 and any("crowd" in n for n in read.notes) and any("image id 2" in n for n in read.notes)


@needs_fashion
@pytest.mark.parametrize("content, message", [
    (b'{"images": [', r"annotations\.json is not valid JSON \(.* line 1"),
    (b'{"images": [], "categories": [], "note": "caf\xe9"}', r"annotations\.json is not UTF-8 text \(byte 0xe9"),
    (b"[1, 2]", r"annotations\.json is not COCO's layout"),
])
def test_a_corrupt_coco_file_is_refused(folder, content, message):
    (folder / "annotations.json").write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_coco(folder / "annotations.json")


@needs_fashion
@pytest.mark.parametrize("reader", ["coco", "yolo"])
def test_a_corrupt_image_is_refused_by_name(folder, reader):
    (folder / "images" / "scene_00002.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match=r"scene_00002\.png .*cannot be read"):
        read_coco(folder / "annotations.json") if reader == "coco" else read_yolo(folder)


@needs_fashion
@pytest.mark.parametrize("reader", ["coco", "yolo"])
def test_an_image_linked_from_outside_the_folder_is_refused(folder, tmp_path, reader):
    outside = tmp_path / "secret.png"
    shutil.copy(folder / "images" / "scene_00000.png", outside)
    (folder / "images" / "scene_00000.png").unlink()
    (folder / "images" / "scene_00000.png").symlink_to(outside)
    with pytest.raises(DataError, match=r"scene_00000\.png.*a link that leads outside"):
        read_coco(folder / "annotations.json") if reader == "coco" else read_yolo(folder)


def _label(folder: Path, index: int, text: str) -> None:
    (folder / "labels" / f"scene_{index:05d}.txt").write_text(text)


@needs_fashion
@pytest.mark.parametrize("text, message", [
    ("0 0.5 0.5 0.2\n", r"Line 1 of .*scene_00004\.txt is '0 0\.5 0\.5 0\.2'; .*5 numbers"),
    ("0 0.5 0.5 0.2 0.2 0.1\n", r"Line 1 of .*scene_00004\.txt.*5 numbers"),
    ("\n\n1 half 0.5 0.2 0.2\n", r"Line 3 of .*scene_00004\.txt.*5 numbers"),
    ("0 1.5 0.5 0.2 0.2\n", r"Line 1 of .*scene_00004\.txt has the value 1\.5 outside \[0, 1\]"),
    ("0 0.5 -0.1 0.2 0.2\n", r"Line 1 of .*scene_00004\.txt has the value -0\.1 outside \[0, 1\]"),
    ("0 0.5 0.5 0 0.2\n", r"Line 1 of .*scene_00004\.txt has a box of zero width"),
    ("10 0.5 0.5 0.2 0.2\n", r"Line 1 of .*scene_00004\.txt has the class 10, but a class is 0-9"),
    ("2.5 0.5 0.5 0.2 0.2\n", r"Line 1 of .*scene_00004\.txt has the class 2\.5"),
    ("0 1.0 1.0 0.4 0.4\n", r"Line 1 of .*scene_00004\.txt has the box 1\.0 1\.0 0\.4 0\.4, which reaches 12\.8 px "
                            r"outside its 64 x 64 image"),
])
def test_bad_yolo_lines_name_the_file_and_the_line(folder, text, message):
    _label(folder, 4, text)
    with pytest.raises(DataError, match=message):
        read_yolo(folder)


@needs_fashion
def test_yolo_boxes_a_little_outside_are_clipped_and_images_without_labels_are_empty(folder):
    _label(folder, 4, "3 0.98 0.5 0.1 0.2\n")  # 64 * (0.98 + 0.05) = 65.9: 1.9 px out
    (folder / "labels" / "scene_00005.txt").unlink()
    read = read_yolo(folder)
    assert read[4].boxes[0].tolist() == pytest.approx([59.52, 25.6, 64, 38.4], abs=1e-4) and len(read[4].boxes) == 1
    assert read.notes == ["1 box(es) reaching a little outside their image were clipped to it"]
    assert read[5].boxes.shape == (0, 4) and read[5].classes.shape == (0,)


@needs_fashion
def test_a_label_file_without_its_image_is_refused(folder):
    _label(folder, 77, "0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DataError, match=r"Label file .*scene_00077\.txt has no image images/scene_00077\.\*"):
        read_yolo(folder)


@needs_fashion
def test_two_yolo_images_of_one_name_are_refused(folder):
    shutil.copy(folder / "images" / "scene_00003.png", folder / "images" / "scene_00003.jpg")
    with pytest.raises(DataError, match=r"scene_00003\.jpg and .*scene_00003\.png share a name"):
        read_yolo(folder)


@needs_fashion
def test_a_yolo_label_file_that_is_not_utf8_is_refused(folder):
    (folder / "labels" / "scene_00001.txt").write_bytes(b"0 0.5 0.5 0.2 0.2 # \xff\n")
    with pytest.raises(DataError, match=r"scene_00001\.txt is not UTF-8 text"):
        read_yolo(folder)


@needs_fashion
def test_yolo_class_names_from_a_list_a_dict_classes_txt_or_numbers(folder):
    (folder / "data.yaml").write_text("names: [a, b, c, d, e, f, g, h, i, j]\n")
    assert read_yolo(folder).class_names == list("abcdefghij")
    (folder / "data.yaml").write_text("names:\n  0: shirt\n  2: shoe\n")
    with pytest.raises(DataError, match=r"data\.yaml have the ids \[0, 2\]"):
        read_yolo(folder)
    (folder / "data.yaml").write_text("names: [a, b\n")
    with pytest.raises(DataError, match=r"data\.yaml is not valid YAML"):
        read_yolo(folder)
    (folder / "data.yaml").unlink()
    assert read_yolo(folder).class_names[:2] == ["T-shirt/top", "Trouser"]  # classes.txt
    (folder / "classes.txt").unlink()
    numbered = read_yolo(folder)
    top = max((int(im.classes.max()) for im in numbered if im.classes.size), default=-1)
    assert numbered.class_names == [str(i) for i in range(top + 1)]


@needs_fashion
def test_yolo_split_sub_folders_pair_images_and_labels_by_their_path(folder):
    for sub in ("images", "labels"):
        for part in ("train", "val"):
            (folder / sub / part).mkdir()
        for file in sorted((folder / sub).glob("scene_*")):
            file.rename(folder / sub / ("train" if file.stem < "scene_00015" else "val") / file.name)
    nested, flat = read_yolo(folder), read_coco(folder / "annotations.json", images=folder / "images" / "train")
    assert [im.path.parent.name for im in nested] == ["train"] * 15 + ["val"] * 5
    assert all(np.allclose(a.boxes, b.boxes, atol=1e-4 * 64) for a, b in zip(nested, flat))
    assert len(flat) == 15 and "5 image(s)" in flat.notes[0]


@needs_fashion
def test_a_yolo_folder_needs_images_and_labels(folder):
    shutil.rmtree(folder / "labels")
    with pytest.raises(DataError, match=r"has no labels/ folder"):
        read_yolo(folder)


# --- masks --------------------------------------------------------------------------------------------------------
def test_a_palette_mask_is_read_as_its_indices_not_its_colours(tmp_path):
    mask = np.array([[0, 1, 2], [3, 0, 1]], dtype=np.uint8)
    write_mask(tmp_path / "m.png", mask)
    with Image.open(tmp_path / "m.png") as image:
        assert image.mode == "P" and image.getpalette()[:6] == mask_palette()[:6]
    assert np.array_equal(read_mask(tmp_path / "m.png", size=(3, 2), classes=4), mask)
    Image.fromarray(mask * 60).save(tmp_path / "grey.png")
    assert read_mask(tmp_path / "grey.png").tolist() == [[0, 60, 120], [180, 0, 60]]


@pytest.mark.parametrize("make, kwargs, message", [
    (lambda p: Image.new("RGB", (4, 3)).save(p), {}, r"m\.png has mode RGB \(colours\), but a mask must hold "
                                                     r"class indices"),
    (lambda p: write_mask(p, np.zeros((3, 5))), {"size": (4, 3)}, r"m\.png is 5 x 3 pixels .* its image is 4 x 3"),
    (lambda p: write_mask(p, np.full((3, 4), 7)), {"classes": ["background", "cat"]},
     r"m\.png holds the value 7 \(first at row 0, column 0\), but there are 2 classes: values must be 0-1"),
    (lambda p: p.write_bytes(b"GIF89a broken"), {}, r"Mask .*m\.png"),
])
def test_a_bad_mask_is_refused_by_name(tmp_path, make, kwargs, message):
    make(tmp_path / "m.png")
    with pytest.raises(DataError, match=message):
        read_mask(tmp_path / "m.png", **kwargs)


def test_an_ignored_value_is_allowed_in_a_mask(tmp_path):
    write_mask(tmp_path / "m.png", np.array([[0, 255], [1, 1]]))
    assert read_mask(tmp_path / "m.png", classes=2, ignore=255).tolist() == [[0, 255], [1, 1]]


def test_the_readers_refuse_a_folder_that_is_not_there(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_yolo(tmp_path / "nothing")
    with pytest.raises(DataError, match="does not exist"):
        read_coco(tmp_path / "nothing.json")
    assert annotations_module.FEW_PIXELS >= 1
