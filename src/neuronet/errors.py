"""Errors that neuronet raises for people: one sentence naming what, where and what would be right."""

from __future__ import annotations

__all__ = ["NeuronetError", "ConfigError", "DataError", "NotFittedError", "TrainingDivergedError", "DataNote"]


class NeuronetError(Exception):
    """Base class of every error neuronet raises on purpose (the CLI prints it and exits 1)."""


class ConfigError(NeuronetError, ValueError):
    """A bad parameter, config key or component name."""


class DataError(NeuronetError, ValueError):
    """A bad file, column, value or shape in the user's data."""


class NotFittedError(NeuronetError, RuntimeError):
    """An estimator-like object was used before `fit`."""


class TrainingDivergedError(NeuronetError, RuntimeError):
    """The loss became NaN or infinite; the last good weights were restored."""


class DataNote(UserWarning):
    """Something done to the user's data that they should know (rows left out, values filled).

    The CLI prints these as `data:` lines; in Python they are ordinary warnings.
    """
