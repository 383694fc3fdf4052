"""Training: the Trainer, its callbacks, history and checkpoints; `trainer_for` picks the trainer of a task."""

from neuronet.registry import Registry
from neuronet.train import callbacks
from neuronet.train.callbacks import Callback, CallbackProtocol, EarlyStopping, ModelCheckpoint, SaveCheckpoint
from neuronet.train.checkpoint import load_state, save_state
from neuronet.train.doctor import Doctor
from neuronet.train.finetune import GradualUnfreezing, fine_tune
from neuronet.train.gan import GAN_UNSUPPORTED, GANSamples, GANTrainer
from neuronet.train.history import History
from neuronet.train.lr_find import LRFinderResult, lr_find
from neuronet.train.options import TRAINER_PARAMS, resolve_device
from neuronet.train.progress import ProgressBar
from neuronet.train.trainer import Trainer

__all__ = [
    "GAN_UNSUPPORTED", "TRAINERS", "TRAINER_PARAMS", "Callback", "CallbackProtocol", "Doctor", "EarlyStopping", "GANSamples",
    "GANTrainer", "GradualUnfreezing", "History", "LRFinderResult", "ModelCheckpoint", "ProgressBar", "SaveCheckpoint", "Trainer", "callbacks", "load_state",
    "resolve_device", "save_state", "trainer_for", "fine_tune", "lr_find",
]

# Which trainer trains each task; tasks not listed use the Trainer.
TRAINERS: Registry[type[Trainer]] = Registry("trainer")
TRAINERS.add("generation", GANTrainer, "Adversarial training: a discriminator step, then a generator step.")
# neuronet.rl.trainer adds RLTrainer for "reinforcement" where it is defined (it builds on this package).


def trainer_for(task: str) -> type[Trainer]:
    """The trainer class for a task name (GANTrainer for generation, RLTrainer for reinforcement once
    `neuronet.rl` is imported — the run config does — else Trainer)."""
    return TRAINERS.get(task) if task in TRAINERS else Trainer
