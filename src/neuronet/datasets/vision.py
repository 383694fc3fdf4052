"""Images with boxes (detection) or class masks (segmentation) as Datasets, from folders and the built-in scenes.

A folder holds its images and what is on them in the layouts users have:

- detection: COCO (`annotations.json` beside `images/`, or any COCO .json given as the source)
  or YOLO (`images/` and `labels/`), read by `neuronet.datasets.annotations`;
- segmentation: `images/` and `masks/` side by side, `masks/NAME.png` holding the class index of
  each pixel of `images/NAME.*` (grey or palette PNG), class names in `classes.txt` (background
  first) or `data.yaml`.

Every image is read as RGB and resized to one size (`size`, default: the images' own when they
all share one), its boxes scaled with it and its mask resized by nearest neighbour; predictions
are mapped back to each image's own pixels (`Dataset.sizes`). Detection targets are (N, M, 5)
rows of (class, x0, y0, x1, y1), padded with class -1; segmentation targets (N, H, W) int64.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from neuronet.datasets.annotations import Annotations, read_coco, read_yolo
from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.images import IMAGE_SUFFIXES, images_to_tensor, open_image
from neuronet.datasets.masks import read_mask
from neuronet.datasets.userfiles import inside, is_folder, shown_path
from neuronet.errors import ConfigError, DataError

__all__ = ["boxes_tensor", "fashion_scenes", "is_annotated", "load_annotated", "load_detection", "load_segmentation"]

HELD_OUT = 500  # validation and test scenes of the built-in sets


def boxes_tensor(boxes: list[np.ndarray], classes: list[np.ndarray]) -> torch.Tensor:
    """Per-image boxes (M_i, 4) and classes (M_i,) as one (N, max M_i, 5) tensor of (class, x0, y0, x1, y1), padded
    with class -1 (at least one row, so that a set of empty images still has a shape).

    Example:
        >>> boxes_tensor([np.array([[1, 2, 3, 4]]), np.zeros((0, 4))], [np.array([5]), np.zeros(0)]).tolist()
        [[[5.0, 1.0, 2.0, 3.0, 4.0]], [[-1.0, 0.0, 0.0, 0.0, 0.0]]]
    """
    most = max([len(b) for b in boxes] + [1])
    y = torch.zeros(len(boxes), most, 5)
    y[:, :, 0] = -1
    for i, (b, c) in enumerate(zip(boxes, classes)):
        if len(b):
            y[i, : len(b), 0] = torch.as_tensor(np.asarray(c), dtype=torch.float32)
            y[i, : len(b), 1:] = torch.as_tensor(np.asarray(b), dtype=torch.float32)
    return y


def _size(sizes: list[tuple[int, int]], size: Any, root: Path) -> list[int]:
    """[height, width] to resize to: `size` when given (checked), else the images' one size."""
    if size is not None:
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and
                all(isinstance(v, int) and not isinstance(v, bool) and 16 <= v <= 4096 for v in size)):
            raise ConfigError(f"The image size (data.options.size) must be [height, width] in pixels, each 16-4096, "
                              f"e.g. [128, 128]. Got {size!r} instead.")
        return list(size)
    counts = Counter(sizes)
    if len(counts) > 1:
        (w, h), _ = counts.most_common(1)[0]
        raise DataError(f"The images in {shown_path(root)} have {len(counts)} different sizes; set data.options.size, "
                        f"e.g. [{h}, {w}] (height, width): every image is resized to it, its boxes or mask with it.")
    (w, h), = counts
    return [h, w]


def load_detection(source: str | Path, size: list[int] | None = None, format: str | None = None) -> Dataset:
    """Images and their boxes from a COCO file or a folder in COCO or YOLO layout.

    Args:
        source: A COCO .json file, or a folder holding `annotations.json` (COCO) or `labels/` (YOLO).
        size: [height, width] every image is resized to (its boxes scaled with it); default: the images' own.
        format: "coco" or "yolo" where a folder holds both (default: COCO).

    Raises:
        DataError: no annotations found, or any problem the readers name (a box with x1 < x0, a label file
            for a missing image, a class outside the categories, a corrupt file...).
    """
    found = _annotations(Path(source), format)
    root = Path(source) if is_folder(source) else Path(source).parent
    if not found.images:
        raise DataError(f"{shown_path(source)} lists no images; a detection set needs images with their boxes.")
    if not any(len(item.boxes) for item in found.images):
        raise DataError(f"{shown_path(source)} holds {len(found.images)} images but no box in any of them; a detector "
                        "learns from boxes (YOLO: labels/NAME.txt with `class cx cy w h` lines; COCO: annotations).")
    _check_names(found.class_names, source)
    pictures = [open_image(item.path) for item in found.images]
    height, width = _size([p.size for p in pictures], size, root)
    boxes = [item.boxes * np.array([width / item.width, height / item.height] * 2, dtype=np.float32)
             for item in found.images]
    x = images_to_tensor(pictures, [height, width], "RGB")
    ids = [str(item.path.relative_to(root)) if item.path.is_relative_to(root) else item.path.name for item in found.images]
    notes = list(found.notes)
    if any(p.size != (width, height) for p in pictures):
        notes.append(f"images resized to {width} x {height} (width x height), boxes with them")
    return Dataset(x, boxes_tensor(boxes, [item.classes for item in found.images]), "detection", root.name,
                   class_names=list(found.class_names), inputs={"kind": "image", "size": [height, width], "mode": "RGB"},
                   notes=notes, ids=ids, sizes=[p.size for p in pictures])


def _annotations(source: Path, format: str | None) -> Annotations:
    if format not in (None, "coco", "yolo"):
        raise ConfigError(f"data.options.format must be 'coco' or 'yolo'. Got {format!r} instead.")
    if not is_folder(source):
        return read_coco(source)
    coco = sorted(source.glob("*.json"))
    if format != "yolo" and coco:
        named = [p for p in coco if p.name == "annotations.json"]
        if len(coco) > 1 and not named:
            raise DataError(f"{shown_path(source)} holds {len(coco)} .json files; give the COCO annotation file itself "
                            f"as data.source (e.g. {shown_path(coco[0])}).")
        return read_coco((named or coco)[0])
    if is_folder(source / "labels") or format == "yolo":
        return read_yolo(source)
    raise DataError(f"{shown_path(source)} holds no boxes: a detection folder has a COCO annotations.json, or images/ "
                    "and labels/ (YOLO).")


def _check_names(names: list[str], source: Any) -> None:
    """Class names must be there, and each once (predictions and `evaluate --data` match classes by name)."""
    if not names:
        raise DataError(f"{shown_path(source)} names no class; name them (YOLO: data.yaml `names:` or classes.txt; "
                        "COCO: categories).")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"{shown_path(source)} names the class {twice[0]!r} more than once; give each class one name.")


def _mask_names(root: Path, count: int, notes: list[str]) -> list[str]:
    """Class names of a masks folder, background first: masks/classes.txt (one a line), else the folder's own names
    (classes.txt, data.yaml), with "background" put first when they name the objects only (as YOLO's do), else
    numbers."""
    from neuronet.datasets.annotations import yolo_names

    own = root / "masks" / "classes.txt"
    names = [line.strip() for line in own.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if own.is_file() else yolo_names(root)
    if names is None:
        notes.append(f"classes named by number (0-{count - 1}): name them in masks/classes.txt, background first")
        return [str(i) for i in range(count)]
    if not own.is_file() and names and names[0].lower() not in ("background", "_background_", "bg"):
        names = ["background", *names]  # the objects' names: class 0 of a mask is the background
    if len(names) < count:
        raise DataError(f"The masks in {shown_path(root / 'masks')} use class {count - 1}, but {shown_path(root)} names "
                        f"{len(names)} classes; name every class in masks/classes.txt, background first.")
    return names


def load_segmentation(source: str | Path, size: list[int] | None = None) -> Dataset:
    """Images and their class masks from a folder with `images/` and `masks/` (same file names, masks as PNG).

    Args:
        source: The folder.
        size: [height, width] every image and mask is resized to; default: the images' own.

    Raises:
        DataError: no images/ or masks/, an image without its mask or a mask without its image, a mask of
            another size than its image, a colour (RGB) mask, values beyond the named classes; each names the file.
    """
    root = Path(source)
    for part in ("images", "masks"):
        if not is_folder(root / part):
            raise DataError(f"{shown_path(root)} has no {part}/ folder; a segmentation set holds images/ and masks/ "
                            "side by side, masks/NAME.png giving the class of each pixel of images/NAME.")
    images = {p.stem: p for p in sorted((root / "images").iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    masks = {p.stem: p for p in sorted((root / "masks").iterdir()) if p.suffix.lower() == ".png"}
    for path in [*images.values(), *masks.values()]:  # a link leading outside the folder is refused
        inside(root, str(path.relative_to(root)), f"The link {shown_path(path)}", "file")
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise DataError(f"Mask {shown_path(masks[orphans[0]])} has no image in {shown_path(root / 'images')} (same "
                        "name, any image ending); add it or remove the mask.")
    missing = sorted(set(images) - set(masks))
    if missing:
        raise DataError(f"Image {shown_path(images[missing[0]])} has no mask in {shown_path(root / 'masks')} "
                        f"({missing[0]}.png); add one or remove the image.")
    if not images:
        raise DataError(f"{shown_path(root / 'images')} holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    pictures = [open_image(p) for p in images.values()]
    arrays = [read_mask(masks[stem], size=picture.size, ignore=None) for stem, picture in zip(images, pictures)]
    notes: list[str] = []
    names = _mask_names(root, int(max(int(a.max()) for a in arrays)) + 1, notes)
    too_high = next(((stem, int(a.max())) for stem, a in zip(images, arrays) if a.max() >= len(names)), None)
    if too_high:
        raise DataError(f"Mask {shown_path(masks[too_high[0]])} holds class {too_high[1]}, beyond the {len(names)} named "
                        "classes.")
    _check_names(names, root)
    height, width = _size([p.size for p in pictures], size, root)
    y = torch.from_numpy(np.stack([np.asarray(Image.fromarray(a).resize((width, height), Image.NEAREST)) for a in arrays]))
    return Dataset(images_to_tensor(pictures, [height, width], "RGB"), y.long(), "segmentation", root.name,
                   class_names=names, inputs={"kind": "image", "size": [height, width], "mode": "RGB"}, notes=notes,
                   ids=[str(p.relative_to(root)) for p in images.values()], sizes=[p.size for p in pictures])


def is_annotated(source: str) -> bool:
    """Whether `source` is images with boxes or masks: a .json file, or a folder with annotations.json / another
    .json, labels/ or masks/ beside images/."""
    path = Path(source)
    if path.suffix.lower() == ".json":
        return True
    if not is_folder(path):
        return False
    try:
        return any(path.glob("*.json")) or (is_folder(path / "images") and (
            is_folder(path / "labels") or is_folder(path / "masks") or (path / "data.yaml").is_file()))
    except OSError:
        return False


def load_annotated(source: str, task: str | None = None, size: list[int] | None = None,
                   format: str | None = None) -> Dataset:
    """Detection or segmentation data from `source`: segmentation when `task` says so or the folder has masks only."""
    path = Path(source)
    boxes = path.suffix.lower() == ".json" or (is_folder(path) and (any(path.glob("*.json")) or is_folder(path / "labels")
                                                                     or not is_folder(path / "masks")))
    if task == "segmentation" or (task is None and not boxes):
        if format is not None:
            raise ConfigError("data.options.format chooses between COCO and YOLO boxes; a segmentation set has masks. "
                              "Remove it.")
        return load_segmentation(source, size)
    if task not in (None, "detection"):
        raise ConfigError(f"{shown_path(source)} holds images with boxes or masks: set task: detection or "
                          f"segmentation, not {task}.")
    return load_detection(source, size, format)


def _scene_sets(kind: str, scenes: int, size: int, seed: int, data_dir: Any, limit: int | None,
                held_out: int = HELD_OUT) -> Dataset:
    from neuronet.datasets.scenes import make_scenes

    parts = {}
    if not isinstance(held_out, int) or isinstance(held_out, bool) or held_out < 1:
        raise ConfigError(f"data.options.held_out is the number of validation and of test scenes, a whole number from "
                          f"1 (the benchmark's: {HELD_OUT}); got {held_out!r}.")
    for split, count in (("train", scenes if limit is None else min(limit, scenes)), ("val", held_out),
                         ("test", held_out)):
        made = make_scenes(count, seed=seed, size=size, split=split, data_dir=data_dir)
        x = torch.from_numpy(made.images).permute(0, 3, 1, 2).float().div(255).contiguous()
        inputs = {"kind": "image", "size": [size, size], "mode": "RGB"}
        if kind == "detection":
            parts[split] = Dataset(x, boxes_tensor(made.boxes, made.classes), "detection", "fashion_scenes",
                                   class_names=made.class_names, inputs=inputs)
        else:
            parts[split] = Dataset(x, torch.from_numpy(made.semantic).long(), "segmentation", "fashion_scene_masks",
                                   class_names=made.mask_names, inputs=inputs)
    train = parts["train"]
    train.official_val, train.official_test = parts["val"], parts["test"]
    train.notes = [f"{len(train):,} scenes of 0-4 real Fashion-MNIST garments on {size} x {size} canvases (seed {seed}); "
                   f"{held_out} validation and {held_out} test scenes of garments never seen in training"]
    return train


@DATASETS.register("fashion_scenes", "Scenes of 0-4 real Fashion-MNIST garments on colour canvases, with their boxes "
                                     "(object detection); held-out scenes show garments never seen in training.")
def fashion_scenes(data_dir: str | None = None, scenes: int = 4000, size: int = 96, seed: int = 0,
                   limit: int | None = None, held_out: int = HELD_OUT) -> Dataset:
    """Detection scenes made from a seed (`neuronet.datasets.scenes`): 10 classes, boxes in pixels; `held_out`
    validation and as many test scenes (500, the benchmark's; fewer for a quick try)."""
    return _scene_sets("detection", scenes, size, seed, data_dir, limit, held_out)


@DATASETS.register("fashion_scene_masks", "The same scenes with a class for every pixel (segmentation: background + 10 "
                                          "garment classes).")
def fashion_scene_masks(data_dir: str | None = None, scenes: int = 4000, size: int = 96, seed: int = 0,
                        limit: int | None = None, held_out: int = HELD_OUT) -> Dataset:
    """Segmentation scenes made from a seed: 11 classes (background first), a mask per scene; `held_out` validation
    and as many test scenes."""
    return _scene_sets("segmentation", scenes, size, seed, data_dir, limit, held_out)
