"""Activation functions by name. Each entry builds a fresh `nn.Module`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neuronet.registry import Registry

__all__ = ["ACTIVATIONS", "Step", "activation"]

ACTIVATIONS: Registry[Callable[..., nn.Module]] = Registry("activation")


class Step(nn.Module):
    """Heaviside step: 1 where x > threshold, else 0 (the classic perceptron's activation).

    Its gradient is zero almost everywhere, so it is trained with the perceptron rule,
    not with backpropagation.

    Example:
        >>> Step()(torch.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 1.])
    """

    def __init__(self, threshold: float = 0.0) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold).to(x.dtype)


for _name, _factory, _help in [
    ("step", Step, "Heaviside step: 1 if x > 0 else 0."),
    ("identity", nn.Identity, "f(x) = x (linear output)."),
    ("sigmoid", nn.Sigmoid, "1 / (1 + exp(-x)), squashes to (0, 1)."),
    ("tanh", nn.Tanh, "Hyperbolic tangent, squashes to (-1, 1)."),
    ("relu", nn.ReLU, "max(0, x)."),
    ("leaky_relu", nn.LeakyReLU, "x if x > 0 else negative_slope * x (default 0.01)."),
    ("elu", nn.ELU, "x if x > 0 else alpha * (exp(x) - 1)."),
    ("selu", nn.SELU, "Scaled ELU (self-normalising)."),
    ("gelu", nn.GELU, "x * Phi(x), the Transformer default."),
    ("silu", nn.SiLU, "x * sigmoid(x) (swish)."),
    ("softplus", nn.Softplus, "log(1 + exp(x)), a smooth ReLU."),
    ("softmax", lambda **kw: nn.Softmax(dim=kw.pop("dim", -1), **kw), "exp(x_i) / sum_j exp(x_j) over the last dim."),
    ("log_softmax", lambda **kw: nn.LogSoftmax(dim=kw.pop("dim", -1), **kw), "log of softmax, numerically stable."),
]:
    ACTIVATIONS.add(_name, _factory, _help)


def activation(name: str | nn.Module, **kwargs: Any) -> nn.Module:
    """Build an activation module from its name (a module passes through unchanged).

    Example:
        >>> activation("leaky_relu", negative_slope=0.2)
        LeakyReLU(negative_slope=0.2)
    """
    if isinstance(name, nn.Module):
        return name
    return ACTIVATIONS.get(name)(**kwargs)
