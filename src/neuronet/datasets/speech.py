"""Spoken sentences with their transcripts, synthesised reproducibly by Debian's `espeak-ng`.

No recorded speech corpus ships in a package that loads offline, so the built-in speech data is
made here from real parts: espeak-ng's ~100 voice variants x several English accents, each
speaker with its own speed and pitch, all drawn from a seed; the texts are digit strings
("four one seven") or sentences from a real corpus. A corpus is written in LJSpeech's layout
(`wavs/<id>.wav` and `metadata.csv` with `id|text` lines), one of the layouts a user's own
recordings come in, with `speakers.csv` naming who said each clip, so that whole voices can be
held out for validation and test.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neuronet.atomic import write_text
from neuronet.errors import DataError

__all__ = ["ACCENTS", "DIGIT_WORDS", "Speaker", "digit_strings", "speakers", "synthesize", "voice_variants",
           "write_spoken_corpus"]

ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029")  # American, British, Scottish, RP, Caribbean
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPEEDS, PITCHES = (120, 210), (20, 80)  # words per minute, espeak-ng's pitch 0-99: the ranges speakers are drawn from


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: an accent, a voice variant, a speed (words per minute) and a pitch (0-99)."""

    accent: str
    variant: str
    speed: int
    pitch: int

    @property
    def voice(self) -> str:
        """espeak-ng's `-v` argument: the accent's voice with the variant."""
        return f"{self.accent}+{self.variant}"

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}@{self.speed}/{self.pitch}"


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("Spoken sentences are synthesised with espeak-ng, which is not installed; install it with "
                        "`sudo apt-get install espeak-ng`.")
    return exe


def voice_variants() -> list[str]:
    """The voice variants this espeak-ng has (`espeak-ng --voices=variant`), sorted."""
    listed = subprocess.run([_espeak(), "--voices=variant"], check=True, capture_output=True, text=True, timeout=30)
    names = {part.removeprefix("!v/") for line in listed.stdout.splitlines()[1:] for part in line.split()
             if part.startswith("!v/")}
    return sorted(names, key=str.lower)


def speakers(count: int, seed: int, variants: Sequence[str] | None = None) -> list[Speaker]:
    """`count` speakers, each a different voice variant (while there are enough), with an accent, speed and pitch
    drawn from `seed`; the same seed gives the same speakers.

    Example:
        >>> [s.name for s in speakers(2, seed=0, variants=["f1", "m1", "m2"])]
        ['en-us+m1@153/52', 'en-gb-x-rp+m2@171/78']
    """
    rng = random.Random(seed)
    pool = sorted(variants if variants is not None else voice_variants(), key=str.lower)
    if not pool:
        raise DataError("espeak-ng lists no voice variants; reinstall espeak-ng (its espeak-ng-data holds them).")
    chosen: list[str] = []
    while len(chosen) < count:  # every variant once before any is used again
        chosen += rng.sample(pool, min(len(pool), count - len(chosen)))
    return [Speaker(rng.choice(ACCENTS), variant, rng.randint(*SPEEDS), rng.randint(*PITCHES)) for variant in chosen]


def digit_strings(count: int, seed: int, words: tuple[int, int] = (1, 7)) -> list[str]:
    """`count` strings of digit words ("four one seven"), each `words[0]` to `words[1]` long, drawn from `seed`.

    Example:
        >>> digit_strings(2, seed=0)
        ['six six zero four eight seven six', 'four seven five nine three eight two']
    """
    rng = random.Random(seed)
    return [" ".join(rng.choice(DIGIT_WORDS) for _ in range(rng.randint(*words))) for _ in range(count)]


def synthesize(text: str, speaker: Speaker, path: str | Path) -> Path:
    """Write `text` spoken by `speaker` to the WAV file `path` (espeak-ng: 22,050 Hz, mono, 16 bits).

    The text goes through standard input, so that nothing in it is read as an option.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        subprocess.run([_espeak(), "-v", speaker.voice, "-s", str(speaker.speed), "-p", str(speaker.pitch),
                        "--stdin", "-w", str(partial)], input=text, text=True, check=True, capture_output=True,
                       timeout=60)
        partial.replace(path)  # a clip is whole or absent
    except subprocess.CalledProcessError as err:
        raise DataError(f"espeak-ng could not speak {text[:40]!r} as {speaker.name}: "
                        f"{err.stderr.strip()[:200] or 'no reason given'}.") from None
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_spoken_corpus(root: str | Path, items: Sequence[tuple[str, Speaker]]) -> Path:
    """Speak each (text, speaker) into `root` in LJSpeech's layout: wavs/<id>.wav, metadata.csv (`id|text`) and
    speakers.csv (`id,speaker`). Clips already there are kept (the corpus is made once and reused).

    Returns:
        `root`.
    """
    root = Path(root)
    rows = []
    for i, (text, speaker) in enumerate(items):
        clip = f"{i:05d}"
        wav = root / "wavs" / f"{clip}.wav"
        if not wav.is_file():
            synthesize(text, speaker, wav)
        rows.append((clip, text, speaker.name))
    write_text(root / "metadata.csv", "".join(f"{clip}|{text}\n" for clip, text, _ in rows))
    table = io.StringIO()
    csv.writer(table, lineterminator="\n").writerows([("id", "speaker"), *((clip, name) for clip, _, name in rows)])
    write_text(root / "speakers.csv", table.getvalue())
    return root
