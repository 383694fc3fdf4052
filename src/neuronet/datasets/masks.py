"""Segmentation masks: PNG files of class indices, and COCO's run-length encoding of one instance.

A mask PNG holds one class index per pixel (0 = background), as an 8-bit grey ("L") or palette
("P") image; in a palette PNG the indices are the pixel values and the palette only says how to
show them, so a mask is never converted to colours to be read. COCO's uncompressed RLE
(`{"counts": [...], "size": [h, w]}`) counts alternating runs of 0 and 1 down the columns
(column-major), starting with a run of 0s; it is encoded and decoded here without pycocotools.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from neuronet.datasets.userfiles import check_file, shown_path
from neuronet.errors import DataError

__all__ = ["mask_palette", "mask_to_rle", "read_mask", "rle_to_mask", "write_mask"]


def mask_palette() -> list[int]:
    """The 256-colour palette of PASCAL VOC's masks as a flat [r, g, b, r, g, b, ...] list: 0 is black, then
    distinct colours (1 dark red, 2 dark green, 3 olive...), so a mask of class indices views nicely.

    Example:
        >>> mask_palette()[:9]
        [0, 0, 0, 128, 0, 0, 0, 128, 0]
    """
    return list(_voc_palette())


@functools.lru_cache(maxsize=1)
def _voc_palette() -> tuple[int, ...]:
    palette: list[int] = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):  # the bits of the index, spread over the three channels from the top bit down
            r |= ((c >> 0) & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette += [r, g, b]
    return tuple(palette)


def write_mask(path: str | Path | BinaryIO, mask: np.ndarray) -> None:
    """Write an (H, W) array of class indices 0-255 to `path` (a file name, or a binary file such as io.BytesIO) as
    an 8-bit palette PNG (`mask_palette`)."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or (mask.size and (mask.min() < 0 or mask.max() > 255)):
        raise ValueError(f"A mask to write is (H, W) class indices 0-255; got shape {mask.shape} with values "
                         f"{mask.min() if mask.size else 0}-{mask.max() if mask.size else 0}.")
    image = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8))  # (H, W) uint8: mode L
    image.putpalette(_voc_palette())  # L -> P: the same bytes, now shown in colour
    image.save(path, format="PNG", compress_level=1)


def mask_to_rle(mask: np.ndarray) -> dict[str, list[int]]:
    """One (H, W) instance mask as COCO's uncompressed RLE: run lengths down the columns, starting with 0s.

    Example:
        >>> mask_to_rle(np.array([[0, 1], [1, 1]], dtype=bool))
        {'counts': [1, 3], 'size': [2, 2]}
    """
    mask = np.asarray(mask, dtype=bool)
    flat = mask.ravel(order="F").astype(np.int8)  # column-major, as COCO counts
    edges = np.flatnonzero(np.diff(flat)) + 1  # where a run ends
    bounds = np.concatenate([[0], edges, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts = [0, *counts]  # the first run counts 0s, even when there are none
    return {"counts": [int(c) for c in counts], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def rle_to_mask(rle: dict, where: str = "An RLE") -> np.ndarray:
    """COCO's uncompressed RLE back to an (H, W) bool mask.

    Raises:
        DataError: `counts` is not a list of whole numbers >= 0 that add up to h x w (`where` says whose).

    Example:
        >>> rle_to_mask({"counts": [1, 3], "size": [2, 2]}).astype(int).tolist()
        [[0, 1], [1, 1]]
    """
    size, counts = (rle.get("size"), rle.get("counts")) if isinstance(rle, dict) else (None, None)
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v >= 0 for v in size)):
        raise DataError(f"{where} has size {size!r}; an RLE's size is [height, width].")
    if not (isinstance(counts, list) and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0
                                             for c in counts)):
        raise DataError(f"{where} has counts that are not a list of whole numbers >= 0 (a compressed RLE string is "
                        "read by pycocotools, not here); give uncompressed run lengths.")
    height, width = size
    if sum(counts) != height * width:
        raise DataError(f"{where} has runs adding up to {sum(counts):,} pixels, but its size {height} x {width} holds "
                        f"{height * width:,}; the runs must cover the image once.")
    values = np.arange(len(counts)) % 2  # runs alternate 0, 1, 0, ...
    flat = np.repeat(values.astype(bool), counts)
    return flat.reshape((height, width), order="F")


_MASK = "a PNG of class indices (mode L or P: one index per pixel, 0 = background)"


def read_mask(path: str | Path, size: tuple[int, int] | None = None, classes: int | Sequence[str] | None = None,
              ignore: int | None = None) -> np.ndarray:
    """A segmentation mask PNG as an (H, W) uint8 array of class indices.

    Args:
        path: The mask: an 8-bit grey ("L") or palette ("P") PNG whose pixel values are class indices; a palette
            only colours them, it is not read.
        size: (width, height) of the image the mask belongs to, as Pillow's `Image.size`; a mask of another size
            is refused.
        classes: The number of classes, background included, or their names ("background" first); a value
            >= that is refused.
        ignore: A value allowed besides the classes (PASCAL VOC marks uncertain borders with 255).

    Raises:
        DataError: not a readable image, a colour (RGB) mask, a size that differs from the image's, or values
            outside the classes; each names the file.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "mask.png"
        >>> write_mask(path, np.array([[0, 2], [1, 0]]))
        >>> read_mask(path, size=(2, 2), classes=["background", "cat", "dog"]).tolist()
        [[0, 2], [1, 0]]
    """
    path = check_file(path, "Mask", _MASK)
    try:
        with Image.open(path) as image:
            mode, found = image.mode, image.size
            if mode in ("L", "P"):
                image.load()
                pixels = np.array(image, dtype=np.uint8)  # palette images give their indices, not colours
    except UnidentifiedImageError:
        raise DataError(f"Mask {shown_path(path)} is not an image Pillow recognises; give {_MASK}.") from None
    except Exception as err:  # noqa: BLE001 - decoders raise OSError, SyntaxError, ValueError... for damaged files
        raise DataError(f"Mask {shown_path(path)} cannot be read: it is truncated or damaged "
                        f"({str(err)[:80] or type(err).__name__}); write it again.") from None
    if mode not in ("L", "P"):
        colour = " (colours)" if mode in ("RGB", "RGBA", "CMYK", "LA", "PA") else ""
        raise DataError(f"Mask {shown_path(path)} has mode {mode}{colour}, but a mask must hold class indices: save "
                        "it as an 8-bit grey or palette PNG whose pixel values are 0 (background), 1, 2, ...")
    if size is not None and tuple(found) != tuple(size):
        raise DataError(f"Mask {shown_path(path)} is {found[0]} x {found[1]} pixels (width x height), but its image is "
                        f"{size[0]} x {size[1]}; a mask must have its image's size.")
    if classes is not None:
        count = classes if isinstance(classes, int) else len(classes)
        bad = pixels >= count
        if ignore is not None:
            bad &= pixels != ignore
        if bad.any():
            row, column = (int(v[0]) for v in np.nonzero(bad))
            allowed = f" (or {ignore}, ignored)" if ignore is not None else ""
            raise DataError(f"Mask {shown_path(path)} holds the value {int(pixels[row, column])} (first at row {row}, "
                            f"column {column}), but there are {count} classes: values must be 0-{count - 1}{allowed}.")
    return pixels
