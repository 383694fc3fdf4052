"""Transfer learning: pretrained backbones (MiniLM, EfficientNet-Lite, your runs) with a new head, freezing
tools, weights from files, feature extraction, and the `fine_tune` recipe.

Imported lazily, so `import neuronet` does not load transformers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRETRAINED", "PretrainedImageClassifier", "PretrainedTextClassifier", "freeze", "unfreeze",
           "param_groups", "frozen_names", "head_names", "frozen_batchnorm_eval", "imagenet_model",
           "imagenet_classes", "classify_imagenet", "load_text_encoder", "load_weights", "read_weights", "embed",
           "head_of", "fine_tune"]

_WHERE = {"freeze": "freeze", "unfreeze": "freeze", "param_groups": "freeze", "frozen_names": "freeze",
          "head_names": "freeze", "frozen_batchnorm_eval": "freeze", "load_weights": "weights",
          "read_weights": "weights", "embed": "features", "head_of": "features", "fine_tune": "recipes"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        from importlib import import_module

        return getattr(import_module(f"neuronet.transfer.{_WHERE.get(name, 'pretrained')}"), name)
    raise AttributeError(f"module 'neuronet.transfer' has no attribute {name!r}")
