"""Feature extraction: embed a data set once with a frozen pretrained backbone, then train only the head.

With `freeze: backbone` the backbone is a fixed function of the input (frozen, in eval mode), so
running it again every epoch would compute the same features again. A run embeds each split
once and trains the head on the cached features: the same result, a fraction of the time on a
CPU. Augmentations change the inputs every epoch, so with them a run does not cache.

Example:
    >>> import neuronet as nt                                                  # doctest: +SKIP
    >>> model = nt.models.build_model("pretrained", (64,), 2, name="minilm-l6", freeze="backbone",
    ...                               vocab_size=30522)                        # doctest: +SKIP
    >>> features = embed(model, train)   # (N, 384) features, same targets      # doctest: +SKIP
    >>> nt.Trainer(head_of(model)).fit(features)                              # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["cacheable", "embed", "head_of"]


def cacheable(model: nn.Module) -> bool:
    """Whether `model` is a pretrained network whose backbone is frozen: only its head trains."""
    net = getattr(model, "net", None)
    if not callable(getattr(net, "embed", None)) or not callable(getattr(model, "head_names", None)):
        return False
    heads = set(model.head_names())
    return all(not p.requires_grad for n, p in model.named_parameters() if n not in heads)


class _Head(nn.Module):
    """The trainable end of a pretrained model (dropout, then the new linear head), reading features."""

    def __init__(self, drop: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.drop, self.head = drop, head

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (N, features) -> (N, outputs)
        return self.head(self.drop(features))


def head_of(model: nn.Module) -> nn.Module:
    """The model's head as a module of its own that reads features; it shares the model's parameters, so
    training it trains the model."""
    return _Head(model.net.drop, model.net.head)


@torch.no_grad()
def embed(model: nn.Module, data: Any, batch_size: int = 64, device: torch.device | str = "cpu",
          progress: bool = False) -> Any:
    """`data` (a prepared `neuronet.datasets.Dataset`) with its inputs replaced by the frozen backbone's features (N, features), targets kept."""
    model.eval().to(device)
    chunks = []
    starts = range(0, len(data), batch_size)
    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn(f"embedding {len(data)} examples ({data.name})"), BarColumn(),
                       TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(), transient=True)
        bar.start()
        task = bar.add_task("embed", total=len(data))
    try:
        for start in starts:
            x = data.x[start:start + batch_size].to(device)
            chunks.append(model.net.embed(x).float().cpu())
            if bar is not None:
                bar.update(task, advance=len(x))
    finally:
        if bar is not None:
            bar.stop()
    features = torch.cat(chunks) if chunks else torch.zeros(0, model.net.head.in_features)
    return data.with_tensors(features)
