"""`fine_tune`: the transfer-learning recipe — the output layer alone, then every layer at a smaller LR.

A recipe above the Trainer: it builds one with the Trainer's own `fine_tune` argument (see
`neuronet.train.unfreeze` for the pieces) and fits it. The same schedule is a run config's
`train: {fine_tune: {head_epochs: 1, full_epochs: 3, backbone_lr: 1.0e-4}}`.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from neuronet.train.trainer import Data, Trainer

__all__ = ["fine_tune"]


def fine_tune(model: nn.Module, train: Data, val: Data | None = None, head_epochs: int = 1, full_epochs: int = 3,
              backbone_lr: float | None = None, **trainer_kwargs: Any) -> Trainer:
    """Train the model's output layer alone for `head_epochs`, then every layer for `full_epochs`.

    Args:
        model: A pretrained network with a new head (or any model: its last layer is the head).
        train, val: The training and validation data.
        head_epochs: Epochs with everything but the head frozen.
        full_epochs: Epochs with every layer training, the backbone at `backbone_lr`.
        backbone_lr: The backbone's learning rate once unfrozen (default: the Trainer's `lr` / 10).
        **trainer_kwargs: Any other Trainer argument (lr, batch_size, precision, ...).

    Returns:
        The fitted Trainer.

    Example:
        >>> import neuronet as nt
        >>> train, val, _ = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
        >>> trainer = nt.fine_tune(nt.models.MLP(4, 3, seed=0), train, val, head_epochs=1, full_epochs=1, lr=1e-2,
        ...                        progress=False)
        >>> trainer.epoch, [g["name"] for g in trainer.optimizer.param_groups]
        (2, ['head', 'backbone'])
    """
    spec = {"head_epochs": head_epochs, "full_epochs": full_epochs, "backbone_lr": backbone_lr}
    trainer = Trainer(model, fine_tune=spec, **trainer_kwargs)
    trainer.fit(train, val=val)
    return trainer
