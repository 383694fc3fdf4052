"""Building blocks by name: activations and losses."""

from neuronet.nn.activations import ACTIVATIONS, Step, activation
from neuronet.nn.losses import LOSSES, BinaryCrossEntropy, TokenCrossEntropy, TokenScores, VAELoss, loss_fn

__all__ = ["ACTIVATIONS", "LOSSES", "BinaryCrossEntropy", "Step", "TokenCrossEntropy", "TokenScores", "VAELoss", "activation", "loss_fn"]
