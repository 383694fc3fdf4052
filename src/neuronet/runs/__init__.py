"""Run directories: train from a config, write every artifact, evaluate and predict from them.

Names are imported on first use. A run directory's files themselves (layout, JSON, the lock,
doctor.json) are `neuronet.rundir`, a layer below, which prediction and serving read without this package.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CVResult", "KINDS", "RunFiles", "RunInterrupted", "RunKind", "RunPlan", "RunResult", "cross_validate",
           "evaluate_run", "evaluate_rl_run", "kind_for_config", "kind_of_run", "load_data", "load_policy",
           "make_trainer", "plan_run", "predict_file", "train_run"]

_WHERE = {
    "RunFiles": "neuronet.rundir", "RunPlan": "build", "load_data": "build", "make_trainer": "build", "plan_run": "build",
    "RunInterrupted": "lifecycle", "RunResult": "folder", "train_run": "kinds", "evaluate_run": "evaluate",
    "predict_file": "evaluate", "CVResult": "cv", "cross_validate": "cv",
    "evaluate_rl_run": "rl", "load_policy": "rl", "KINDS": "kinds", "RunKind": "kinds", "kind_of_run": "kinds",
    "kind_for_config": "kinds",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'neuronet.runs' has no attribute {name!r}")
    where = _WHERE[name]
    return getattr(importlib.import_module(where if where.startswith("neuronet.") else f"neuronet.runs.{where}"), name)
