"""`pretrained`: a network pretrained on a large data set with a new head, to fine-tune on yours.

    model: {type: pretrained, name: minilm-l6}            # texts: all-MiniLM-L6-v2 + its own tokenizer
    model: {type: pretrained, name: efficientnet-lite0}   # images: an ImageNet CNN
    model: {type: pretrained, name: minilm-l6, freeze: backbone}   # features + head only

The networks load offline from their packages (`neuronet[transfer]`); see `neuronet.transfer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from neuronet.models.registry import MODELS
from neuronet.transfer.freeze import freeze as freeze_params
from neuronet.transfer.pretrained import PRETRAINED, PretrainedImageClassifier, PretrainedTextClassifier

__all__ = ["Pretrained"]


@MODELS.register("pretrained", "A pretrained network with a new head: minilm-l6 (text), efficientnet-lite0/1 (images).")
class Pretrained(nn.Module):
    """A pretrained backbone (`name`) and a new linear head for this data's outputs.

    Args:
        input_shape: Shape of one example: (T,) token ids, or (C, H, W) images in [0, 1].
        num_outputs: Classes or regression targets.
        name: A network of `neuronet.transfer.PRETRAINED`.
        dropout: Before the head.
        freeze: "none" (fine-tune everything) or "backbone" (train the head only: feature extraction).
        vocab_size: The tokenizer's vocabulary (texts; checked against the encoder's).
        pad_index: The tokenizer's padding id (texts).
        seed: Seed for the new head.
    """

    layouts: ClassVar[tuple[str, ...]] = ("tokens", "image")

    def __init__(self, input_shape: int | Sequence[int], num_outputs: int, name: str = "minilm-l6",
                 dropout: float = 0.1, freeze: str = "none", vocab_size: int | None = None, pad_index: int = 0,
                 seed: int | None = None) -> None:
        super().__init__()
        if freeze not in ("none", "backbone"):
            raise ValueError(f"freeze must be 'none' or 'backbone', not {freeze!r}")
        spec = PRETRAINED.get(name)
        self.hparams = {"name": name, "dropout": dropout, "freeze": freeze, "seed": seed}
        if spec.kind == "text":
            self.net: nn.Module = PretrainedTextClassifier(num_outputs, name, dropout, pad_index, seed)
            size = self.net.encoder.config.vocab_size
            if vocab_size is not None and vocab_size > size:
                raise ValueError(f"{name} reads ids below {size}, but the data's vocabulary has {vocab_size}: "
                                 f"prepare the texts with its own tokenizer (data.preprocess.tokenizer: {name})")
            backbone = "net.encoder.*"
        else:
            self.net = PretrainedImageClassifier(num_outputs, name, dropout, seed)
            backbone = "net.backbone.*"
        if freeze == "backbone":
            freeze_params(self, backbone)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
