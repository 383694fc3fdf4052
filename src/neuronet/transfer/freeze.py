"""Freezing, unfreezing and per-group learning rates, by parameter-name pattern (`fnmatch`).

Patterns match `model.named_parameters()` names: `"encoder.*"` is the whole encoder,
`"encoder.encoder.layer.5.*"` its last block, `"head.*"` the new head. Frozen batch-norm layers
keep their running statistics: `frozen_batchnorm_eval(model)` after `model.train()` puts them back
in eval mode (the Trainer does this each epoch; so do neuronet's pretrained models' `train()`).

Example:
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> freeze(model, "0.*")
    ['0.weight', '0.bias']
    >>> [g["lr"] for g in param_groups(model, {"2.*": 1e-3})]
    [0.001]
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from torch import nn

from neuronet.errors import ConfigError

__all__ = ["freeze", "unfreeze", "param_groups", "frozen_names", "head_names", "frozen_batchnorm_eval"]


def parts(names: list[str], most: int = 8) -> list[str]:
    """The model's parts as patterns, for messages: the first level of parameter names below the root with
    more than one part (`net.backbone.*, net.head.*` rather than `net.*`), in definition order.

    Example:
        >>> parts(["net.backbone.0.weight", "net.backbone.1.weight", "net.head.weight", "net.head.bias"])
        ['net.backbone.*', 'net.head.*']
    """
    found: list[str] = []
    for depth in range(1, 4):
        found = list(dict.fromkeys(".".join(n.split(".")[:depth]) + ("" if n.count(".") < depth else ".*")
                                   for n in names))
        if len(found) > 1:
            break
    return found[:most] + ([f"... ({len(found) - most} more)"] if len(found) > most else [])


def _matching(model: nn.Module, patterns: tuple[str, ...] | list[str]) -> list[str]:
    names = [name for name, _ in model.named_parameters()]
    matched = []
    for pattern in patterns:
        hits = [n for n in names if fnmatchcase(n, pattern)]
        if not hits:
            raise ConfigError(f"The pattern '{pattern}' matches no parameter of the model; its parts are "
                              f"{', '.join(parts(names))}.")
        matched += [n for n in hits if n not in matched]
    return matched


def _set(model: nn.Module, patterns: tuple[str, ...], trainable: bool) -> list[str]:
    names = _matching(model, patterns or ("*",))
    wanted = set(names)
    for name, parameter in model.named_parameters():
        if name in wanted:
            parameter.requires_grad_(trainable)
    if model.training:
        model.train()  # frozen batch norms back to eval mode, unfrozen ones to training mode
        frozen_batchnorm_eval(model)
    return names


def freeze(model: nn.Module, *patterns: str) -> list[str]:
    """Stop training the parameters matching `patterns` (all when none); returns their names."""
    return _set(model, patterns, False)


def unfreeze(model: nn.Module, *patterns: str) -> list[str]:
    """Train the parameters matching `patterns` again (all when none); returns their names."""
    return _set(model, patterns, True)


def frozen_names(model: nn.Module) -> list[str]:
    """The names of the parameters that do not train."""
    return [name for name, p in model.named_parameters() if not p.requires_grad]


def head_names(model: nn.Module) -> list[str]:
    """The parameters of the model's output layer: its `head_names()` if it has one, else those of the last
    module (in definition order) that holds parameters itself, e.g. an MLP's or a CNN's last Linear."""
    if callable(getattr(model, "head_names", None)):
        return model.head_names()
    last = ""
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            last = name
    prefix = f"{last}." if last else ""
    return [name for name, _ in model.named_parameters() if name.startswith(prefix) and "." not in name[len(prefix):]]


def param_groups(model: nn.Module, lrs: dict[str, float], default_lr: float | None = None,
                 trainable_only: bool = True) -> list[dict]:
    """Optimizer parameter groups with discriminative learning rates: each parameter goes to the first pattern
    that matches it; the rest get `default_lr` (or are left out when it is None). Frozen parameters are left
    out unless `trainable_only` is False (to be unfrozen later: the optimizer skips them until then)."""
    _matching(model, list(lrs))
    groups: dict[str, list] = {pattern: [] for pattern in lrs}
    rest = []
    for name, parameter in model.named_parameters():
        if trainable_only and not parameter.requires_grad:
            continue
        pattern = next((p for p in lrs if fnmatchcase(name, p)), None)
        (groups[pattern] if pattern is not None else rest).append(parameter)
    out = [{"params": params, "lr": lrs[pattern], "name": pattern} for pattern, params in groups.items() if params]
    if rest and default_lr is not None:
        out.append({"params": rest, "lr": default_lr, "name": "*"})
    return out


def frozen_batchnorm_eval(model: nn.Module) -> None:
    """Put batch-norm layers whose parameters are frozen in eval mode, so their running statistics stay
    those of pretraining. Call it after `model.train()`."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None \
                and not module.weight.requires_grad:
            module.eval()
