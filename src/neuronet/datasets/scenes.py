"""Built-in scenes for object detection and segmentation: real Fashion-MNIST garments pasted onto colour canvases.

No detection data set loads offline from a package, so scenes are composed here from real
parts, reproducibly from a seed: each scene is an RGB canvas, textured (smooth noise, stripes or
a gradient) or noisy, with 0-4 garments pasted at random scales and places, each tinted with a
random colour. A garment's pixels are those whose grey value is above `THRESHOLD` (its instance
mask); later garments cover earlier ones, but every garment keeps at least `MIN_VISIBLE` of its
pixels in sight. Boxes are the tight boxes of what is visible of each garment, in pixels with
continuous coordinates (x1 = last column + 1). Garments are held out by split: training scenes
use the first 50,000 official training images, validation scenes the last 10,000, and test
scenes the official test images, so held-out scenes show garments never seen in training.

`write_scenes` writes scenes in the layouts users' data comes in (COCO, YOLO, PNG masks), so the
same scenes test the readers in `neuronet.datasets.annotations`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from neuronet.atomic import atomic_dir
from neuronet.datasets.builtin import _FASHION_FILES, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, read_idx
from neuronet.datasets.masks import mask_to_rle, write_mask
from neuronet.datasets.userfiles import shown_path
from neuronet.errors import ConfigError, DataError

__all__ = ["LAYOUTS", "SPLITS", "Scenes", "make_scenes", "write_scenes"]

SPLITS = ("train", "val", "test")
LAYOUTS = ("coco", "yolo", "masks")
VAL_GARMENTS = 10_000  # the last official training images: validation's garments
THRESHOLD = 24  # grey values above this are garment (Fashion-MNIST's background is 0)
MIN_VISIBLE = 0.6  # every garment keeps this share of its pixels in sight
EMPTY_SHARE = 0.05  # scenes with no garment at all
SCALES = (20 / 96, 56 / 96)  # a garment's side, as a share of the canvas's
TRIES = 30  # placements drawn for a garment before it is left out
MIN_PIXELS = 12  # a garment smaller than this once scaled is drawn again


@dataclass
class Scenes:
    """Scenes with what is in them: `images[i]` shows `len(boxes[i])` garments.

    Attributes:
        images: (N, H, W, 3) uint8 RGB canvases.
        boxes: per scene, float32 (M, 4) tight boxes (x0, y0, x1, y1) of the visible pixels of each garment.
        classes: per scene, int64 (M,) Fashion-MNIST class ids 0-9, in the order the garments were pasted.
        instances: per scene, bool (M, H, W) visible pixels of each garment.
        semantic: (N, H, W) uint8 class per pixel: 0 background, 1 + class id for a garment.
        class_names: the 10 Fashion-MNIST class names (`mask_names` adds "background" first).
        visibility: per scene, float32 (M,) share of each garment's pixels in sight (at least `MIN_VISIBLE`).
    """

    images: np.ndarray
    boxes: list[np.ndarray]
    classes: list[np.ndarray]
    instances: list[np.ndarray]
    semantic: np.ndarray
    class_names: list[str]
    visibility: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def mask_names(self) -> list[str]:
        """The names of the semantic mask's values: "background", then the class names."""
        return ["background", *self.class_names]


@functools.lru_cache(maxsize=2)
def _garments(root: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's garments: (N, 28, 28) uint8 grey images and (N,) class ids."""
    part = "test" if split == "test" else "train"
    files = [Path(root) / name for name in _FASHION_FILES[part]]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise DataError(f"Fashion-MNIST files not found in {shown_path(root)} (missing {', '.join(missing)}); scenes are "
                        "made of its garments: install them with `sudo apt-get install dataset-fashion-mnist`, or "
                        "pass data_dir= a folder holding the original IDX .gz files.")
    images, labels = (read_idx(p) for p in files)
    if split == "train":
        return images[:-VAL_GARMENTS], labels[:-VAL_GARMENTS].astype(np.int64)
    if split == "val":
        return images[-VAL_GARMENTS:], labels[-VAL_GARMENTS:].astype(np.int64)
    return images, labels.astype(np.int64)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """An (H, W, 3) float32 canvas: smooth noise, stripes or a gradient (each lightly grainy), or plain noise."""
    kind = rng.integers(4)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size  # (H, W) each, in [0, 1)
    one, two = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    angle = rng.uniform(0, np.pi)
    along = xs * np.cos(angle) + ys * np.sin(angle)  # (H, W)
    if kind == 0:  # smooth noise: a few random colours, smoothly enlarged
        cells = int(rng.integers(2, 8))
        low = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
        canvas = np.asarray(Image.fromarray(low).resize((size, size), Image.BICUBIC), dtype=np.float32)
    elif kind in (1, 2):  # stripes, or a gradient: two colours mixed along a random direction
        if kind == 1:
            mix = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 10) * along + rng.uniform(0, 2 * np.pi))
        else:
            mix = (along - along.min()) / max(float(along.max() - along.min()), 1e-6)
        canvas = one * mix[..., None] + two * (1 - mix[..., None])
    else:  # noisy: a colour under strong grain
        grain = rng.standard_normal((size, size, 3), dtype=np.float32) * np.float32(rng.uniform(15, 60))
        return np.clip(one + grain, 0, 255)
    grain = rng.standard_normal((size, size, 3), dtype=np.float32) * np.float32(4)
    return np.clip(canvas.astype(np.float32) + grain, 0, 255)


def _garment(rng: np.random.Generator, grey: np.ndarray, scales: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One garment scaled to a random side, cropped to its pixels: (h, w) grey values and (h, w) mask."""
    side = int(rng.integers(scales[0], scales[1] + 1))
    scaled = np.asarray(Image.fromarray(grey).resize((side, side), Image.BILINEAR))
    mask = scaled > THRESHOLD
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return scaled[:0, :0], mask[:0, :0]
    crop = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return scaled[crop], mask[crop]


def _place(rng: np.random.Generator, patch: np.ndarray, visible: list[np.ndarray], sizes: list[int],
           size: int) -> tuple[int, int] | None:
    """A top-left corner (y, x) where `patch` leaves every earlier garment `MIN_VISIBLE` of its pixels, or None."""
    h, w = patch.shape
    for _ in range(TRIES):
        y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        if all((seen[y:y + h, x:x + w] & patch).sum() <= seen.sum() - MIN_VISIBLE * total
               for seen, total in zip(visible, sizes)):
            return y, x
    return None


def _scene(rng: np.random.Generator, pool: tuple[np.ndarray, np.ndarray], size: int, count: int,
           scales: tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray], list[int], list[int]]:
    """One canvas (H, W, 3) uint8 with up to `count` garments: their visible masks, class ids and whole sizes."""
    canvas = _background(rng, size)
    visible: list[np.ndarray] = []
    sizes: list[int] = []
    classes: list[int] = []
    for _ in range(count):
        index = int(rng.integers(len(pool[0])))
        grey, patch = _garment(rng, pool[0][index], scales)
        if patch.sum() < MIN_PIXELS:
            continue
        corner = _place(rng, patch, visible, sizes, size)
        if corner is None:
            continue
        y, x = corner
        h, w = patch.shape
        colour = rng.uniform(30, 255, 3).astype(np.float32)
        shade = 0.3 + 0.7 * grey[patch].astype(np.float32)[:, None] / 255.0  # the garment's own texture, tinted
        canvas[y:y + h, x:x + w][patch] = colour * shade
        full = np.zeros((size, size), dtype=bool)
        full[y:y + h, x:x + w] = patch
        for seen in visible:
            seen &= ~full
        visible.append(full)
        sizes.append(int(patch.sum()))
        classes.append(int(pool[1][index]))
    return np.clip(canvas.round(), 0, 255).astype(np.uint8), visible, classes, sizes


def _tight_box(mask: np.ndarray) -> list[float]:
    """The tight box (x0, y0, x1, y1) of a mask's pixels, continuous coordinates (x1 = last column + 1)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def _check_args(count: int, seed: int, size: int, items: Sequence[int], split: str) -> None:
    for name, value, low in (("count", count, 0), ("seed", seed, 0), ("size", size, 32)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ConfigError(f"The '{name}' parameter of make_scenes must be a whole number >= {low}. Got {value!r} "
                              "instead.")
    if not (isinstance(items, (tuple, list)) and len(items) == 2 and
            all(isinstance(v, int) and not isinstance(v, bool) for v in items) and 0 <= items[0] <= items[1] <= 10):
        raise ConfigError(f"The 'items' parameter of make_scenes must be (fewest, most) garments a scene, with "
                          f"0 <= fewest <= most <= 10, e.g. (1, 4). Got {items!r} instead.")
    if split not in SPLITS:
        raise ConfigError(f"The 'split' parameter of make_scenes must be one of {', '.join(SPLITS)}. Got {split!r} "
                          "instead.")


def make_scenes(count: int, seed: int = 0, size: int = 96, items: Sequence[int] = (1, 4), split: str = "train",
                data_dir: str | os.PathLike | None = None) -> Scenes:
    """`count` scenes of real Fashion-MNIST garments on colour canvases, the same for the same seed.

    About `EMPTY_SHARE` of the scenes hold no garment (detection must allow empty images); the
    others draw `items[0]` to `items[1]` garments, fewer where one cannot be placed so that every
    garment keeps `MIN_VISIBLE` of its pixels in sight. The global random state is not used.

    Args:
        count: How many scenes.
        seed: Seed of everything drawn: canvases, garments, scales, places and colours.
        size: Side of the square canvas in pixels; garments are about 21%-58% of it (20-56 px at 96).
        items: (fewest, most) garments in a scene that is not empty.
        split: "train", "val" or "test": which garments are used (see the module's docstring).
        data_dir: Folder with Fashion-MNIST's IDX .gz files (default: $NEURONET_FASHION_MNIST, or where Debian's
            `dataset-fashion-mnist` puts them).

    Returns:
        The scenes, their boxes, classes, instance masks and semantic masks.

    Raises:
        ConfigError: a parameter out of range.
        DataError: the Fashion-MNIST files are not there (the message says how to install them).

    Example:
        >>> scenes = make_scenes(4, seed=0, size=64)  # doctest: +SKIP
        >>> scenes.images.shape, scenes.boxes[0].dtype  # doctest: +SKIP
        ((4, 64, 64, 3), dtype('float32'))
    """
    _check_args(count, seed, size, items, split)
    root = str(data_dir or os.environ.get("NEURONET_FASHION_MNIST", FASHION_MNIST_DIR))
    pool = _garments(root, split)
    rng = np.random.default_rng([int(seed), SPLITS.index(split)])  # each split its own stream
    scales = (max(4, round(SCALES[0] * size)), round(SCALES[1] * size))
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    semantic = np.zeros((count, size, size), dtype=np.uint8)
    boxes, classes, instances, visibility = [], [], [], []
    for i in range(count):
        wanted = 0 if rng.random() < EMPTY_SHARE else int(rng.integers(items[0], items[1] + 1))
        images[i], visible, ids, whole = _scene(rng, pool, size, wanted, scales)
        for mask, class_id in zip(visible, ids):
            semantic[i][mask] = 1 + class_id
        boxes.append(np.array([_tight_box(m) for m in visible], dtype=np.float32).reshape(-1, 4))
        classes.append(np.array(ids, dtype=np.int64))
        instances.append(np.array(visible, dtype=bool).reshape(-1, size, size))
        visibility.append(np.array([m.sum() / n for m, n in zip(visible, whole)], dtype=np.float32))
    return Scenes(images, boxes, classes, instances, semantic, list(FASHION_MNIST_CLASSES), visibility)


def _coco(scenes: Scenes, names: list[str]) -> dict:
    """The scenes' COCO annotations: 1-based image, annotation and category ids, uncompressed RLE masks."""
    height, width = scenes.images.shape[1:3]
    images, annotations = [], []
    for i, name in enumerate(names):
        images.append({"id": i + 1, "file_name": name, "width": int(width), "height": int(height)})
        for box, class_id, mask in zip(scenes.boxes[i], scenes.classes[i], scenes.instances[i]):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(class_id) + 1,
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": int(mask.sum()), "iscrowd": 0,
                                "segmentation": mask_to_rle(mask)})
    categories = [{"id": c + 1, "name": n, "supercategory": "garment"} for c, n in enumerate(scenes.class_names)]
    info = {"description": "neuronet scenes: Fashion-MNIST garments on colour canvases", "version": "1"}
    return {"info": info, "images": images, "annotations": annotations, "categories": categories}


def _yolo_lines(boxes: np.ndarray, classes: np.ndarray, width: int, height: int) -> str:
    """YOLO label lines `class cx cy w h`, coordinates normalised to [0, 1]; empty for no box."""
    lines = []
    for (x0, y0, x1, y1), class_id in zip(boxes.tolist(), classes.tolist()):
        lines.append(f"{class_id} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                     f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}\n")
    return "".join(lines)


def write_scenes(folder: str | Path, scenes: Scenes, layouts: Sequence[str] = LAYOUTS, replace: bool = False) -> Path:
    """Write scenes to a new folder in the layouts detection and segmentation data come in.

    - always `images/scene_00000.png`, ...;
    - "coco": `annotations.json` (images, annotations with xywh boxes and uncompressed RLE masks, categories
      with ids from 1);
    - "yolo": `labels/scene_00000.txt` (`class cx cy w h`, normalised, classes from 0; an empty file for an
      empty scene), `data.yaml` (`names:` as Ultralytics writes it) and `classes.txt`;
    - "masks": `masks/scene_00000.png`, 8-bit palette PNGs of class indices (0 = background), and
      `masks/classes.txt` naming them, background first.

    The folder is filled beside its place and renamed into it when whole, so nothing is half-written.

    Args:
        folder: The folder to create.
        scenes: What `make_scenes` returns.
        layouts: Which of "coco", "yolo" and "masks" to write.
        replace: Replace an existing folder (without it, an existing folder is refused).

    Returns:
        `folder`.

    Raises:
        ConfigError: an unknown layout.
        DataError: the folder exists and `replace` is False.
    """
    unknown = [layout for layout in layouts if layout not in LAYOUTS]
    if unknown or isinstance(layouts, str):
        raise ConfigError(f"The 'layouts' parameter of write_scenes must be a list of {', '.join(LAYOUTS)}. Got "
                          f"{layouts!r} instead.")
    folder = Path(folder)
    if folder.exists() and not replace:
        raise DataError(f"{shown_path(folder)} already exists; choose a new folder, or pass replace=True to replace it.")
    height, width = scenes.images.shape[1:3]
    names = [f"scene_{i:05d}.png" for i in range(len(scenes))]
    with atomic_dir(folder, replace=replace) as staging:
        for sub in ("images", "labels" if "yolo" in layouts else None, "masks" if "masks" in layouts else None):
            if sub is not None:
                (staging / sub).mkdir()
        for i, name in enumerate(names):
            Image.fromarray(scenes.images[i]).save(staging / "images" / name, format="PNG", compress_level=1)
            if "yolo" in layouts:
                text = _yolo_lines(scenes.boxes[i], scenes.classes[i], width, height)
                (staging / "labels" / f"{Path(name).stem}.txt").write_text(text, encoding="utf-8")
            if "masks" in layouts:
                write_mask(staging / "masks" / name, scenes.semantic[i])
        if "masks" in layouts:
            (staging / "masks" / "classes.txt").write_text("".join(f"{n}\n" for n in scenes.mask_names), encoding="utf-8")
        if "coco" in layouts:
            (staging / "annotations.json").write_text(json.dumps(_coco(scenes, names)), encoding="utf-8")
        if "yolo" in layouts:
            import yaml

            spec = {"train": "images", "val": "images", "nc": len(scenes.class_names),
                    "names": dict(enumerate(scenes.class_names))}
            (staging / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
                                               encoding="utf-8")
            (staging / "classes.txt").write_text("".join(f"{n}\n" for n in scenes.class_names), encoding="utf-8")
    return folder
