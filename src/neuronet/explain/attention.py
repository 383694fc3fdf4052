"""Attention maps: which tokens (or time steps) each position of a Transformer attends to, per layer and head."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.explain.subject import Subject, choose, evaluating, subject
from neuronet.models import MODELS
from neuronet.predict import Predictor

__all__ = ["attention_maps", "has_attention"]


def attention_maps(predictor: Predictor | nn.Module, data: Any, examples: Sequence[int] | int = (0,),
                   path: str | Path | None = None, *, prepared: bool | None = None) -> list[dict[str, Any]]:
    """Self-attention weights of chosen examples, per layer and head, over their tokens or time steps.

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module` with a prepared Dataset; the
            model must take `return_attention=True` (the Transformer, the GPT).
        data: The inputs (a raw Dataset such as a run's test split, or anything a Predictor accepts).
        examples: Indices of the examples to show.
        path: Where the PNGs go: a folder (one `attention-<i>.png` per example), or a .png file
            (used as is for one example; `<stem>-<i>.png` for several). None: no plots.
        prepared: Whether a Dataset given with a Predictor is already prepared (see `subject`).

    Returns:
        One dict per example: {"example": i, "tokens": the tokens (text, padding left out) or time
        steps ("t-23" ... "t-0"), "weights": (layers, heads, T, T) array whose rows sum to 1 over
        the keys, "path": the PNG or None}.

    Raises:
        ConfigError: a model without attention maps, or an example outside the data.

    Example:
        >>> import neuronet as nt
        >>> from neuronet.runs.evaluate import test_split
        >>> maps = nt.explain.attention_maps(nt.load("runs/tweets"), test_split("runs/tweets"),
        ...                                  examples=[0, 5], path="attention")  # doctest: +SKIP
        >>> maps[0]["tokens"], maps[0]["weights"].shape  # doctest: +SKIP
        (['<user>', 'thanks', '!'], (2, 4, 3, 3))
    """
    s = subject(predictor, data, prepared=prepared)
    if not has_attention(s.model):
        with_maps = [name for name in MODELS.names() if has_attention(MODELS.get(name))]
        raise ConfigError(f"Attention maps need a model with self-attention ({', '.join(with_maps)}); this one is "
                          f"a {type(s.model).__name__}.")
    chosen = choose(examples, len(s.data))
    x = s.data.x[chosen]
    with evaluating(s.model), torch.no_grad():
        _, attention = s.model(x.to(s.device), return_attention=True)
    weights = torch.stack([w.float().cpu() for w in attention], dim=1).numpy()  # (B, layers, heads, T, T)
    maps = []
    for row, (i, w) in enumerate(zip(chosen, weights)):
        keep, tokens = _positions(s, x[row])
        w = w[:, :, keep][:, :, :, keep]
        out = None if path is None else _path(Path(path), i, len(chosen))
        if out is not None:
            from neuronet.explain.plots import plot_attention

            out = plot_attention(w, tokens, f"attention of example {i}", out)
        maps.append({"example": i, "tokens": tokens, "weights": w, "path": out})
    return maps


def has_attention(model: nn.Module | type) -> bool:
    """Whether a model (or model class) returns attention weights with `return_attention=True`.

    Example:
        >>> from neuronet.models import MLP, TransformerEncoder
        >>> has_attention(TransformerEncoder), has_attention(MLP)
        (True, False)
    """
    forward = getattr(model, "forward", None)
    return forward is not None and "return_attention" in inspect.signature(forward).parameters


def _positions(s: Subject, x: torch.Tensor) -> tuple[np.ndarray, list[str]]:
    """The positions shown (padding left out) and their labels: tokens for text, "t-k" for time steps."""
    if s.layout == "tokens":
        keep = s.real_tokens(x)
        return keep, s.token_names(x[keep])
    steps = len(x)
    return np.arange(steps), [f"t-{steps - 1 - k}" for k in range(steps)]


def _path(path: Path, example: int, count: int) -> Path:
    """The PNG of one example: `path` itself (one example), `<stem>-<i>.png`, or `<folder>/attention-<i>.png`."""
    if path.suffix.lower() == ".png":
        return path if count == 1 else path.with_name(f"{path.stem}-{example}{path.suffix}")
    return path / f"attention-{example}.png"
