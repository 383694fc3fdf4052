"""The model registry and the helpers every model file shares."""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.registry import Registry, check_arguments

__all__ = ["MODELS", "build_model", "init_seed", "as_shape"]

MODELS: Registry[type[nn.Module]] = Registry("model")


@contextlib.contextmanager
def init_seed(seed: int | None) -> Iterator[None]:
    """Run the body with torch's RNG seeded to `seed`, leaving the global RNG untouched.

    With `seed=None` the global RNG is used as is. The same seed gives the same weights.
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def as_shape(input_shape: int | Sequence[int]) -> tuple[int, ...]:
    """Normalise an input shape given as an int or a sequence."""
    return (int(input_shape),) if isinstance(input_shape, int) else tuple(int(d) for d in input_shape)


def build_model(type: str, input_shape: int | Sequence[int], num_outputs: int, **kwargs: Any) -> nn.Module:
    """Build a registered model from its name and a Dataset's shape.

    Args:
        type: Registered model name (see `MODELS.names()`).
        input_shape: Shape of one example (without the batch dimension).
        num_outputs: Classes or regression targets.
        **kwargs: The model's own hyper-parameters (e.g. `hidden=[64, 64]`).

    Raises:
        ConfigError: unknown model or hyper-parameter (with the closest valid name), or layers too
            large to allocate.

    Example:
        >>> build_model("mlp", (4,), 3, hidden=[8])(torch.zeros(2, 4)).shape
        torch.Size([2, 3])
    """
    cls = MODELS.get(type)
    params = [p for p in inspect.signature(cls).parameters if p not in ("input_shape", "num_outputs")]
    check_arguments(f"Model '{type}'", kwargs, params)
    try:
        return cls(input_shape, num_outputs, **kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"Cannot build model '{type}' with {kwargs}: {err}.") from err
    except (RuntimeError, MemoryError) as err:
        if not isinstance(err, MemoryError) and "allocate" not in str(err):
            raise
        wanted = re.search(r"allocate (\d+) bytes", str(err))
        size = f" ({int(wanted.group(1)) / 2**30:,.1f} GiB for one tensor)" if wanted else ""
        raise ConfigError(f"Model '{type}' with {kwargs} is too large to fit in memory{size}; use fewer or "
                          f"smaller layers.") from None
