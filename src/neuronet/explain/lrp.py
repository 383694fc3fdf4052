"""Getting a network ready for Captum's layer-wise relevance propagation (LRP), and back as it was.

Captum's LRP propagates relevance through the leaf modules it has rules for (linear,
convolution, pooling, 2-D batch norm) and passes it through ReLU, Tanh and Dropout unchanged;
any other leaf is a TypeError deep inside it. `lrp_rules` attaches rules to the leaves that
neuronet's models add (shape-only layers, 1-D convolution, pooling and batch norm, the residual
`Add`, Inception's branch-joining `Concat`), says in one sentence which module cannot be explained
by LRP, and removes everything it and Captum attached afterwards, so that the model predicts
exactly as before.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.explain.subject import captum
from neuronet.models.layers import Add, Concat

__all__ = ["leaves", "lrp_rules"]

SHAPE_ONLY = (nn.Flatten, nn.Unflatten, nn.Identity)  # relevance passes through unchanged
AFFINE = (nn.BatchNorm1d, nn.Conv1d, nn.AdaptiveAvgPool1d, nn.AvgPool1d, Add, Concat)  # the epsilon rule


def leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules without children, with their names, in the order Captum's LRP visits them.

    Example:
        >>> [name for name, _ in leaves(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU())))]
        ['0', '1.0']
    """
    found: list[tuple[str, nn.Module]] = []

    def visit(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            path = f"{prefix}.{name}" if prefix else name
            if len(list(child.children())) == 0:
                found.append((path, child))
            else:
                visit(child, path)

    visit(model, "")
    return found


@contextlib.contextmanager
def lrp_rules(model: nn.Module) -> Iterator[nn.Module]:
    """Run the body with LRP rules on the leaves Captum lacks; remove every attribute LRP added afterwards.

    Raises:
        ConfigError: a leaf LRP has no rule for (GELU, LeakyReLU, Sigmoid, LayerNorm, Embedding, ...),
            named by its path and type.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> with lrp_rules(model):
        ...     hasattr(model[0], "rule")
        True
        >>> hasattr(model[0], "rule")
        False
    """
    captum("LRP")
    from captum.attr._core.lrp import SUPPORTED_LAYERS_WITH_RULES, SUPPORTED_NON_LINEAR_LAYERS
    from captum.attr._utils.lrp_rules import EpsilonRule

    known = tuple(SUPPORTED_LAYERS_WITH_RULES) + tuple(SUPPORTED_NON_LINEAR_LAYERS)
    found = leaves(model)
    for name, module in found:
        if type(module) not in known + SHAPE_ONLY + AFFINE and not hasattr(module, "rule"):
            raise ConfigError(_unsupported(name, module))
    before = {id(m): {k: m.__dict__[k] for k in ("rule", "activations") if k in m.__dict__} for _, m in found}
    for _, module in found:
        if not hasattr(module, "rule") and type(module) in SHAPE_ONLY:
            module.rule = _shape_rule()()
        elif not hasattr(module, "rule") and type(module) in AFFINE:
            module.rule = EpsilonRule()
    try:
        yield model
    finally:
        for _, module in found:  # Captum deletes every rule (a user's own too) and leaves `activations` behind
            for attribute in ("rule", "activations"):
                module.__dict__.pop(attribute, None)
            module.__dict__.update(before[id(module)])


def _unsupported(name: str, module: nn.Module) -> str:
    """One sentence on a leaf LRP cannot pass relevance through, and what to use instead."""
    kind = type(module).__name__
    if type(module).__module__ == "torch.nn.modules.activation":
        return (f"LRP needs ReLU (or Tanh) modules; '{name}' is a {kind}; use attribution integrated_gradients "
                "or saliency.")
    return (f"LRP has no rule for '{name}' ({kind}); it handles linear, convolution, pooling and batch-norm "
            "layers with ReLU or Tanh; use attribution integrated_gradients or saliency.")


@functools.cache
def _shape_rule() -> type:
    """Captum's epsilon rule for a layer that only reshapes (or passes on) its input.

    An `nn.Identity` returns its input tensor itself; the rule's output hook must sit on a
    tensor of its own (a view), or it would also catch the gradient of the input's other uses
    (the residual branch), and relevance would not be conserved. Captum's `IdentityRule` cannot
    be used for `nn.Flatten`: it hands the output's relevance, of the output's shape, to the input.
    """
    from captum.attr._utils.lrp_rules import EpsilonRule

    class ShapeRule(EpsilonRule):
        def forward_hook(self, module: nn.Module, inputs: Any, outputs: torch.Tensor) -> torch.Tensor:
            if any(outputs is x for x in inputs):
                outputs = outputs.view_as(outputs)
            return super().forward_hook(module, inputs, outputs)

    return ShapeRule
