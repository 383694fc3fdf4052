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

import io
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pandas as pd

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.userfiles import check_folder, inside, shown_path
from neuronet.errors import ConfigError, DataError

__all__ = ["Transcribed", "is_transcribed_folder", "load_transcribed", "speech_dataset", "transcribed_clips"]

MAX_FILES = 200_000  # a folder is not walked without end


@dataclass
class Transcribed:
    """Clips and what is said in each: `paths[i]` says `texts[i]`; `layout` names the layout read; `notes` are
    what was left out, for `data:` lines."""

    paths: list[Path]
    texts: list[str]
    layout: str
    notes: list[str] = field(default_factory=list)


def _text(path: Path) -> str:
    """A transcript file's text, which must be UTF-8 (a wrong guess would write other characters)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{shown_path(path)} is not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line}); save it "
                        "as UTF-8.") from None


def _ljspeech(root: Path, metadata: Path) -> Transcribed:
    paths, texts, missing = [], [], []
    for number, line in enumerate(_text(metadata).splitlines(), start=1):
        if not line.strip():
            continue
        if "|" not in line:
            raise DataError(f"Line {number} of {shown_path(metadata)} has no '|'; LJSpeech's metadata.csv lines are "
                            "id|text.")
        clip, text = line.split("|")[:2]
        candidates = [inside(root, f"wavs/{clip.strip()}.wav", shown_path(metadata), "recording"),
                      inside(root, f"{clip.strip()}.wav", shown_path(metadata), "recording")]
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
        frame = pd.read_csv(io.StringIO(_text(table)), sep="\t" if table.suffix.lower() == ".tsv" else ",", dtype=str,
                            keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{shown_path(table)} cannot be read as a table: {str(err).splitlines()[0][:160]}.") from None
    lacking = [c for c in ("path", "text") if c not in frame.columns]
    if lacking:
        raise DataError(f"{shown_path(table)} has no {' or '.join(repr(c) for c in lacking)} column; a table of "
                        f"recordings has a 'path' and a 'text' column (it has {', '.join(map(str, frame.columns[:8]))}).")
    paths, texts, missing = [], [], []
    for relative, text in zip(frame["path"], frame["text"]):
        path = inside(table.parent, relative, shown_path(table), "recording")
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
        inside(root, str(wav.relative_to(root)), f"The link {shown_path(wav)}", "recording")  # a link out of the folder: refused
        text = wav.with_suffix(".txt")
        if text.is_file() and not text.is_symlink():
            paths.append(wav)
            texts.append(" ".join(_text(text).split()))
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
    if Path(root).is_file() and Path(root).suffix.lower() in (".csv", ".tsv"):  # the table itself
        found = _table(Path(root).parent, Path(root))
        return _checked(found, Path(root))
    root = check_folder(root, "Recordings folder", "it needs WAV files with their transcripts")
    tables = sorted(p for p in root.iterdir() if p.suffix.lower() in (".csv", ".tsv") and p.name != "metadata.csv")
    if (root / "metadata.csv").is_file():
        found = _ljspeech(root, root / "metadata.csv")
    elif len(tables) == 1 or any(p.stem in ("transcripts", "metadata") for p in tables):
        table = next((p for p in tables if p.stem in ("transcripts", "metadata")), tables[0])
        found = _table(root, table)
    else:
        found = _pairs(root)
    return _checked(found, root)


def _checked(found: Transcribed, root: Path) -> Transcribed:
    """`found` without its empty transcripts (counted in a note), or a DataError when no clip is left."""
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


MIN_SECONDS = 0.1  # shorter clips hold no word
LABELS_PER_SECOND = 50  # the most characters a CTC model with 20 ms output frames can emit in a second


def _check_number(name: str, value: object, low: float, high: float, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"The '{name}' of a recordings folder (data.options.{name}) must be a number in [{low:g}, "
                          f"{high:g}], e.g. {example}. Got {value!r} instead.")


def speech_dataset(paths: list[Path], texts: list[str], name: str, rate: int = 16_000, max_seconds: float = 30.0,
                   normalize: bool = True, notes: list[str] | None = None, ids: list[str] | None = None) -> Dataset:
    """Raw transcription data from WAV files and their transcripts: mono waveforms at `rate` Hz and normalised text.

    Clips that cannot be learnt from are left out, and each kind counted in a note: longer than
    `max_seconds`, shorter than 0.1 s, silent (all zero), or with more characters to say than
    50 a second (more than a CTC model's 20 ms frames can emit).

    Raises:
        DataError: a file that is not a readable WAV (naming it), or no clip left.
    """
    from neuronet.datasets.audio import MIN_SPEECH_RATE, read_wav, resample_wave
    from neuronet.datasets.transcripts import normalize_transcript

    _check_number("rate", rate, 4000, 48_000, "16000")
    if not isinstance(rate, int):
        raise ConfigError(f"The 'rate' of a recordings folder (data.options.rate) must be a whole number of Hz, e.g. "
                          f"16000. Got {rate!r} instead.")
    _check_number("max_seconds", max_seconds, 1, 600, "30")
    waves, kept, rates = [], [], Counter()
    left = Counter()
    said = [normalize_transcript(t) for t in texts] if normalize else [" ".join(t.split()) for t in texts]
    for i, path in enumerate(paths):
        wave, clip_rate = read_wav(path)
        rates[clip_rate] += 1
        seconds = len(wave) / clip_rate
        if seconds > max_seconds:
            left[f"longer than {max_seconds:g} s (data.options.max_seconds)"] += 1
        elif seconds < MIN_SECONDS:
            left[f"shorter than {MIN_SECONDS} s"] += 1
        elif clip_rate < MIN_SPEECH_RATE:
            left[f"sampled below {MIN_SPEECH_RATE:,} Hz (too slowly to hold speech)"] += 1
        elif not bool((wave != 0).any()):
            left["silent (every sample zero)"] += 1
        elif not said[i]:
            left["with nothing to say once the transcript is normalised"] += 1
        elif len(said[i]) > LABELS_PER_SECOND * seconds:
            left[f"with more than {LABELS_PER_SECOND} characters a second to say"] += 1
        else:
            waves.append(resample_wave(wave, clip_rate, rate))
            kept.append(i)
    if not kept:
        why = "; ".join(f"{n} {what}" for what, n in left.items())
        raise DataError(f"No recording of '{name}' can be learnt from: {why}.")
    notes = list(notes or [])
    changed = [(texts[i], said[i]) for i in kept if said[i] != texts[i]]
    if normalize and changed:
        before, after = max(changed[:200], key=lambda pair: sum(c.isdigit() for c in pair[0]))
        notes.append(f"transcripts normalised as read aloud (lower case, numbers as words, punctuation dropped): "
                     f"{len(changed):,} of {len(kept):,} changed, e.g. {before[:50]!r} -> {after[:60]!r} "
                     "(data.options.normalize)")
    seconds = sum(len(w) for w in waves) / rate
    notes.insert(0, f"{len(kept):,} recordings, {seconds / 3600:,.2f} h, resampled to {rate:,} Hz mono (rates found: "
                    f"{', '.join(f'{r:,} Hz x{n}' for r, n in sorted(rates.items()))})")
    notes += [f"{n} clip(s) {what} left out" for what, n in left.items()]
    return Dataset(waves, [said[i] for i in kept], "transcription", name, notes=notes,
                   inputs={"kind": "speech", "rate": rate, "max_seconds": max_seconds},
                   ids=[(ids or [str(p) for p in paths])[i] for i in kept])


def load_transcribed(root: str | Path, rate: int = 16_000, max_seconds: float = 30.0, normalize: bool = True) -> Dataset:
    """A folder of recordings with their transcripts (see the module's layouts) as raw transcription data.

    Args:
        root: The folder (or a .csv / .tsv table of `path` and `text` itself).
        rate: The sample rate every clip is resampled to (Hz).
        max_seconds: Longer clips are left out (and counted in a note).
        normalize: Write transcripts as read aloud (`normalize_transcript`); False keeps them as they are.

    Raises:
        DataError: see `transcribed_clips` and `speech_dataset`.
    """
    found = transcribed_clips(root)
    root = Path(root)
    folder = (root.parent if root.is_file() else root).resolve()  # a table's paths are relative to its folder
    ids = [str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p) for p in found.paths]
    name = (root.stem if root.is_file() else root.resolve().name) or "recordings"
    return speech_dataset(found.paths, found.texts, name, rate, max_seconds, normalize,
                          [f"layout: {found.layout}", *found.notes], ids)


def is_transcribed_folder(source: str) -> bool:
    """Whether `source` is recordings with transcripts (a cheap look, for picking a loader): a folder with
    metadata.csv, a table with path and text columns, or a WAV file beside a .txt file of the same name; or such a
    table itself (its first path a .wav file)."""
    root = Path(source)
    try:
        if root.is_file() and root.suffix.lower() in (".csv", ".tsv"):  # a table of recordings: path ends in .wav
            lines = root.open(encoding="utf-8", errors="replace").read(4096).lower().splitlines()
            sep = "\t" if root.suffix.lower() == ".tsv" else ","
            header = [c.strip().strip('"') for c in (lines[0].split(sep) if lines else [])]
            if {"path", "text"} <= set(header) and len(lines) > 1:
                first = lines[1].split(sep)
                return len(first) > header.index("path") and first[header.index("path")].strip().strip('"').endswith(".wav")
            return False
        if not root.is_dir():
            return False
        if (root / "metadata.csv").is_file():
            return True
        names = {p.name.lower() for p in islice(root.iterdir(), 10_000)}
        for name in names:
            if name.endswith((".csv", ".tsv")):
                header = (root / name).open(encoding="utf-8", errors="replace").readline().lower()
                if {"path", "text"} <= {c.strip().strip('"') for c in header.replace("\t", ",").split(",")}:
                    return True
        if any(n.endswith(".wav") and n[:-4] + ".txt" in names for n in names):
            return True
        for folder in islice((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), 50):
            inside = {p.name.lower() for p in islice(folder.iterdir(), 2_000)}  # one speaker or chapter per folder
            if any(n.endswith(".wav") and n[:-4] + ".txt" in inside for n in inside):
                return True
        return False
    except OSError:
        return False
