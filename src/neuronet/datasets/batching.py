"""Mini-batches: whole-tensor slicing for in-memory data, a DataLoader for the rest."""

from __future__ import annotations

from collections.abc import Iterator

import torch

__all__ = ["epoch_permutation", "tensor_batches", "num_batches"]


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
