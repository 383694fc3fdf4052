"""Export a trained run for serving: ONNX (checked against PyTorch with ONNX Runtime) or TorchScript.

`export_run(run)` writes RUN/export/: the model file, the run's `preprocessing.json` (what the
serving side applies to raw inputs) and `export.json` (format, inputs and outputs with their
dynamic axes, the tolerance and the largest difference measured on the run's test split).
The folder appears whole or not at all.

Example:
    >>> from neuronet.deploy import export_run
    >>> export_run("runs/digits-cnn")  # doctest: +SKIP
    ExportResult(path=PosixPath('runs/digits-cnn/export/model.onnx'), format='onnx', max_abs_diff=2.4e-07, ...)
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from neuronet.atomic import atomic_dir
from neuronet.errors import ConfigError, DataError, NeuronetError
from neuronet.rundir.files import RunFiles, read_json, write_json
from neuronet.rundir.lock import RunLock

__all__ = ["ExportError", "ExportResult", "export_run", "FORMATS", "ATOL", "RTOL"]

Format = Literal["onnx", "torchscript"]
FORMATS: dict[str, str] = {"onnx": "model.onnx", "torchscript": "model.pt"}
ATOL, RTOL = 1e-4, 1e-3  # |exported - torch| <= ATOL + RTOL * |torch|, elementwise (float32 kernels differ)
CHECK_EXAMPLES = 256


class ExportError(NeuronetError, RuntimeError):
    """The model cannot be exported, or the exported model does not compute what PyTorch does."""


@dataclass
class ExportResult:
    """Where the exported model is, and how closely it matches PyTorch on the run's test examples."""

    path: Path
    format: str
    max_abs_diff: float
    checked_examples: int
    input_shape: list[Any]


def _examples(run: Path, predictor: Any) -> torch.Tensor:
    """Prepared inputs to check the export on: the run's test split (or its first examples without one)."""
    from neuronet.datasets import load_source
    from neuronet.runs.evaluate import test_split

    try:
        raw = test_split(run)
    except DataError:
        state = read_json(RunFiles(run).preprocessing)
        raw = load_source(**state["source"])
    raw = raw.subset(np.arange(min(len(raw), CHECK_EXAMPLES)))
    return predictor.prepare(raw).x


def _dynamic_axes(x: torch.Tensor) -> dict[int, str]:
    axes = {0: "batch"}
    if (x.ndim == 2 and not x.is_floating_point()) or x.ndim == 3 and x.is_floating_point() and x.shape[1] > 2:
        axes[1] = "time"  # token ids (N, T) and series (N, T, F): the length may vary
    return axes


@contextlib.contextmanager
def _quiet() -> Any:
    """torch.onnx prints its progress and warns about torchvision; a user sees one line from us instead."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _to_onnx(module: nn.Module, x: torch.Tensor, axes: dict[int, str], path: Path) -> None:
    try:
        import onnxscript  # noqa: F401 - torch's exporter needs it; say so before it fails deep inside
    except ImportError:
        raise ConfigError("ONNX export needs the serving extras: pip install 'neuronet[serve]'.") from None
    dims = {i: torch.export.Dim(name, min=1 if i == 0 else 2) for i, name in axes.items()}
    with _quiet():
        try:
            program = torch.onnx.export(module, (x,), dynamo=True, dynamic_shapes=(dims,), optimize=True)
        except Exception:  # noqa: BLE001 - a fixed time axis is the usual reason; try without it
            program = torch.onnx.export(module, (x,), dynamo=True, dynamic_shapes=({0: dims[0]},), optimize=True)
            axes.pop(1, None)
        program.save(str(path))


def _run_onnx(path: Path, x: torch.Tensor) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


def _to_torchscript(module: nn.Module, x: torch.Tensor, path: Path) -> None:
    with _quiet():
        traced = torch.jit.trace(module, (x,), check_trace=False)
        traced.save(str(path))


def _run_torchscript(path: Path, x: torch.Tensor) -> list[np.ndarray]:
    with _quiet():  # TorchScript is deprecated in favour of torch.export; it still loads everywhere torch does
        module = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        out = module(x)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def _compare(exported: list[np.ndarray], reference: Any, fmt: str) -> float:
    expected = [t.detach().numpy() for t in (reference if isinstance(reference, tuple) else (reference,))]
    if len(exported) != len(expected):
        raise ExportError(f"The {fmt} model has {len(exported)} output(s); PyTorch has {len(expected)}.")
    worst = 0.0
    for i, (got, want) in enumerate(zip(exported, expected)):
        if got.shape != want.shape:
            raise ExportError(f"Output {i} of the {fmt} model has shape {got.shape}; PyTorch gives {want.shape}.")
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        worst = max(worst, float(diff.max(initial=0.0)))
        bad = diff > ATOL + RTOL * np.abs(want)
        if bad.any():
            where = np.unravel_index(int(np.argmax(diff)), diff.shape)
            raise ExportError(f"The {fmt} model differs from PyTorch by up to {diff.max():.3g} (output {i}, index "
                              f"{tuple(int(w) for w in where)}); the tolerance is {ATOL} + {RTOL} x |value|.")
    return worst


def _interrupted(err: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Ctrl-C, or a stop signal) among the causes or contexts of `err`, if any."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def export_run(run: str | Path, format: Format = "onnx") -> ExportResult:
    """Export a trained run to RUN/export/ and check it computes what PyTorch does on the test split.

    Raises:
        ConfigError: an unknown format, or a model that cannot be exported (a GAN).
        ExportError: the export failed, or its outputs differ from PyTorch beyond the tolerance.
        DataError: not a completed run.
    """
    from neuronet.predict import Predictor

    if format not in FORMATS:
        raise ConfigError(f"Unknown export format {format!r}; use one of {', '.join(FORMATS)}.")
    files = RunFiles(run)
    predictor = Predictor.load(files.root)
    predictor.task.check_export()  # a task whose models serve no predictions (a GAN) says why
    problem = getattr(predictor.model, "export_problem", lambda: None)()
    if problem:
        raise ExportError(f"Model '{read_json(files.model)['type']}' cannot be exported: {problem}.")
    module = predictor.model.eval()  # the exported graph: one input tensor, the outputs the task reads
    x = _examples(files.root, predictor)
    axes = _dynamic_axes(x)
    with torch.no_grad():
        reference = module(x)
    target = files.root / "export"
    with RunLock(files.root, "export"), atomic_dir(target, replace=True) as staging:  # a previous export replaced whole
        path = staging / FORMATS[format]
        try:
            if format == "onnx":
                _to_onnx(module, x[:2], axes, path)
                exported = _run_onnx(path, x)
            else:
                _to_torchscript(module, x[:2], path)
                exported = _run_torchscript(path, x)
        except NeuronetError:
            raise
        except Exception as err:  # noqa: BLE001 - the exporter raises many types; the user needs one sentence
            stop = _interrupted(err)
            if stop is not None:  # Ctrl-C or SIGTERM inside the exporter, surfacing as another error as it cleaned up
                raise stop from None
            root = err
            while root.__cause__ is not None:  # the exporter wraps the real reason
                root = root.__cause__
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(root)).strip()
            first = text.splitlines()[0][:300] if text else type(root).__name__
            raise ExportError(f"Model '{read_json(files.model)['type']}' cannot be exported to {format}: {first}") from err
        worst = _compare(exported, reference, format)
        shape = [axes.get(i, int(n)) for i, n in enumerate(x.shape)]
        shutil.copy(files.preprocessing, staging / "preprocessing.json")
        write_json(staging / "export.json", {
            "format": format, "file": FORMATS[format], "input": {"name": "x", "shape": shape, "dtype": str(x.dtype)},
            "dynamic_axes": {str(i): name for i, name in axes.items()}, "task": predictor.task.name,
            "tolerance": {"atol": ATOL, "rtol": RTOL}, "max_abs_diff": worst, "checked_examples": len(x),
            "torch": torch.__version__})
    return ExportResult(target / FORMATS[format], format, worst, len(x), shape)
