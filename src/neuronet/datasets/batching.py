"""Mini-batches: whole-tensor slicing for in-memory data, a DataLoader for the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

import torch
from torch.utils.data import DataLoader

from neuronet.errors import ConfigError

__all__ = ["epoch_permutation", "tensor_batches", "num_batches", "iterate_batches", "shard_order", "to_device"]


def epoch_permutation(n: int, seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The shuffled order of `n` examples for one epoch; a pure function of (seed, epoch).

    Because it depends on nothing else, a resumed run sees exactly the batches an
    uninterrupted run would.
    """
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator).to(device)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of mini-batches per epoch."""
    return n // batch_size if drop_last else -(-n // batch_size)


def tensor_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    order: torch.Tensor | None = None,
    drop_last: bool = False,
    start: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (x, y) mini-batches by slicing whole tensors: no per-sample collation.

    With `order`, the data is permuted once (one gather per epoch) and then sliced into
    contiguous views, which is cheaper than a gather per batch. `start` skips the first
    batches (a run resumed in the middle of an epoch).
    """
    if order is not None:
        order = order[start * batch_size:]
        x, y = x[order], y[order]
    else:
        x, y = x[start * batch_size:], y[start * batch_size:]
    stop = len(x) - len(x) % batch_size if drop_last else len(x)
    for first in range(0, stop, batch_size):
        yield x[first:first + batch_size], y[first:first + batch_size]


def shard_order(order: torch.Tensor, batch_size: int, rank: int, world: int) -> torch.Tensor:
    """Rank `rank`'s examples of one epoch's `order`: part `rank` of each global batch (`batch_size` x `world`).

    The order is first padded with its own head to a multiple of `world` (as torch's
    DistributedSampler does), so every rank gets as many examples, and as many batches, as the
    others: DDP needs every rank at every step.

    Example:
        >>> shard_order(torch.arange(10), batch_size=2, rank=1, world=2).tolist()  # global batches of 4
        [2, 3, 6, 7, 9]
    """
    if world == 1:
        return order
    pad = (-len(order)) % world
    if pad:
        order = torch.cat([order, order.repeat(pad // max(len(order), 1) + 1)[:pad]])
    parts = []
    for first in range(0, len(order), batch_size * world):
        chunk = order[first:first + batch_size * world]
        size = len(chunk) // world
        parts.append(chunk[rank * size:(rank + 1) * size])
    return torch.cat(parts)


def iterate_batches(data: Any, batch_size: int, device: torch.device, seed: int, epoch: int, shuffle: bool,
                    start: int = 0, in_memory: bool = True, cache: dict[int, tuple[Any, Any]] | None = None,
                    collate: Callable[[list[Any]], Any] | None = None, rank: int = 0,
                    world: int = 1) -> Iterator[tuple[Any, Any]]:
    """Mini-batches of `data` on `device`, from batch `start` on, in an order that depends on (seed, epoch) only.

    A tensor Dataset is sliced whole (moved to the device once and kept in `cache`); any other
    torch Dataset goes through a DataLoader with the same order, its examples joined by `collate`
    (the task's: variable-size targets are padded or kept as lists); a user's DataLoader keeps its
    own order and collation, and `start` skips the batches already done. Among `world` training processes,
    rank `rank` reads its part of each global batch (`shard_order`).
    """
    from neuronet.datasets.dataset import Dataset

    if isinstance(data, Dataset) and in_memory:
        moved = _on_device(data, device, cache if cache is not None else {})
        order = epoch_permutation(len(moved), seed, epoch, device) if shuffle else None
        if world > 1:
            order = shard_order(torch.arange(len(moved), device=device) if order is None else order, batch_size,
                                rank, world)
        yield from tensor_batches(moved.x, moved.y, batch_size, order, start=start)
        return
    if isinstance(data, DataLoader):
        if world > 1:
            raise ConfigError("Across processes the Trainer cuts each rank's part from its own seeded order; pass "
                              "the Dataset (or a torch Dataset), not a DataLoader.")
        loader = islice(data, start, None)
    else:
        order = epoch_permutation(len(data), seed, epoch) if shuffle else torch.arange(len(data))
        order = shard_order(order, batch_size, rank, world)
        loader = DataLoader(data, batch_size=batch_size, sampler=order[start * batch_size:].tolist(), collate_fn=collate,
                            pin_memory=device.type == "cuda")  # page-locked batches: non-blocking copies to the GPU
    for x, y in loader:
        yield to_device(x, device), to_device(y, device)


def to_device(value: Any, device: torch.device) -> Any:
    """`value` on `device`: a tensor, or the tensors inside lists, tuples and dicts (a batch of variable-size targets).

    Example:
        >>> to_device([torch.zeros(2), {"boxes": torch.ones(1, 4)}], torch.device("cpu"))[1]["boxes"].shape
        torch.Size([1, 4])
    """
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def _on_device(data: Any, device: torch.device, cache: dict[int, tuple[Any, Any]]) -> Any:
    """`data` on `device`, copied once and kept for the next epochs (train, val); at most 3 kept."""
    if device.type == "cpu":
        return data
    cached = cache.get(id(data))
    if cached is None or cached[0] is not data:
        cached = (data, data.to(device))
        cache[id(data)] = cached
        while len(cache) > 3:  # bounded: predictions on many sets do not pile up
            cache.pop(next(iter(cache)))
    return cached[1]
