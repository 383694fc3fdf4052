"""Names that become folders: a run's name is one path component, never a way out of its output folder."""

from __future__ import annotations

import re
from typing import Any

from neuronet.errors import ConfigError

__all__ = ["check_name", "safe_stem", "MAX_NAME"]

MAX_NAME = 200  # one path component, leaving room under the usual 255-byte limit for staging names
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def check_name(name: Any, what: str = "A run name") -> str:
    """`name` as one folder name: no separators, `..`, control or NUL characters; at most 200 characters.

    Example:
        >>> check_name("exp #2")
        'exp #2'
        >>> check_name("../x")
        Traceback (most recent call last):
        ...
        neuronet.errors.ConfigError: A run name is one folder name inside the output folder, without '/', '\\', control characters, a leading '.' or spaces at either end. Got '../x' instead.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{what} must be a non-empty text. Got {name!r} instead.")
    if _UNSAFE.search(name) or name.startswith(".") or name != name.strip():
        raise ConfigError(f"{what} is one folder name inside the output folder, without '/', '\\', control "
                          f"characters, a leading '.' or spaces at either end. Got {name!r:.80} instead.")
    if len(name.encode("utf-8")) > MAX_NAME:
        raise ConfigError(f"{what} must be at most {MAX_NAME} bytes in UTF-8 (as many ASCII characters). Got "
                          f"{len(name.encode('utf-8'))} instead.")
    return name


def safe_stem(text: str) -> str:
    """A piece of an automatic run name made safe: unsafe characters become '-', at most 80 characters."""
    stem = _UNSAFE.sub("-", text).strip(" .-")[:80]
    return stem or "run"
