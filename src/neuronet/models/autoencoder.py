"""Autoencoders (dense and convolutional) and the variational autoencoder (Kingma & Welling, 2014).

They learn without labels: the target is the input itself. `encode` gives latent features
(for clustering or t-SNE), `decode` maps them back, and `anomaly_scores` ranks examples by
how badly they are reconstructed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.layers import conv_block
from neuronet.models.registry import MODELS, as_shape, init_seed
from neuronet.nn.activations import activation as make_activation

__all__ = ["Autoencoder", "ConvAutoencoder", "VAE", "anomaly_scores"]


def _dense(sizes: Sequence[int], activation: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), make_activation(activation)]
    return layers


@MODELS.register("autoencoder", "Dense autoencoder: input → hidden → latent → hidden → input.")
class Autoencoder(nn.Module):
    """A dense encoder to a `latent`-sized code and a mirrored decoder.

    Args:
        input_shape: Shape of one example (flattened inside).
        num_outputs: Ignored (the output has the input's shape); kept for the model contract.
        hidden: Widths of the encoder's hidden layers (the decoder mirrors them).
        latent: Size of the code.
        activation: Hidden activation.
        output_activation: "sigmoid" for data in [0, 1], "identity" for standardised data.
        seed: Seed for the initial weights.

    Example:
        >>> ae = Autoencoder((1, 8, 8), 0, hidden=[32], latent=4, seed=0)
        >>> ae.encode(torch.zeros(2, 1, 8, 8)).shape, ae(torch.zeros(2, 1, 8, 8)).shape
        (torch.Size([2, 4]), torch.Size([2, 1, 8, 8]))
    """

    task: ClassVar[str] = "reconstruction"

    def __init__(self, input_shape: Sequence[int], num_outputs: int = 0, hidden: Sequence[int] = (128,),
                 latent: int = 16, activation: str = "relu", output_activation: str = "identity",
                 seed: int | None = None) -> None:
        super().__init__()
        self.shape = as_shape(input_shape)
        self.hparams = {"hidden": list(hidden), "latent": latent, "activation": activation,
                        "output_activation": output_activation, "seed": seed}
        width = math.prod(self.shape)
        with init_seed(seed):
            self.encoder = nn.Sequential(nn.Flatten(), *_dense([width, *hidden], activation),
                                         nn.Linear(hidden[-1] if hidden else width, latent))
            self.decoder = nn.Sequential(*_dense([latent, *reversed(hidden)], activation),
                                         nn.Linear(hidden[0] if hidden else latent, width),
                                         make_activation(output_activation), nn.Unflatten(1, self.shape))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, *shape) -> (B, latent)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, latent) -> (B, *shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@MODELS.register("conv_autoencoder", "Convolutional autoencoder for images (height and width divisible by 4).")
class ConvAutoencoder(Autoencoder):
    """Two stride-2 conv blocks down to a dense code, transposed convolutions back up.

    Example:
        >>> ConvAutoencoder((1, 28, 28), 0, latent=8, seed=0)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 1, 28, 28])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)

    def __init__(self, input_shape: Sequence[int], num_outputs: int = 0, channels: Sequence[int] = (16, 32),
                 latent: int = 16, output_activation: str = "sigmoid", seed: int | None = None) -> None:
        nn.Module.__init__(self)
        c, h, w = self.shape = as_shape(input_shape)
        if h % 4 or w % 4:
            raise ValueError(f"ConvAutoencoder needs height and width divisible by 4, got {h}x{w}")
        self.hparams = {"channels": list(channels), "latent": latent, "output_activation": output_activation,
                        "seed": seed}
        c1, c2 = channels
        small = (c2, h // 4, w // 4)
        with init_seed(seed):
            self.encoder = nn.Sequential(conv_block(c, c1, stride=2), conv_block(c1, c2, stride=2), nn.Flatten(),
                                         nn.Linear(math.prod(small), latent))
            self.decoder = nn.Sequential(
                nn.Linear(latent, math.prod(small)), nn.ReLU(), nn.Unflatten(1, small),
                nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),  # x2
                nn.ConvTranspose2d(c1, c, 4, stride=2, padding=1), make_activation(output_activation),  # x2
            )


@MODELS.register("vae", "Variational autoencoder: Gaussian latent code, trained on the ELBO (loss 'vae').")
class VAE(nn.Module):
    """Encoder → (mean, log-variance) of q(z|x); a sample z = μ + σ·ε is decoded.

    `forward` returns (reconstruction, mu, logvar) for the 'vae' loss; `encode` returns μ.

    Example:
        >>> vae = VAE((1, 8, 8), 0, hidden=[32], latent=2, seed=0)
        >>> [t.shape[1] for t in vae(torch.zeros(3, 1, 8, 8))[1:]]
        [2, 2]
    """

    task: ClassVar[str] = "reconstruction"
    default_loss: ClassVar[str] = "vae"  # the ELBO; the reconstruction task's own default is mse

    def __init__(self, input_shape: Sequence[int], num_outputs: int = 0, hidden: Sequence[int] = (256,),
                 latent: int = 8, output_activation: str = "sigmoid", seed: int | None = None) -> None:
        super().__init__()
        self.shape = as_shape(input_shape)
        self.hparams = {"hidden": list(hidden), "latent": latent, "output_activation": output_activation,
                        "seed": seed}
        width = math.prod(self.shape)
        with init_seed(seed):
            self.body = nn.Sequential(nn.Flatten(), *_dense([width, *hidden], "relu"))
            self.mu = nn.Linear(hidden[-1], latent)
            self.logvar = nn.Linear(hidden[-1], latent)
            self.decoder = nn.Sequential(*_dense([latent, *reversed(hidden)], "relu"), nn.Linear(hidden[0], width),
                                         make_activation(output_activation), nn.Unflatten(1, self.shape))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of q(z|x): deterministic latent features."""
        return self.mu(self.body(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        mu, logvar = self.mu(h), self.logvar(h)  # (B, latent) each
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu  # reparameterisation
        return self.decode(z), mu, logvar


@torch.no_grad()
def anomaly_scores(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Mean squared reconstruction error per example: high means unlike the training data."""
    model.eval()
    scores = []
    for chunk in x.split(batch_size):
        out = model(chunk)
        recon = out[0] if isinstance(out, tuple) else out
        scores.append(((recon - chunk) ** 2).flatten(1).mean(dim=1))
    return torch.cat(scores)
