"""PocketSphinx: the classical (HMM + n-gram) speech-to-text baseline beside the neural CTC model.

`transcribe` decodes WAV files with the US-English acoustic model, CMUdict dictionary and n-gram
language model bundled with PyPI `pocketsphinx` (5.x), or, with `digits=True`, with a JSGF grammar
that only allows strings of the words zero..nine (the closed vocabulary of the digit-string task).
`testdata_clips` lists the real recordings with reference transcripts that Debian's
`pocketsphinx-testdata` ships: cards/ (5 clips: card names read out) and librivox/ (5 sentences of
"Sense and Sensibility"). Its tidigits/ references are left out: that folder holds only MFCC
features (.mfc), no audio.

Run: python bench/pocketsphinx_baseline.py  (WER and speed on the testdata clips)
"""

from __future__ import annotations

import re
import time
import wave
from collections.abc import Iterable
from math import gcd
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000  # what the bundled acoustic model expects
TESTDATA = Path("/usr/share/pocketsphinx/test/data")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_GRAMMAR = f"#JSGF V1.0;\ngrammar digits;\npublic <digits> = ( {' | '.join(DIGITS)} )+;\n"
_MARKERS = re.compile(r"<[^>]*>|\[[^\]]*\]|\(\d+\)")  # <s> </s> <sil>, [NOISE], alternate pronunciation (2)


def read_wav(path: str | Path) -> tuple[np.ndarray, float]:
    """16-bit PCM WAV (any rate, mono or stereo) -> (16 kHz mono int16 samples, duration in seconds)."""
    from scipy.signal import resample_poly

    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * f.getsampwidth()}-bit")
        rate, channels = f.getframerate(), f.getnchannels()
        audio = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").reshape(-1, channels)
    audio = audio.mean(axis=1)  # float64 mono
    if rate != SAMPLE_RATE:
        g = gcd(rate, SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // g, rate // g)
    return np.clip(np.round(audio), -32768, 32767).astype(np.int16), len(audio) / SAMPLE_RATE


def clean(text: str) -> str:
    """Lower-case words separated by single spaces, without <s>, <sil>, [NOISE] or (2) markers."""
    return " ".join(_MARKERS.sub(" ", text).lower().split())


def transcribe(paths: Iterable[str | Path], digits: bool = False) -> list[str]:
    """Transcribe each WAV with PocketSphinx's bundled US-English model (one decoder, reused across files).

    With `digits=True` the search is a JSGF grammar of one or more of the words zero..nine instead of
    the general-English n-gram language model.
    """
    from pocketsphinx import Decoder

    # Decoder() loads the bundled hmm, dict and lm; logfn silences its chatter. Dither (1/2-bit noise, fixed
    # seed: reproducible) keeps digital silence (exact zeros, as in synthesized clips) from derailing the
    # features: on espeak-ng digit strings it recovers dropped digits; on the testdata recordings, same WER.
    decoder = Decoder(loglevel="FATAL", logfn="/dev/null", dither=True, seed=1)
    if digits:
        decoder.add_jsgf_string("digits", DIGIT_GRAMMAR)
        decoder.activate_search("digits")
    texts = []
    for path in paths:
        audio, _ = read_wav(path)
        decoder.start_utt()
        decoder.process_raw(audio.tobytes(), full_utt=True)  # whole file at once: utterance-level CMN
        decoder.end_utt()
        hyp = decoder.hyp()  # None when nothing was recognised
        texts.append(clean(hyp.hypstr) if hyp is not None else "")
    return texts


def testdata_clips(root: Path = TESTDATA) -> list[tuple[Path, str]]:
    """(WAV path, lower-case reference) for every pocketsphinx-testdata recording with a transcript.

    Transcripts are in Sphinx format, one `<s> text </s> (uttid)` a line, in files named `*.transcription`,
    `transcription` or `*.lsn`; an utterance counts when `uttid.wav` lies beside its transcript file.
    Empty when the package is not installed.
    """
    if not root.is_dir():
        return []
    files = sorted({*root.rglob("*.transcription"), *root.rglob("transcription"), *root.rglob("*.lsn")})
    clips = []
    for file in files:
        for line in file.read_text(errors="replace").splitlines():
            match = re.fullmatch(r"\s*(.*?)\s*\(([^()\s]+)\)\s*", line)
            wav = file.parent / f"{match[2]}.wav" if match else None
            if wav is not None and wav.is_file():
                clips.append((wav, clean(match[1])))
    return clips


def main() -> None:
    import jiwer

    from common import print_table

    clips = testdata_clips()
    if not clips:
        print(f"no clips: install Debian's pocketsphinx-testdata ({TESTDATA} is missing)")
        return
    seconds = sum(read_wav(path)[1] for path, _ in clips)
    start = time.perf_counter()
    hyps = transcribe(path for path, _ in clips)
    elapsed = time.perf_counter() - start
    refs = [ref for _, ref in clips]
    rows = [[f"{p.parent.name}/{p.stem}", f"{jiwer.wer(r, h):.2f}", r, h] for (p, r), h in zip(clips, hyps)]
    print_table("PocketSphinx 5 (bundled en-us model + n-gram LM) on pocketsphinx-testdata",
                ["clip", "WER", "reference", "hypothesis"], rows)
    print(f"\n{len(clips)} clips, {seconds:.1f} s of audio: WER {jiwer.wer(refs, hyps):.3f}, "
          f"decoded in {elapsed:.1f} s (real-time factor {elapsed / seconds:.3f})")


if __name__ == "__main__":
    main()
