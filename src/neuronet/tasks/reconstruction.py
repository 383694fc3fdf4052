"""Reconstruction: autoencoders learn to rebuild their input; the error ranks how unusual an example is."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from neuronet.models import anomaly_scores
from neuronet.tasks.base import TASKS, Task

__all__ = ["Reconstruction"]


def _recon(outputs: Any) -> torch.Tensor:
    return outputs[0] if isinstance(outputs, tuple) else outputs  # a VAE returns (recon, mu, logvar)


@TASKS.register("reconstruction", "Rebuild the input (autoencoders): latent codes and anomaly scores, no labels.")
class Reconstruction(Task):
    """The targets are the inputs; predictions are anomaly scores and latent codes.

    Example:
        >>> Reconstruction().targets(torch.ones(2, 3), torch.zeros(2)).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    name: ClassVar[str] = "reconstruction"
    default_loss: ClassVar[str] = "mse"
    metrics: ClassVar[tuple[str, ...]] = ()
    report_metrics: ClassVar[tuple[str, ...]] = ("mse", "mae")
    supervised: ClassVar[bool] = False
    losses: ClassVar[tuple[str, ...]] = ("mse", "mae", "huber", "vae")

    def targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x

    def values(self, outputs: Any) -> torch.Tensor:
        return _recon(outputs)

    def columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                inverse_target: Any = None) -> dict[str, np.ndarray]:
        columns = {"anomaly_score": anomaly_scores(model, x).cpu().numpy()}
        codes = model.encode(x).cpu().numpy()
        columns.update({f"z_{i}": codes[:, i] for i in range(codes.shape[1])})
        return columns

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        if targets.ndim != 4:  # only images are drawn
            return []
        from neuronet.plots import plot_image_pairs

        return [plot_image_pairs(targets.cpu().numpy(), _recon(outputs).cpu().numpy(), folder / "reconstructions.png")]
