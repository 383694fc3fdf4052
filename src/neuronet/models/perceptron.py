"""The perceptron: one neuron, a weighted sum plus bias through a step function (Rosenblatt, 1958)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.registry import MODELS, as_shape, init_seed
from neuronet.nn.activations import Step

__all__ = ["Perceptron", "perceptron_rule"]


@MODELS.register("perceptron", "A single neuron: weighted sum + bias + step; perceptron rule or gradient descent.")
class Perceptron(nn.Module):
    """One neuron for binary classification.

    `forward` returns the weighted sum w·x + b (a logit), so gradient descent with a sigmoid
    (`loss="binary_cross_entropy"`) trains it; `predict` applies the step function, and
    `perceptron_rule` trains it the classic way.

    Args:
        input_shape: Shape of one example (flattened).
        num_outputs: Must be 1 (one neuron; use binary_cross_entropy).
        seed: Seed for the initial weights.

    Example:
        >>> p = Perceptron(2, seed=0)
        >>> p.predict(torch.tensor([[1.0, 2.0]])).shape
        torch.Size([1])
    """

    layouts: ClassVar[tuple[str, ...]] = ("table", "sequence", "image", "tensor")  # numbers, flattened; not token ids

    def __init__(self, input_shape: int | Sequence[int], num_outputs: int = 1, seed: int | None = None) -> None:
        super().__init__()
        if num_outputs != 1:
            raise ValueError(f"a perceptron has one output neuron, not {num_outputs}; train it with "
                             "loss binary_cross_entropy on two classes")
        self.hparams = {"seed": seed}
        with init_seed(seed):
            self.linear = nn.Linear(math.prod(as_shape(input_shape)), 1)
        self.step = Step()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))  # (B, 1) weighted sum

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class 0 or 1 for each example: step(w·x + b)."""
        return self.step(self.forward(x)).long().squeeze(1)


@torch.no_grad()
def perceptron_rule(model: Perceptron, x: torch.Tensor, y: torch.Tensor, epochs: int = 100, lr: float = 1.0,
                    seed: int = 0) -> list[int]:
    """Train with Rosenblatt's rule: for each misclassified example, w += lr * (y - ŷ) * x.

    Visits the examples in a seeded random order each epoch and stops at the first epoch
    without mistakes (it converges when the classes are linearly separable).

    Returns:
        Mistakes per epoch.
    """
    x = x.flatten(1).to(model.linear.weight.dtype)
    generator = torch.Generator().manual_seed(seed)
    mistakes = []
    for _ in range(epochs):
        errors = 0
        for i in torch.randperm(len(x), generator=generator).tolist():
            update = lr * (float(y[i]) - float(model.predict(x[i:i + 1])))
            if update:
                model.linear.weight += update * x[i]
                model.linear.bias += update
                errors += 1
        mistakes.append(errors)
        if errors == 0:
            break
    return mistakes
