"""Folders with one sub-folder per class (images, audio): the class names and their files."""

from __future__ import annotations

from pathlib import Path

from neuronet.datasets.userfiles import check_folder, folder_entries, is_folder, shown_path
from neuronet.errors import DataError

__all__ = ["class_files"]


def class_files(root: str | Path, suffixes: tuple[str, ...], kind: str, noun: str,
                classes: list[str] | None = None) -> tuple[list[str], list[tuple[Path, int]]]:
    """The class names (sorted sub-folder names, or `classes`) and every (file, class index).

    Hidden entries ('.DS_Store', the '._photo.png' companions macOS writes on other disks)
    are not classes and not files to read.

    Args:
        root: The folder.
        suffixes: File endings to take, e.g. (".png", ".jpg").
        kind: "Image" or "Audio", for messages.
        noun: What the files are, for messages ("images", "WAV files").
        classes: Class folders to read, in label order (default: all sub-folders).

    Raises:
        DataError: no such folder (or a file in its place), a folder that cannot be listed, no
            class folders, or a class folder without files.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("cat/1.png", "dog/2.png"):
        ...     (root / name).parent.mkdir(exist_ok=True); (root / name).touch()
        >>> class_files(root, (".png",), "Image", "images")[0]
        ['cat', 'dog']
    """
    root = check_folder(root, f"{kind} folder", f"it needs one sub-folder of {noun} per class")
    classes = classes or [p.name for p in folder_entries(root, f"{kind} folder") if is_folder(p)]
    if not classes:
        raise DataError(f"{kind} folder {shown_path(root)} has no class sub-folders; put each class's {noun} in "
                        "root/<class>/.")
    files: list[tuple[Path, int]] = []
    for index, name in enumerate(classes):
        found = [p for p in folder_entries(root / name, "Class folder") if p.suffix.lower() in suffixes]
        if not found:
            raise DataError(f"Class folder {shown_path(root / name)} has no {noun} ({', '.join(suffixes)}); add some "
                            "or remove it.")
        files += [(p, index) for p in found]
    return classes, files
