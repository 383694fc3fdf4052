"""A search space: config paths and the values each may take, checked before any trial runs.

    space:
      train.lr: {log_uniform: [1.0e-4, 1.0e-1]}     # a float, sampled on a log scale
      model.dropout: {uniform: [0, 0.5]}             # a float
      model.layers: {int: [1, 4]}                    # an integer, bounds included
      model.hidden: {choice: [[64], [128, 64]]}      # one of a list (any YAML values)

Every key is a path in the run config (`section.key`, or deeper: `train.early_stopping.patience`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from neuronet.errors import ConfigError

__all__ = ["Param", "parse_space", "grid_of", "apply_params", "KINDS"]

KINDS = ("log_uniform", "uniform", "int", "choice")


@dataclass(frozen=True)
class Param:
    """One dimension of the space: a config path and its range (low, high) or its choices."""

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial draws for this parameter."""
        if self.kind == "choice":
            index = trial.suggest_categorical(self.path, list(range(len(self.choices))))  # any YAML value
            return self.choices[index]
        if self.kind == "int":
            return trial.suggest_int(self.path, int(self.low), int(self.high))
        return trial.suggest_float(self.path, self.low, self.high, log=self.kind == "log_uniform")

    def distribution_values(self) -> list[Any]:
        """What the grid visits: choice indices, or every integer of an int range."""
        if self.kind == "choice":
            return list(range(len(self.choices)))
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1))
        raise ConfigError(f"tune.space.{self.path}: a grid needs the values to visit, but {self.kind} is a continuous "
                          f"range; give {{choice: [...]}} (e.g. {{choice: [{self.low:g}, {self.high:g}]}}) or use "
                          "method random or bayes.")

    def value(self, drawn: Any) -> Any:
        """The config value for what Optuna stored (a choice's index becomes the choice)."""
        return self.choices[int(drawn)] if self.kind == "choice" else drawn


def _parse(path: str, spec: Any) -> Param:
    where = f"tune.space.{path}"
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise ConfigError(f"{where} must be one of {{log_uniform: [low, high]}}, {{uniform: [low, high]}}, "
                          f"{{int: [low, high]}} or {{choice: [values]}}; got {spec!r}.")
    kind, values = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: choice needs a non-empty list of values, e.g. {{choice: [32, 64]}}; got "
                              f"{values!r}.")
        return Param(path, kind, choices=tuple(values))
    ok = isinstance(values, list) and len(values) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    if not ok:
        raise ConfigError(f"{where}: {kind} needs [low, high], two numbers; got {values!r}.")
    low, high = values
    if low > high:
        raise ConfigError(f"{where}: {kind} [{low}, {high}] has low > high; write [{high}, {low}].")
    if kind == "log_uniform" and low <= 0:
        raise ConfigError(f"{where}: log_uniform needs 0 < low <= high (a log scale has no 0 or negatives); got "
                          f"[{low}, {high}]; use uniform for a range that includes {low}.")
    if kind == "int" and not all(float(v).is_integer() for v in values):
        raise ConfigError(f"{where}: int needs whole-number bounds; got [{low}, {high}].")
    return Param(path, kind, float(low), float(high))


def parse_space(space: dict[str, Any]) -> list[Param]:
    """The parameters of a `tune.space` mapping (each path's range or choices checked).

    Raises:
        ConfigError: an empty space, an empty choice, low > high, a log range <= 0, an unknown kind.

    Example:
        >>> [p.kind for p in parse_space({"train.lr": {"log_uniform": [1e-4, 1e-1]}, "model.hidden": {"choice": [[64]]}})]
        ['log_uniform', 'choice']
    """
    if not isinstance(space, dict) or not space:
        raise ConfigError("tune.space is empty; give at least one config path to search, e.g. "
                          "{train.lr: {log_uniform: [1.0e-4, 1.0e-1]}}.")
    return [_parse(str(path), spec) for path, spec in space.items()]


def grid_of(params: list[Param]) -> dict[str, list[Any]]:
    """Optuna's GridSampler space: every parameter's values to visit."""
    return {p.path: p.distribution_values() for p in params}


def grid_size(params: list[Param]) -> int:
    """How many combinations the grid has."""
    return math.prod(len(v) for v in grid_of(params).values())


def apply_params(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of a raw config dict with each path set to its value."""
    import copy

    out = copy.deepcopy(raw)
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"tune.space.{path}: '{part}' is not a section of the config.")
        node[leaf] = value
    return out


def combinations(params: list[Param]) -> list[dict[str, Any]]:
    """Every grid point as {path: config value} (for tests and reports)."""
    grid = grid_of(params)
    return [{p.path: p.value(v) for p, v in zip(params, point)} for point in itertools.product(*grid.values())]
