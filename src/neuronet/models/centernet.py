"""A one-stage, anchor-free object detector: CenterNet (Zhou et al., 2019, "Objects as Points"), small.

1. A backbone of the zoo's residual blocks (`neuronet.models.resnet.ResidualBlock`), each stage
   halving the image: features at 1/2, 1/4, 1/8 and 1/16 of the input;
2. a feature pyramid's top-down path (Lin et al., 2017): the coarsest features upsampled and
   added to the finer ones (through 1x1 lateral convolutions) down to 1/4 of the input, so that
   the output grid is fine but every cell sees a large part of the image;
3. three heads of a 3x3 and a 1x1 convolution: a heatmap per class (object centres), the log
   width and height of the box, and the centre's offset in its cell.

The target encoding, focal loss and decoding (peaks → boxes → per-class NMS) are in
`neuronet.nn.centernet`; the `detection` task reads the outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from neuronet.models.layers import conv_block
from neuronet.models.registry import MODELS, as_shape, init_seed
from neuronet.models.resnet import ResidualBlock
from neuronet.nn.centernet import DetectionOutput

__all__ = ["CenterNet"]

PRIOR = 0.1  # the heatmap's starting probability everywhere (CenterNet's bias -2.19), so the focal loss starts calm


@MODELS.register("centernet", "Object detector (CenterNet): class heatmaps of box centres, box sizes and offsets.")
class CenterNet(nn.Module):
    """Residual backbone, feature-pyramid top-down path to 1/4 of the input, heatmap / size / offset heads.

    Args:
        input_shape: (channels, height, width) of the images.
        num_outputs: Object classes.
        channels: Channels of the four backbone stages (at 1/2, 1/4, 1/8 and 1/16 of the input).
        width: Channels of the pyramid and the heads.
        seed: Seed for the initial weights.

    Example:
        >>> out = CenterNet((3, 64, 64), 10, channels=(8, 16, 16, 16), width=16, seed=0)(torch.zeros(2, 3, 64, 64))
        >>> tuple(out.heatmap.shape), tuple(out.size.shape), out.stride.tolist()
        ((2, 10, 16, 16), (2, 2, 16, 16), [4.0, 4.0])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)  # the inputs it reads
    output: ClassVar[str] = "boxes"
    stride: ClassVar[int] = 4  # input pixels per output cell

    def __init__(self, input_shape: Sequence[int], num_outputs: int, channels: Sequence[int] = (24, 48, 96, 128),
                 width: int = 64, seed: int | None = None) -> None:
        super().__init__()
        c, h, w = as_shape(input_shape)
        if len(channels) != 4:
            raise ValueError(f"channels must list the 4 backbone stages' widths, got {list(channels)}")
        if min(h, w) < 16:
            raise ValueError(f"a detector needs images of at least 16 x 16 pixels, got {h} x {w}")
        self.hparams = {"channels": list(channels), "width": width, "seed": seed}
        with init_seed(seed):
            self.stem = conv_block(c, channels[0])
            stages, in_c = [], channels[0]
            for out_c in channels:
                stages.append(nn.Sequential(ResidualBlock(in_c, out_c, stride=2), ResidualBlock(out_c, out_c)))
                in_c = out_c
            self.stages = nn.ModuleList(stages)
            self.lateral = nn.ModuleList(nn.Conv2d(ch, width, 1) for ch in channels[1:])  # 1/4, 1/8, 1/16
            self.smooth = conv_block(width, width)
            self.heatmap = self._head(width, num_outputs)
            self.size = self._head(width, 2)
            self.offset = self._head(width, 2)
            nn.init.constant_(self.heatmap[-1].bias, -math.log((1 - PRIOR) / PRIOR))

    @staticmethod
    def _head(width: int, outputs: int) -> nn.Sequential:
        return nn.Sequential(conv_block(width, width, batch_norm=False), nn.Conv2d(width, outputs, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pyramid's finest features (B, width, H/4, W/4), every cell informed by the coarser stages."""
        x = self.stem(x)  # (B, C0, H, W)
        found = []
        for stage in self.stages:
            x = stage(x)
            found.append(x)  # 1/2, 1/4, 1/8, 1/16
        top = self.lateral[-1](found[-1])
        for lateral, finer in zip(reversed(self.lateral[:-1]), reversed(found[1:-1])):
            top = lateral(finer) + F.interpolate(top, size=finer.shape[-2:], mode="nearest")
        return self.smooth(top)  # (B, width, H/4, W/4)

    def forward(self, x: torch.Tensor) -> DetectionOutput:
        f = self.features(x)
        stride = torch.full((len(x),), x.shape[-1] / f.shape[-1], device=x.device)
        return DetectionOutput(self.heatmap(f), self.size(f), torch.sigmoid(self.offset(f)), stride)
