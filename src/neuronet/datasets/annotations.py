"""Boxes drawn on images, in the layouts they come in (COCO, YOLO), read into one representation.

- COCO: one JSON file with `images` (id, file_name, width, height), `annotations` (id, image_id,
  category_id, bbox [x, y, width, height] in pixels, iscrowd) and `categories` (id, name).
- YOLO: `images/` and `labels/` side by side, `labels/NAME.txt` holding one `class cx cy w h` line
  per box (coordinates normalised to [0, 1], classes from 0) for `images/NAME.png`; class names
  from `data.yaml` (`names:`, a list or {id: name}) or `classes.txt`.

Both give `Annotations`: per image its path, size, boxes (x0, y0, x1, y1) in pixels as float32 and
classes from 0 as int64. A box that reaches a little outside its image (a few pixels, or less
than half of it) is clipped and counted in `notes`; anything else wrong is a DataError of one
sentence naming the file and the row or annotation. Only files inside the folder are read: a
path leading outside it (`..`, an absolute path, a link) is refused.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from neuronet.datasets.images import IMAGE_SUFFIXES
from neuronet.datasets.userfiles import check_file, check_folder, inside, is_folder, shown_path
from neuronet.errors import DataError

__all__ = ["Annotations", "ImageBoxes", "read_coco", "read_yolo", "yolo_names"]

FEW_PIXELS = 3.0  # a box reaching this far outside its image is clipped, whatever its size
MAX_FILES = 1_000_000  # a folder is not walked without end


@dataclass
class ImageBoxes:
    """One image and the boxes on it: `boxes` float32 (M, 4) as (x0, y0, x1, y1) in pixels, `classes` int64 (M,)
    from 0; M may be 0 (an image with nothing to find)."""

    path: Path
    width: int
    height: int
    boxes: np.ndarray
    classes: np.ndarray


@dataclass
class Annotations:
    """Images with their boxes, whatever layout they were read from; `notes` say what was changed or left out."""

    images: list[ImageBoxes]
    class_names: list[str]
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> ImageBoxes:
        return self.images[index]


class _Clipped:
    """Counts the boxes clipped to their image, for a note."""

    def __init__(self) -> None:
        self.count = 0

    def note(self) -> list[str]:
        return [f"{self.count} box(es) reaching a little outside their image were clipped to it"] if self.count else []


def _box(x0: float, y0: float, x1: float, y1: float, width: int, height: int, where: str, clipped: _Clipped,
         shown: str) -> list[float]:
    """(x0, y0, x1, y1) inside the image: clipped when a little outside, refused when far outside."""
    slack = 1e-3 + 1e-5 * max(width, height)  # rounding of normalised coordinates, not an error
    out = max(-x0, -y0, x1 - width, y1 - height)
    box = [min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width), min(max(y1, 0.0), height)]
    if out <= slack:
        return box
    area, kept = (x1 - x0) * (y1 - y0), max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    if kept > 0 and (out <= FEW_PIXELS or kept >= 0.5 * area):
        clipped.count += 1
        return box
    raise DataError(f"{where} has the box {shown}, which reaches {out:.4g} px outside its {width} x {height} image; a "
                    f"box must lie inside its image (up to {FEW_PIXELS:g} px or half of the box outside is clipped).")


def _image_size(path: Path, where: str) -> tuple[int, int]:
    """(width, height) of an image from its header (the pixels are not decoded)."""
    check_file(path, "Image", "an image file")
    try:
        with Image.open(path) as image:
            return image.size
    except UnidentifiedImageError:
        raise DataError(f"Image {shown_path(path)} ({where}) cannot be read: it is not an image Pillow recognises; give "
                        "a PNG / JPEG image, or remove it and its boxes.") from None
    except Exception as err:  # noqa: BLE001 - decoders raise OSError, SyntaxError, ValueError... for damaged files
        raise DataError(f"Image {shown_path(path)} ({where}) cannot be read: it is damaged "
                        f"({str(err)[:80] or type(err).__name__}); replace it, or remove it and its boxes.") from None


def _text(path: Path, what: str) -> str:
    """A checked file's text, which must be UTF-8."""
    raw = check_file(path, what, "a UTF-8 text file").read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{what} {shown_path(path)} is not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line}); "
                        "save it as UTF-8.") from None


# --- COCO -------------------------------------------------------------------------------------------------------
def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coco_json(path: Path) -> dict:
    text = _text(path, "COCO annotation file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"COCO annotation file {shown_path(path)} is not valid JSON ({err.msg} at line {err.lineno}, "
                        f"column {err.colno}); give the annotations .json file as written.") from None
    except RecursionError:
        raise DataError(f"COCO annotation file {shown_path(path)} nests lists or objects too deeply to be COCO's "
                        "layout; give the annotations .json file as written.") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or \
            not isinstance(data.get("categories"), list) or not isinstance(data.get("annotations", []), list):
        raise DataError(f"COCO annotation file {shown_path(path)} is not COCO's layout: it needs an object with "
                        "'images', 'annotations' and 'categories' lists.")
    return data


def _categories(data: dict, path: Path) -> dict[int, int]:
    """Category id -> class index from 0, in the order of the ids."""
    ids = []
    for number, category in enumerate(data["categories"]):
        if not isinstance(category, dict) or not _whole(category.get("id")) or not isinstance(category.get("name"), str):
            raise DataError(f"Category {number} of {shown_path(path)} is {str(category)[:60]}; a COCO category is "
                            "{\"id\": whole number, \"name\": text}.")
        ids.append(category["id"])
    if len(set(ids)) != len(ids):
        raise DataError(f"{shown_path(path)} gives two categories the id {next(i for i in ids if ids.count(i) > 1)}; "
                        "category ids must differ.")
    return {category_id: index for index, category_id in enumerate(sorted(ids))}


def read_coco(json_path: str | Path, images: str | Path | None = None) -> Annotations:
    """Boxes of a COCO annotation file.

    Crowd annotations (`iscrowd` 1) mark regions to ignore and images missing from the folder cannot be
    trained on: both are left out and counted in `notes`. Classes are the categories in the order of
    their ids, numbered from 0.

    Args:
        json_path: The annotation file (e.g. `annotations.json`, `instances_train2017.json`).
        images: The folder that `file_name`s are relative to (default: `images/` beside the file when it exists,
            else the file's folder).

    Returns:
        The images, in the file's order, with their boxes.

    Raises:
        DataError: not UTF-8 JSON in COCO's layout; an image id given twice; an annotation whose image or category
            is unknown, without a bbox of 4 numbers, with a width or height <= 0, or far outside its image; an image
            path outside the folder, an unreadable image, or one whose size differs from the file's.

    Example:
        >>> data = read_coco("scenes/annotations.json")  # doctest: +SKIP
        >>> data[0].boxes.shape, data.class_names[:2]  # doctest: +SKIP
        ((3, 4), ['T-shirt/top', 'Trouser'])
    """
    path = Path(json_path)
    data = _coco_json(path)
    category_index = _categories(data, path)
    names = {c["id"]: c["name"] for c in data["categories"]}
    beside = path.parent / "images"
    root = Path(images) if images is not None else beside if is_folder(beside) else path.parent
    check_folder(root, "Image folder", f"the images of {shown_path(path)}")
    found, missing = _coco_images(data, path, root, fallback=images is None and root != path.parent)
    if not found:
        raise DataError(f"None of the {len(data['images'])} images of {shown_path(path)} is in {shown_path(root)}; "
                        "give the folder holding them (images=).")
    crowd, clipped = 0, _Clipped()
    for number, note in enumerate(data.get("annotations", [])):
        where = f"Annotation {note.get('id', f'#{number}') if isinstance(note, dict) else f'#{number}'} of " \
                f"{shown_path(path)}"
        if not isinstance(note, dict):
            raise DataError(f"{where} is {str(note)[:60]}; a COCO annotation is an object with image_id, category_id "
                            "and bbox.")
        image_id, category_id = note.get("image_id"), note.get("category_id")
        if image_id in missing:
            continue
        if image_id not in found:
            raise DataError(f"{where} is for image id {image_id!r}, which is not in its 'images'; give the id of one "
                            "of them.")
        if category_id not in category_index:
            raise DataError(f"{where} has category_id {category_id!r}, which is not one of its categories "
                            f"({', '.join(f'{k}: {names[k]}' for k in sorted(names)[:12])}).")
        if note.get("iscrowd", 0):
            crowd += 1
            continue
        image = found[image_id]
        image.boxes.append(_coco_box(note.get("bbox"), image.width, image.height, where, clipped))
        image.classes.append(category_index[category_id])
    notes = clipped.note()
    notes += [f"{crowd} crowd annotation(s) (iscrowd 1, regions to ignore) were left out"] if crowd else []
    if missing:
        notes.append(f"{len(missing)} image(s) of {path.name} are not in {shown_path(root)} and were left out with "
                     f"their boxes (e.g. image id {min(missing)})")
    return Annotations([_arrays(image) for image in found.values()], [names[k] for k in sorted(names)], notes)


def _coco_images(data: dict, path: Path, root: Path, fallback: bool) -> tuple[dict[int, ImageBoxes], set[int]]:
    """The images of a COCO file found under `root` (or, with `fallback`, beside the file), by id, with their sizes
    checked; and the ids of those not found."""
    found: dict[int, ImageBoxes] = {}
    missing: set[int] = set()
    for number, entry in enumerate(data["images"]):
        if not isinstance(entry, dict) or not _whole(entry.get("id")) or not isinstance(entry.get("file_name"), str):
            raise DataError(f"Image entry {number} of {shown_path(path)} is {str(entry)[:60]}; a COCO image is "
                            "{\"id\": whole number, \"file_name\": text, \"width\", \"height\"}.")
        image_id = entry["id"]
        if image_id in found or image_id in missing:
            raise DataError(f"{shown_path(path)} gives two images the id {image_id}; image ids must differ.")
        where = f"Image id {image_id} of {shown_path(path)}"
        file = inside(root, entry["file_name"], where, "image")
        if not file.exists() and fallback:  # a file_name relative to the annotation file's folder
            file = inside(path.parent, entry["file_name"], where, "image")
        if not file.exists():
            missing.add(image_id)
            continue
        width, height = _image_size(file, f"image id {image_id} of {shown_path(path)}")
        given = (entry.get("width", width), entry.get("height", height))
        if given != (width, height):
            raise DataError(f"{where} is said to be {given[0]} x {given[1]} pixels, but {shown_path(file)} is {width} x "
                            f"{height}; correct its width and height.")
        found[image_id] = ImageBoxes(file, width, height, [], [])
    return found, missing


def _coco_box(bbox: object, width: int, height: int, where: str, clipped: _Clipped) -> list[float]:
    """A COCO bbox [x, y, width, height] as (x0, y0, x1, y1) inside its image."""
    if not (isinstance(bbox, list) and len(bbox) == 4 and
            all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)):
        raise DataError(f"{where} has bbox {str(bbox)[:60]}; a COCO bbox is [x, y, width, height], 4 numbers in "
                        "pixels.")
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        raise DataError(f"{where} has bbox {bbox} with a {'width' if w <= 0 else 'height'} of "
                        f"{w if w <= 0 else h:g}; a COCO bbox is [x, y, width, height] with width and height > 0.")
    return _box(x, y, x + w, y + h, width, height, where, clipped, str(bbox))


def _arrays(image: ImageBoxes) -> ImageBoxes:
    """`image` with its lists of boxes and classes as float32 (M, 4) and int64 (M,) arrays."""
    return ImageBoxes(image.path, image.width, image.height, np.array(image.boxes, dtype=np.float32).reshape(-1, 4),
                      np.array(image.classes, dtype=np.int64))


# --- YOLO -------------------------------------------------------------------------------------------------------
def _files(root: Path, suffixes: tuple[str, ...]) -> dict[Path, Path]:
    """Files with these suffixes under `root` (hidden ones left out), by their path relative to it without suffix."""
    found: dict[Path, Path] = {}
    seen = 0
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            seen += 1
            if name.startswith(".") or not name.lower().endswith(suffixes) or seen > MAX_FILES:
                continue
            file = Path(folder) / name
            relative = file.relative_to(root)
            inside(root, str(relative), f"The link {shown_path(file)}", "image")  # a link out of the folder: refused
            key = relative.with_suffix("")
            if key in found:
                raise DataError(f"{shown_path(found[key])} and {shown_path(file)} share a name; one label file cannot "
                                "say which it belongs to: rename one.")
            found[key] = file
    return found


def yolo_names(root: Path) -> list[str] | None:
    """Class names from data.yaml's `names` (a list, or {id: name} with ids 0..K-1), or classes.txt; None without."""
    for spec in (root / "data.yaml", root / "data.yml", root / "dataset.yaml"):
        if not spec.is_file():
            continue
        import yaml

        try:
            data = yaml.safe_load(_text(spec, "Data file"))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise DataError(f"{shown_path(spec)} is not valid YAML{at}; write it as Ultralytics does (names: a list, "
                            "or id: name lines).") from None
        names = data.get("names") if isinstance(data, dict) else None
        if names is None:
            continue
        if isinstance(names, dict) and all(str(k).isdigit() for k in names):
            names = {int(k): v for k, v in names.items()}
            if sorted(names) != list(range(len(names))):
                raise DataError(f"The names of {shown_path(spec)} have the ids {sorted(names)[:12]}; YOLO class ids are "
                                "0, 1, 2, ... without gaps.")
            names = [names[i] for i in range(len(names))]
        if not isinstance(names, list):
            raise DataError(f"The names of {shown_path(spec)} are {str(names)[:60]}; give a list of class names, or "
                            "{id: name} with ids 0, 1, 2, ...")
        return [str(n) for n in names]
    for listing in (root / "classes.txt", root / "labels" / "classes.txt"):
        if listing.is_file():
            return [line.strip() for line in _text(listing, "Class list").splitlines() if line.strip()]
    return None


def _yolo_line(line: str, where: str, width: int, height: int, count: int | None, clipped: _Clipped) \
        -> tuple[list[float], int]:
    """One `class cx cy w h` line as a pixel box (x0, y0, x1, y1) and its class."""
    values = line.split()
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        numbers = []
    if len(values) != 5 or len(numbers) != 5 or not all(math.isfinite(v) for v in numbers):
        raise DataError(f"{where} is {line.strip()[:60]!r}; a YOLO label line is `class cx cy w h`: 5 numbers, the "
                        "coordinates normalised to [0, 1].")
    class_id, cx, cy, w, h = numbers
    if class_id != int(class_id) or class_id < 0 or (count is not None and class_id >= count):
        known = f"0-{count - 1}, the {count} names given" if count is not None else "a whole number >= 0"
        raise DataError(f"{where} has the class {values[0]}, but a class is {known}.")
    bad = next((v for v in (cx, cy, w, h) if not -1e-6 <= v <= 1 + 1e-6), None)
    if bad is not None:
        raise DataError(f"{where} has the value {bad:g} outside [0, 1]; YOLO coordinates are normalised by the "
                        f"image's width and height ({width} x {height}).")
    if w <= 0 or h <= 0:
        raise DataError(f"{where} has a box of zero {'width' if w <= 0 else 'height'}; a box's w and h are > 0.")
    box = _box((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height, width,
               height, where, clipped, " ".join(values[1:]))
    return box, int(class_id)


def read_yolo(folder: str | Path) -> Annotations:
    """Boxes of a YOLO folder: `images/` and `labels/` side by side (sub-folders such as train/ and val/ too).

    `labels/NAME.txt` holds the boxes of `images/NAME.png` (or .jpg...); an image without a label file is an
    image with nothing on it. Class names come from `data.yaml`'s `names` (a list, or {id: name}), else from
    `classes.txt`, else they are "0", "1", ... up to the largest class found.

    Returns:
        The images, sorted by path, with their boxes.

    Raises:
        DataError: no images/ or labels/ folder, a label file without its image, a line that is not 5 numbers, a
            value outside [0, 1], a box of zero size or far outside its image, a class beyond the names, a file
            that is not UTF-8, an unreadable image, or a link leading outside the folder; each names the file.

    Example:
        >>> data = read_yolo("scenes")  # doctest: +SKIP
        >>> data[0].boxes.shape, data.class_names[:2]  # doctest: +SKIP
        ((3, 4), ['T-shirt/top', 'Trouser'])
    """
    root = check_folder(folder, "YOLO folder", "it needs images/ and labels/ folders")
    for sub in ("images", "labels"):
        if not is_folder(root / sub):
            raise DataError(f"YOLO folder {shown_path(root)} has no {sub}/ folder; YOLO's layout is images/NAME.png "
                            "with labels/NAME.txt beside it.")
    pictures = _files(root / "images", IMAGE_SUFFIXES)
    labels = {key: path for key, path in _files(root / "labels", (".txt",)).items() if key != Path("classes")}
    lonely = sorted(set(labels) - set(pictures))
    if lonely:
        raise DataError(f"Label file {shown_path(labels[lonely[0]])} has no image images/{lonely[0]}.* "
                        f"({len(lonely)} label file(s) without an image); put the image there, or remove the label "
                        "file.")
    if not pictures:
        raise DataError(f"YOLO folder {shown_path(root)} has no image in images/; give PNG / JPEG images there.")
    names = yolo_names(root)
    found, clipped = [], _Clipped()
    for key in sorted(pictures):
        file = pictures[key]
        width, height = _image_size(file, f"in {shown_path(root)}")
        boxes, classes = [], []
        if key in labels:
            for number, line in enumerate(_text(labels[key], "Label file").splitlines(), start=1):
                if line.strip():
                    where = f"Line {number} of {shown_path(labels[key])}"
                    box, class_id = _yolo_line(line, where, width, height, len(names) if names else None, clipped)
                    boxes.append(box)
                    classes.append(class_id)
        found.append(_arrays(ImageBoxes(file.resolve(), width, height, boxes, classes)))
    if names is None:
        names = [str(i) for i in range(1 + max((int(c.max()) for c in (f.classes for f in found) if c.size),
                                               default=-1))]
    return Annotations(found, names, clipped.note())
