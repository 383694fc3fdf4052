"""Transfer learning: pretrained backbones (MiniLM, EfficientNet-Lite) with a new head, and freezing tools.

Imported lazily, so `import neuronet` does not load transformers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRETRAINED", "PretrainedImageClassifier", "PretrainedTextClassifier", "freeze", "unfreeze",
           "param_groups", "frozen_names", "imagenet_model", "load_text_encoder"]

_WHERE = {"freeze": "freeze", "unfreeze": "freeze", "param_groups": "freeze", "frozen_names": "freeze"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        from importlib import import_module

        return getattr(import_module(f"neuronet.transfer.{_WHERE.get(name, 'pretrained')}"), name)
    raise AttributeError(f"module 'neuronet.transfer' has no attribute {name!r}")
