"""Images: a folder of PNG / JPEG files, one sub-folder per class (Pillow), as a Dataset.

`images_to_tensor` is shared by the folder loader and by prediction, so a photo given to a
trained model is read exactly as the training images were.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.folders import class_files
from neuronet.datasets.userfiles import check_file, shown_path
from neuronet.errors import ConfigError, DataError

__all__ = ["load_image_folder", "IMAGE_SUFFIXES", "MAX_PIXELS", "open_image", "arrays_to_images",
           "images_to_tensor"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485  # Pillow's own guard against decompression bombs
_GIVE = "a PNG / JPEG / BMP / GIF image file"


def open_image(path: str | Path) -> Image.Image:
    """Open and decode an image file, with one clear sentence when it cannot be read.

    The file is checked before it is opened (a FIFO or a device is refused, not read), and
    an image of more than `MAX_PIXELS` pixels is refused from its header, before it is decoded.

    Raises:
        DataError: not a regular file, empty, not an image, truncated or damaged, or too large.
    """
    path = check_file(path, "Image", _GIVE)
    if path.stat().st_size == 0:
        raise DataError(f"Image {shown_path(path)} is empty (0 bytes); remove or replace the file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, in one sentence
            image = Image.open(path)
    except Image.DecompressionBombError as err:  # over twice Pillow's limit: refused while opening
        pixels = re.search(r"\((\d+) pixels\)", str(err))
        raise _too_large(path, f"{int(pixels.group(1)):,} pixels" if pixels else "over twice the limit") from None
    except UnidentifiedImageError:
        raise DataError(f"Image {shown_path(path)} cannot be read: it is not an image Pillow recognises; give "
                        f"{_GIVE}, or remove it.") from None
    except Exception as err:  # noqa: BLE001 - decoders raise OSError, SyntaxError, ValueError... for damaged files
        raise _damaged(path, err) from None
    with image:  # the file is closed once the pixels are read (an animated GIF would keep it open)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_large(path, f"{width:,} x {height:,} pixels")
        try:
            image.load()
        except Exception as err:  # noqa: BLE001
            raise _damaged(path, err) from None
    return image


def _too_large(path: Path, size: str) -> DataError:
    return DataError(f"Image {shown_path(path)} is too large to decode ({size}; the limit is {MAX_PIXELS:,} pixels, a "
                     "guard against decompression bombs); shrink it, e.g. to 4,000 x 4,000, before giving it.")


def _damaged(path: Path, err: BaseException) -> DataError:
    return DataError(f"Image {shown_path(path)} cannot be read: it is truncated or damaged ({_reason(err)}); "
                     "remove or replace the file.")


def _reason(err: BaseException) -> str:
    return (" ".join(str(err).split()) or type(err).__name__)[:100].rstrip(".")


def arrays_to_images(array: np.ndarray, mode: str, where: str = "An image array") -> list[Image.Image]:
    """Arrays in any usual layout → Pillow images (integers are 0-255, floats 0-1).

    (H, W) and (H, W, C) are one image, (C, H, W) one image channels first, and (N, ...) a batch;
    for a greyscale model a 3-D array (N, H, W) is a stack of N greyscale images.

    Raises:
        DataError: an empty array, NaN or infinite floats, values that are not numbers, or a layout
            that is not one of those (`where` says whose, e.g. "The array in x.npy").
    """
    shape = array.shape
    if array.size == 0 or min(shape) == 0:
        raise DataError(f"{where} of shape {shape} is empty; give pixels, e.g. (H, W) or (H, W, C).")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise DataError(f"{where} of shape {shape} holds NaN or infinite values; give pixels in [0, 1] "
                        "(floats) or 0-255 (integers).")
    if array.dtype.kind not in "iufb":
        raise DataError(f"{where} holds {array.dtype} values, which are not pixels; give numbers.")
    if mode == "L" and array.ndim == 3 and array.shape[-1] not in (1, 3, 4):
        array = array[..., None]  # (N, H, W): a stack of greyscale images
    elif array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3)):
        array = array[None]
    elif array.ndim == 3 and array.shape[0] in (1, 3):
        array = array.transpose(1, 2, 0)[None]
    elif array.ndim == 4 and array.shape[1] in (1, 3):
        array = array.transpose(0, 2, 3, 1)
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[-1] not in (1, 3, 4)):
        raise DataError(f"{where} of shape {shape} cannot be read as images: an image is (H, W), (H, W, C) or "
                        "(C, H, W) with 1, 3 or 4 channels, or a batch of them.")
    pixels = array if np.issubdtype(array.dtype, np.integer) else np.clip(array * 255.0, 0, 255).round()
    pixels = pixels.astype(np.uint8)
    return [Image.fromarray(p[..., 0] if p.ndim == 3 and p.shape[-1] == 1 else p) for p in pixels]


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit (or 32-bit integer) grey image scaled to 8 bits: Pillow's own conversion would clip it to white."""
    if image.mode not in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return image
    values = np.asarray(image, dtype=np.float64)
    return Image.fromarray(np.clip(values / 65535.0 * 255.0, 0, 255).round().astype(np.uint8), mode="L")


def images_to_tensor(images: Sequence[Image.Image], size: Sequence[int], mode: str) -> torch.Tensor:
    """Pillow images → (N, C, H, W) floats in [0, 1], converted to `mode` ("L" or "RGB") and resized to `size` (H, W)."""
    height, width = size
    arrays = [np.asarray(_eight_bit(im).convert(mode).resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0
              for im in images]
    x = torch.from_numpy(np.stack(arrays))
    return (x.unsqueeze(1) if mode == "L" else x.permute(0, 3, 1, 2)).contiguous()


def load_image_folder(root: str | Path, size: tuple[int, int] | list[int] | None = None,
                      mode: str | None = None, classes: list[str] | None = None) -> Dataset:
    """Images under root/<class>/ as (N, C, H, W) floats in [0, 1]; class names are the folder names.

    Args:
        root: The folder with one sub-folder per class.
        size: (height, width) to resize every image to. Needed when the images differ in size.
        mode: Pillow mode, "L" (grey) or "RGB". Needed when the images differ in mode.
        classes: Class folders to read, in label order (default: all, sorted).

    Raises:
        DataError: no such folder, no class folders, an empty class, an unreadable image, or mixed
            sizes / modes without `size` / `mode`.
    """
    if size is not None and not (isinstance(size, (list, tuple)) and len(size) == 2 and
                                 all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise ConfigError(f"The image size (data.options.size) must be [height, width] in pixels, e.g. [32, 32]. "
                          f"Got {size!r} instead.")
    if mode is not None and mode not in ("L", "RGB"):
        raise ConfigError(f"The image mode (data.options.mode) must be 'L' (grey) or 'RGB' (colour). Got {mode!r} instead.")
    root = Path(root)
    classes, files = class_files(root, IMAGE_SUFFIXES, "Image", "images", classes)
    images = [open_image(p) for p, _ in files]
    modes, sizes = Counter(im.mode for im in images), Counter(im.size for im in images)
    if mode is None and len(modes) > 1:
        raise DataError(f"The images in {root} mix colour modes ({dict(modes)}); set data.options.mode to 'L' or 'RGB'.")
    if size is None and len(sizes) > 1:
        common = sizes.most_common(1)[0][0]
        raise DataError(f"The images in {root} have {len(sizes)} different sizes; set data.options.size, "
                        f"e.g. [{common[1]}, {common[0]}] (height, width).")
    mode = mode or next(iter(modes))
    if mode not in ("L", "RGB"):
        mode = "RGB"  # the images' own mode (RGBA, palette, CMYK) is read as colour
    size = list(size or next(iter(sizes))[::-1])
    y = torch.tensor([label for _, label in files])
    return Dataset(images_to_tensor(images, size, mode), y, "classification", root.name, class_names=classes,
                   inputs={"kind": "image", "size": size, "mode": mode})
