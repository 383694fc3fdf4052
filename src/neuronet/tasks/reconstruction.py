"""Reconstruction: autoencoders learn to rebuild their input; the error ranks how unusual an example is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from neuronet.models import anomaly_scores
from neuronet.tasks.base import TASKS, InverseTarget, Task

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

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
    offers: ClassVar[tuple[str, ...]] = ("scores", "encode")
    plot_files: ClassVar[tuple[str, ...]] = ("reconstructions.png",)
    widget: ClassVar[dict[str, str]] = {"value": "anomaly_score"}
    baselines: ClassVar[tuple[str, ...]] = ("mean_input",)

    def targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x

    def values(self, outputs: Any) -> torch.Tensor:
        return _recon(outputs)

    def decode(self, outputs: Any, meta: dict[str, Any], inverse_target: InverseTarget | None = None,
               x: torch.Tensor | None = None) -> np.ndarray:
        """Anomaly scores (N,): the mean squared reconstruction error of each input in `x`."""
        if x is None:
            raise ValueError("Reconstruction.decode needs the inputs x to measure the reconstruction error.")
        recon = _recon(outputs)
        return ((recon - x.to(recon.device)) ** 2).flatten(1).mean(dim=1).cpu().numpy()  # as models.anomaly_scores

    def prediction_columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                           inverse_target: InverseTarget | None = None) -> dict[str, np.ndarray]:
        """`anomaly_score` and the latent code `z_0`, `z_1`, ..."""
        columns = {"anomaly_score": anomaly_scores(model, x).cpu().numpy()}
        codes = model.encode(x).cpu().numpy()
        columns.update({f"z_{i}": codes[:, i] for i in range(codes.shape[1])})
        return columns

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import Field, create_model

        return create_model("Prediction", anomaly_score=(float, Field(description="Mean squared reconstruction error.")),
                            code=(list[float], Field(description="The latent code.")))

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        return {"anomaly_score": float(row["anomaly_score"]),
                "code": [float(v) for k, v in row.items() if k.startswith("z_")]}

    def plots(self, outputs: Any, targets: torch.Tensor, meta: dict[str, Any], folder: Path) -> list[Path]:
        if targets.ndim != 4:  # only images are drawn
            return []
        from neuronet.plots import plot_image_pairs

        return [plot_image_pairs(targets.cpu().numpy(), _recon(outputs).cpu().numpy(), folder / "reconstructions.png")]
