"""What each Trainer argument accepts: one table, read by the Trainer and by the run config's `train:` section.

Also the small helpers for those arguments: the device, and a YAML-friendly record of each value.
"""

from __future__ import annotations

from typing import Any

import torch

from neuronet.datasets import AUGMENTATIONS
from neuronet.errors import ConfigError
from neuronet.nn import LOSSES
from neuronet.optim import OPTIMIZERS, SCHEDULES
from neuronet.params import Dict, Flag, InstanceOf, Interval, IsCallable, ListOf, Names, NoneOk, Options, Spec
from neuronet.tasks import METRICS, TASKS, Task
from neuronet.train.callbacks import CHECKPOINT_PARAMS, EARLY_STOPPING_PARAMS, EarlyStopping
from neuronet.train.doctor import DOCTOR_PARAMS
from neuronet.train.precision import PRECISIONS
from neuronet.train.unfreeze import FINE_TUNE_PARAMS

__all__ = ["TRAINER_PARAMS", "check_options", "plain", "resolve_device"]

_POSITIVE = Interval(float, 0, None, closed="neither")
_NON_NEGATIVE = Interval(float, 0, None)

COMPILE_PARAMS = {"mode": [Options("default", "lite", "reduce-overhead", "max-autotune",
                                                   "max-autotune-no-cudagraphs")],
                  "backend": [InstanceOf(str, "a torch.compile backend name, e.g. 'inductor'")],
                  "fullgraph": [Flag()], "dynamic": [Flag(), NoneOk()]}

TRAINER_PARAMS = {
    "task": [Names(TASKS), InstanceOf(Task, "a Task"), NoneOk()],
    "loss": [Names(LOSSES), IsCallable(), NoneOk()],
    "optimizer": [Names(OPTIMIZERS), InstanceOf(torch.optim.Optimizer, "a torch optimizer")],
    "lr": [_POSITIVE],
    "batch_size": [Interval(int, 0, None, closed="neither")],
    "epochs": [Interval(int, 0, None, closed="neither")],
    "seed": [Interval(int, None, None)],
    "callbacks": [InstanceOf((list, tuple), "a list of callbacks")],
    "metrics": [ListOf(Names(METRICS), "a list of metric names"), NoneOk()],
    "weight_decay": [_NON_NEGATIVE],
    "l1": [_NON_NEGATIVE],
    "l2": [_NON_NEGATIVE],
    "grad_clip": [_POSITIVE, NoneOk()],
    "schedule": [Names(SCHEDULES), Spec(SCHEDULES), NoneOk()],
    "optimizer_kwargs": [Dict(), NoneOk()],
    "loss_kwargs": [Dict(), NoneOk()],
    "class_weights": [Options("balanced"), ListOf(_NON_NEGATIVE, "a list of weights, one per class"),
                      InstanceOf(torch.Tensor, "a tensor of weights"), NoneOk()],
    "augment": [ListOf(Spec(AUGMENTATIONS), "a list of {type: augmentation name, ...}"), IsCallable(), NoneOk()],
    "early_stopping": [Flag(), Dict(list(EARLY_STOPPING_PARAMS), "a mapping of EarlyStopping arguments", "EarlyStopping"),
                       InstanceOf(EarlyStopping, "an EarlyStopping"), NoneOk()],
    "checkpoint": [Dict(list(CHECKPOINT_PARAMS), "a mapping {every_steps, every_seconds}", "The checkpoint option"),
                   NoneOk()],
    "lr_groups": [Dict(what="a mapping {parameter-name pattern: learning rate}"), NoneOk()],
    "unfreeze": [Dict(what="a mapping {epoch: parameter-name pattern(s)}"), NoneOk()],
    "fine_tune": [Dict(list(FINE_TUNE_PARAMS), "a mapping {head_epochs, full_epochs, backbone_lr}", "fine_tune"),
                  NoneOk()],
    "precision": [Options(*PRECISIONS, 32, 16)],
    "doctor": [Flag(), Dict(list(DOCTOR_PARAMS), "a mapping {every_steps, live}", "The doctor option")],
    "device": [InstanceOf((str, torch.device), "'auto', 'cpu', 'cuda' or a torch.device")],
    "compile": [Flag(), Dict(list(COMPILE_PARAMS), "a mapping of torch.compile arguments {mode, backend, fullgraph, "
                                                   "dynamic}", "The compile option")],
    "channels_last": [Flag(), NoneOk()],
    "in_memory": [Flag()],
    "train_metrics": [Flag()],
    "progress": [Flag()],
}


def check_options(given: dict, params: dict, owner: str) -> None:
    """Check trainer arguments as the Trainer will, nested specs included, without building anything.

    The run config calls this while validating, so a bad `train:` value is reported before any
    data is loaded.
    """
    from neuronet.datasets import build_augmentations
    from neuronet.optim import check_schedule_arguments
    from neuronet.params import validate_params
    from neuronet.train.unfreeze import GradualUnfreezing

    validate_params(params, given, owner)
    if isinstance(given.get("early_stopping"), dict):
        EarlyStopping(**given["early_stopping"])
    schedule = given.get("schedule")
    if isinstance(schedule, (str, dict)):
        spec = {"type": schedule} if isinstance(schedule, str) else dict(schedule)
        check_schedule_arguments(spec.pop("type"), spec)
    if isinstance(given.get("augment"), (list, tuple)):
        build_augmentations(given["augment"], num_classes=2)
    if isinstance(given.get("fine_tune"), dict):
        validate_params(FINE_TUNE_PARAMS, given["fine_tune"], "fine_tune")
    if isinstance(given.get("unfreeze"), dict):
        GradualUnfreezing(given["unfreeze"])
    if isinstance(given.get("doctor"), dict):
        validate_params(DOCTOR_PARAMS, given["doctor"], "the doctor options")
    if isinstance(given.get("compile"), dict):
        validate_params(COMPILE_PARAMS, given["compile"], "the compile options")
    if isinstance(given.get("checkpoint"), dict):
        validate_params(CHECKPOINT_PARAMS, {"path": "checkpoint.safetensors", **given["checkpoint"]},
                        "the checkpoint options")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' → CUDA when available, else CPU; anything else as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"Unknown device {device!r} ({err}); use 'auto', 'cpu' or 'cuda'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no CUDA GPU is available; use device 'auto' or 'cpu'.")
    return device


def plain(value: Any) -> Any:
    """A YAML-friendly record of a constructor argument (objects by their name)."""
    if isinstance(value, Task):
        return value.name
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return type(value).__name__
