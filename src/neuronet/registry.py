"""One registry per kind of component, filled where each component is defined.

A string works wherever an object does: ``registry.get("adam")``. An unknown name gets an
error listing the valid ones and the closest match.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from neuronet.errors import ConfigError

__all__ = ["Registry", "check_arguments", "suggest"]

T = TypeVar("T")


def suggest(name: str, valid: list[str]) -> str:
    """Return " Did you mean 'x'?" for the closest valid name, or "" when none is close."""
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6) or [v for v in valid if name and v.startswith(name)][:1]
    return f" Did you mean '{close[0]}'?" if close else ""


def check_arguments(owner: str, given: Iterable[str], accepted: list[str]) -> None:
    """Raise a ConfigError for the first name in `given` that is not in `accepted`, with the closest match.

    Example:
        >>> check_arguments("Model 'mlp'", ["hiden"], ["hidden", "dropout"])
        Traceback (most recent call last):
        ...
        neuronet.errors.ConfigError: Model 'mlp' has no parameter 'hiden'. Did you mean 'hidden'? Valid: hidden, dropout.
    """
    for key in given:
        if key not in accepted:
            raise ConfigError(f"{owner} has no parameter {_cut(repr(key))}.{suggest(key, accepted)} "
                              f"Valid: {', '.join(accepted) or 'none'}.")


class Registry(Generic[T]):
    """A name → component table for one kind of component.

    Args:
        kind: What the entries are, used in error messages ("optimizer", "loss", ...).

    Example:
        >>> losses = Registry("loss")
        >>> @losses.register("zero")
        ... def zero(pred, target):
        ...     return 0.0
        >>> losses.get("zero") is zero
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str | None = None) -> Callable[[T], T]:
        """Decorator that adds a component under `name` (and returns it unchanged)."""

        def add(obj: T) -> T:
            self.add(name, obj, help)
            return obj

        return add

    def add(self, name: str, obj: T, help: str | None = None) -> None:
        """Add `obj` under `name`; a second entry with the same name is an error."""
        if name in self._entries:
            raise ConfigError(f"The {self.kind} '{name}' is registered twice; pick another name.")
        self._entries[name] = obj
        doc = help or (getattr(obj, "__doc__", None) or "").strip().splitlines()
        self._help[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")

    def get(self, name: str) -> T:
        """Return the component registered as `name`.

        Raises:
            ConfigError: `name` is not registered; the message lists the valid names.
        """
        if not isinstance(name, str) or name not in self._entries:
            valid = self.names()
            hint = suggest(name, valid) if isinstance(name, str) else ""
            raise ConfigError(
                f"Unknown {self.kind} {_cut(repr(name))}.{hint} Valid {self.kind} names: {', '.join(valid)}."
            )
        return self._entries[name]

    def help(self, name: str) -> str:
        """One-line description of `name`."""
        self.get(name)
        return self._help[name]

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def _cut(text: str, limit: int = 80) -> str:
    """A name from a file, cut so that an error never prints kilobytes."""
    return text if len(text) <= limit else text[:limit - 3] + "..."
