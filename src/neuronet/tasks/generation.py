"""Generation: a GAN's generator makes new examples; its discriminator scores real against generated."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuronet.errors import ConfigError
from neuronet.tasks.base import TASKS, Task

__all__ = ["Generation"]


@TASKS.register("generation", "Generate new examples like the training data (GANs).")
class Generation(Task):
    """Scored by the discriminator: its loss on real examples against as many generated ones.

    `forward` returns (D(x) logits, D(G(z)) logits), with z drawn from a fixed generator so
    the same model scores the same data alike.
    """

    name: ClassVar[str] = "generation"
    default_loss: ClassVar[str] = "binary_cross_entropy"
    report_metrics: ClassVar[tuple[str, ...]] = ("loss", "d_real", "d_fake")
    supervised: ClassVar[bool] = False
    curves_fall: ClassVar[bool] = False  # adversarial losses rise and fall by design
    loss_in_report: ClassVar[bool] = False  # `score` computes the discriminator's loss itself
    offers: ClassVar[tuple[str, ...]] = ("sample",)

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        fakes = model.sample(len(x), generator=torch.Generator().manual_seed(len(x)))
        return model.discriminator(x), model.discriminator(fakes)

    def score(self, outputs: Any, targets: torch.Tensor, metrics: list[str] | None = None) -> dict[str, float]:
        real, fake = outputs
        loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return {"loss": float(loss), "d_real": float(torch.sigmoid(real).mean()),
                "d_fake": float(torch.sigmoid(fake).mean())}

    def values(self, outputs: Any) -> torch.Tensor:
        raise ConfigError("A GAN generates images rather than predicting; sample them with nt.load(RUN).sample(n).")

    def prediction_columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                           inverse_target: Any = None) -> dict[str, np.ndarray]:
        self.values(None)

    def check_export(self) -> None:
        raise ConfigError("A GAN is not exported: it has no inputs to serve predictions for; sample from it with "
                          "nt.load(run).sample(n).")
