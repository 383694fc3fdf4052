"""Checkpoints without pickle: tensors in safetensors, everything else as JSON metadata.

Any nested structure of dicts / lists / numbers / strings / tensors (an optimizer's
`state_dict()`, a scheduler's, a callback's) is split into a JSON tree, in which each
tensor is replaced by a reference, and a flat {key: tensor} table for safetensors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from neuronet.atomic import atomic_path
from neuronet.errors import DataError

__all__ = ["split_tensors", "join_tensors", "digest", "save_state", "load_state", "atomic_save_file"]

_REF = "__tensor__"


def split_tensors(tree: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    """Return `tree` with every tensor replaced by {"__tensor__": key}, filling `tensors`."""
    if isinstance(tree, torch.Tensor):
        tensors[prefix] = tree.detach().cpu().contiguous()
        return {_REF: prefix}
    if isinstance(tree, dict):
        return {"__keys__": [[type(k).__name__, k] for k in tree],
                "values": [split_tensors(v, tensors, f"{prefix}.{i}") for i, v in enumerate(tree.values())]}
    if isinstance(tree, (list, tuple)):
        return {"__" + type(tree).__name__ + "__": [split_tensors(v, tensors, f"{prefix}.{i}") for i, v in enumerate(tree)]}
    return tree


def join_tensors(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of `split_tensors`."""
    if isinstance(tree, dict):
        if _REF in tree:
            return tensors[tree[_REF]]
        if "__keys__" in tree:
            keys = [int(k) if t == "int" else k for t, k in tree["__keys__"]]
            return {k: join_tensors(v, tensors) for k, v in zip(keys, tree["values"])}
        if "__list__" in tree:
            return [join_tensors(v, tensors) for v in tree["__list__"]]
        if "__tuple__" in tree:
            return tuple(join_tensors(v, tensors) for v in tree["__tuple__"])
    return tree


def atomic_save_file(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors file atomically (temporary file + rename)."""
    with atomic_path(path) as tmp:
        try:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
        except SafetensorError as err:  # a full disk, a read-only folder: the operating system's error, for the CLI
            code = re.search(r"(?:code: |os error )(\d+)", str(err))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), str(path)) from None


def digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the tensors' names and bytes (in name order): safetensors checks a file's header, not its data.

    Example:
        >>> digest({"w": torch.zeros(2)}) == digest({"w": torch.zeros(2)}) != digest({"w": torch.ones(2)})
        True
    """
    found = hashlib.sha256()
    for name in sorted(tensors):
        found.update(name.encode())
        found.update(tensors[name].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return found.hexdigest()


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Save a nested state (tensors and JSON-able values) to one safetensors file, with the tensors' checksum."""
    tensors: dict[str, torch.Tensor] = {}
    tree = split_tensors(state, tensors, "s")
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}  # once, for the checksum and the file
    atomic_save_file(tensors, path, metadata={"neuronet_state": json.dumps(tree), "neuronet_sha256": digest(tensors)})


def load_state(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load what `save_state` wrote (no pickle involved)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Checkpoint {path} does not exist.")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if "neuronet_state" not in meta:
        raise DataError(f"{path} is a safetensors file but not a neuronet checkpoint (no 'neuronet_state' metadata).")
    tensors = load_file(str(path), device=str(device))
    if "neuronet_sha256" in meta and digest(tensors) != meta["neuronet_sha256"]:  # (older checkpoints have none)
        raise DataError(f"Checkpoint {path} does not match the checksum it was saved with: its tensors' bytes were "
                        "damaged or edited; restore the file, or delete it to train again from the start.")
    return join_tensors(json.loads(meta["neuronet_state"]), tensors)
