"""The fine-tuning pieces of the Trainer: discriminative learning rates, gradual unfreezing, head-then-body.

Each is a Trainer argument, so also a key of a run config's `train:` section (the recipe
`neuronet.train.finetune.fine_tune` builds a Trainer with the last one):

    train:
      lr_groups: {"net.encoder.*": 2.0e-5}     # discriminative LRs: these parameters train slower than `lr`
      unfreeze: {2: "net.encoder.encoder.layer.5.*", 3: "net.encoder.*"}   # gradual unfreezing, by epoch
      fine_tune: {head_epochs: 1, full_epochs: 3, backbone_lr: 1.0e-4}   # the head alone, then everything

Patterns match `model.named_parameters()` names (`fnmatch`, see `neuronet.transfer.freeze`).

Example:
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> epochs, groups, callbacks = fine_tune_setup(model, {"head_epochs": 1, "full_epochs": 2}, lr=1e-2)
    >>> epochs, [(g["name"], g["lr"]) for g in groups], callbacks[0].schedule
    (3, [('head', 0.01), ('backbone', 0.001)], {2: ['0.weight', '0.bias']})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from neuronet.errors import ConfigError
from neuronet.params import Interval, NoneOk, validate_params
from neuronet.train.callbacks import Callback, TrainerProtocol
from neuronet.transfer.freeze import _matching, frozen_batchnorm_eval, head_names, param_groups

__all__ = ["GradualUnfreezing", "FINE_TUNE_PARAMS", "fine_tune_setup", "optimizer_params"]

FINE_TUNE_PARAMS = {
    "head_epochs": [Interval(int, 0, None)],
    "full_epochs": [Interval(int, 1, None)],
    "backbone_lr": [Interval(float, 0, None, closed="neither"), NoneOk()],
}


class GradualUnfreezing(Callback):
    """Parameters matching a pattern train from that pattern's epoch on, and are frozen before it.

    Args:
        schedule: {epoch: pattern or list of patterns}, epochs counted from 1 as the progress bar shows
            them. A parameter matching several patterns trains from the earliest of their epochs;
            parameters matching none are left as they are.

    Frozen batch-norm layers keep their statistics (eval mode) until they unfreeze. The state is a
    function of the epoch alone, so a resumed run freezes exactly what the uninterrupted one did.
    """

    def __init__(self, schedule: dict[int, str | Sequence[str]]) -> None:
        self.schedule: dict[int, list[str]] = {}
        for epoch, patterns in schedule.items():
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
                raise ConfigError(f"unfreeze takes {{epoch: patterns}} with epochs counted from 1; got epoch {epoch!r}.")
            self.schedule[epoch] = [patterns] if isinstance(patterns, str) else list(patterns)
        self._starts: dict[str, int] = {}
        self.trainable: dict[int, int] = {}  # epoch -> trainable parameters (numbers) during it

    def starts(self, model: nn.Module) -> dict[str, int]:
        """Parameter name → the epoch it trains from (the earliest matching pattern's)."""
        starts: dict[str, int] = {}
        for epoch in sorted(self.schedule):
            for name in _matching(model, self.schedule[epoch]):
                starts.setdefault(name, epoch)
        return starts

    def check(self, model: nn.Module, epochs: int) -> None:
        """Raise now, before anything is trained or written, if a pattern matches no parameter of `model`
        or an epoch comes after the last of `epochs`."""
        self.starts(model)
        late = [epoch for epoch in self.schedule if epoch > epochs]
        if late:
            raise ConfigError(f"unfreeze: epoch {min(late)} comes after the last epoch ({epochs}), so its parameters "
                              f"would never train; use epochs from 1 to {epochs} or train for more epochs.")

    def before_fit(self, trainer: TrainerProtocol) -> None:
        self._starts = self.starts(trainer.model)

    def before_epoch(self, trainer: TrainerProtocol) -> None:
        epoch = trainer.epoch + 1
        for name, parameter in trainer.model.named_parameters():
            start = self._starts.get(name)
            if start is not None:
                parameter.requires_grad_(start <= epoch)
        trainer.model.train()  # batch norms unfrozen now train again; frozen ones stay in eval mode
        frozen_batchnorm_eval(trainer.model)
        self.trainable[epoch] = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)


def fine_tune_setup(model: nn.Module, spec: dict[str, Any], lr: float) -> tuple[int, list[dict], list[Callback]]:
    """`fine_tune`: train the head alone for `head_epochs`, then every layer for `full_epochs`.

    The head is the model's output layer (`neuronet.transfer.freeze.head_names`); the rest (the
    backbone) trains at `backbone_lr` (default `lr / 10`) once unfrozen.

    Returns:
        The number of epochs, the optimizer's parameter groups, and the unfreezing callback.
    """
    validate_params(FINE_TUNE_PARAMS, spec, "fine_tune")
    head_epochs, full_epochs = spec.get("head_epochs", 1), spec.get("full_epochs", 3)
    backbone_lr = spec.get("backbone_lr") or lr / 10
    head = set(head_names(model))
    named = list(model.named_parameters())
    body = [name for name, _ in named if name not in head]
    if not body:
        raise ConfigError("fine_tune needs a model with layers before its output layer; this one has only the head.")
    groups = [{"params": [p for n, p in named if n in head], "lr": lr, "name": "head"},  # first: the LR logged
              {"params": [p for n, p in named if n not in head], "lr": backbone_lr, "name": "backbone"}]
    return head_epochs + full_epochs, groups, [GradualUnfreezing({head_epochs + 1: body})]


def optimizer_params(model: nn.Module, lr: float, lr_groups: dict[str, float] | None) -> Any:
    """What the optimizer optimises: every parameter (frozen ones too, so that they can be unfrozen: the
    optimizer skips them while they have no gradient), in groups when `lr_groups` gives per-pattern LRs."""
    if not lr_groups:
        return list(model.parameters())
    for pattern, value in lr_groups.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"lr_groups maps parameter patterns to learning rates > 0; '{pattern}' has {value!r}.")
    return param_groups(model, {k: float(v) for k, v in lr_groups.items()}, default_lr=lr, trainable_only=False)
