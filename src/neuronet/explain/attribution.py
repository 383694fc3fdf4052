"""Attribution: how much each input (pixel, feature, token) contributed to an output, with Captum.

Three methods: integrated gradients (Sundararajan et al., 2017: the attributions add up to
f(x) - f(baseline)), layer-wise relevance propagation (LRP, Bach et al., 2015: the output's
relevance is passed back layer by layer and conserved) and saliency (the gradient's size).
Token inputs are explained on the embedding layer's output (a token id has no gradient), summed
over the embedding dimension: one number per token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.explain.lrp import lrp_rules
from neuronet.explain.subject import Subject, captum, choose, evaluating, subject
from neuronet.predict import Predictor
from neuronet.registry import suggest
from neuronet.tasks import tasks_that

__all__ = ["METHODS", "attribute"]

METHODS = ("integrated_gradients", "lrp", "saliency")
STEPS = 64  # integrated gradients: points of the path integral (Gauss-Legendre)
Target = int | str | Sequence[int | str] | None


def attribute(predictor: Predictor | nn.Module, data: Any, method: str = "integrated_gradients",
              examples: Sequence[int] | int = (0, 1, 2, 3), target: Target = None, path: str | Path | None = None,
              *, prepared: bool | None = None) -> dict[str, Any]:
    """Attributions of chosen examples' inputs to one output, and a PNG that shows them.

    Args:
        predictor: A Predictor (`nt.load(run)`), or a plain `nn.Module` with a prepared Dataset.
        data: The inputs (a raw Dataset such as a run's test split, or anything a Predictor accepts).
        method: "integrated_gradients" (baseline: zeros, the training mean of scaled inputs; padding
            for text), "lrp" or "saliency" (|gradient|; gradient x embedding for text).
        examples: Indices of the examples to explain.
        target: The output explained: an index or class name, one per example, or None: the
            predicted class (classification), else output 0.
        path: Where to write the PNG (none when None): images with their attribution overlaid,
            tokens highlighted (red: for the target, blue: against), or one bar per table feature.
        prepared: Whether a Dataset given with a Predictor is already prepared (see `subject`).

    Returns:
        {"method", "examples": the indices, "attributions": array of the inputs' shape (tokens:
        (N, T)), "targets": the explained output per example, "tokens": per example (text only),
        "path": the PNG or None}.

    Raises:
        ConfigError: an unknown method or target, LRP on a module it has no rule for (or on token
            inputs), a model whose outputs are not explained (autoencoders, GANs), Captum missing.

    Example:
        >>> import torch
        >>> from neuronet.datasets import Dataset
        >>> from neuronet.models import MLP
        >>> data = Dataset(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))
        >>> result = attribute(MLP((3,), 2, seed=0), data, method="lrp", examples=[0, 1])
        >>> result["attributions"].shape, len(result["targets"])
        ((2, 3), 2)
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown attribution method {method!r}.{suggest(str(method), list(METHODS))} "
                          f"Valid: {', '.join(METHODS)}.")
    attr = captum(f"Attribution ({method})")
    s = subject(predictor, data, prepared=prepared)
    if s.task is not None and not s.task.attributable:
        raise ConfigError(f"attribute explains {tasks_that(lambda task: task.attributable)} outputs; this is a "
                          f"{s.task.name} model.")
    chosen = choose(examples, len(s.data))
    x = s.data.x[chosen].to(s.device)
    targets = _targets(s, x, target)
    with evaluating(s.model), torch.enable_grad(), _without_cudnn():
        if s.layout == "tokens":
            values = _token_attributions(attr, s, x, targets, method)
        else:
            values = _input_attributions(attr, s.model, x, targets, method)
    result: dict[str, Any] = {"method": method, "examples": chosen, "attributions": values.detach().cpu().numpy(),
                              "targets": targets, "path": None}
    if s.layout == "tokens":
        result["tokens"] = [s.token_names(row[s.real_tokens(row)]) for row in x.cpu()]
    if path is not None:
        from neuronet.explain.plots import plot_attributions

        result["path"] = plot_attributions(s, result, x.cpu(), Path(path))
    return result


def _targets(s: Subject, x: torch.Tensor, target: Target) -> list[int]:
    """The explained output index per example (the predicted class by default)."""
    outputs = s.outputs(x)
    width = outputs.shape[1]
    if target is None:
        if s.has_classes and width > 1:
            return outputs.argmax(dim=1).tolist()
        return [0] * len(x)
    given = [target] * len(x) if isinstance(target, (int, str, np.integer)) else list(target)
    if len(given) != len(x):
        raise ConfigError(f"Give one target per example ({len(x)}), or one for all; got {len(given)}.")
    names = s.class_names or []
    found = []
    for t in given:
        if isinstance(t, str):
            if t not in names:
                raise ConfigError(f"Unknown target class {t!r}.{suggest(t, names)} "
                                  f"Valid: {', '.join(names) or 'none'}.")
            t = names.index(t)
        if not 0 <= int(t) < width:
            raise ConfigError(f"Target {t} is not an output of this model, which has {width} (use 0 to {width - 1}).")
        found.append(int(t))
    return found


def _input_attributions(attr: Any, model: nn.Module, x: torch.Tensor, targets: list[int],
                        method: str) -> torch.Tensor:
    """Attributions of float inputs (images, tables, series), of the inputs' shape."""
    x = x.detach().clone().requires_grad_(True)
    if method == "integrated_gradients":
        return attr.IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=targets,
                                                         n_steps=STEPS, internal_batch_size=STEPS)
    if method == "saliency":
        return attr.Saliency(model).attribute(x, target=targets)
    with lrp_rules(model):
        try:
            return attr.LRP(model).attribute(x, target=targets)
        except RuntimeError as err:
            if "more than once" not in str(err):
                raise
            raise ConfigError(f"LRP needs each module to be used once in the forward pass; {type(model).__name__} "
                              "calls one several times; use attribution integrated_gradients or saliency.") from None


def _token_attributions(attr: Any, s: Subject, x: torch.Tensor, targets: list[int], method: str) -> torch.Tensor:
    """Attributions (N, T) of token ids, computed on the embedding layer's output and summed over its width."""
    name, layer = _embedding(s)
    if method == "lrp":
        raise ConfigError(f"LRP cannot pass relevance through the token lookup '{name}' (an nn.Embedding); use "
                          "attribution integrated_gradients (or saliency) for text.")
    if method == "integrated_gradients":
        values = attr.LayerIntegratedGradients(s.model, layer).attribute(
            x, baselines=torch.full_like(x, s.pad_index), target=targets, n_steps=STEPS, internal_batch_size=STEPS)
    else:
        values = attr.LayerGradientXActivation(s.model, layer).attribute(x, target=targets)
    return values.sum(dim=-1)  # (N, T, E) -> (N, T)


def _embedding(s: Subject) -> tuple[str, nn.Embedding]:
    """The token embedding: the first `nn.Embedding` of the vocabulary's size (positions are not tokens)."""
    found = [(n, m) for n, m in s.model.named_modules() if isinstance(m, nn.Embedding)]
    sized = [(n, m) for n, m in found if s.vocab is not None and m.num_embeddings == len(s.vocab)]
    if not (sized or found):
        raise ConfigError(f"Token attributions are computed on an nn.Embedding layer; {type(s.model).__name__} has "
                          "none.")
    return (sized or found)[0]


@contextlib.contextmanager
def _without_cudnn() -> Iterator[None]:
    """cuDNN's recurrent layers compute gradients only in training mode; attribution needs eval mode."""
    with torch.backends.cudnn.flags(enabled=False):
        yield
