"""The run directory's layout and atomic writes (temporary file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuronet.errors import DataError

__all__ = ["RunFiles", "write_text", "write_json", "read_json"]


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (indented, NaN written as null-safe strings are not needed here)."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file of a run directory with a clear error when it is missing or broken."""
    if not path.is_file():
        raise DataError(f"{path} is missing; is {path.parent} a neuronet run directory?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON ({err}).") from None


@dataclass(frozen=True)
class RunFiles:
    """Where each artifact of a run lives."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def weights(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.safetensors"

    @property
    def preprocessing(self) -> Path:
        return self.root / "preprocessing.json"

    @property
    def history(self) -> Path:
        return self.root / "history.csv"

    @property
    def steps(self) -> Path:
        return self.root / "history_steps.csv"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def check(self) -> None:
        """Raise a DataError unless this looks like a run directory."""
        if not self.root.is_dir():
            raise DataError(f"Run directory {self.root} does not exist; pass a folder under runs/ made by `neuronet train`.")
        if not self.config.is_file():
            raise DataError(f"{self.root} has no config.yaml, so it is not a neuronet run directory.")
