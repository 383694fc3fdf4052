"""What a layer computes: its outputs for each example, captured with a forward hook."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.explain.subject import evaluating, subject
from neuronet.predict import Predictor

__all__ = ["features", "layer_outputs"]


def features(predictor: Predictor | nn.Module, data: Any, layer: str | None = None, limit: int | None = None, *,
             prepared: bool | None = None) -> tuple[np.ndarray, str]:
    """A layer's output for each example, flattened: what the network "sees" at that depth.

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module` with a prepared Dataset.
        data: The inputs (a raw Dataset such as a run's test split, or anything a Predictor accepts).
        layer: A module name as in `model.named_modules()` (e.g. "head.2"); default: the
            penultimate layer, i.e. the input of the model's last `nn.Linear`.
        limit: Use only the first `limit` examples.
        prepared: Whether a Dataset given with a Predictor is already prepared (see `subject`).

    Returns:
        (features (N, D) float32 array, the layer's name; "<name> (input)" for a layer's input).

    Raises:
        ConfigError: an unknown layer name (a few valid ones are listed), or no `nn.Linear` to default to.

    Example:
        >>> import torch
        >>> from neuronet.datasets import Dataset
        >>> from neuronet.models import MLP
        >>> data = Dataset(torch.zeros(5, 4), torch.tensor([0, 1, 0, 1, 0]))
        >>> values, name = features(MLP((4,), 2, hidden=[8], seed=0), data)
        >>> values.shape, name
        ((5, 8), 'net.3 (input)')
    """
    s = subject(predictor, data, prepared=prepared)
    x = s.data.x if limit is None else s.data.x[:limit]
    return layer_outputs(s.model, x, layer)


def layer_outputs(model: nn.Module, x: torch.Tensor, layer: str | None = None,
                  batch_size: int = 512) -> tuple[np.ndarray, str]:
    """Outputs (N, D) of `layer` for inputs `x` (default: the input of the last `nn.Linear`).

    Raises:
        ConfigError: an unknown layer, or a model without `nn.Linear` and no layer named.
    """
    module, name, use_input = _find(model, layer)
    captured: list[torch.Tensor] = []

    def keep(value: Any) -> None:
        value = value[0] if isinstance(value, (tuple, list)) else value
        captured.append(value.detach().float().reshape(len(value), -1).cpu())

    handle = (module.register_forward_pre_hook(lambda _m, args: keep(args)) if use_input
              else module.register_forward_hook(lambda _m, _args, out: keep(out)))
    device = next(model.parameters(), torch.empty(0)).device
    try:
        with evaluating(model), torch.no_grad():
            for chunk in x.split(batch_size):
                model(chunk.to(device))
    finally:
        handle.remove()
    if not captured:
        raise ConfigError(f"Layer '{name}' of {type(model).__name__} is never called in its forward pass; "
                          "choose another layer.")
    return torch.cat(captured).numpy(), f"{name} (input)" if use_input else name


def _find(model: nn.Module, layer: str | None) -> tuple[nn.Module, str, bool]:
    """(module, name, whether to capture its input rather than its output)."""
    modules = dict(model.named_modules())
    if layer is None:
        linear = [n for n, m in modules.items() if isinstance(m, nn.Linear)]
        if not linear:
            raise ConfigError(f"{type(model).__name__} has no nn.Linear layer whose input is the penultimate layer; "
                              f"name a layer instead (one of {_some(modules)}).")
        return modules[linear[-1]], linear[-1], True
    if layer not in modules or not layer:
        raise ConfigError(f"{type(model).__name__} has no layer {layer!r}; valid names include {_some(modules)}.")
    return modules[layer], layer, False


def _some(modules: dict[str, nn.Module], n: int = 8) -> str:
    """A few module names, the deepest-last ones first (those nearest the output)."""
    names = [name for name in modules if name][-n:][::-1]
    return ", ".join(repr(name) for name in names)
