"""`pretrained`: a network pretrained on a large data set, or one of your runs, with a new head for your data.

    model: {type: pretrained, name: minilm-l6}            # texts: all-MiniLM-L6-v2 + its own tokenizer
    model: {type: pretrained, name: efficientnet-lite0}   # images: an ImageNet CNN
    model: {type: pretrained, name: minilm-l6, freeze: backbone}   # features + head only
    model: {type: pretrained, run: runs/fashion-cnn}      # your own run as the backbone

The networks load offline from their packages (`neuronet[transfer]`); see `neuronet.transfer`.
A run keeps its architecture and weights; its output layer is replaced when the new data has
another number of outputs, and images of another size are resized to the size it was trained on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from neuronet.errors import ConfigError
from neuronet.models.registry import MODELS, build_model
from neuronet.transfer.freeze import freeze as freeze_params
from neuronet.transfer.freeze import frozen_batchnorm_eval, head_names
from neuronet.transfer.pretrained import PRETRAINED, PretrainedImageClassifier, PretrainedTextClassifier
from neuronet.transfer.weights import load_weights, read_weights

__all__ = ["Pretrained", "Resize"]


class Resize(nn.Module):
    """Images (N, C, H, W) → (N, channels, *size): bilinear resizing, greyscale repeated to 3 channels."""

    def __init__(self, channels: int, size: Sequence[int]) -> None:
        super().__init__()
        self.channels, self.size = channels, tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.channels:
            x = x.expand(-1, self.channels, -1, -1)  # (N, 1, H, W) -> (N, 3, H, W)
        if tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return x


def run_architecture(run: str | Path) -> dict[str, Any]:
    """A run's model as {type, kwargs, input_shape, num_outputs} (its model.json)."""
    root = Path(run)
    spec_file, weights = root / "model.json", root / "model.safetensors"
    if not spec_file.is_file() or not weights.is_file():
        raise ConfigError(f"model.run: {root} is not a finished neuronet run (it needs model.json and "
                          "model.safetensors); train it first or point to another run directory.")
    spec = json.loads(spec_file.read_text())
    return {k: spec[k] for k in ("type", "kwargs", "input_shape", "num_outputs")}


def _adapter(base_shape: Sequence[int], shape: Sequence[int], run: str) -> nn.Module:
    """Identity when the shapes agree; a Resize for images of another size or greyscale for RGB."""
    base_shape, shape = tuple(base_shape), tuple(shape)
    if base_shape == shape:
        return nn.Identity()
    if len(base_shape) == 3 and len(shape) == 3 and shape[0] in (1, base_shape[0]):
        return Resize(base_shape[0], base_shape[1:])
    show = lambda s: "x".join(map(str, s))  # noqa: E731
    raise ConfigError(f"The run {run} reads inputs of shape {show(base_shape)}, but this data's are {show(shape)}; "
                      "a run starts a model for data like its own (images of another size are resized; texts and "
                      "tables need the same inputs).")


@MODELS.register("pretrained", "A pretrained network with a new head: minilm-l6 (text), efficientnet-lite0/1 "
                               "(images), or one of your runs (run: runs/x).")
class Pretrained(nn.Module):
    """A pretrained backbone (`name`, or your `run`) and a new output layer for this data.

    Args:
        input_shape: Shape of one example: (T,) token ids, (C, H, W) images in [0, 1], or a run's input.
        num_outputs: Classes or regression targets.
        name: A network of `neuronet.transfer.PRETRAINED` (default minilm-l6, when no `run` is given).
        run: A neuronet run directory whose trained model is the starting point (instead of `name`).
        base: The run's architecture as stored by a run trained from it (set by neuronet, so a trained
            run loads without the source run).
        dropout: Before the head (named networks).
        freeze: "none" (fine-tune everything) or "backbone" (train the output layer only: feature extraction).
        batchnorm: "frozen" (default: batch-norm layers keep their pretraining statistics while their
            weights fine-tune; small batches of new data would otherwise pull the statistics away from
            what the weights expect) or "train" (statistics updated from the new data).
        url: Where to download an image network's weights when its package is not installed (checked
            against the package's SHA-256; cached in ~/.cache/neuronet).
        vocab_size: The tokenizer's vocabulary (texts; checked against the encoder's).
        pad_index: The tokenizer's padding id (texts).
        seed: Seed for the new head.
    """

    layouts: ClassVar[tuple[str, ...]] = ("tokens", "image", "table", "sequence")

    def __init__(self, input_shape: int | Sequence[int], num_outputs: int, name: str | None = None,
                 run: str | None = None, base: dict[str, Any] | None = None, dropout: float = 0.1,
                 freeze: str = "none", batchnorm: str = "frozen", url: str | None = None,
                 vocab_size: int | None = None, pad_index: int = 0, seed: int | None = None) -> None:
        super().__init__()
        for key, value, valid in (("freeze", freeze, ("none", "backbone")), ("batchnorm", batchnorm, ("frozen", "train"))):
            if value not in valid:
                raise ConfigError(f"The '{key}' parameter of the pretrained model must be '{valid[0]}' or "
                                  f"'{valid[1]}'. Got {value!r} instead.")
        if name is not None and (run is not None or base is not None):
            raise ConfigError(f"A pretrained model starts from a named network or from a run, not both: drop "
                              f"name ({name!r}) or run ({run!r}).")
        self.batchnorm = batchnorm
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        self.run, self.base = run, base
        if run is not None or base is not None:
            self.hparams = {"run": run, "freeze": freeze, "batchnorm": batchnorm, "seed": seed}
            self._from_run(shape, num_outputs, seed)
        else:
            name = name or "minilm-l6"
            self.hparams = {"name": name, "dropout": dropout, "freeze": freeze, "batchnorm": batchnorm, "seed": seed,
                            **({"url": url} if url else {})}
            self._from_name(name, shape, num_outputs, dropout, pad_index, vocab_size, seed, url)
        self.eval_batch_size = 64 if len(shape) == 3 and run is None and base is None else None  # 224 px inside
        if freeze == "backbone":
            heads = set(self.head_names())
            freeze_params(self, *[n for n, _ in self.named_parameters() if n not in heads])

    def _from_name(self, name: str, shape: tuple[int, ...], num_outputs: int, dropout: float, pad_index: int,
                   vocab_size: int | None, seed: int | None, url: str | None) -> None:
        spec = PRETRAINED.get(name)
        if spec.kind == "text":
            if len(shape) != 1:
                raise ConfigError(f"'{name}' reads texts, but this data has inputs of shape {shape}; use "
                                  "an image network (efficientnet-lite0) or another model.")
            self.net: nn.Module = PretrainedTextClassifier(num_outputs, name, dropout, pad_index, seed)
            size = self.net.encoder.config.vocab_size
            if vocab_size is not None and vocab_size > size:
                raise ConfigError(f"{name} reads ids below {size}, but the data's vocabulary has {vocab_size}: "
                                  f"prepare the texts with its own tokenizer (data.preprocess.tokenizer: {name})")
        else:
            if len(shape) != 3:
                raise ConfigError(f"'{name}' reads images, but this data has inputs of shape {shape}; use "
                                  "a text encoder (minilm-l6) or another model.")
            self.net = PretrainedImageClassifier(num_outputs, name, dropout, seed, url)
        self.adapt: nn.Module = nn.Identity()

    def _from_run(self, shape: tuple[int, ...], num_outputs: int, seed: int | None) -> None:
        fresh = self.base is None
        base = self.base = self.base or run_architecture(self.run)
        kwargs = dict(base["kwargs"])
        if "seed" in kwargs:
            kwargs["seed"] = seed  # the new head's initial weights follow this run's seed
        self.adapt = _adapter(base["input_shape"], shape, self.run or "it was trained on")
        self.net = build_model(base["type"], tuple(base["input_shape"]), num_outputs, **kwargs)
        if fresh:  # starting from the run's weights; a new output layer when the number of outputs differs
            replace = [] if num_outputs == base["num_outputs"] else head_names(self.net)
            load_weights(self.net, read_weights(self.run), skip=replace, where=f"the run {self.run}")

    def rebuild_kwargs(self) -> dict[str, Any] | None:
        """What model.json stores to rebuild a model started from a run without that run (its architecture,
        not its path); None for a named network (its constructor arguments do)."""
        if self.base is None:
            return None
        return {**self.hparams, "base": self.base}

    def head_names(self) -> list[str]:
        """The output layer's parameters (what `freeze: backbone` trains)."""
        if isinstance(self.net, (PretrainedTextClassifier, PretrainedImageClassifier)):
            return ["net.head.weight", "net.head.bias"]
        return [f"net.{n}" for n in head_names(self.net)]

    def train(self, mode: bool = True) -> Pretrained:
        """Training mode, but a frozen named backbone stays in eval mode (no dropout, batch-norm statistics
        kept), so its features are a fixed function of the input and can be cached."""
        super().train(mode)
        if mode:
            frozen_batchnorm_eval(self)
            if self.batchnorm == "frozen":  # statistics of pretraining kept while the weights fine-tune (as Keras advises)
                for module in self.net.modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
            backbone = getattr(self.net, "encoder", None) or getattr(self.net, "backbone", None)
            if backbone is not None and not any(p.requires_grad for p in backbone.parameters()):
                backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.adapt(x))
