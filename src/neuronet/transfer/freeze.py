"""Freezing, unfreezing and per-group learning rates, by parameter-name pattern (`fnmatch`).

Patterns match `model.named_parameters()` names: `"encoder.*"` is the whole encoder,
`"encoder.encoder.layer.5.*"` its last block, `"head.*"` the new head. Frozen batch-norm layers
keep their running statistics (they stay in eval mode when the model trains).

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

__all__ = ["freeze", "unfreeze", "param_groups", "frozen_names", "keep_frozen_batchnorm"]


def _matching(model: nn.Module, patterns: tuple[str, ...] | list[str]) -> list[str]:
    names = [name for name, _ in model.named_parameters()]
    matched = []
    for pattern in patterns:
        hits = [n for n in names if fnmatchcase(n, pattern)]
        if not hits:
            tops = sorted({n.split(".")[0] for n in names})
            raise ConfigError(f"The pattern '{pattern}' matches no parameter of the model; its parts are "
                              f"{', '.join(tops)} (e.g. '{tops[0]}.*').")
        matched += [n for n in hits if n not in matched]
    return matched


def _set(model: nn.Module, patterns: tuple[str, ...], trainable: bool) -> list[str]:
    names = _matching(model, patterns or ("*",))
    wanted = set(names)
    for name, parameter in model.named_parameters():
        if name in wanted:
            parameter.requires_grad_(trainable)
    keep_frozen_batchnorm(model)
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


def param_groups(model: nn.Module, lrs: dict[str, float], default_lr: float | None = None) -> list[dict]:
    """Optimizer parameter groups with discriminative learning rates: each trainable parameter goes to the
    first pattern that matches it; the rest get `default_lr` (or are left out when it is None)."""
    _matching(model, list(lrs))
    groups: dict[str, list] = {pattern: [] for pattern in lrs}
    rest = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        pattern = next((p for p in lrs if fnmatchcase(name, p)), None)
        (groups[pattern] if pattern is not None else rest).append(parameter)
    out = [{"params": params, "lr": lrs[pattern], "name": pattern} for pattern, params in groups.items() if params]
    if rest and default_lr is not None:
        out.append({"params": rest, "lr": default_lr, "name": "*"})
    return out


def _frozen_bn_train(self: nn.Module, mode: bool = True) -> nn.Module:
    nn.Module.train(self, mode)
    for module in self.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None \
                and not module.weight.requires_grad:
            module.eval()  # its running statistics stay those of pretraining
    return self


def keep_frozen_batchnorm(model: nn.Module) -> None:
    """Make `model.train()` leave frozen batch-norm layers in eval mode (their statistics unchanged)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None \
                and not module.weight.requires_grad:
            module.eval()
    model.train = _frozen_bn_train.__get__(model)  # type: ignore[method-assign]
