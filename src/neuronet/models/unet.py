"""U-Net: an encoder-decoder with skip connections that labels every pixel (Ronneberger et al., 2015).

The encoder is stages of two 3x3 convolutions with 2x2 max-pooling between them; the decoder doubles the
image with a 2x2 transposed convolution, concatenates the encoder's map of the same size (the skip) and
applies two more 3x3 convolutions; a 1x1 convolution gives each pixel a score per class.

Any image size works. Pooling rounds up (`ceil_mode`: a 15-pixel side pools to 8, the last window reading
the one edge row), and each upsampled map is cropped at the bottom / right to its skip's size (16 -> 15),
which keeps every pixel aligned with the one it came from: no zero padding enters the features, and the
output always has the input's height and width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.layers import Concat, conv_block
from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["DecoderStage", "UNet", "encoder_stage"]


def encoder_stage(in_channels: int, out_channels: int, pool: bool) -> nn.Sequential:
    """[2x2 max-pool, rounding up: a side of 15 -> 8] → two 3x3 conv_blocks (batch norm, ReLU).

    Example:
        >>> encoder_stage(8, 16, pool=True)(torch.zeros(2, 8, 15, 15)).shape
        torch.Size([2, 16, 8, 8])
    """
    layers: list[nn.Module] = [nn.MaxPool2d(2, ceil_mode=True)] if pool else []
    return nn.Sequential(*layers, conv_block(in_channels, out_channels), conv_block(out_channels, out_channels))


class DecoderStage(nn.Module):
    """2x2 transposed convolution (the image doubles), cropped to the skip's size, concatenated after the skip,
    then two 3x3 conv_blocks: (B, in_channels, h, w) + skip (B, out_channels, H, W) -> (B, out_channels, H, W).

    Example:
        >>> DecoderStage(16, 8)(torch.zeros(2, 16, 8, 8), torch.zeros(2, 8, 15, 15)).shape
        torch.Size([2, 8, 15, 15])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.upsample = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.concat = Concat(dim=1)  # a module, not torch.cat: attribution methods see the join
        self.convs = nn.Sequential(conv_block(2 * out_channels, out_channels), conv_block(out_channels, out_channels))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.upsample(x)[..., : skip.shape[-2], : skip.shape[-1]]  # (B, C, 2h, 2w) cropped to (B, C, H, W)
        return self.convs(self.concat(skip, x))  # (B, 2C, H, W) -> (B, C, H, W)


@MODELS.register("unet", "U-Net: conv encoder, transposed-conv decoder with skip connections; a class per pixel.")
class UNet(nn.Module):
    """Encoder stages (two 3x3 convs, then 2x2 max-pool), decoder stages (2x2 transposed conv, concatenation
    with the encoder's skip, two 3x3 convs), and a 1x1 convolution to per-pixel class logits.

    The decoder upsamples with a learnt transposed convolution (the paper's "up-convolution") rather than a
    bilinear upsample + 1x1 conv: with kernel 2 and stride 2 its windows do not overlap, so it makes no
    checkerboard artefacts, and it learns how to spread a coarse feature over its 2x2 pixels for the cost
    of one small layer.

    Args:
        input_shape: (channels, height, width) of one image. Other heights and widths work too.
        num_outputs: Classes, background included (a logit each per pixel).
        channels: Channels of each encoder stage, shallow to deep; the image halves `len(channels) - 1`
            times, and the decoder mirrors the stages back.
        dropout: Channel dropout (`Dropout2d`) at the bottleneck, the end of the contracting path where the
            paper puts it; 0 for none (batch norm after every convolution already regularises).
        seed: Seed for the initial weights.

    Raises:
        ValueError: input_shape is not (channels, height, width), channels is empty, or dropout is outside [0, 1).

    Example:
        >>> UNet((1, 28, 28), 3, channels=(8, 16), seed=0)(torch.zeros(2, 1, 28, 30)).shape
        torch.Size([2, 3, 28, 30])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)  # the inputs it reads
    output: ClassVar[str] = "mask"  # logits (B, num_outputs, H, W): a class per pixel, not one per image

    def __init__(self, input_shape: Sequence[int], num_outputs: int, channels: Sequence[int] = (16, 32, 64),
                 dropout: float = 0.0, seed: int | None = None) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        if len(shape) != 3:
            raise ValueError(f"UNet needs images shaped (channels, height, width), got input_shape {shape}")
        if len(channels) == 0:
            raise ValueError("UNet needs at least one encoder stage in channels, e.g. [16, 32, 64]; got []")
        if not 0 <= dropout < 1:
            raise ValueError(f"The 'dropout' parameter of UNet must be a float in [0, 1). Got {dropout} instead")
        self.hparams = {"channels": list(channels), "dropout": dropout, "seed": seed}
        c = shape[0]
        with init_seed(seed):
            self.encoder = nn.ModuleList()
            for i, out_c in enumerate(channels):
                self.encoder.append(encoder_stage(c, out_c, pool=i > 0))
                c = out_c
            self.dropout = nn.Dropout2d(dropout)
            self.decoder = nn.ModuleList()
            for skip_c in reversed(channels[:-1]):
                self.decoder.append(DecoderStage(c, skip_c))
                c = skip_c
            self.head = nn.Conv2d(c, num_outputs, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        for stage in self.encoder:
            x = stage(x)  # (B, channels[i], H_i, W_i), H_i = ceil(H_(i-1) / 2)
            skips.append(x)
        x = self.dropout(skips.pop())  # the bottleneck (B, channels[-1], H_last, W_last)
        for stage in self.decoder:
            x = stage(x, skips.pop())  # (B, c, H_i, W_i), back up to the input's size
        return self.head(x)  # (B, num_outputs, H, W)
