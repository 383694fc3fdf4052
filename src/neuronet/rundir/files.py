"""The run directory's layout, and reading / writing its files safely.

A run directory is data that people hand to each other. Reading one never follows a link
out of it (`RunFiles.check`), a JSON file that was edited into another shape is one
sentence naming the file and the key (`read_json`), and an output a user names never
lands on a run's own files (`refuse_run_file`).

This module imports nothing from training, so that prediction and `neuronet info` stay light.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from neuronet.atomic import write_text
from neuronet.errors import ConfigError, DataError
from neuronet.params import shown
from neuronet.paths import check_name, safe_stem

__all__ = ["RunFiles", "RunDict", "json_text", "read_json", "write_json", "check_name", "safe_stem",
           "refuse_run_file", "MAX_JSON_BYTES"]

MAX_JSON_BYTES = 512 * 1024 * 1024  # a vocabulary or a pipeline is large; a run's JSON file is never this large


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


class RunDict(dict):
    """A mapping read from a run's JSON file: a missing key is a DataError naming the file, not a KeyError.

    Example:
        >>> RunDict({"type": "mlp"}, source="runs/x/model.json")["task"]
        Traceback (most recent call last):
        ...
        neuronet.errors.DataError: runs/x/model.json has no 'task'; it was edited or is not a neuronet run's file (restore it, or train the run again).
    """

    def __init__(self, data: dict[str, Any], source: str) -> None:
        super().__init__(data)
        self.source = source

    def __missing__(self, key: Any) -> Any:
        raise DataError(f"{self.source} has no {key!r}; it was edited or is not a neuronet run's file (restore it, "
                        "or train the run again).")


def read_json(path: Path, kind: type = dict) -> Any:
    """Read a JSON file of a run directory: a clear DataError when it is missing, broken or of another shape.

    Args:
        path: The file.
        kind: What the file must hold at its top (dict for every run file; None: anything).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing; is {path.parent} a neuronet run directory?")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise DataError(f"{path} is {path.stat().st_size:,} bytes, more than a run's JSON file can be; restore it.")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"),
                          object_hook=lambda d: RunDict(d, str(path)))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); restore it, or train the run again.") from None
    except RecursionError:
        raise DataError(f"{path} is nested too deeply to be a run's JSON file; restore it.") from None
    if kind is not None and not isinstance(data, kind):
        raise DataError(f"{path} holds a JSON {type(data).__name__}, not the {kind.__name__} a run's file holds; "
                        "restore it, or train the run again.")
    return data


def _is_run(folder: Path) -> bool:
    return (folder / "config.yaml").is_file() and ((folder / "model.json").is_file() or
                                                   (folder / "status.json").is_file())


def refuse_run_file(path: str | Path, what: str = "output") -> Path:
    """Raise a ConfigError when writing `path` would replace a file of a run directory (its weights, its config...).

    A new file beside a run's files is allowed (`-o runs/x/predictions.csv`); a file the run
    already has, or a run directory itself, is not.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    if real.is_dir() and _is_run(real):
        raise ConfigError(f"The {what} {path} is a run directory; write to a new file instead.")
    for parent in real.parents:
        if _is_run(parent):
            if real.exists() or real.name in RunFiles(parent).names():
                raise ConfigError(f"The {what} {path} would replace {real.relative_to(parent)} of the run "
                                  f"{parent}; write to a new file instead.")
            break
    return path


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

    def names(self) -> set[str]:
        """The names of the run's own files (those outputs must never replace)."""
        return {p.name for p in vars(self).values() if isinstance(p, Path) and p != self.root} | {
            "report.html", "export", "explain", "samples", "cv.json", "best.yaml"}

    def check(self) -> None:
        """Raise a DataError unless this looks like a run directory whose files are its own (no link leads out)."""
        if self.root.exists() and not self.root.is_dir():
            raise DataError(f"{self.root} is a file, not a run directory; pass a folder under runs/ made by "
                            "`neuronet train`.")
        if not self.root.is_dir():
            raise DataError(f"Run directory {self.root} does not exist; pass a folder under runs/ made by `neuronet train`.")
        if (self.root / "cv.json").is_file():
            raise DataError(f"{self.root} holds cross-validation results (cv.json), not a trained model; train one with "
                            "`neuronet train` on the same config.")
        if not self.config.is_file():
            special = self.config.exists() or self.config.is_symlink()
            raise DataError(f"{self.root}/config.yaml is not a regular file; a run's files must be plain files (restore "
                            "it)." if special else f"{self.root} has no config.yaml, so it is not a neuronet run directory.")
        self.check_links()

    def check_links(self, limit: int = 100_000) -> None:
        """Raise a DataError if a link in the run directory leads out of it (a received run is read as data only)."""
        top = Path(os.path.realpath(self.root))
        for n, (folder, dirs, files) in enumerate(os.walk(self.root)):
            if n > limit:
                raise DataError(f"{self.root} has over {limit:,} folders; it is not a neuronet run directory.")
            for name in dirs + files:
                path = Path(folder) / name
                if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(top):
                    raise DataError(f"{path} is a link to {os.readlink(path)}, outside the run directory; a run's "
                                    "files must be its own (remove the link, or copy the file in).")
                mode = os.stat(path).st_mode if path.exists() else 0
                if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise DataError(f"{path} is a special file (a pipe, socket or device), not a run's file; "
                                    "remove it.")

    def check_trained(self) -> None:
        """Raise a DataError unless the run has final weights (it completed)."""
        self.check()
        if not self.weights.is_file():
            from neuronet.rundir.lock import holder_alive

            status = read_json(self.status).get("status", "unknown") if self.status.is_file() else "unknown"
            if holder_alive(self.root):
                raise DataError(f"{self.root} is still being trained (status: {status}), so it has no final weights "
                                "yet; wait for it to finish.")
            if status == "completed":
                raise DataError(f"{self.root} completed, but its model.safetensors is missing (or not a file); restore "
                                "it, or train the run again.")
            raise DataError(f"{self.root} has no model.safetensors (status: {status}); finish it with "
                            f"`neuronet train --resume {self.root}`.")

    def model_spec(self) -> dict[str, Any]:
        """model.json of a supervised run, checked: the model is rebuilt from the run's own files only.

        Raises:
            DataError: a key missing or of the wrong type, or a path or URL to read from outside the run.
        """
        spec = read_json(self.model)
        if "agent" in spec:  # a policy: its observation and action spaces
            _check_types(self.model, spec, (("agent", str), ("obs_shape", list), ("action_dim", int),
                                            ("discrete", bool)))
            _check_shape(self.model, "obs_shape", spec["obs_shape"])
            return spec
        _check_types(self.model, spec, (("type", str), ("task", str), ("kwargs", dict), ("input_shape", list),
                                        ("num_outputs", int)))
        _check_shape(self.model, "input_shape", spec["input_shape"])
        kwargs = spec["kwargs"]
        kwargs.pop("url", None)  # where a pretrained network's weights download from: the run's own replace them
        outside = [k for k in ("run", "weights") if kwargs.get(k) and not (k == "run" and kwargs.get("base"))]
        if outside:
            raise DataError(f"{self.model} names {outside[0]} = {spec['kwargs'][outside[0]]!r:.80}, to read from "
                            "outside the run; a run's model is rebuilt from its own model.json and model.safetensors "
                            "only (restore the file, or train the run again).")
        return spec

    def preprocessing_state(self) -> dict[str, Any]:
        """preprocessing.json, checked: the data's metadata, the fitted pipeline, the source and the split.

        Raises:
            DataError: a key missing or of the wrong type.
        """
        state = read_json(self.preprocessing)
        _check_types(self.preprocessing, state, (("data", dict), ("pipeline", dict), ("summary", list)), ("summary",))
        _check_types(self.preprocessing, state["pipeline"], (("steps", list),))
        _check_types(self.preprocessing, state["data"], (("name", str), ("input_shape", list), ("num_outputs", int)))
        _check_shape(self.preprocessing, "data.input_shape", state["data"]["input_shape"])
        return state

    def load_weights(self) -> dict[str, Any]:
        """The tensors of model.safetensors; a truncated or foreign file is one sentence."""
        return read_tensors(self.weights)


def _check_types(source: Path, data: dict[str, Any], expected: tuple[tuple[str, type], ...],
                 optional: tuple[str, ...] = ()) -> None:
    """Each key of `data` holds its type (bool is not an int here); a DataError naming the file otherwise."""
    for key, kind in expected:
        if key in optional and key not in data:
            continue
        value = data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            article = "an" if kind is int else "a"
            raise DataError(f"{source} has {key} = {shown(value)}, not {article} {kind.__name__}; it was edited: "
                            "restore it, or train the run again.")


def _check_shape(source: Path, key: str, shape: list[Any]) -> None:
    if not shape or not all(isinstance(n, int) and not isinstance(n, bool) and 0 < n < 2**31 for n in shape):
        raise DataError(f"{source} has {key} = {shown(shape)}, not a list of positive whole numbers; it was edited: "
                        "restore it, or train the run again.")


def read_tensors(path: Path) -> dict[str, Any]:
    """The tensors of a run's safetensors file, with a DataError for a truncated, empty or foreign file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise DataError(f"{path} is not a readable safetensors file ({str(err).splitlines()[0][:120]}); it was "
                        "truncated or replaced: restore it, or train the run again.") from None
