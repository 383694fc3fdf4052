"""Images: a folder of PNG / JPEG files, one sub-folder per class (Pillow), as a Dataset.

`images_to_tensor` is shared by the folder loader and by prediction, so a photo given to a
trained model is read exactly as the training images were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.folders import class_files
from neuronet.errors import ConfigError, DataError

__all__ = ["load_image_folder", "IMAGE_SUFFIXES", "open_image", "images_to_tensor"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def open_image(path: str | Path) -> Image.Image:
    """Open and decode an image file, with one clear sentence when it cannot be read."""
    try:
        image = Image.open(path)
        image.load()
        return image
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"Image {path} cannot be read ({type(err).__name__}); remove or replace the file.") from None


def images_to_tensor(images: Sequence[Image.Image], size: Sequence[int], mode: str) -> torch.Tensor:
    """Pillow images → (N, C, H, W) floats in [0, 1], converted to `mode` ("L" or "RGB") and resized to `size` (H, W)."""
    height, width = size
    arrays = [np.asarray(im.convert(mode).resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0
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
