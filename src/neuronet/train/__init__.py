"""Training: the Trainer, its callbacks, metrics, history and checkpoints."""

from neuronet.train import callbacks
from neuronet.train.callbacks import Callback, EarlyStopping, LRLogger, ModelCheckpoint
from neuronet.train.checkpoint import load_state, save_state
from neuronet.train.gan import GANSamples, GANTrainer, image_grid
from neuronet.train.history import History
from neuronet.train.metrics import METRICS, compute_metrics, default_metrics
from neuronet.train.progress import ProgressBar
from neuronet.train.trainer import Trainer, resolve_device

__all__ = [
    "METRICS", "Callback", "EarlyStopping", "GANSamples", "GANTrainer", "image_grid", "History", "LRLogger", "ModelCheckpoint", "ProgressBar", "Trainer",
    "callbacks", "compute_metrics", "default_metrics", "load_state", "resolve_device", "save_state",
]
