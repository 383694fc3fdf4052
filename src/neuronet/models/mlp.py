"""Multi-layer perceptron: Linear → [BatchNorm] → activation → [Dropout], repeated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.registry import MODELS, as_shape, init_seed
from neuronet.nn.activations import activation as make_activation

__all__ = ["MLP"]


@MODELS.register("mlp", "Multi-layer perceptron: any depth and width, activation and dropout by name.")
class MLP(nn.Module):
    """A fully connected network; inputs of any shape are flattened first.

    Args:
        input_shape: Shape of one example, e.g. (64,) or (1, 8, 8).
        num_outputs: Size of the output layer (classes or targets).
        hidden: Width of each hidden layer; `[]` gives a linear model.
        activation: Activation name (see `neuronet.nn.ACTIVATIONS`).
        dropout: Dropout probability after each hidden layer.
        batch_norm: Insert BatchNorm1d before each activation.
        seed: Seed for the initial weights (None: the global RNG).

    Example:
        >>> model = MLP((64,), 10, hidden=[128], seed=0)
        >>> model(torch.zeros(5, 64)).shape
        torch.Size([5, 10])
    """

    layouts: ClassVar[tuple[str, ...]] = ("table", "sequence", "image", "tensor")  # numbers, flattened; not token ids

    def __init__(
        self,
        input_shape: int | Sequence[int],
        num_outputs: int,
        hidden: Sequence[int] = (128,),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.hparams = {"hidden": list(hidden), "activation": activation, "dropout": dropout,
                        "batch_norm": batch_norm, "seed": seed}
        width = math.prod(as_shape(input_shape))
        layers: list[nn.Module] = [nn.Flatten()]
        with init_seed(seed):
            for size in hidden:
                layers.append(nn.Linear(width, size))
                if batch_norm:
                    layers.append(nn.BatchNorm1d(size))
                layers.append(make_activation(activation))
                if dropout:
                    layers.append(nn.Dropout(dropout))
                width = size
            layers.append(nn.Linear(width, num_outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, *input_shape) -> (B, num_outputs)
