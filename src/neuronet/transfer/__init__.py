"""Transfer learning: pretrained backbones (MiniLM, EfficientNet-Lite, your runs) with a new head, freezing
tools, weights from files and feature extraction (the `fine_tune` recipe is `neuronet.fine_tune`, in train/).

Imported lazily, so `import neuronet` does not load transformers.
"""

from __future__ import annotations

from typing import Any

# Eager (light: torch.nn and fnmatch), so that `transfer.freeze` is the function, not the module freeze.py.
from neuronet.transfer.freeze import freeze, frozen_batchnorm_eval, frozen_names, head_names, param_groups, unfreeze

__all__ = ["PRETRAINED", "PretrainedImageClassifier", "PretrainedTextClassifier", "freeze", "unfreeze",
           "param_groups", "frozen_names", "head_names", "frozen_batchnorm_eval", "imagenet_model",
           "imagenet_classes", "classify_imagenet", "load_text_encoder", "load_weights", "read_weights", "embed",
           "head_of"]

_WHERE = {"load_weights": "weights",
          "read_weights": "weights", "embed": "features", "head_of": "features"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        from importlib import import_module

        return getattr(import_module(f"neuronet.transfer.{_WHERE.get(name, 'pretrained')}"), name)
    raise AttributeError(f"module 'neuronet.transfer' has no attribute {name!r}")
