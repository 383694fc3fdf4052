"""Small building blocks shared by the model files (defined once, used everywhere)."""

from __future__ import annotations

import torch
from torch import nn

from neuronet.nn.activations import activation as make_activation

__all__ = ["Add", "Concat", "conv_block"]


class Add(nn.Module):
    """`a + b` as a module: a residual sum that attribution methods (LRP) can see and split.

    It has no parameters, so a model using it has the same `state_dict` keys as one using `+`.

    Example:
        >>> Add()(torch.ones(2), torch.tensor([1.0, 2.0]))
        tensor([2., 3.])
    """

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Concat(nn.Module):
    """`torch.cat(tensors, dim)` as a module: parallel branches joined so that attribution methods (LRP) can see
    the join and hand each branch the relevance of its own channels.

    The tensors are separate arguments (not one list), so that forward hooks see each branch's output. It has no
    parameters.

    Args:
        dim: The dimension to join along (1: channels of (B, C, H, W) images).

    Example:
        >>> Concat()(torch.ones(2, 1, 3), torch.zeros(2, 2, 3)).shape
        torch.Size([2, 3, 3])
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return torch.cat(tensors, dim=self.dim)


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, batch_norm: bool = True,
               activation: str | None = "relu") -> nn.Sequential:
    """Conv2d ('same' padding) → [BatchNorm2d] → [activation].

    Example:
        >>> [type(m).__name__ for m in conv_block(1, 8)]
        ['Conv2d', 'BatchNorm2d', 'ReLU']
    """
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                                         padding=kernel_size // 2, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if activation:
        layers.append(make_activation(activation))
    return nn.Sequential(*layers)
