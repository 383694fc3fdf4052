"""Loss functions by name, each PyTorch's own module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neuronet.registry import Registry

__all__ = ["LOSSES", "BinaryCrossEntropy", "VAELoss", "loss_fn"]

LOSSES: Registry[Callable[..., nn.Module]] = Registry("loss")


class BinaryCrossEntropy(nn.BCEWithLogitsLoss):
    """Binary cross-entropy on logits; accepts 0/1 class indices (N,) as targets.

    -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], averaged.
    """

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return super().forward(input, target.to(input.dtype).view_as(input))


class VAELoss(nn.Module):
    """Negative ELBO of a VAE: reconstruction error + beta * KL(q(z|x) || N(0, I)).

    Takes the VAE's (reconstruction, mu, logvar) and the input. Both terms are summed over
    features and averaged over the batch: KL = -1/2 * sum(1 + logvar - mu^2 - exp(logvar)).

    Args:
        reconstruction: "bce" (data in [0, 1], sigmoid outputs) or "mse".
        beta: Weight of the KL term (beta-VAE).
    """

    def __init__(self, reconstruction: str = "bce", beta: float = 1.0) -> None:
        super().__init__()
        if reconstruction not in ("bce", "mse"):
            raise ValueError(f"reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
        self.reconstruction, self.beta = reconstruction, beta

    def forward(self, outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        recon, mu, logvar = outputs
        if self.reconstruction == "bce":
            error = nn.functional.binary_cross_entropy(recon, target, reduction="sum")
        else:
            error = nn.functional.mse_loss(recon, target, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (error + self.beta * kl) / len(target)


for _name, _factory, _help in [
    ("mse", nn.MSELoss, "Mean squared error, mean((y - y_hat)^2)."),
    ("mae", nn.L1Loss, "Mean absolute error, mean(|y - y_hat|)."),
    ("huber", nn.HuberLoss, "Squared error below `delta`, absolute error above (robust to outliers)."),
    ("binary_cross_entropy", BinaryCrossEntropy, "Binary cross-entropy on logits (one output, 0/1 targets)."),
    ("cross_entropy", nn.CrossEntropyLoss, "Softmax + negative log-likelihood on logits (class-index targets)."),
    ("vae", VAELoss, "Negative ELBO of a VAE: reconstruction + KL divergence (outputs: recon, mu, logvar)."),
]:
    LOSSES.add(_name, _factory, _help)


def loss_fn(name: str | nn.Module | Callable, **kwargs: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Build a loss from its name; a module or callable passes through unchanged.

    Example:
        >>> loss_fn("mse")(torch.tensor([1.0]), torch.tensor([3.0]))
        tensor(4.)
    """
    if callable(name):
        return name
    return LOSSES.get(name)(**kwargs)
