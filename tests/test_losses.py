import pytest
import torch

from neuronet.nn import LOSSES, loss_fn

torch.manual_seed(0)
PRED = torch.randn(8, 3, dtype=torch.float64)
TARGET = torch.randn(8, 3, dtype=torch.float64)
LOGITS = torch.randn(8, 4, dtype=torch.float64)
LABELS = torch.tensor([0, 3, 1, 2, 2, 0, 1, 3])
BIN_LOGITS = torch.randn(8, 1, dtype=torch.float64)
BIN_LABELS = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])


def huber(p, t, delta=1.0):
    e = (p - t).abs()
    return torch.where(e < delta, 0.5 * e**2, delta * (e - 0.5 * delta)).mean()


CASES = {  # name: (outputs, targets, formula)
    "mse": (PRED, TARGET, lambda: ((PRED - TARGET) ** 2).mean()),
    "mae": (PRED, TARGET, lambda: (PRED - TARGET).abs().mean()),
    "huber": (PRED * 3, TARGET, lambda: huber(PRED * 3, TARGET)),
    "cross_entropy": (LOGITS, LABELS, lambda: -(LOGITS.softmax(1)[torch.arange(8), LABELS]).log().mean()),
    "binary_cross_entropy": (BIN_LOGITS, BIN_LABELS, lambda: -(
        BIN_LABELS * torch.sigmoid(BIN_LOGITS[:, 0]).log() + (1 - BIN_LABELS) * (1 - torch.sigmoid(BIN_LOGITS[:, 0])).log()
    ).mean()),
    # next-token logits (2, 3, 4) against token ids, padding (id 0) left out of the mean
    # with dice=0 (below): the cross-entropy part
    "pixel_cross_entropy": (LOGITS.view(2, 4, 2, 2)[:, :3], torch.tensor([[[0, 2], [1, 1]], [[2, 2], [0, 1]]]),
                            lambda: -torch.stack([LOGITS.view(2, 4, 2, 2)[b, :3, i, j].log_softmax(0)[k]
                                                  for b, (i, j, k) in [(0, (0, 0, 0)), (0, (0, 1, 2)), (0, (1, 0, 1)),
                                                                       (0, (1, 1, 1)), (1, (0, 0, 2)), (1, (0, 1, 2)),
                                                                       (1, (1, 0, 0)), (1, (1, 1, 1))]]).mean()),
    "token_cross_entropy": (LOGITS.view(2, 4, 4)[:, :3], torch.tensor([[2, 3, 0], [1, 0, 0]]), lambda: -torch.stack([
        LOGITS.view(2, 4, 4)[b, t].log_softmax(0)[k] for b, t, k in ((0, 0, 2), (0, 1, 3), (1, 0, 1))]).mean()),
}


def test_every_registered_loss_is_checked():
    # the VAE's ELBO: test_vae_gan.py; CTC: test_transcription.py; centernet: test_detection.py
    assert set(LOSSES.names()) == set(CASES) | {"vae", "ctc", "centernet"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_its_formula(name):
    out, target, formula = CASES[name]
    options = {"dice": 0} if name == "pixel_cross_entropy" else {}  # its Dice term: test_segmentation.py
    assert loss_fn(name, **options)(out, target).item() == pytest.approx(formula().item(), rel=1e-10)
