"""A user's file or folder, checked before anything opens it: one sentence for each way a path can be wrong.

`os.stat` decides what a path is without opening it, so a FIFO, a device such as /dev/zero
(directly or through a symbolic link) or a socket is refused before a read could block or
run forever. Names are shown escaped and shortened, so that a file name with a newline or
5,000 characters still makes one readable line. `.npy` arrays are read without pickle: an
object array is refused by its header, never loaded.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from neuronet.errors import DataError

__all__ = ["shown_path", "shown_names", "check_file", "check_folder", "folder_entries", "inside", "is_folder", "read_head",
           "read_npy"]

NPY_MAGIC = b"\x93NUMPY"
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def shown_path(path: Any, limit: int = 120) -> str:
    """A path as it goes into a message: control characters escaped, a very long name shortened.

    Example:
        >>> shown_path("data/new\\nline.csv")
        'data/new\\\\nline.csv'
        >>> shown_path("x" * 5000 + ".csv")[-30:]
        'xxxxxxx.csv (5,004 characters)'
    """
    text = str(path)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        text = text.encode("unicode_escape").decode("ascii", "replace")
    if len(text) > limit:
        text = f"{text[:60]}...{text[-40:]} ({len(str(path)):,} characters)"
    return text


def shown_names(names: list[Any], limit: int = 20) -> str:
    """Column names for a message: the first `limit` (each shortened), then how many there are in all.

    Example:
        >>> shown_names([f"c{i}" for i in range(30)], limit=3)
        'c0, c1, c2 ... (30 in all)'
    """
    shown = [shown_path(name, 40) for name in names[:limit]]
    return ", ".join(shown) + (f" ... ({len(names):,} in all)" if len(names) > limit else "")


def _stat(path: Path, what: str) -> os.stat_result | None:
    """`os.stat(path)` (links followed), None when nothing is there; other failures as one sentence."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(path):
            raise DataError(f"{what} {shown_path(path)} is a symbolic link to {shown_path(os.readlink(path))}, which "
                            "does not exist; point it at a file, or give the file itself.") from None
        return None
    except ValueError:  # a NUL character in the name
        raise DataError(f"{what} name {shown_path(path)} contains a NUL character, which no file name can hold; "
                        "check the path.") from None
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            raise DataError(f"{what} name {shown_path(path)} is too long for the file system (at most 255 characters a "
                            "name, 4,096 a path); use a shorter name.") from None
        if err.errno == errno.ELOOP:
            raise DataError(f"{what} {shown_path(path)} is a loop of symbolic links; point the link at a real file.") from None
        if err.errno in (errno.EACCES, errno.EPERM):
            raise DataError(f"{what} {shown_path(path)} cannot be reached (permission denied on a folder above it); "
                            "change the folder's permissions or copy the file somewhere readable.") from None
        raise DataError(f"{what} {shown_path(path)} cannot be looked at ({err.strerror or err}); check the path.") from None


def _kind(mode: int) -> str | None:
    return next((name for test, name in _KINDS if test(mode)), None)


def check_file(path: str | Path, what: str = "Data file", give: str = "a regular file") -> Path:
    """`path` as a readable regular file, decided by `os.stat` before anything opens it.

    Args:
        path: The file.
        what: What the file is, for messages ("Data file", "Image", "Audio file", "Input").
        give: What would be right, for messages ("a .csv / .parquet file").

    Raises:
        DataError: nothing there, a folder, a FIFO / device / socket (directly or through a link),
            an unreadable file, a name too long or with a NUL character.

    Example:
        >>> check_file("/dev/null", "Input", "a .csv file")
        Traceback (most recent call last):
        ...
        neuronet.errors.DataError: Input /dev/null is not a regular file (a character device); give a .csv file.
    """
    path = Path(path)
    info = _stat(path, what)
    if info is None:
        raise DataError(f"{what} {shown_path(path)} does not exist; check the path.")
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{what} {shown_path(path)} is a folder, but {give} is needed here.")
    if not stat.S_ISREG(info.st_mode):
        link = f", through the symbolic link to {shown_path(os.path.realpath(path))}" if os.path.islink(path) else ""
        raise DataError(f"{what} {shown_path(path)} is not a regular file ({_kind(info.st_mode) or 'a special file'}"
                        f"{link}); give {give}.")
    if not os.access(path, os.R_OK):
        raise DataError(f"{what} {shown_path(path)} cannot be read (permission denied); change its permissions "
                        "(chmod +r) or copy it somewhere readable.")
    return path


def is_folder(path: str | Path) -> bool:
    """Whether `path` is a folder (links followed); False, never an error, for names that cannot exist."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_folder(path: str | Path, what: str = "Folder", needs: str = "") -> Path:
    """`path` as a folder that exists, or one sentence saying what it is instead.

    Args:
        path: The folder.
        what: What the folder is, for messages ("Image folder").
        needs: What the folder should hold, for the message when it does not exist.
    """
    path = Path(path)
    info = _stat(path, what)
    if info is None:
        raise DataError(f"{what} {shown_path(path)} does not exist; check the path{f' ({needs})' if needs else ''}.")
    if not stat.S_ISDIR(info.st_mode):
        kind = "a file" if stat.S_ISREG(info.st_mode) else _kind(info.st_mode) or "a special file"
        raise DataError(f"{what} {shown_path(path)} is {kind}, not a folder{'; ' + needs if needs else ''}.")
    return path


def folder_entries(path: str | Path, what: str = "Folder") -> list[Path]:
    """The entries of a folder, sorted, without hidden ones ('.DS_Store', macOS '._photo.png' companions).

    Raises:
        DataError: the folder cannot be listed (permission denied, or not a folder).
    """
    path = check_folder(path, what)
    try:
        names = sorted(os.listdir(path))
    except OSError as err:
        reason = "permission denied" if err.errno in (errno.EACCES, errno.EPERM) else err.strerror or str(err)
        raise DataError(f"{what} {shown_path(path)} cannot be listed ({reason}); change its permissions "
                        "(chmod +rx) or copy it somewhere readable.") from None
    return [path / name for name in names if not name.startswith(".")]


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first `size` bytes of a checked regular file."""
    with open(path, "rb") as f:
        return f.read(size)


def read_npy(path: str | Path, what: str = "Input") -> np.ndarray:
    """A .npy array of numbers, read without pickle: an object array is refused from its header.

    Raises:
        DataError: not a .npy file, a damaged or truncated one, or an array of Python objects or text.
    """
    path = check_file(path, what, "a .npy array file (numpy.save)")
    size = path.stat().st_size
    fix = "save the numbers with numpy.save(path, array.astype('float32'))"
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise DataError(f"{what} {shown_path(path)} is not a .npy array (it does not start with NumPy's header); "
                            f"{fix}.")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in reader:
                raise ValueError(f"version {version[0]}.{version[1]} of the format, where 1.0 and 2.0 are read")
            shape, _, dtype = reader[version](f)
        except Exception as err:  # noqa: BLE001 - numpy's header parser raises several types
            raise DataError(f"{what} {shown_path(path)} has a damaged .npy header ({str(err)[:80]}); {fix}.") from None
        if dtype.hasobject:
            raise DataError(f"{what} {shown_path(path)} holds Python objects (a pickle), which neuronet never loads; "
                            f"{fix}.")
        if dtype.kind not in "biuf":
            raise DataError(f"{what} {shown_path(path)} holds {dtype} values, not numbers; {fix}.")
        needed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if needed > size - f.tell():
            raise DataError(f"{what} {shown_path(path)} is truncated: its header says shape {tuple(shape)} "
                            f"({needed:,} bytes) but it holds {size - f.tell():,}; save the array again.")
        f.seek(0)
        try:
            return np.load(f, allow_pickle=False)
        except Exception as err:  # noqa: BLE001
            raise DataError(f"{what} {shown_path(path)} cannot be read as a .npy array ({str(err)[:80]}); {fix}.") from None


def inside(root: Path, relative: str, where: str, thing: str = "file") -> Path:
    """`relative` resolved under `root`, or a DataError when it leads outside it: an absolute path, `..`, or a link.

    Args:
        root: The folder a data set's files must stay in.
        relative: A path named by the data (a table's row, an annotation's file name).
        where: What names it, for the message (e.g. "Image entry 3 of annotations.json").
        thing: What the file is, for the message ("image", "recording").

    Example:
        >>> inside(Path("/data"), "../etc/passwd", "Row 2 of list.csv")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        neuronet.errors.DataError: Row 2 of list.csv names '../etc/passwd', which is outside /data; ...
    """
    if os.path.isabs(relative):
        raise DataError(f"{where} names the absolute path {shown_path(relative)}; give paths inside "
                        f"{shown_path(root)}, relative to it.")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        if os.path.abspath(root / relative).startswith(os.path.abspath(root) + os.sep):
            raise DataError(f"{where} names '{shown_path(relative)}', a link that leads outside {shown_path(root)}; put "
                            f"the {thing} itself in the folder.")
        raise DataError(f"{where} names '{shown_path(relative)}', which is outside {shown_path(root)}; give paths inside "
                        "the folder, relative to it.")
    return path
