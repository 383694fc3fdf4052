"""Data flows one way: datasets → models → tasks → train → runs → deploy → cli; prediction and serving never import training."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "neuronet"

# package -> the neuronet packages it must never import (directly, or lazily inside a function)
FORBIDDEN = {
    "datasets": ["models", "tasks", "train", "runs", "predict", "config", "cli", "plots", "deploy", "transfer"],
    "nn": ["datasets", "models", "tasks", "train", "runs", "predict", "config", "cli", "deploy", "transfer"],
    "models": ["datasets", "tasks", "train", "runs", "predict", "config", "cli", "deploy"],
    "optim": ["datasets", "models", "tasks", "train", "runs", "predict", "config", "cli", "deploy", "transfer"],
    "tasks": ["train", "runs", "predict", "config", "cli", "deploy", "transfer"],
    "plots": ["datasets", "models", "tasks", "train", "runs", "predict", "config", "cli", "deploy", "transfer"],
    "doctor": ["models", "tasks", "train", "runs", "predict", "config", "cli", "deploy", "plots", "transfer"],
    "train": ["runs", "predict", "config", "cli", "deploy"],
    "rl": ["runs", "predict", "config", "cli", "deploy", "tune", "explain"],  # reinforcement learning: train's layer
    "predict": ["train", "runs.build", "runs.train", "runs.cv", "config", "cli", "plots", "deploy", "explain"],
    "config": ["runs", "predict", "cli", "deploy"],
    "runs": ["cli", "deploy", "tune"],
    "tune": ["cli", "deploy"],  # tuning runs configs through the run layer
    "deploy": ["train", "runs.build", "runs.train", "runs.cv", "config", "cli", "plots", "explain"],  # serving stays light
    "explain": ["train", "runs", "config", "cli", "deploy"],
    "transfer": ["datasets", "train", "runs", "predict", "config", "cli", "deploy", "plots"],
}


def imported(path: Path) -> set[str]:
    """The neuronet modules a file imports, anywhere in it (top level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n.removeprefix("neuronet.") for n in names if n.startswith("neuronet.")}


def files_of(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py")) if (SRC / package).is_dir() else [SRC / f"{package}.py"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_lower_layer_imports_a_higher_one(package):
    for path in files_of(package):
        for name in imported(path):
            for bad in FORBIDDEN[package]:
                assert not (name == bad or name.startswith(bad + ".")), f"{path.relative_to(SRC)} imports neuronet.{name}"


def test_every_package_is_placed_in_a_layer():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("__")}
    modules = {p.stem for p in SRC.glob("*.py") if not p.name.startswith("__")}
    assert packages - set(FORBIDDEN) == set()
    assert modules - set(FORBIDDEN) <= {"errors", "registry", "atomic", "params", "paths", "cli"}
