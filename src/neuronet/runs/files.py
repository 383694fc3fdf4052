"""The run directory's layout, and reading / writing its JSON files (atomically).

This module imports nothing from training, so that prediction and `neuronet info` stay light.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from neuronet.atomic import write_text
from neuronet.errors import DataError

__all__ = ["RunFiles", "json_text", "read_json", "write_json"]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_text(data: Any, indent: int | None = 2) -> str:
    """Valid JSON text: NaN and infinite numbers (an undefined metric) become null."""
    return json.dumps(_finite(data), indent=indent, default=str, allow_nan=False)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically, indented."""
    write_text(path, json_text(data) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file of a run directory with a clear error when it is missing or broken."""
    if not path.is_file():
        raise DataError(f"{path} is missing; is {path.parent} a neuronet run directory?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON ({err}).") from None


class RunFiles:
    """Where each artifact of a run lives (see the README for what each file holds)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.weights = self.root / "model.safetensors"
        self.model = self.root / "model.json"
        self.checkpoint = self.root / "checkpoint.safetensors"
        self.preprocessing = self.root / "preprocessing.json"
        self.history = self.root / "history.csv"
        self.steps = self.root / "history_steps.csv"
        self.metrics = self.root / "metrics.json"
        self.status = self.root / "status.json"
        self.report = self.root / "report.md"
        self.doctor = self.root / "doctor.json"
        self.plots = self.root / "plots"

    def check(self) -> None:
        """Raise a DataError unless this looks like a run directory."""
        if not self.root.is_dir():
            raise DataError(f"Run directory {self.root} does not exist; pass a folder under runs/ made by `neuronet train`.")
        if (self.root / "cv.json").is_file():
            raise DataError(f"{self.root} holds cross-validation results (cv.json), not a trained model; train one with "
                            "`neuronet train` on the same config.")
        if not self.config.is_file():
            raise DataError(f"{self.root} has no config.yaml, so it is not a neuronet run directory.")

    def check_trained(self) -> None:
        """Raise a DataError unless the run has final weights (it completed)."""
        self.check()
        if not self.weights.is_file():
            status = read_json(self.status).get("status", "unknown") if self.status.is_file() else "unknown"
            raise DataError(f"{self.root} has no model.safetensors (status: {status}); finish it with "
                            f"`neuronet train --resume {self.root}`.")
