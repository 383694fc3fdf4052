"""Loss functions by name, each PyTorch's own module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

from neuronet.registry import Registry

__all__ = ["LOSSES", "BinaryCrossEntropy", "CTCLoss", "PixelCrossEntropy", "TokenCrossEntropy", "TokenScores", "VAELoss", "loss_fn"]

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


class TokenScores(NamedTuple):
    """What a sequence task keeps of its outputs to score them: per-token negative log-likelihood and the
    most likely token, (B, T) each (the logits, (B, T, vocabulary), are too large to keep for a whole split)."""

    nll: torch.Tensor
    predicted: torch.Tensor


class TokenCrossEntropy(nn.Module):
    """Cross-entropy of next-token logits (B, T, V) against token ids (B, T), averaged over the tokens that
    are not padding (`ignore_index`, id 0).

    Also takes the `TokenScores` kept of earlier outputs: their mean negative log-likelihood over
    the same tokens, which is the same number.

    Example:
        >>> logits = torch.zeros(1, 3, 4)
        >>> round(float(TokenCrossEntropy()(logits, torch.tensor([[2, 3, 0]]))), 4)  # log 4, padding left out
        1.3863
    """

    def __init__(self, ignore_index: int = 0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, outputs: torch.Tensor | tuple, target: torch.Tensor) -> torch.Tensor:
        if isinstance(outputs, tuple):  # TokenScores (a tuple after joining)
            nll = outputs[0]
            kept = target != self.ignore_index
            return nll[kept].sum() / kept.sum().clamp(min=1)
        logits = outputs.flatten(0, 1)
        logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits  # mixed precision
        return nn.functional.cross_entropy(logits, target.flatten(), ignore_index=self.ignore_index,
                                           label_smoothing=self.label_smoothing)


class CTCLoss(nn.Module):
    """Connectionist temporal classification loss of a speech model's `CTCOutput` (log-probabilities and
    each clip's frames) against label ids (B, L) padded with 0 (the blank, never a label): `torch.nn.CTCLoss`,
    each clip's loss divided by its transcript's length, then averaged (`reduction="mean"`).

    A transcript longer than its clip can say has infinite loss; `zero_infinity` drops it rather than
    letting it stop training (the data loader leaves such clips out and says so). Also takes the kept form
    of earlier outputs (each clip's loss so divided, and the decoded labels): their mean, the same number.

    Example:
        >>> out = (torch.zeros(1, 4, 3).log_softmax(-1), torch.tensor([4]))
        >>> round(float(CTCLoss()(out, torch.tensor([[1, 2]]))), 4)  # -log(15 paths give "1 2" of 3**4) / 2 labels
        0.8432
    """

    def __init__(self, blank: int = 0, zero_infinity: bool = True) -> None:
        super().__init__()
        self.blank, self.zero_infinity = blank, zero_infinity

    def per_clip(self, outputs: tuple, target: torch.Tensor) -> torch.Tensor:
        """Each clip's loss divided by its number of labels (B,)."""
        log_probs, lengths = outputs[0], outputs[1]
        target_lengths = (target != self.blank).sum(dim=1)
        loss = nn.functional.ctc_loss(log_probs.float().transpose(0, 1), target, lengths, target_lengths, self.blank,
                                      reduction="none", zero_infinity=self.zero_infinity)
        return loss / target_lengths.clamp(min=1)

    def forward(self, outputs: tuple, target: torch.Tensor) -> torch.Tensor:
        if outputs[0].dim() == 1:  # kept: each clip's loss already
            return outputs[0].mean()
        return self.per_clip(outputs, target).mean()


class PixelCrossEntropy(nn.Module):
    """Segmentation: cross-entropy of each pixel's class logits (B, C, H, W) against class masks (B, H, W), plus
    `dice` times the soft Dice loss, per image, averaged over the batch.

    Cross-entropy alone is ruled by the background, most of the pixels; the soft Dice loss (Milletari et al.,
    2016), 1 - mean over classes of 2 sum(p t) / (sum p + sum t), weighs every class alike, as mean IoU does
    (nnU-Net trains on the sum of both). Also takes the kept form of earlier outputs (each image's loss and its
    predicted mask): their mean, the same number.

    Args:
        label_smoothing: Of the cross-entropy.
        dice: Weight of the Dice term (0: cross-entropy alone).

    Example:
        >>> round(float(PixelCrossEntropy(dice=0)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))), 4)
        1.3863
    """

    def __init__(self, label_smoothing: float = 0.0, dice: float = 1.0) -> None:
        super().__init__()
        self.label_smoothing, self.dice = label_smoothing, dice

    def per_image(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Each image's loss (B,)."""
        logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits  # mixed precision
        target = target.long()
        loss = nn.functional.cross_entropy(logits, target, reduction="none",
                                           label_smoothing=self.label_smoothing).flatten(1).mean(1)
        if self.dice:
            p = logits.softmax(dim=1)  # (B, C, H, W)
            t = nn.functional.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
            overlap, sizes = (p * t).flatten(2).sum(2), (p + t).flatten(2).sum(2)  # (B, C)
            loss = loss + self.dice * (1 - ((2 * overlap + 1) / (sizes + 1)).mean(1))
        return loss

    def forward(self, outputs: torch.Tensor | tuple, target: torch.Tensor) -> torch.Tensor:
        if isinstance(outputs, tuple):  # kept: each image's loss already
            return outputs[0].mean()
        return self.per_image(outputs, target).mean()


for _name, _factory, _help in [
    ("mse", nn.MSELoss, "Mean squared error, mean((y - y_hat)^2)."),
    ("mae", nn.L1Loss, "Mean absolute error, mean(|y - y_hat|)."),
    ("huber", nn.HuberLoss, "Squared error below `delta`, absolute error above (robust to outliers)."),
    ("binary_cross_entropy", BinaryCrossEntropy, "Binary cross-entropy on logits (one output, 0/1 targets)."),
    ("cross_entropy", nn.CrossEntropyLoss, "Softmax + negative log-likelihood on logits (class-index targets)."),
    ("token_cross_entropy", TokenCrossEntropy, "Cross-entropy of next-token logits, padding left out (language)."),
    ("ctc", CTCLoss, "Connectionist temporal classification: per-frame labels of any alignment (speech to text)."),
    ("vae", VAELoss, "Negative ELBO of a VAE: reconstruction + KL divergence (outputs: recon, mu, logvar)."),
    ("pixel_cross_entropy", PixelCrossEntropy, "Segmentation: cross-entropy of every pixel's class (logits (B, C, H, W)) "
                                               "+ the soft Dice loss (every class weighs alike)."),
    ("centernet", lambda **kw: _centernet()(**kw), "Object detection (CenterNet): focal loss on centre heatmaps + L1 "
                                                   "on box sizes and offsets."),
]:
    LOSSES.add(_name, _factory, _help)


def _centernet() -> type[nn.Module]:
    from neuronet.nn.centernet import CenterNetLoss  # box drawing is imported only where boxes are trained on

    return CenterNetLoss


def loss_fn(name: str | nn.Module | Callable, **kwargs: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Build a loss from its name; a module or callable passes through unchanged.

    Example:
        >>> loss_fn("mse")(torch.tensor([1.0]), torch.tensor([3.0]))
        tensor(4.)
    """
    if callable(name):
        return name
    return LOSSES.get(name)(**kwargs)
