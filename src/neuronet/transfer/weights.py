"""Weights from a file into a model: safetensors, or a PyTorch state dict read with `weights_only=True`.

A file that does not fit is one sentence listing the missing, unexpected and mis-shaped keys,
never a page of `load_state_dict` output. A neuronet run directory stands for its
`model.safetensors`.

Example:
    >>> import tempfile, torch
    >>> from torch import nn
    >>> path = tempfile.mkdtemp() + "/w.pt"
    >>> torch.save(nn.Linear(4, 3).state_dict(), path)
    >>> load_weights(nn.Linear(4, 2), path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neuronet.errors.ConfigError: The weights in .../w.pt do not fit the model: mis-shaped weight (file 3x4, model 2x4), bias (file 3, model 2).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from neuronet.errors import ConfigError

__all__ = ["read_weights", "load_weights", "weights_mismatch"]


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file: `.safetensors`, or a `torch.save`d state dict (also one nested under
    "state_dict" or "model", as Lightning and many scripts save it). A run directory reads its model.safetensors."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise ConfigError(f"No weights file at {path}; give a .safetensors or .pt file, or a finished run directory.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is the same sentence
        raise ConfigError(f"{path} is neither a .safetensors file nor a PyTorch state dict that loads with "
                          "weights_only=True (tensors only, no pickled objects); save one with "
                          "safetensors.torch.save_file or torch.save(model.state_dict(), path).") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path} holds no state dict (a mapping of parameter names to tensors); save one with "
                          "torch.save(model.state_dict(), path) or safetensors.")
    return state


def _shape(t: torch.Tensor | torch.Size) -> str:
    return "x".join(map(str, t.shape if isinstance(t, torch.Tensor) else t)) or "scalar"


def _few(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def weights_mismatch(model: nn.Module, weights: dict[str, torch.Tensor]) -> tuple[list[str], list[str], list[str]]:
    """The missing, unexpected and mis-shaped keys of `weights` for `model`."""
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    misshaped = [k for k in own if k in weights and weights[k].shape != own[k].shape]
    return missing, unexpected, misshaped


def load_weights(model: nn.Module, source: str | Path | dict[str, torch.Tensor], skip: list[str] | tuple = (),
                 where: str | None = None) -> nn.Module:
    """Load weights into `model` in place; every key must fit, except those in `skip` (kept as they are).

    Args:
        model: The model to fill.
        source: A weights file, a run directory, or a state dict.
        skip: Keys to leave alone (e.g. a new head whose shape differs from the file's).
        where: How to name the source in errors (default: the path).

    Returns:
        The model.

    Raises:
        ConfigError: the file cannot be read, or its keys do not fit (one sentence listing them).
    """
    weights = source if isinstance(source, dict) else read_weights(source)
    where = where or str(source if not isinstance(source, dict) else "the state dict")
    missing, unexpected, misshaped = weights_mismatch(model, weights)
    missing = [k for k in missing if k not in skip]
    misshaped = [k for k in misshaped if k not in skip]
    if missing or unexpected or misshaped:
        own = model.state_dict()
        parts = ([f"missing {_few(missing)}"] if missing else []) + \
                ([f"unexpected {_few(unexpected)}"] if unexpected else []) + \
                ([f"mis-shaped {_few([f'{k} (file {_shape(weights[k])}, model {_shape(own[k])})' for k in misshaped])}"]
                 if misshaped else [])
        raise ConfigError(f"The weights in {where} do not fit the model: {'; '.join(parts)}.")
    kept = {k: v for k, v in model.state_dict().items() if k in skip}
    model.load_state_dict({**{k: v for k, v in weights.items() if k not in skip}, **kept})
    return model
