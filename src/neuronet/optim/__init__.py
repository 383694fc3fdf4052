"""Optimizers and learning-rate schedules by name (PyTorch's implementations)."""

from neuronet.optim.optimizers import OPTIMIZERS, build_optimizer
from neuronet.optim.schedules import SCHEDULES, Schedule, build_schedule, check_schedule_arguments

__all__ = ["OPTIMIZERS", "SCHEDULES", "Schedule", "build_optimizer", "build_schedule", "check_schedule_arguments"]
