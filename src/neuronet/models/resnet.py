"""A small ResNet: residual blocks with batch norm and global average pooling (He et al., 2016)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.layers import Add, conv_block
from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["ResNet", "ResidualBlock"]


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions plus a shortcut: out = relu(F(x) + shortcut(x)).

    The shortcut is the identity, or a 1x1 convolution when the shape changes.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_block(in_channels, out_channels, stride=stride),
                                  conv_block(out_channels, out_channels, activation=None))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = conv_block(in_channels, out_channels, kernel_size=1, stride=stride, activation=None)
        self.add = Add()  # a module, not `+`: LRP splits relevance between the two branches
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.add(self.body(x), self.shortcut(x)))


@MODELS.register("resnet", "Small ResNet: residual blocks, batch norm, global average pooling.")
class ResNet(nn.Module):
    """A stem convolution, stages of residual blocks (each later stage halves the image), global average pooling.

    Args:
        input_shape: (channels, height, width).
        num_outputs: Classes or targets.
        channels: Channels of each stage.
        blocks: Residual blocks per stage.
        seed: Seed for the initial weights.

    Example:
        >>> ResNet((1, 28, 28), 10, seed=0)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)  # the inputs it reads

    def __init__(self, input_shape: Sequence[int], num_outputs: int, channels: Sequence[int] = (16, 32, 64),
                 blocks: int = 2, seed: int | None = None) -> None:
        super().__init__()
        c, h, w = as_shape(input_shape)
        self.hparams = {"channels": list(channels), "blocks": blocks, "seed": seed}
        with init_seed(seed):
            layers: list[nn.Module] = [conv_block(c, channels[0])]
            in_c = channels[0]
            for i, out_c in enumerate(channels):
                for j in range(blocks):
                    stride = 2 if (i > 0 and j == 0 and min(h, w) >= 2) else 1
                    h, w = (h + 1) // 2 if stride == 2 else h, (w + 1) // 2 if stride == 2 else w
                    layers.append(ResidualBlock(in_c, out_c, stride))
                    in_c = out_c
            self.features = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(in_c, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, C, H, W) -> (B, channels[-1], H', W')
        return self.head(self.pool(x).flatten(1))  # global average pool -> (B, num_outputs)
