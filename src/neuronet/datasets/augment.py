"""Data augmentation for whole batches, as tensor ops on the training device (training only).

Each augmentation is called as `aug(x, y) -> (x, y)` on a batch x: images (B, C, H, W), or
recordings (B, samples) for `volume`, `noise` and `speed` (a speech model's SpecAugment is in
the model: `speech_ctc`'s freq_masks and time_masks). The geometric ones move the targets with
the pixels where the targets are places in the image: boxes (B, M, 5) of (class, x0, y0, x1, y1)
in pixels, class -1 for padding (detection), or class masks (B, H, W) (segmentation); a box
pushed mostly out of the image is dropped (its class set to -1). Randomness
comes from torch's global RNG, which the Trainer seeds per epoch (so runs are reproducible).
`mixup` also mixes the targets, into class probabilities that `cross_entropy` accepts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from neuronet.errors import ConfigError
from neuronet.registry import Registry

__all__ = ["AUGMENTATIONS", "APPLIES_TO", "augment_layout", "build_augmentations", "check_augmentations", "Compose"]

Augmentation = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
AUGMENTATIONS: Registry[Callable[..., Augmentation]] = Registry("augmentation")


def _affine(x: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor, mode: str,
            zoom: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate each image by `angle` (radians), shift it by `shift` (in grid units: 2 is the whole width) and
    magnify it `zoom` times about its centre; zeros outside."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    inv = 1 / zoom if zoom is not None else torch.ones_like(angle)
    theta = torch.stack([torch.stack([cos * inv, -sin * inv, shift[:, 0]], 1),
                         torch.stack([sin * inv, cos * inv, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def _targets(x: torch.Tensor, y: torch.Tensor) -> str | None:
    """What the targets of image batch x are: "boxes" (B, M, 5) floats, "mask" (B, H, W) class indices, or None
    (labels, values: they do not move with the pixels)."""
    if y.ndim == 3 and y.shape[-1] == 5 and y.is_floating_point():
        return "boxes"
    if y.ndim == 3 and tuple(y.shape[1:]) == tuple(x.shape[-2:]) and not y.is_floating_point():
        return "mask"
    return None


def _kept(boxes: torch.Tensor, width: int, height: int, least: float = 2.0) -> torch.Tensor:
    """Boxes (B, M, 5) clipped to the image; one left less than `least` pixels wide or high is dropped (class -1)."""
    out = boxes.clone()
    out[..., 1::2] = out[..., 1::2].clamp(0, width)
    out[..., 2::2] = out[..., 2::2].clamp(0, height)
    small = ((out[..., 3] - out[..., 1]) < least) | ((out[..., 4] - out[..., 2]) < least)
    out[..., 0] = torch.where(small | (boxes[..., 0] < 0), torch.full_like(out[..., 0], -1), out[..., 0])
    return out


def _moved_mask(y: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor, zoom: torch.Tensor | None) -> torch.Tensor:
    """Class masks (B, H, W) moved as their images were (nearest neighbour; uncovered pixels are background, 0)."""
    moved = _affine(y.unsqueeze(1).float(), angle, shift, "nearest", zoom)
    return moved.squeeze(1).round().to(y.dtype)


@AUGMENTATIONS.register("random_crop", "Random crop after zero-padding by `padding` pixels (a random shift).")
def random_crop(padding: int = 2) -> Augmentation:
    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        pixels = torch.randint(-padding, padding + 1, (b, 2), device=x.device).to(x.dtype)
        shift = pixels * 2 / torch.tensor([w, h], device=x.device, dtype=x.dtype)  # in grid units [-1, 1]
        angle = torch.zeros(b, device=x.device, dtype=x.dtype)
        kind = _targets(x, y)
        if kind == "boxes":  # the content moves by -pixels
            moved = y.clone()
            moved[..., 1::2] -= pixels[:, None, 0:1]
            moved[..., 2::2] -= pixels[:, None, 1:2]
            y = _kept(moved, w, h)
        elif kind == "mask":
            y = _moved_mask(y, angle, shift, None)
        return _affine(x, angle, shift, "nearest"), y
    return apply


@AUGMENTATIONS.register("zoom", "Random magnification by a factor in [1 - `amount`, 1 + `amount`] about the centre "
                                "(boxes and masks move with the pixels).")
def zoom(amount: float = 0.25) -> Augmentation:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < 1:
        raise ConfigError(f"The 'amount' of zoom must be a number in [0, 1). Got {amount!r} instead.")

    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        factor = 1 + (torch.rand(b, device=x.device, dtype=x.dtype) * 2 - 1) * amount
        angle, shift = torch.zeros(b, device=x.device, dtype=x.dtype), torch.zeros(b, 2, device=x.device, dtype=x.dtype)
        kind = _targets(x, y)
        if kind == "boxes":
            moved = y.clone()
            moved[..., 1::2] = (moved[..., 1::2] - w / 2) * factor[:, None, None] + w / 2
            moved[..., 2::2] = (moved[..., 2::2] - h / 2) * factor[:, None, None] + h / 2
            y = _kept(moved, w, h)
        elif kind == "mask":
            y = _moved_mask(y, angle, shift, factor)
        return _affine(x, angle, shift, "bilinear", factor), y
    return apply


@AUGMENTATIONS.register("hflip", "Horizontal flip of each image with probability `p`.")
def hflip(p: float = 0.5) -> Augmentation:
    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flip = torch.rand(len(x), device=x.device) < p
        kind = _targets(x, y)
        if kind == "boxes":  # x0' = W - x1, x1' = W - x0
            mirrored = y.clone()
            mirrored[..., 1], mirrored[..., 3] = x.shape[-1] - y[..., 3], x.shape[-1] - y[..., 1]
            y = torch.where(flip[:, None, None] & (y[..., :1] >= 0), mirrored, y)
        elif kind == "mask":
            y = torch.where(flip[:, None, None], y.flip(-1), y)
        return torch.where(flip[:, None, None, None], x.flip(-1), x), y
    return apply


@AUGMENTATIONS.register("rotation", "Random rotation by up to ±`degrees`.")
def rotation(degrees: float = 10.0) -> Augmentation:
    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angle = (torch.rand(len(x), device=x.device, dtype=x.dtype) * 2 - 1) * math.radians(degrees)
        shift = torch.zeros(len(x), 2, device=x.device, dtype=x.dtype)
        if _targets(x, y) == "mask":
            y = _moved_mask(y, angle, shift, None)
        return _affine(x, angle, shift, "bilinear"), y
    return apply


@AUGMENTATIONS.register("color_jitter", "Random brightness and contrast factors in [1 - b, 1 + b], [1 - c, 1 + c].")
def color_jitter(brightness: float = 0.2, contrast: float = 0.2) -> Augmentation:
    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (len(x), 1, 1, 1)
        b = 1 + (torch.rand(shape, device=x.device, dtype=x.dtype) * 2 - 1) * brightness
        c = 1 + (torch.rand(shape, device=x.device, dtype=x.dtype) * 2 - 1) * contrast
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x * b - mean) * c + mean, y
    return apply


@AUGMENTATIONS.register("cutout", "Zero a random `size` x `size` square in each image (DeVries & Taylor, 2017).")
def cutout(size: int = 8) -> Augmentation:
    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        cy = torch.randint(0, h, (b, 1, 1), device=x.device)
        cx = torch.randint(0, w, (b, 1, 1), device=x.device)
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        hole = ((rows - cy).abs() <= size // 2) & ((cols - cx).abs() <= size // 2)  # (B, H, W)
        return x * (~hole).unsqueeze(1).to(x.dtype), y
    return apply


@AUGMENTATIONS.register("mixup", "Blend pairs of examples and their labels with λ ~ Beta(alpha, alpha) (Zhang et al., 2018).")
def mixup(alpha: float = 0.2, num_classes: int = 0) -> Augmentation:
    if num_classes < 2:
        raise ConfigError("mixup needs the number of classes (set from the data when built from a config).")

    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        perm = torch.randperm(len(x), device=x.device)
        soft = F.one_hot(y, num_classes).to(x.dtype) if y.ndim == 1 else y
        return lam * x + (1 - lam) * x[perm], lam * soft + (1 - lam) * soft[perm]
    return apply


def _band_mask(x: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """Zero one random band of up to `width` rows (dim=2, frequency) or columns (dim=3, time) per example."""
    size = x.shape[dim]
    lengths = torch.randint(0, width + 1, (len(x), 1), device=x.device)
    starts = (torch.rand(len(x), 1, device=x.device) * (size - lengths + 1)).long()
    index = torch.arange(size, device=x.device)[None, :]
    band = (index >= starts) & (index < starts + lengths)  # (B, size)
    shape = (len(x), 1, size, 1) if dim == 2 else (len(x), 1, 1, size)
    return x * (~band).view(shape).to(x.dtype)


@AUGMENTATIONS.register("freq_mask", "SpecAugment frequency masking: zero up to `width` mel bands (Park et al., 2019).")
def freq_mask(width: int = 8) -> Augmentation:
    return lambda x, y: (_band_mask(x, width, 2), y)


@AUGMENTATIONS.register("time_mask", "SpecAugment time masking: zero up to `width` frames of a spectrogram.")
def time_mask(width: int = 10) -> Augmentation:
    return lambda x, y: (_band_mask(x, width, 3), y)


# --- recordings: waveforms (B, samples) at the data's rate, zero-padded at the end ---------------------------
def _real(x: torch.Tensor) -> torch.Tensor:
    """Which samples of a zero-padded batch of waveforms are real (up to each clip's last non-zero sample)."""
    from neuronet.datasets.audio import wave_lengths

    return torch.arange(x.shape[1], device=x.device)[None, :] < wave_lengths(x)[:, None]


def _range(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    pair = (value, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high for v in pair) or pair[0] > pair[1]:
        raise ConfigError(f"The '{name}' of a recording augmentation must be a number or a [low, high] pair in "
                          f"[{low:g}, {high:g}]. Got {value!r} instead.")
    return float(pair[0]), float(pair[1])


@AUGMENTATIONS.register("volume", "Recordings: each clip louder or quieter by up to ±`db` decibels.")
def volume(db: float = 6.0) -> Augmentation:
    low, high = _range("db", [-db, db] if isinstance(db, (int, float)) and not isinstance(db, bool) and db >= 0 else db,
                       -40, 40)

    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gain = low + torch.rand(len(x), 1, device=x.device) * (high - low)
        return (x * 10 ** (gain / 20)).clamp(-1, 1), y
    return apply


@AUGMENTATIONS.register("noise", "Recordings: white noise added at a signal-to-noise ratio drawn from `snr_db` (dB).")
def noise(snr_db: Any = (20.0, 40.0)) -> Augmentation:
    low, high = _range("snr_db", snr_db, -10, 100)

    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        real = _real(x)
        power = (x.pow(2) * real).sum(1, keepdim=True) / real.sum(1, keepdim=True).clamp(min=1)
        snr = low + torch.rand(len(x), 1, device=x.device) * (high - low)
        scale = (power / 10 ** (snr / 10)).sqrt()
        return x + torch.randn_like(x) * scale * real, y
    return apply


@AUGMENTATIONS.register("speed", "Recordings: each clip played faster or slower by a factor in `factors` (pitch and "
                                 "duration change together, as Kaldi's speed perturbation).")
def speed(factors: Any = (0.9, 1.1)) -> Augmentation:
    low, high = _range("factors", factors, 0.5, 2.0)

    def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from neuronet.datasets.audio import wave_lengths

        rates = low + torch.rand(len(x)) * (high - low)
        clips = []
        for clip, n, rate in zip(x, wave_lengths(x).tolist(), rates.tolist()):
            size = max(1, round(n / rate))
            clips.append(F.interpolate(clip[None, None, :max(n, 1)], size=size, mode="linear", align_corners=False)[0, 0]
                         if n else clip[:1])
        out = torch.zeros(len(x), max(len(c) for c in clips), device=x.device, dtype=x.dtype)
        for i, clip in enumerate(clips):
            out[i, : len(clip)] = clip
        return out, y
    return apply


class Compose:
    """Apply augmentations in order."""

    def __init__(self, augmentations: Sequence[Augmentation]) -> None:
        self.augmentations = list(augmentations)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for aug in self.augmentations:
            x, y = aug(x, y)
        return x, y


# The input layouts each augmentation is defined on (spectrograms are images of one channel).
# "boxes" and "masks" are images with boxes (detection) or class masks (segmentation) as targets.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "random_crop": ("image", "boxes", "masks"), "hflip": ("image", "boxes", "masks"), "zoom": ("image", "boxes", "masks"),
    "rotation": ("image", "masks"), "color_jitter": ("image", "boxes", "masks"), "cutout": ("image",),
    "freq_mask": ("image",), "time_mask": ("image",), "mixup": ("table", "sequence", "image"),
    "volume": ("speech",), "noise": ("speech",), "speed": ("speech",),
}
_LAYOUT_NAMES = {"image": "images and spectrograms", "table": "table rows", "sequence": "sequences of numbers",
                 "tokens": "token ids (text)", "speech": "recordings (waveforms)",
                 "boxes": "images with boxes (detection)", "masks": "images with class masks (segmentation)"}


def augment_layout(data: Any) -> str:
    """The layout whose augmentations fit a Dataset: "boxes" for detection, "masks" for segmentation, else its own."""
    return {"detection": "boxes", "segmentation": "masks"}.get(getattr(data, "task", None) or "", data.layout)


def check_augmentations(specs: Sequence[dict[str, Any]] | None, layout: str, where: str = "train.augment") -> None:
    """Raise a ConfigError for an augmentation that is not defined on inputs of `layout` (e.g. hflip on text)."""
    for spec in specs or ():
        name = spec.get("type") if isinstance(spec, dict) else None
        layouts = APPLIES_TO.get(name)
        if layouts is not None and layout not in layouts:
            shown = [k for k in layouts if k == "image" or "image" not in layouts]  # images: with boxes or masks too
            raise ConfigError(f"Augmentation '{name}' ({where}) applies to {' or '.join(_LAYOUT_NAMES[k] for k in shown)}, "
                              f"not to {_LAYOUT_NAMES.get(layout, layout)}; remove it for this data.")


def build_augmentations(specs: Sequence[dict[str, Any]], num_classes: int = 0) -> Compose:
    """Augmentations from config entries like [{"type": "hflip"}, {"type": "random_crop", "padding": 4}].

    Example:
        >>> aug = build_augmentations([{"type": "hflip", "p": 1.0}])
        >>> aug(torch.arange(4.0).view(1, 1, 1, 4), torch.tensor([0]))[0].flatten().tolist()
        [3.0, 2.0, 1.0, 0.0]
    """
    built = []
    for spec in specs:
        options = dict(spec)
        name = options.pop("type", None)
        factory = AUGMENTATIONS.get(name)
        if name == "mixup":
            options.setdefault("num_classes", num_classes)
        try:
            built.append(factory(**options))
        except TypeError as err:
            raise ConfigError(f"Bad arguments for augmentation '{name}' ({options}): {err}.") from None
    return Compose(built)
