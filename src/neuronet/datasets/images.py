"""A folder of images, one sub-folder per class (PNG / JPEG via Pillow), as a Dataset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.folders import class_files
from neuronet.errors import DataError

__all__ = ["load_image_folder", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
        return image
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"Image {path} cannot be read ({type(err).__name__}); remove or replace the file.") from None


def load_image_folder(root: str | Path, size: tuple[int, int] | list[int] | None = None,
                      mode: str | None = None) -> Dataset:
    """Images under root/<class>/ as (N, C, H, W) floats in [0, 1]; class names are the folder names.

    Args:
        root: The folder with one sub-folder per class.
        size: (height, width) to resize every image to. Needed when the images differ in size.
        mode: Pillow mode, "L" (grey) or "RGB". Needed when the images differ in mode.

    Raises:
        DataError: no such folder, no class folders, an empty class, an unreadable image, or mixed
            sizes / modes without `size` / `mode`.
    """
    root = Path(root)
    classes, files = class_files(root, IMAGE_SUFFIXES, "Image", "images")
    images = [_open(p) for p, _ in files]
    modes, sizes = Counter(im.mode for im in images), Counter(im.size for im in images)
    if mode is None and len(modes) > 1:
        raise DataError(f"The images in {root} mix colour modes ({dict(modes)}); set data.options.mode to 'L' or 'RGB'.")
    if size is None and len(sizes) > 1:
        common = sizes.most_common(1)[0][0]
        raise DataError(f"The images in {root} have {len(sizes)} different sizes; set data.options.size, "
                        f"e.g. [{common[1]}, {common[0]}] (height, width).")
    mode = mode or next(iter(modes))
    if mode not in ("L", "RGB"):
        mode = "RGB"
    height, width = size or next(iter(sizes))[::-1]
    arrays = [np.asarray(im.convert(mode).resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0
              for im in images]
    x = torch.from_numpy(np.stack(arrays))
    x = x.unsqueeze(1) if mode == "L" else x.permute(0, 3, 1, 2)  # (N, C, H, W)
    y = torch.tensor([label for _, label in files])
    return Dataset(x.contiguous(), y, "classification", root.name, class_names=classes)
