"""neuronet: a complete deep-learning system on PyTorch.

Sub-packages and names are imported on first use, so `import neuronet` is instant and a
process that only predicts never imports the training code.

Example:
    >>> import neuronet as nt
    >>> data = nt.datasets.load("digits")
    >>> train, val, test = nt.datasets.prepare(data, val=0.1, test=0.2, seed=0)
    >>> model = nt.models.CNN(train.input_shape, train.num_outputs, seed=0)
    >>> trainer = nt.Trainer(model, epochs=1, progress=False)
"""

from __future__ import annotations

import importlib
from typing import Any

from neuronet.errors import ConfigError, DataError, NeuronetError, NotFittedError, TrainingDivergedError

__version__ = "0.1.0"

# name -> (module, attribute or None for the module itself)
_LAZY = {
    "datasets": ("neuronet.datasets", None), "models": ("neuronet.models", None), "nn": ("neuronet.nn", None),
    "optim": ("neuronet.optim", None), "tasks": ("neuronet.tasks", None), "train": ("neuronet.train", None),
    "runs": ("neuronet.runs", None), "predict": ("neuronet.predict", None), "config": ("neuronet.config", None),
    "explain": ("neuronet.explain", None), "doctor": ("neuronet.doctor", None), "rl": ("neuronet.rl", None),
    "tune": ("neuronet.tune", None), "deploy": ("neuronet.deploy", None), "transfer": ("neuronet.transfer", None),
    "rundir": ("neuronet.rundir", None), "space": ("neuronet.space", None), "params": ("neuronet.params", None),
    "plots": ("neuronet.plots", None), "registry": ("neuronet.registry", None), "paths": ("neuronet.paths", None),
    "atomic": ("neuronet.atomic", None), "errors": ("neuronet.errors", None),
    "callbacks": ("neuronet.train.callbacks", None), "metrics": ("neuronet.tasks.metrics", None),
    "Trainer": ("neuronet.train", "Trainer"), "fine_tune": ("neuronet.train", "fine_tune"), "History": ("neuronet.train", "History"),
    "Predictor": ("neuronet.predict", "Predictor"), "load": ("neuronet.predict", "load"),
}

__all__ = ["ConfigError", "DataError", "NeuronetError", "NotFittedError", "TrainingDivergedError", "__version__",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'neuronet' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
