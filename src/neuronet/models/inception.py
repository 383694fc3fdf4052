"""Inception (GoogLeNet): modules of parallel 1x1, 3x3, double-3x3 and pooling branches joined on channels.

Szegedy et al., 2015 ("Going deeper with convolutions"), with batch norm and the 5x5 branch factorised
into two 3x3 convolutions (Ioffe & Szegedy, 2015; Szegedy et al., 2016). The optional auxiliary
classifier reads the stage before the last; its loss is added to the training objective (weight 0.3
in the paper) through the Trainer's `auxiliary_outputs` hook, and the model's output stays one tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.layers import Concat, conv_block
from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["Inception", "InceptionModule"]


class InceptionModule(nn.Module):
    """Four branches over the same input, concatenated on channels (each convolution: conv → batch norm → ReLU).

    1x1; 1x1 → 3x3; 1x1 → 3x3 → 3x3 (a factorised 5x5); 3x3 max-pool (stride 1) → 1x1.

    Args:
        in_channels: Channels of the input.
        ones: Output channels of the 1x1 branch.
        reduce3: Channels of the 1x1 bottleneck before the 3x3.
        threes: Output channels of the 3x3 branch.
        reduce5: Channels of the 1x1 bottleneck before the two 3x3 (the factorised 5x5).
        fives: Output channels of the factorised 5x5 branch.
        pool: Output channels of the 1x1 after the max-pool.

    Example:
        >>> InceptionModule(8, 4, 4, 8, 2, 2, 2)(torch.zeros(2, 8, 7, 7)).shape
        torch.Size([2, 16, 7, 7])
    """

    def __init__(self, in_channels: int, ones: int, reduce3: int, threes: int, reduce5: int, fives: int,
                 pool: int) -> None:
        super().__init__()
        self.ones = conv_block(in_channels, ones, kernel_size=1)
        self.threes = nn.Sequential(conv_block(in_channels, reduce3, kernel_size=1), conv_block(reduce3, threes))
        self.fives = nn.Sequential(conv_block(in_channels, reduce5, kernel_size=1), conv_block(reduce5, fives),
                                   conv_block(fives, fives))
        self.pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_block(in_channels, pool, kernel_size=1))
        self.concat = Concat(dim=1)  # a module, not torch.cat: LRP hands each branch its channels' relevance
        self.out_channels = ones + threes + fives + pool

    @staticmethod
    def widths(out_channels: int) -> tuple[int, int, int, int, int, int]:
        """Branch widths for a module of `out_channels`: 1/4 1x1, 1/8 double 3x3, 1/8 pool, the rest 3x3; each
        bottleneck half its branch (GoogLeNet's proportions, rounded). Returns (ones, reduce3, threes, reduce5,
        fives, pool), whose outputs sum to `out_channels`.

        Example:
            >>> InceptionModule.widths(64)
            (16, 16, 32, 4, 8, 8)
        """
        ones, fives, pool = max(1, out_channels // 4), max(1, out_channels // 8), max(1, out_channels // 8)
        threes = out_channels - ones - fives - pool
        return ones, max(1, threes // 2), threes, max(1, fives // 2), fives, pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, ones + threes + fives + pool, H, W)
        return self.concat(self.ones(x), self.threes(x), self.fives(x), self.pool(x))


@MODELS.register("inception", "Inception (GoogLeNet-style): parallel 1x1, 3x3, double-3x3 and pool branches, "
                              "batch norm, global average pooling.")
class Inception(nn.Module):
    """A stem convolution, stages of Inception modules (each opens by halving the image), global average pooling.

    Each stage's max-pool (3x3, stride 2) halves the image while it is at least 2 pixels wide, so the
    same model works for 8x8 digits and 28x28 Fashion-MNIST (28 → 14 → 7 with two stages).

    With `aux`, a small auxiliary classifier (average pool to 4x4 → 1x1 conv → dropout → linear) reads
    the output of the stage before the last. In training mode its logits are kept for the Trainer, which
    adds `aux_weight * loss(aux logits, targets)` to the objective (`auxiliary_outputs`); the output is
    always the plain (B, num_outputs) logits, and in eval mode the auxiliary classifier does not run.

    Args:
        input_shape: (channels, height, width).
        num_outputs: Classes or targets.
        stem: Channels of the stem's 3x3 convolution.
        stages: Output channels of each Inception module, per stage, e.g. [[64, 64], [128, 128]] (at least 4 each).
        dropout: Dropout before the linear head (and in the auxiliary classifier).
        aux: Add the auxiliary classifier (needs at least two stages).
        aux_weight: Weight of the auxiliary classifier's loss in the training objective.
        seed: Seed for the initial weights.

    Raises:
        ValueError: not an image shape, a module narrower than 4 channels, or `aux` with one stage.

    Example:
        >>> Inception((1, 28, 28), 10, seed=0)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)  # the inputs it reads

    def __init__(self, input_shape: Sequence[int], num_outputs: int, stem: int = 32,
                 stages: Sequence[Sequence[int]] = ((64, 64), (128, 128)), dropout: float = 0.2, aux: bool = False,
                 aux_weight: float = 0.3, seed: int | None = None) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        if len(shape) != 3:
            raise ValueError(f"Inception needs images shaped (channels, height, width), got input_shape {shape}")
        if not stages or not all(stages) or any(width < 4 for stage in stages for width in stage):
            raise ValueError(f"each stage needs Inception modules of at least 4 channels (one per branch), "
                             f"got stages {[list(s) for s in stages]}")
        if aux and len(stages) < 2:
            raise ValueError("aux needs at least two stages (the auxiliary classifier reads the stage before the "
                             f"last), got {len(stages)}")
        c, h, w = shape
        self.hparams = {"stem": stem, "stages": [list(s) for s in stages], "dropout": dropout, "aux": aux,
                        "aux_weight": aux_weight, "seed": seed}
        self.aux_weight = aux_weight
        self._auxiliary: list[torch.Tensor] = []  # the auxiliary logits of the last training forward pass
        with init_seed(seed):
            self.stem = conv_block(c, stem)
            self.stages = nn.ModuleList()
            c, aux_in, aux_size = stem, stem, (h, w)
            for i, widths in enumerate(stages):
                layers: list[nn.Module] = []
                h, w = self._halve(layers, h, w)
                for width in widths:
                    layers.append(InceptionModule(c, *InceptionModule.widths(width)))
                    c = width
                self.stages.append(nn.Sequential(*layers))
                if i == len(stages) - 2:
                    aux_in, aux_size = c, (min(4, h), min(4, w))
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                      nn.Linear(c, num_outputs))
            self.aux_head: nn.Module | None = None  # built last: the main weights are the same with and without it
            if aux:
                aux_c = max(8, aux_in // 2)
                self.aux_head = nn.Sequential(nn.AdaptiveAvgPool2d(aux_size), conv_block(aux_in, aux_c, kernel_size=1),
                                              nn.Flatten(), nn.Dropout(dropout),
                                              nn.Linear(aux_c * aux_size[0] * aux_size[1], num_outputs))

    @staticmethod
    def _halve(layers: list[nn.Module], h: int, w: int) -> tuple[int, int]:
        """Append a 3x3 stride-2 max-pool while the image is at least 2 pixels wide; the new (height, width)."""
        if min(h, w) < 2:
            return h, w
        layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        return (h + 1) // 2, (w + 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._auxiliary = []
        # (B, C, H, W) -> (B, stem, H, W), stored channels last: CPU max-pooling is ~10x faster so, convolutions
        # and batch norm faster too (a 1-channel input cannot ask for it: its two layouts are the same)
        x = self.stem(x).contiguous(memory_format=torch.channels_last)
        for i, stage in enumerate(self.stages):
            x = stage(x)  # -> (B, stages[i][-1], h, w): each stage halves the image, then runs its modules
            if i == len(self.stages) - 2 and self.aux_head is not None and self.training:
                self._auxiliary = [self.aux_head(x)]  # (B, num_outputs), for the Trainer's objective
        return self.head(x)  # global average pool -> (B, num_outputs)

    def auxiliary_outputs(self) -> list[tuple[float, torch.Tensor]]:
        """The auxiliary classifier's logits from the last training forward pass, with their weight in the loss.

        Handed over once (the list is emptied), so that a later step never sees stale logits. The
        Trainer adds `weight * loss(logits, targets)` for each to its training objective.

        Returns:
            [(aux_weight, logits (B, num_outputs))], or [] (no auxiliary classifier, or eval mode).

        Example:
            >>> model = Inception((1, 8, 8), 10, stages=[[16], [16]], aux=True, seed=0)
            >>> _ = model.train()(torch.zeros(2, 1, 8, 8))
            >>> [(weight, tuple(logits.shape)) for weight, logits in model.auxiliary_outputs()]
            [(0.3, (2, 10))]
            >>> model.auxiliary_outputs()
            []
        """
        found, self._auxiliary = self._auxiliary, []
        return [(self.aux_weight, logits) for logits in found]
