"""Recordings with their transcripts, in the layouts they come in: which WAV file says which text.

Three layouts are read, the first that fits:

1. LJSpeech's: `metadata.csv` with `id|text` lines (a third, normalised column is ignored), the
   clips in `wavs/<id>.wav` (or `<id>.wav` beside the file);
2. a table (`.csv` / `.tsv`, or the folder's only one) with a `path` and a `text` column, paths
   relative to the table's folder;
3. `name.wav` beside `name.txt`, in the folder and its sub-folders.

Only files inside the folder are read: a path in a table that leads outside it (`../`, an
absolute path, a link) is refused, so a received data set cannot make neuronet read other files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pandas as pd

from neuronet.datasets.userfiles import check_folder, shown_path
from neuronet.errors import DataError

__all__ = ["Transcribed", "transcribed_clips"]

MAX_FILES = 200_000  # a folder is not walked without end


@dataclass
class Transcribed:
    """Clips and what is said in each: `paths[i]` says `texts[i]`; `layout` names the layout read; `notes` are
    what was left out, for `data:` lines."""

    paths: list[Path]
    texts: list[str]
    layout: str
    notes: list[str] = field(default_factory=list)


def _inside(root: Path, relative: str, where: str) -> Path:
    """`relative` resolved under `root`, or a DataError when it leads outside it."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise DataError(f"{where} names {relative!r}, which is outside {shown_path(root)}; give paths inside the "
                        "folder, relative to it.")
    return path


def _ljspeech(root: Path, metadata: Path) -> Transcribed:
    paths, texts, missing = [], [], []
    for number, line in enumerate(metadata.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        if "|" not in line:
            raise DataError(f"Line {number} of {shown_path(metadata)} has no '|'; LJSpeech's metadata.csv lines are "
                            "id|text.")
        clip, text = line.split("|")[:2]
        candidates = [_inside(root, f"wavs/{clip.strip()}.wav", shown_path(metadata)),
                      _inside(root, f"{clip.strip()}.wav", shown_path(metadata))]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            missing.append(clip.strip())
            continue
        paths.append(found)
        texts.append(text.strip())
    notes = [f"{len(missing)} clip(s) of metadata.csv have no WAV file and were left out (e.g. {missing[0]!r})"] \
        if missing else []
    return Transcribed(paths, texts, "ljspeech", notes)


def _table(root: Path, table: Path) -> Transcribed:
    try:
        frame = pd.read_csv(table, sep="\t" if table.suffix.lower() == ".tsv" else ",", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{shown_path(table)} cannot be read as a table: {str(err).splitlines()[0][:160]}.") from None
    lacking = [c for c in ("path", "text") if c not in frame.columns]
    if lacking:
        raise DataError(f"{shown_path(table)} has no {' or '.join(repr(c) for c in lacking)} column; a table of "
                        f"recordings has a 'path' and a 'text' column (it has {', '.join(map(str, frame.columns[:8]))}).")
    paths, texts, missing = [], [], []
    for relative, text in zip(frame["path"], frame["text"]):
        path = _inside(table.parent, relative, shown_path(table))
        if path.is_file():
            paths.append(path)
            texts.append(text.strip())
        else:
            missing.append(relative)
    notes = [f"{len(missing)} row(s) of {table.name} name no existing file and were left out (e.g. {missing[0]!r})"] \
        if missing else []
    return Transcribed(paths, texts, "table", notes)


def _pairs(root: Path) -> Transcribed:
    wavs = sorted(p for p in islice(root.rglob("*"), MAX_FILES)
                  if p.suffix.lower() == ".wav" and not p.name.startswith(".") and p.is_file())
    paths, texts, alone = [], [], 0
    for wav in wavs:
        _inside(root, str(wav.relative_to(root)), f"The link {shown_path(wav)}")  # a link out of the folder: refused
        text = wav.with_suffix(".txt")
        if text.is_file() and not text.is_symlink():
            paths.append(wav)
            texts.append(" ".join(text.read_text(encoding="utf-8", errors="replace").split()))
        else:
            alone += 1
    notes = [f"{alone} WAV file(s) without a .txt transcript beside them were left out"] if alone else []
    return Transcribed(paths, texts, "wav+txt", notes)


def transcribed_clips(root: str | Path) -> Transcribed:
    """The recordings in `root` and their transcripts (see the module's layouts).

    Raises:
        DataError: no such folder, no layout that fits (the message lists them), a malformed
            metadata line or table, a path outside the folder, or no clip with a transcript.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "a.wav").write_bytes(b""); (root / "a.txt").write_text("four one seven\\n")
        0
        15
        >>> found = transcribed_clips(root)
        >>> found.layout, found.texts
        ('wav+txt', ['four one seven'])
    """
    root = check_folder(root, "Recordings folder", "it needs WAV files with their transcripts")
    tables = sorted(p for p in root.iterdir() if p.suffix.lower() in (".csv", ".tsv") and p.name != "metadata.csv")
    if (root / "metadata.csv").is_file():
        found = _ljspeech(root, root / "metadata.csv")
    elif len(tables) == 1 or any(p.stem in ("transcripts", "metadata") for p in tables):
        table = next((p for p in tables if p.stem in ("transcripts", "metadata")), tables[0])
        found = _table(root, table)
    else:
        found = _pairs(root)
    empty = sum(not t for t in found.texts)
    if empty:
        keep = [i for i, t in enumerate(found.texts) if t]
        found = Transcribed([found.paths[i] for i in keep], [found.texts[i] for i in keep], found.layout,
                            [*found.notes, f"{empty} clip(s) with an empty transcript were left out"])
    if not found.paths:
        raise DataError(f"{shown_path(root)} holds no recording with a transcript; give LJSpeech's layout "
                        "(metadata.csv with id|text lines, wavs/<id>.wav), a table with 'path' and 'text' columns, "
                        "or name.wav beside name.txt.")
    return found
