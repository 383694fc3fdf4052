"""Model zoo, registered by name. Every model is a plain `torch.nn.Module`.

Example:
    >>> import neuronet as nt
    >>> model = nt.models.build_model("cnn", (1, 8, 8), 10)
"""

from neuronet.models.cnn import CNN
from neuronet.models.mlp import MLP
from neuronet.models.registry import MODELS, as_shape, build_model, init_seed

__all__ = ["CNN", "MLP", "MODELS", "as_shape", "build_model", "init_seed"]
