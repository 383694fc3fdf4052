"""The classical baseline for the scenes: threshold, connected components, nearest class centroid.

No learning of features: each scene's background colour is the median of its border pixels; a
pixel is foreground when its colour lies further than a threshold from it (the threshold that
best separates garments from background on the training scenes); a morphological opening
removes specks; each connected component (scipy.ndimage.label) larger than `min_area` is an
object, its box the component's bounding box, its class the nearest class centroid of its shape
(the component's mask resized to 28 x 28, against the mean shape of each class's training
garments), its score 1 / (1 + distance). Segmentation paints each component with its class.

Run through bench/vision.py (the `detection` and `segmentation` sections).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

SHAPE = 28  # a component's mask is compared at Fashion-MNIST's own size


def _distance(images: np.ndarray) -> np.ndarray:
    """(N, H, W) colour distance of each pixel from its scene's border median (N, H, W, 3 uint8 in)."""
    x = images.astype(np.float32)
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)  # (N, 4 * side, 3)
    background = np.median(border, axis=1)[:, None, None, :]
    return np.sqrt(((x - background) ** 2).sum(-1))


def _shape(mask: np.ndarray) -> np.ndarray:
    """A component's mask cropped to its box and resized to SHAPE x SHAPE, flattened, in [0, 1]."""
    rows, cols = np.nonzero(mask)
    crop = mask[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1].astype(np.uint8) * 255
    return np.asarray(Image.fromarray(crop).resize((SHAPE, SHAPE), Image.BILINEAR), dtype=np.float32).ravel() / 255


class ClassicalDetector:
    """Threshold + connected components + nearest class centroid, fitted on training scenes (`fit` returns self).

    Attributes (after fit):
        threshold_: The colour distance above which a pixel is foreground.
        centroids_: (classes, SHAPE * SHAPE) the mean shape of each class's training garments.
    """

    def __init__(self, min_area: int = 30, opening: int = 2) -> None:
        self.min_area, self.opening = min_area, opening

    def fit(self, images: np.ndarray, instances: list[np.ndarray], classes: list[np.ndarray],
            classes_count: int) -> ClassicalDetector:
        distance = _distance(images)
        truth = np.stack([inst.any(0) if len(inst) else np.zeros(images.shape[1:3], bool) for inst in instances])
        best = (-1.0, 0.0)
        for threshold in np.linspace(5, 250, 50):  # the threshold with the best foreground IoU on training scenes
            found = distance > threshold
            iou = (found & truth).sum() / max((found | truth).sum(), 1)
            best = max(best, (float(iou), float(threshold)))
        self.threshold_ = best[1]
        shapes: list[list[np.ndarray]] = [[] for _ in range(classes_count)]
        for masks, ids in zip(instances, classes):
            for mask, cls in zip(masks, ids):
                if mask.sum() >= self.min_area:
                    shapes[int(cls)].append(_shape(mask))
        self.centroids_ = np.stack([np.mean(s, axis=0) if s else np.zeros(SHAPE * SHAPE) for s in shapes])
        return self

    def components(self, image: np.ndarray) -> list[np.ndarray]:
        """The foreground components of one scene (H, W, 3), as boolean masks."""
        found = _distance(image[None])[0] > self.threshold_
        found = ndimage.binary_opening(found, iterations=self.opening)
        labels, count = ndimage.label(found)
        masks = [labels == k for k in range(1, count + 1)]
        return [m for m in masks if m.sum() >= self.min_area]

    def detect(self, images: np.ndarray, k: int = 100) -> np.ndarray:
        """(N, k, 6) detections (class, score, x0, y0, x1, y1), padded with class -1, as the detection task keeps."""
        out = np.full((len(images), k, 6), -1.0, dtype=np.float32)
        out[:, :, 1:] = 0
        for i, image in enumerate(images):
            rows = []
            for mask in self.components(image):
                d = np.linalg.norm(self.centroids_ - _shape(mask), axis=1)
                ys, xs = np.nonzero(mask)
                rows.append((int(d.argmin()), 1 / (1 + float(d.min())), xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
            rows.sort(key=lambda r: -r[1])
            for j, row in enumerate(rows[:k]):
                out[i, j] = row
        return out

    def segment(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) class masks: 0 the background, 1 + class for each component's pixels."""
        out = np.zeros(images.shape[:3], dtype=np.uint8)
        for i, image in enumerate(images):
            for mask in self.components(image):
                d = np.linalg.norm(self.centroids_ - _shape(mask), axis=1)
                out[i][mask] = 1 + int(d.argmin())
        return out
