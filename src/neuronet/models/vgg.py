"""A VGG-style network: stacks of 3x3 convolutions, each stack closed by max-pooling (Simonyan & Zisserman, 2014)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.layers import conv_block
from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["VGG"]


@MODELS.register("vgg", "VGG-style: stacks of 3x3 conv + batch norm + ReLU, max-pool after each stack.")
class VGG(nn.Module):
    """Stacks of 3x3 convolutions; the image halves after each stack.

    Args:
        input_shape: (channels, height, width).
        num_outputs: Classes or targets.
        stacks: Output channels of the convolutions in each stack, e.g. [[32, 32], [64, 64]].
        hidden: Width of the dense layer before the output.
        dropout: Dropout in the head.
        batch_norm: BatchNorm after each convolution.
        seed: Seed for the initial weights.

    Example:
        >>> VGG((1, 28, 28), 10, seed=0)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)  # the inputs it reads

    def __init__(self, input_shape: Sequence[int], num_outputs: int,
                 stacks: Sequence[Sequence[int]] = ((32, 32), (64, 64)), hidden: int = 256, dropout: float = 0.5,
                 batch_norm: bool = True, seed: int | None = None) -> None:
        super().__init__()
        c, h, w = as_shape(input_shape)
        self.hparams = {"stacks": [list(s) for s in stacks], "hidden": hidden, "dropout": dropout,
                        "batch_norm": batch_norm, "seed": seed}
        layers: list[nn.Module] = []
        with init_seed(seed):
            for stack in stacks:
                for out_c in stack:
                    layers.append(conv_block(c, out_c, batch_norm=batch_norm))
                    c = out_c
                if min(h, w) >= 2:
                    layers.append(nn.MaxPool2d(2))
                    h, w = h // 2, w // 2
            self.features = nn.Sequential(*layers)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), nn.Dropout(dropout),
                                      nn.Linear(hidden, num_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, num_outputs)
