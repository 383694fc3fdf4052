"""Folders with one sub-folder per class (images, audio): the class names and their files."""

from __future__ import annotations

from pathlib import Path

from neuronet.errors import DataError

__all__ = ["class_files"]


def class_files(root: str | Path, suffixes: tuple[str, ...], kind: str, noun: str,
                classes: list[str] | None = None) -> tuple[list[str], list[tuple[Path, int]]]:
    """The class names (sorted sub-folder names, or `classes`) and every (file, class index).

    Args:
        root: The folder.
        suffixes: File endings to take, e.g. (".png", ".jpg").
        kind: "Image" or "Audio", for messages.
        noun: What the files are, for messages ("images", "WAV files").
        classes: Class folders to read, in label order (default: all sub-folders).

    Raises:
        DataError: no such folder, no class folders, or a class folder without files.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{kind} folder {root} does not exist; it needs one sub-folder of {noun} per class.")
    classes = classes or sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{kind} folder {root} has no class sub-folders; put each class's {noun} in root/<class>/.")
    files: list[tuple[Path, int]] = []
    for index, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in suffixes)
        if not found:
            raise DataError(f"Class folder {root / name} has no {noun} ({', '.join(suffixes)}); add some or remove it.")
        files += [(p, index) for p in found]
    return classes, files
