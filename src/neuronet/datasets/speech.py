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
import os
import random
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neuronet.atomic import write_text
from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.errors import DataError

__all__ = ["ACCENTS", "DIGIT_WORDS", "Speaker", "digit_strings", "speakers", "spoken_digit_strings", "spoken_sentences",
           "spoken_sentences_texts", "synthesize", "voice_split", "voice_variants", "write_spoken_corpus"]

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
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # two processes making one corpus do not clash
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


HELD_OUT_VARIANTS = 10  # voice variants kept for validation, and as many for test: voices training never hears


def voice_split(seed: int = 0) -> dict[str, list[str]]:
    """espeak-ng's voice variants shared out: `HELD_OUT_VARIANTS` for validation, as many for test, the rest for training.

    Example:
        >>> parts = voice_split()  # doctest: +SKIP
        >>> len(parts["val"]), len(parts["test"]), set(parts["val"]) & set(parts["train"])  # doctest: +SKIP
        (10, 10, set())
    """
    pool = voice_variants()
    random.Random(seed).shuffle(pool)
    n = HELD_OUT_VARIANTS
    return {"val": sorted(pool[:n]), "test": sorted(pool[n:2 * n]), "train": sorted(pool[2 * n:])}


def spoken_sentences_texts(count: int, seed: int, words: tuple[int, int] = (3, 14)) -> list[str]:
    """`count` distinct sentences of `words[0]` to `words[1]` words from Debian's fortunes, drawn from `seed`:
    one sentence per fortune at most, quotations and attributions left out, spaces collapsed.

    Raises:
        DataError: the fortunes are not installed.
    """
    import re

    from neuronet.datasets.literature import FORTUNES_DIR, fortune_texts

    if not FORTUNES_DIR.is_dir():
        raise DataError(f"Spoken sentences are read from Debian's fortunes, which are not in {FORTUNES_DIR}; install "
                        "them with `sudo apt-get install fortunes fortunes-min`.")
    found: list[str] = []
    seen: set[str] = set()
    for fortune in fortune_texts(FORTUNES_DIR):
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(fortune.split())):
            n = len(sentence.split())
            plain = all(c.isalnum() or c in " ,.;:!?'-$%&" for c in sentence)
            if words[0] <= n <= words[1] and plain and sentence[0].isupper() and sentence.lower() not in seen:
                seen.add(sentence.lower())
                found.append(sentence)
                break
    random.Random(seed).shuffle(found)
    return found[:count]


def _spoken_corpus(name: str, texts: dict[str, list[str]], data_dir: str | os.PathLike | None, rate: int,
                   seed: int) -> Dataset:
    """Speak each part's texts with its own voices (whole variants held out) and load the three parts."""
    from neuronet.datasets.literature import cache_dir
    from neuronet.datasets.transcribed import load_transcribed

    voices = voice_split(seed)
    sizes = "-".join(str(len(texts[part])) for part in ("train", "val", "test"))
    root = Path(data_dir or cache_dir()) / name / f"seed{seed}-{sizes}"
    parts = {}
    for number, part in enumerate(("train", "val", "test")):
        people = speakers(len(texts[part]), seed * 1_000 + number, voices[part])
        write_spoken_corpus(root / part, list(zip(texts[part], people)))
        parts[part] = load_transcribed(root / part, rate)
        parts[part].name = name
    train = parts["train"]
    train.official_val, train.official_test = parts["val"], parts["test"]
    train.notes = [f"spoken by espeak-ng: {len(voices['train'])} voice variants for training, {HELD_OUT_VARIANTS} "
                   f"others for validation and {HELD_OUT_VARIANTS} for test (whole voices held out); "
                   f"{len(parts['val']):,} validation and {len(parts['test']):,} test clips", *train.notes]
    return train


def _sizes(limit: int | None, train: int, held_out: int) -> tuple[int, int]:
    if limit is None:
        return train, held_out
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 5:
        raise DataError(f"data.limit must be a whole number of clips >= 5 for a spoken corpus. Got {limit!r} instead.")
    return limit, max(2, min(held_out, limit // 5))


@DATASETS.register("spoken_digit_strings", "Digit strings ('four one seven', 1-7 words) spoken by espeak-ng in ~80 "
                                           "voices; validation and test by 10 held-out voices each (speech to text).")
def spoken_digit_strings(data_dir: str | os.PathLike | None = None, clips: int = 4000, rate: int = 16_000,
                         seed: int = 0, limit: int | None = None) -> Dataset:
    """Digit strings spoken by synthetic speakers, made once in `data_dir` (default ~/.cache/neuronet).

    Args:
        data_dir: Where the WAV files are written and kept.
        clips: Training clips (validation: 300, test: 500).
        rate: The sample rate the clips are read at.
        seed: Seed of the texts, the voices held out and the speakers.
        limit: Make only this many training clips (and a fifth as many held out, at most 300 / 500).
    """
    train, held = _sizes(limit, clips, 300)
    texts = {"train": digit_strings(train, seed), "val": digit_strings(held, seed + 1),
             "test": digit_strings(held if limit else 500, seed + 2)}
    return _spoken_corpus("spoken_digit_strings", texts, data_dir, rate, seed)


@DATASETS.register("spoken_sentences", "Sentences of Debian's fortunes spoken by espeak-ng in ~80 voices; validation "
                                       "and test: other sentences, by 10 held-out voices each (speech to text).")
def spoken_sentences(data_dir: str | os.PathLike | None = None, clips: int = 6000, rate: int = 16_000, seed: int = 0,
                     limit: int | None = None) -> Dataset:
    """Sentences (3-14 words) of fortunes spoken by synthetic speakers; held-out sentences and voices for val / test.

    Args:
        data_dir: Where the WAV files are written and kept.
        clips: Training clips (validation: 300, test: 500).
        rate: The sample rate the clips are read at.
        seed: Seed of the sentences, the voices held out and the speakers.
        limit: Make only this many training clips (and a fifth as many held out, at most 300 / 500).
    """
    train, held = _sizes(limit, clips, 300)
    test = held if limit else 500
    sentences = spoken_sentences_texts(train + held + test, seed)
    if len(sentences) < train + held + test:
        raise DataError(f"The fortunes hold {len(sentences):,} usable sentences; ask for at most "
                        f"{max(0, len(sentences) - held - test):,} training clips (data.options.clips).")
    texts = {"train": sentences[:train], "val": sentences[train:train + held], "test": sentences[train + held:]}
    return _spoken_corpus("spoken_sentences", texts, data_dir, rate, seed)
