"""Adversarial training on the Trainer's machinery (callbacks, history, checkpoints, progress, resume).

Each batch: one discriminator step on real and generated images, then one generator step
with the non-saturating loss -log D(G(z)) (Goodfellow et al., 2014).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuronet.atomic import atomic_path
from neuronet.errors import ConfigError
from neuronet.train.callbacks import Callback
from neuronet.train.trainer import Trainer

__all__ = ["GANTrainer", "GANSamples", "image_grid"]


class GANTrainer(Trainer):
    """Train a GAN (e.g. `neuronet.models.DCGAN`): a module with `generator`, `discriminator`, `noise(n)`.

    `optimizer` is the generator's Adam and `d_optimizer` the discriminator's. The epoch
    record holds `train_loss` (generator), `d_loss`, `d_real` = mean D(x) and `d_fake` =
    mean D(G(z)) as probabilities.

    Args:
        model: The GAN module.
        lr: Learning rate of both optimizers (DCGAN: 2e-4).
        betas: Adam's betas (DCGAN: (0.5, 0.999)).
        **kwargs: Trainer arguments (batch_size, epochs, seed, callbacks, progress, device).

    Example:
        >>> import neuronet as nt
        >>> data = nt.datasets.load("digits")
        >>> gan = nt.models.DCGAN(data.input_shape, 0, latent=8, width=8, seed=0)
        >>> history = GANTrainer(gan, epochs=1, progress=False).fit(data)
        >>> sorted(k for k in history.keys() if k.startswith("d_"))
        ['d_fake', 'd_loss', 'd_real']
    """

    def __init__(self, model: nn.Module, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
                 **kwargs: Any) -> None:
        for part in ("generator", "discriminator"):
            if not isinstance(getattr(model, part, None), nn.Module):
                raise ConfigError(f"GANTrainer needs a model with a '{part}' module (e.g. neuronet.models.DCGAN).")
        for key in ("loss", "optimizer", "metrics", "train_metrics"):
            if key in kwargs:
                raise ConfigError(f"GANTrainer sets '{key}' itself (adversarial losses, two Adam optimizers); remove it.")
        g_opt = torch.optim.Adam(model.generator.parameters(), lr=lr, betas=betas)
        super().__init__(model, loss=nn.BCEWithLogitsLoss(), optimizer=g_opt, metrics=[], train_metrics=False,
                         **kwargs)
        self.d_optimizer = torch.optim.Adam(self.model.discriminator.parameters(), lr=lr, betas=betas)
        self._d_stats: list[torch.Tensor] = []

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One discriminator step, then one generator step; returns the generator loss."""
        gen, disc = self.model.generator, self.model.discriminator
        real_label = torch.ones(len(x), 1, device=x.device)
        fake = gen(self.model.noise(len(x)))  # (B, C, H, W)
        d_real, d_fake = disc(x), disc(fake.detach())  # logits (B, 1)
        d_loss = self.loss_fn(d_real, real_label) + self.loss_fn(d_fake, torch.zeros_like(real_label))
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()
        g_loss = self.loss_fn(disc(fake), real_label)  # non-saturating: make D call the fakes real
        self.optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizer.step()
        self._d_stats.append(torch.stack([d_loss.detach(), torch.sigmoid(d_real).mean().detach(),
                                          torch.sigmoid(d_fake).mean().detach()]))
        return g_loss.detach(), fake.detach()

    def epoch_logs(self) -> dict[str, float]:
        d_loss, d_real, d_fake = torch.stack(self._d_stats).mean(dim=0).tolist()
        self._d_stats.clear()
        return {"d_loss": d_loss, "d_real": d_real, "d_fake": d_fake}

    def evaluate(self, data: Any, metrics: Any = None) -> dict[str, float]:
        """D's loss on real `data` and on as many generated images, plus mean D(x) and D(G(z))."""
        self.model.eval()
        with torch.no_grad():
            real = torch.cat([self.model.discriminator(x) for x, _ in self.batches(data, batch_size=1024)])
            fake = self.model.discriminator(self.model.sample(len(real)))
        ones = torch.ones_like(real)
        return {"loss": float(self.loss_fn(real, ones) + self.loss_fn(fake, torch.zeros_like(fake))),
                "d_real": float(torch.sigmoid(real).mean()), "d_fake": float(torch.sigmoid(fake).mean())}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.d_optimizer.load_state_dict(state["d_optimizer"])


def image_grid(images: torch.Tensor, columns: int = 8) -> np.ndarray:
    """Tile (N, C, H, W) images in [0, 1] into one (rows*H, columns*W[, C]) array."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    grid = torch.ones(c, rows * h, columns * w)
    for i, image in enumerate(images.detach().cpu().clamp(0, 1)):
        r, k = divmod(i, columns)
        grid[:, r * h:(r + 1) * h, k * w:(k + 1) * w] = image
    return grid[0].numpy() if c == 1 else grid.permute(1, 2, 0).numpy()


class GANSamples(Callback):
    """After each epoch, write a grid of images generated from the same fixed noise to `folder`/epoch_NNN.png."""

    def __init__(self, folder: str | Path, n: int = 64, seed: int = 0) -> None:
        self.folder, self.n, self.seed = Path(folder), n, seed

    def after_epoch(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        images = trainer.model.sample(self.n, generator=torch.Generator().manual_seed(self.seed))
        with atomic_path(self.folder / f"epoch_{logs['epoch']:03d}.png") as tmp:
            plt.imsave(tmp, image_grid(images), cmap="gray", vmin=0, vmax=1, format="png")
