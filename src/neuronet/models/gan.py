"""DCGAN: a convolutional generator and discriminator (Radford et al., 2016).

Train it with `neuronet.train.GANTrainer` (or `model: {type: dcgan}` in a config).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["DCGAN", "Generator", "Discriminator"]


def _dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, latent) → dense → (B, 2w, H/4, W/4) → two stride-2 transposed convs → image in [0, 1]."""

    def __init__(self, shape: tuple[int, int, int], latent: int, width: int) -> None:
        super().__init__()
        c, h, w = shape
        self.net = nn.Sequential(
            nn.Linear(latent, 2 * width * (h // 4) * (w // 4)), nn.Unflatten(1, (2 * width, h // 4, w // 4)),
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(),  # x2
            nn.ConvTranspose2d(width, c, 4, stride=2, padding=1), nn.Sigmoid(),  # x2
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """Image → two stride-2 convs with leaky ReLU → one logit: real (> 0) or fake."""

    def __init__(self, shape: tuple[int, int, int], width: int) -> None:
        super().__init__()
        c, h, w = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * (h // 4) * (w // 4), 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1) logits


@MODELS.register("dcgan", "DCGAN: convolutional generator + discriminator for images (H, W divisible by 4).")
class DCGAN(nn.Module):
    """A generator and a discriminator in one module; `forward(z)` generates images.

    Args:
        input_shape: (channels, height, width) of the real images, values in [0, 1].
        num_outputs: Ignored (kept for the model contract).
        latent: Size of the noise vector z.
        width: Base number of channels.
        seed: Seed for the initial weights.

    Example:
        >>> gan = DCGAN((1, 28, 28), 0, latent=16, width=8, seed=0)
        >>> gan.sample(4, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 1, 28, 28])
    """

    layouts: ClassVar[tuple[str, ...]] = ("image",)  # the inputs it reads

    task: ClassVar[str] = "generation"

    def __init__(self, input_shape: Sequence[int], num_outputs: int = 0, latent: int = 64, width: int = 32,
                 seed: int | None = None) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
            raise ValueError(f"DCGAN needs images (C, H, W) with H and W divisible by 4, got {shape}")
        self.latent = latent
        self.hparams = {"latent": latent, "width": width, "seed": seed}
        with init_seed(seed):
            self.generator = Generator(shape, latent, width)
            self.discriminator = Discriminator(shape, width)
            self.apply(_dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)  # (B, latent) -> (B, C, H, W)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n noise vectors z ~ N(0, I) on the model's device."""
        device = next(self.parameters()).device
        return torch.randn(n, self.latent, generator=generator).to(device)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated images (eval mode)."""
        was_training = self.training
        self.eval()
        images = self.generator(self.noise(n, generator))
        self.train(was_training)
        return images
