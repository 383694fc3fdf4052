"""Adversarial training on the Trainer (and through it the loop shell: callbacks, checkpoints, progress, resume).

Each batch: one discriminator step on real and generated images, then one generator step
with the non-saturating loss -log D(G(z)) (Goodfellow et al., 2014).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.params import Interval, ListOf, validate_params
from neuronet.train.callbacks import Callback, TrainerProtocol
from neuronet.train.options import TRAINER_PARAMS
from neuronet.train.trainer import Trainer

__all__ = ["GANTrainer", "GANSamples", "GAN_UNSUPPORTED"]

# Trainer arguments a GAN does not use: it has two Adam optimizers and adversarial losses of its own.
GAN_UNSUPPORTED = ("task", "loss", "optimizer", "optimizer_kwargs", "loss_kwargs", "metrics", "train_metrics",
                   "schedule", "grad_clip", "weight_decay", "l1", "l2", "class_weights", "augment", "early_stopping",
                   "compile")


class GANTrainer(Trainer):
    """Train a GAN (e.g. `neuronet.models.DCGAN`): a module with `generator`, `discriminator`, `noise(n)`.

    `optimizer` is the generator's Adam and `d_optimizer` the discriminator's. The epoch
    record holds `train_loss` (generator), `d_loss`, `d_real` = mean D(x) and `d_fake` =
    mean D(G(z)) as probabilities. Arguments a GAN does not use (see `GAN_UNSUPPORTED`) are
    refused rather than ignored.

    Args:
        model: The GAN module.
        lr: Learning rate of both optimizers (DCGAN: 2e-4).
        betas: Adam's betas (DCGAN: (0.5, 0.999)).
        **kwargs: Trainer arguments (batch_size, epochs, seed, callbacks, checkpoint, progress, device).

    Example:
        >>> import neuronet as nt
        >>> data = nt.datasets.load("digits")
        >>> gan = nt.models.DCGAN(data.input_shape, 0, latent=8, width=8, seed=0)
        >>> history = GANTrainer(gan, epochs=1, progress=False).fit(data)
        >>> sorted(k for k in history.keys() if k.startswith("d_"))
        ['d_fake', 'd_loss', 'd_real']
    """

    params = {**{k: v for k, v in TRAINER_PARAMS.items() if k not in GAN_UNSUPPORTED},
              "betas": [ListOf(Interval(float, 0, 1, closed="left"), "a pair of floats in [0, 1)")]}

    def __init__(self, model: nn.Module, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
                 **kwargs: Any) -> None:
        for part in ("generator", "discriminator"):
            if not isinstance(getattr(model, part, None), nn.Module):
                raise ConfigError(f"GANTrainer needs a model with a '{part}' module (e.g. neuronet.models.DCGAN).")
        refused = [k for k in kwargs if k in GAN_UNSUPPORTED]
        if refused:
            raise ConfigError(f"GANTrainer does not take '{refused[0]}': a GAN trains with two Adam optimizers and "
                              f"adversarial losses of its own; remove it. It takes: {', '.join(self.params)}.")
        validate_params(self.params, {"lr": lr, "betas": betas, **kwargs}, "GANTrainer")
        g_opt = torch.optim.Adam(model.generator.parameters(), lr=lr, betas=tuple(betas))
        self._betas = tuple(betas)
        super().__init__(model, task="generation", loss="binary_cross_entropy", optimizer=g_opt, lr=lr, metrics=[],
                         train_metrics=False, **kwargs)
        if self.ranks.distributed:  # its two optimizers step the parts directly, where DDP would not average them
            raise ConfigError(f"A GAN trains in one process; {self.ranks.world} were started (torchrun / --nproc). "
                              "Train it without them.")
        self.hparams = {k: v for k, v in self.hparams.items() if k not in GAN_UNSUPPORTED}
        self.hparams["betas"] = list(self._betas)
        self.d_optimizer = torch.optim.Adam(self.model.discriminator.parameters(), lr=lr, betas=tuple(betas))

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
        """One discriminator step, then one generator step; returns the generator loss."""
        gen, disc = self.model.generator, self.model.discriminator
        real_label = torch.ones(len(x), 1, device=x.device)
        fake = gen(self.model.noise(len(x)))  # (B, C, H, W)
        d_real, d_fake = disc(x), disc(fake.detach())  # logits (B, 1)
        d_loss = self.loss_fn(d_real, real_label) + self.loss_fn(d_fake, torch.zeros_like(real_label))
        self.checked(d_loss)
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()
        g_loss = self.loss_fn(disc(fake), real_label)  # non-saturating: make D call the fakes real
        value = self.checked(g_loss)
        self.optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizer.step()
        self._epoch.extra.setdefault("d", []).append(torch.stack([
            d_loss.detach(), torch.sigmoid(d_real).mean().detach(), torch.sigmoid(d_fake).mean().detach()]))
        return value, fake.detach()

    def epoch_logs(self) -> dict[str, float]:
        d_loss, d_real, d_fake = torch.stack(self._epoch.extra["d"]).mean(dim=0).tolist()
        return {"d_loss": d_loss, "d_real": d_real, "d_fake": d_fake}

    def evaluate(self, data: Any, metrics: Any = None) -> dict[str, float]:
        """D's loss on real `data` and on as many generated images, plus mean D(x) and D(G(z))."""
        out, y = self.outputs(data)
        return self.task.score(out, y)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.d_optimizer.load_state_dict(state["d_optimizer"])


class GANSamples(Callback):
    """After each epoch, write a grid of images generated from the same fixed noise to `folder`/epoch_NNN.png."""

    def __init__(self, folder: str | Path, n: int = 64, seed: int = 0) -> None:
        self.folder, self.n, self.seed = Path(folder), n, seed

    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
        from neuronet.plots import save_image_grid

        images = trainer.model.sample(self.n, generator=torch.Generator().manual_seed(self.seed))
        save_image_grid(images.cpu(), self.folder / f"epoch_{logs['epoch']:03d}.png")
