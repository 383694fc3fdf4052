"""Hyperparameter tuning with Optuna: a search space over config paths, grid / random / Bayesian search,
pruning, many workers on one study, and the learning-rate finder's run-level command.

- `space.py`: `parse_space` (the `tune.space` mapping, checked), grids;
- `study.py`: the Optuna study of a config (samplers, pruners, storage, the objective);
- `pruning.py`: `OptunaPruning`, the Trainer callback that reports each epoch;
- `run.py`: `tune(config, jobs=..., storage=..., resume=...)`, the results folder;
- `plots.py`: optimisation history, parameter importances, parallel coordinates.

Only `space` is imported with the package (the config checks a tune: section with it);
`neuronet.tune.tune` imports Optuna and the run layer on first use.
"""

from __future__ import annotations

from typing import Any

from neuronet.space import KINDS, Param, parse_space

__all__ = ["KINDS", "Param", "parse_space", "tune", "TuneResult"]


def __getattr__(name: str) -> Any:
    if name in ("tune", "TuneResult"):
        from neuronet.tune import run

        return getattr(run, name)
    raise AttributeError(f"module 'neuronet.tune' has no attribute {name!r}")
