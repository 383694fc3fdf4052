"""Training: the trainers on one loop shell, their callbacks, history and checkpoints, and the recipes above them.

From the bottom up (no module imports one above it):

- `callbacks.py`: the callback contract (events, `Callback`, `TrainerProtocol`) and the standard
  callbacks (`EarlyStopping`, `ModelCheckpoint`, `SaveCheckpoint`); `progress.py` (`ProgressBar`),
  `doctor.py` (the `Doctor` callback; the rules are in `neuronet.doctor`), `unfreeze.py`
  (`GradualUnfreezing`, discriminative LRs), `history.py`, `checkpoint.py`, `epoch.py`, `precision.py`;
- `loop.py`: `LoopShell`, what every trainer shares (callbacks and events, RNG fork, saving);
- `lr_find.py`: the LR range test, on a trainer's public pieces; `options.py`: the Trainer's option table;
- `trainer.py`: `Trainer`; `gan.py`: `GANTrainer` on it (`neuronet.rl.RLTrainer` is on the shell too);
- `finetune.py`: the `fine_tune` recipe, which builds a Trainer.

`trainer_for` picks the trainer of a task.
"""

from neuronet.registry import Registry
from neuronet.train import callbacks
from neuronet.train.callbacks import (Callback, CallbackProtocol, EarlyStopping, ModelCheckpoint, SaveCheckpoint,
                                      TrainerProtocol)
from neuronet.train.checkpoint import load_state, save_state
from neuronet.train.doctor import Doctor
from neuronet.train.finetune import fine_tune
from neuronet.train.gan import GAN_UNSUPPORTED, GANSamples, GANTrainer
from neuronet.train.history import History
from neuronet.train.text_samples import TextSamples
from neuronet.train.loop import LoopShell, NonFiniteLoss
from neuronet.train.lr_find import LRFinderResult, lr_find
from neuronet.train.options import TRAINER_PARAMS, resolve_device
from neuronet.train.progress import ProgressBar
from neuronet.train.trainer import Trainer
from neuronet.train.unfreeze import GradualUnfreezing

__all__ = [
    "GAN_UNSUPPORTED", "TRAINERS", "TRAINER_PARAMS", "Callback", "CallbackProtocol", "Doctor", "EarlyStopping",
    "GANSamples", "GANTrainer", "GradualUnfreezing", "History", "LRFinderResult", "LoopShell", "ModelCheckpoint", "TextSamples",
    "NonFiniteLoss", "ProgressBar", "SaveCheckpoint", "Trainer", "TrainerProtocol", "callbacks", "fine_tune",
    "load_state", "lr_find", "resolve_device", "save_state", "trainer_for",
]

# Which trainer trains each task; tasks not listed use the Trainer.
TRAINERS: Registry[type[LoopShell]] = Registry("trainer")
TRAINERS.add("generation", GANTrainer, "Adversarial training: a discriminator step, then a generator step.")
# neuronet.rl.trainer adds RLTrainer for "reinforcement" where it is defined (it builds on this package).


def trainer_for(task: str) -> type[LoopShell]:
    """The trainer class for a task name (GANTrainer for generation, RLTrainer for reinforcement once
    `neuronet.rl` is imported — the run config does — else Trainer).

    Example:
        >>> trainer_for("generation").__name__, trainer_for("classification").__name__
        ('GANTrainer', 'Trainer')
    """
    return TRAINERS.get(task) if task in TRAINERS else Trainer
