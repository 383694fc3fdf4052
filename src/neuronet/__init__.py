"""neuronet: a complete deep-learning system on PyTorch.

Example:
    >>> import neuronet as nt
    >>> data = nt.datasets.load("digits")
    >>> train, val, test = data.split(val=0.1, test=0.2, seed=0)
    >>> model = nt.models.CNN(data.input_shape, data.num_outputs, seed=0)
    >>> trainer = nt.Trainer(model, epochs=1, progress=False)
"""

from neuronet import datasets, models, nn, optim
from neuronet.errors import ConfigError, DataError, NeuronetError, NotFittedError, TrainingDivergedError
from neuronet.train import History, Trainer, callbacks, metrics

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DataError", "History", "NeuronetError", "NotFittedError", "Trainer", "TrainingDivergedError",
    "__version__", "callbacks", "datasets", "metrics", "models", "nn", "optim",
]
