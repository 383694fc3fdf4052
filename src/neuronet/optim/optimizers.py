"""Gradient-descent variants by name, each PyTorch's own implementation.

Where PyTorch has a fused kernel for the parameters' device (SGD, Adam, AdamW, Adagrad),
it is used; otherwise the multi-tensor `foreach` kernel.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch

from neuronet.errors import ConfigError
from neuronet.registry import Registry, check_arguments

__all__ = ["OPTIMIZERS", "build_optimizer"]

OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")

# name -> (PyTorch class, fixed arguments, help)
_SPECS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any], str]] = {
    "sgd": (torch.optim.SGD, {}, "Plain (mini-batch) gradient descent: w -= lr * g."),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}, "SGD with momentum 0.9: a velocity that accumulates gradients."),
    "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}, "SGD with Nesterov momentum: look ahead before the step."),
    "adagrad": (torch.optim.Adagrad, {}, "Per-parameter rates that shrink with the sum of squared gradients."),
    "rmsprop": (torch.optim.RMSprop, {}, "Per-parameter rates from a moving average of squared gradients."),
    "adam": (torch.optim.Adam, {}, "Momentum + RMSProp with bias correction."),
    "adamw": (torch.optim.AdamW, {}, "Adam with decoupled weight decay."),
}


def _kernel_flags(cls: type[torch.optim.Optimizer], params: list[torch.Tensor]) -> dict[str, bool]:
    """{'fused': True} where PyTorch has a fused kernel for these tensors, else {'foreach': True}."""
    accepted = inspect.signature(cls).parameters
    if "fused" in accepted and params:
        try:
            cls([torch.zeros(1, device=params[0].device, dtype=params[0].dtype)], lr=1e-3, fused=True)
            return {"fused": True}
        except (RuntimeError, ValueError, TypeError):
            pass
    return {"foreach": True} if "foreach" in accepted else {}


def _make(name: str) -> Callable[..., torch.optim.Optimizer]:
    cls, fixed, help_ = _SPECS[name]

    def make(params: Iterable[torch.Tensor], lr: float = 1e-3, **kwargs: Any) -> torch.optim.Optimizer:
        params = list(params)
        accepted = [p for p in inspect.signature(cls).parameters if p not in ("params", "lr")]
        check_arguments(f"Optimizer '{name}'", kwargs, accepted)
        flat = params[0]["params"] if params and isinstance(params[0], dict) else params
        options = {**_kernel_flags(cls, list(flat)), **fixed, **kwargs}
        return cls(params, lr=lr, **options)

    make.__doc__ = help_
    make.__name__ = name
    return make


for _name in _SPECS:
    OPTIMIZERS.add(_name, _make(_name), _SPECS[_name][2])


def build_optimizer(name: str, params: Iterable[torch.Tensor], lr: float = 1e-3, **kwargs: Any) -> torch.optim.Optimizer:
    """Build an optimizer by name for `params`.

    Args:
        name: One of `OPTIMIZERS.names()`.
        params: The parameters (or parameter groups) to optimise.
        lr: Learning rate, a float > 0.
        **kwargs: The PyTorch optimizer's own arguments (e.g. `weight_decay`, `betas`).

    Raises:
        ConfigError: unknown name or argument, or a learning rate that is not a float > 0.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> type(build_optimizer("nesterov", [w], lr=0.1)).__name__
        'SGD'
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ConfigError(f"The 'lr' parameter of {name} must be a float > 0. Got {lr!r} instead.")
    weight_decay = kwargs.get("weight_decay", 0)
    if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ConfigError(f"The 'weight_decay' parameter of {name} must be a float >= 0. Got {weight_decay!r} instead.")
    return OPTIMIZERS.get(name)(params, lr=float(lr), **kwargs)
