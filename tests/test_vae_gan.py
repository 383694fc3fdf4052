"""The VAE's loss against its formula, and the GAN's losses moving the right way."""

import math

import pytest
import torch

import neuronet as nt
from neuronet.nn import VAELoss
from neuronet.plots import image_grid
from neuronet.train import GANSamples, GANTrainer


def test_vae_loss_matches_a_worked_example():
    recon = torch.tensor([[0.8, 0.2]], dtype=torch.float64)
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    mu = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(0.25)]], dtype=torch.float64)
    bce = -(math.log(0.8) + math.log(0.8))  # -[1 log .8 + 0] - [0 + 1 log(1 - .2)]
    # KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (sigma^2 + mu^2 - 1 - log sigma^2), per dimension
    kl = 0.5 * (1 + 0.25 - 1 - 0.0) + 0.5 * (0.25 + 1.0 - 1 - math.log(0.25))
    assert VAELoss()((recon, mu, logvar), x).item() == pytest.approx(bce + kl, rel=1e-12)
    mse = 0.2**2 + 0.2**2
    assert VAELoss("mse", beta=0.5)((recon, mu, logvar), x).item() == pytest.approx(mse + 0.5 * kl, rel=1e-12)


def test_vae_trains_and_encodes(digits):
    train, _, test = digits.unlabelled().split(val=0, test=0.2, seed=0)
    vae = nt.models.VAE(digits.input_shape, 0, hidden=[64], latent=2, seed=0)
    trainer = nt.Trainer(vae, lr=1e-3, epochs=5, progress=False)  # the VAE declares its task and its loss (the ELBO)
    history = trainer.fit(train)
    assert trainer.task.name == "reconstruction" and isinstance(trainer.loss_fn, nt.nn.VAELoss)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert vae.encode(test.x).shape == (len(test), 2)
    assert set(trainer.evaluate(test)) == {"loss"}


def test_gan_losses_move_in_the_expected_directions(digits):
    torch.manual_seed(0)
    gan = nt.models.DCGAN(digits.input_shape, 0, latent=8, width=8, seed=0)
    real = digits.x[:64]
    z = gan.noise(64, generator=torch.Generator().manual_seed(1))
    bce = torch.nn.BCEWithLogitsLoss()
    d_opt = torch.optim.Adam(gan.discriminator.parameters(), lr=2e-3)

    def d_loss():
        fake = gan.generator(z).detach()
        return bce(gan.discriminator(real), torch.ones(64, 1)) + bce(gan.discriminator(fake), torch.zeros(64, 1))

    before = d_loss().item()
    for _ in range(5):  # the discriminator alone learns to tell real from fake
        d_opt.zero_grad()
        d_loss().backward()
        d_opt.step()
    assert d_loss().item() < before
    g_opt = torch.optim.Adam(gan.generator.parameters(), lr=2e-3)
    g_loss = lambda: bce(gan.discriminator(gan.generator(z)), torch.ones(64, 1))  # noqa: E731
    before = g_loss().item()
    for _ in range(5):  # then the generator alone learns to fool that discriminator
        g_opt.zero_grad()
        g_loss().backward()
        g_opt.step()
    assert g_loss().item() < before


def test_gan_trainer_history_samples_and_resume(digits, tmp_path):
    data = digits.unlabelled()

    def trainer(*callbacks):
        gan = nt.models.DCGAN(digits.input_shape, 0, latent=8, width=8, seed=0)
        return GANTrainer(gan, epochs=3, batch_size=64, progress=False, callbacks=list(callbacks))

    whole = trainer(GANSamples(tmp_path / "samples"))
    history = whole.fit(data)
    assert [p.name for p in sorted((tmp_path / "samples").iterdir())] == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    assert {"train_loss", "d_loss", "d_real", "d_fake"} <= set(history.keys())
    assert all(0 < v < 1 for v in history["d_real"] + history["d_fake"])

    class StopAfter(nt.callbacks.Callback):
        def after_epoch(self, t, logs):
            t.stop_training = logs["epoch"] == 2

    first = trainer(StopAfter())
    first.fit(data)
    first.save_checkpoint(tmp_path / "gan.safetensors")
    second = trainer()
    second.load_checkpoint(tmp_path / "gan.safetensors")  # both optimizers, weights, history
    assert second.epoch == 2 and len(second.history) == 2
    second.fit(data)
    for (k, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_image_grid_tiles_images():
    grid = image_grid(torch.ones(10, 1, 4, 4) * 0.5, columns=4)
    assert grid.shape == (12, 16) and grid[0, 0] == 0.5 and grid[-1, -1] == 1.0  # 3 rows; the empty cells are white


def test_a_gan_refuses_the_options_it_would_ignore():
    gan = nt.models.DCGAN((1, 8, 8), 0, latent=8, width=8, seed=0)
    for option in ({"optimizer": "sgd"}, {"schedule": "cosine"}, {"grad_clip": 1.0}, {"weight_decay": 0.1}):
        with pytest.raises(nt.ConfigError, match=f"GANTrainer does not take '{next(iter(option))}'"):
            GANTrainer(gan, progress=False, **option)


def test_anomaly_scores_rank_unfamiliar_inputs_higher(digits):
    ones = digits.subset(torch.nonzero(digits.y == 1).squeeze(1))
    ae = nt.models.Autoencoder(digits.input_shape, 0, hidden=[32], latent=4, output_activation="sigmoid", seed=0)
    nt.Trainer(ae, loss="mse", lr=3e-3, epochs=60, batch_size=32, progress=False, metrics=[]).fit(ones.unlabelled())
    zeros = digits.x[digits.y == 0]
    assert nt.models.anomaly_scores(ae, zeros).mean() > 2 * nt.models.anomaly_scores(ae, ones.x).mean()
