"""Parameter constraints as data, checked with one message template (after scikit-learn's `_param_validation`).

A class lists what each of its parameters accepts; `validate_params` checks given values and
raises one sentence: *The 'lr' parameter of Trainer must be a float > 0. Got -1 instead.*
The YAML config reads the same table, so Python and YAML share one set of checks.

Example:
    >>> constraints = {"lr": [Interval(float, 0, None, closed="neither")]}
    >>> validate_params(constraints, {"lr": -1}, "Trainer")
    Traceback (most recent call last):
    ...
    neuronet.errors.ConfigError: The 'lr' parameter of Trainer must be a float > 0. Got -1 instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable as CallableABC
from collections.abc import Mapping
from typing import Any

from neuronet.errors import ConfigError
from neuronet.registry import Registry, check_arguments

__all__ = ["Constraint", "Interval", "Options", "Names", "Spec", "InstanceOf", "IsCallable", "NoneOk", "Flag",
           "ListOf", "Dict", "validate_params", "shown"]


def shown(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters so that an error never prints kilobytes of data."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Constraint:
    """One kind of accepted value; `str()` says what it is, for the error message."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError


class Interval(Constraint):
    """A number of `kind` (int or float) between `left` and `right` (None: unbounded)."""

    def __init__(self, kind: type, left: float | None, right: float | None, closed: str = "left") -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        number_type = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, number_type) or not math.isfinite(value):  # nan and inf are no setting's value
            return False
        left_ok = self.left is None or (value >= self.left if self.closed in ("left", "both") else value > self.left)
        right_ok = self.right is None or (value <= self.right if self.closed in ("right", "both") else value < self.right)
        return left_ok and right_ok

    def __str__(self) -> str:
        noun = "an int" if self.kind is int else "a float"
        low = "[" if self.closed in ("left", "both") else "("
        high = "]" if self.closed in ("right", "both") else ")"
        if self.right is None and self.left is not None:
            return f"{noun} {'>=' if low == '[' else '>'} {self.left:g}"
        if self.left is None and self.right is not None:
            return f"{noun} {'<=' if high == ']' else '<'} {self.right:g}"
        if self.left is None:
            return noun
        return f"{noun} in {low}{self.left:g}, {self.right:g}{high}"


class Options(Constraint):
    """One of a fixed set of values."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (str, int, float, bool, type(None))) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class Names(Constraint):
    """A name registered in `registry`; a wrong name gets the registry's own "did you mean" error."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.registry

    def explain(self, value: Any) -> None:
        if isinstance(value, str):
            self.registry.get(value)  # raises ConfigError: unknown name, valid ones, closest match

    def __str__(self) -> str:
        return f"a {self.registry.kind} name"


class Spec(Names):
    """A mapping {"type": registered name, **its arguments}, e.g. {"type": "cosine", "eta_min": 0}."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, Mapping) and value.get("type") in self.registry

    def explain(self, value: Any) -> None:
        if isinstance(value, Mapping):
            self.registry.get(value.get("type"))

    def __str__(self) -> str:
        return f"a mapping {{type: {self.registry.kind} name, ...}}"


class InstanceOf(Constraint):
    """An instance of `types`, described as `what`."""

    def __init__(self, types: type | tuple[type, ...], what: str) -> None:
        self.types, self.what = types, what

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.types) and not (isinstance(value, bool) and bool not in _tuple(self.types))

    def __str__(self) -> str:
        return self.what


def _tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


class IsCallable(Constraint):
    """Any callable."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, CallableABC)

    def __str__(self) -> str:
        return "a callable"


class NoneOk(Constraint):
    """None."""

    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class Flag(Constraint):
    """True or False."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, bool)

    def __str__(self) -> str:
        return "True or False"


class ListOf(Constraint):
    """A list (or tuple) whose items each satisfy `item`."""

    def __init__(self, item: Constraint, what: str) -> None:
        self.item, self.what = item, what

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and all(self.item.is_satisfied_by(v) for v in value)

    def explain(self, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for v in value:
                if not self.item.is_satisfied_by(v) and hasattr(self.item, "explain"):
                    self.item.explain(v)

    def __str__(self) -> str:
        return self.what


class Dict(Constraint):
    """A mapping, optionally limited to `keys` (an unknown key is named, with the closest valid one)."""

    def __init__(self, keys: list[str] | None = None, what: str = "a mapping", owner: str = "It") -> None:
        self.keys, self.what, self.owner = keys, what, owner

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, Mapping) and (self.keys is None or all(k in self.keys for k in value))

    def explain(self, value: Any) -> None:
        if isinstance(value, Mapping) and self.keys is not None:
            check_arguments(self.owner, value, self.keys)

    def __str__(self) -> str:
        return self.what


def validate_params(constraints: dict[str, list[Constraint]], params: dict[str, Any], owner: str) -> None:
    """Check each of `params` against `constraints`; raise one ConfigError for the first that fails.

    Raises:
        ConfigError: an unknown parameter (with the closest valid name), or a value no constraint accepts.
    """
    check_arguments(owner, params, list(constraints))
    for name, value in params.items():
        accepted = constraints[name]
        if any(c.is_satisfied_by(value) for c in accepted):
            continue
        for c in accepted:  # a misspelt registry name gets the registry's own, more helpful message
            if hasattr(c, "explain"):
                c.explain(value)
        wants = " or ".join(str(c) for c in accepted)
        raise ConfigError(f"The '{name}' parameter of {owner} must be {wants}. Got {shown(value)} instead.")
