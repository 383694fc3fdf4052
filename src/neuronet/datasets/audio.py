"""Audio: WAV folders → log-mel spectrograms (torch.stft + a mel filter bank), and synthetic spoken digits.

A spoken-digit corpus is synthesised locally with Debian's `espeak-ng` (several voices,
speeds and pitches); the test split holds out whole voices, so the score says how well the
model hears a voice it never heard.
"""

from __future__ import annotations

from collections import Counter

import os
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.folders import class_files
from neuronet.datasets.userfiles import check_file, shown_path
from neuronet.errors import ConfigError, DataError
from neuronet.params import shown

__all__ = ["wave_lengths", "read_wav", "mel_filterbank", "log_mel", "waves_to_tensor", "load_audio_folder", "synthesize_spoken_digits"]

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TRAIN_VOICES = ["en-us+m1", "en-us+f2", "en-gb+m3", "en-gb+f4", "en-gb-scotland+m2", "en-gb-scotland+f1",
                "en-029+m4", "en-029+f3"]
TEST_VOICES = ["en-gb-x-rp+m5", "en-gb-x-gbcwmd+f5"]


MAX_RATE = 768_000  # Hz: the highest rate audio interfaces record at
MIN_SPEECH_RATE = 4_000  # Hz: a recording sampled more slowly holds no speech band to read


def read_wav(path: str | Path) -> tuple[torch.Tensor, int]:
    """A 16-bit PCM WAV file as a mono float waveform in [-1, 1] and its sample rate.

    The file is checked before it is opened (a FIFO or a device is refused, not read), and its
    header is checked against its size: a WAV whose header claims more frames than the file
    holds (truncated, or still being written) is refused rather than read as silence.

    Raises:
        DataError: not a regular file, empty, not a WAV file, not 16-bit PCM, no samples, a
            sample rate outside 1 Hz - 768 kHz, or fewer frames than its header says.
    """
    path = check_file(path, "Audio file", "a 16-bit PCM .wav file")
    where = f"Audio file {shown_path(path)}"
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{where} is empty (0 bytes); remove or replace the file.")
    try:
        with wave.open(str(path), "rb") as f:
            rate, channels, width, frames = f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes()
            if width == 2 and 0 < frames * channels * width <= size and 1 <= rate <= MAX_RATE:
                data = f.readframes(frames)
    except (wave.Error, EOFError, OSError) as err:
        raise DataError(f"{where} cannot be read as WAV ({_wav_problem(err)}); re-export it as 16-bit PCM WAV.") from None
    if width != 2:
        raise DataError(f"{where} has {8 * width}-bit samples; neuronet reads 16-bit PCM WAV (re-export it so).")
    if not 1 <= rate <= MAX_RATE:
        raise DataError(f"{where} says its sample rate is {rate:,} Hz; a WAV file's rate is 1 Hz to {MAX_RATE:,} Hz "
                        "(e.g. 16,000), so its header is damaged: re-export it.")
    if frames == 0:
        raise DataError(f"{where} holds no samples (0 frames); remove it or record it again.")
    if frames * channels * width > size or len(data) < frames * channels * width:
        held = (len(data) if frames * channels * width <= size else size) // (channels * width)
        raise DataError(f"{where} is truncated: its header says {frames:,} frames ({frames / rate:,.1f} s) but it holds "
                        f"at most {held:,}; the file was cut short or is still being written, so export it again.")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return torch.from_numpy(samples.reshape(-1, channels).mean(axis=1)), rate


def _wav_problem(err: BaseException) -> str:
    """What is wrong with a file that the `wave` module refuses, in words."""
    text = str(err)
    if isinstance(err, EOFError) or not text:
        return "its header is cut short"
    if "RIFF" in text or "WAVE" in text:
        return "it is not a WAV file: it does not start with a RIFF/WAVE header"
    if text == "unknown format: 3":
        return "it holds 32-bit floating-point samples"
    if text == "unknown format: 65534":
        return "its header is WAVE_FORMAT_EXTENSIBLE (as multichannel and 24-bit files are written)"
    if text.startswith("unknown format"):
        return f"it is compressed ({text}), not PCM"
    if "channels" in text:
        return "its header says 0 channels"
    return text[:100]


def waveforms_from_array(value: Any) -> list[torch.Tensor]:
    """Mono float waveforms in [-1, 1] from an array: (samples,) is one clip; (samples, 1 or 2) and
    (1 or 2, samples) are one clip with its channels (averaged); (N, samples) are N clips.
    Whole-number samples are PCM (int16 is scaled by 1/32768, as a WAV file is)."""
    array = np.array(value.detach().cpu() if isinstance(value, torch.Tensor) else value)  # a copy: writable
    if array.dtype.kind not in "iuf" or array.ndim not in (1, 2):
        raise DataError(f"Cannot read {shown(value)} as audio; give a waveform of shape (samples,), a batch "
                        "(clips, samples), a (waveform, rate) pair or WAV files.")
    if array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        array = (array.astype(np.float64) - (info.max + 1) / 2 * (array.dtype.kind == "u")) / (info.max + 1) * \
            (2 if array.dtype.kind == "u" else 1)
    if array.size == 0 or not np.isfinite(array).all():
        raise DataError(f"An audio waveform of shape {array.shape} is {'empty' if array.size == 0 else 'not all finite numbers'}; "
                        "give samples in [-1, 1].")
    if array.ndim == 2 and min(array.shape) <= 2 and max(array.shape) > 2:  # one clip with channels
        array = array.mean(axis=int(np.argmin(array.shape)))[None]
    clips = array.reshape(-1, array.shape[-1])
    return [torch.from_numpy(clip.astype(np.float32)) for clip in clips]


def resample_wave(wave: torch.Tensor, rate: int, target: int, seconds: float | None = None) -> torch.Tensor:
    """A waveform at `rate` Hz resampled to `target` Hz (polyphase filtering, scipy).

    With `seconds`, only what the first `seconds` of the result need is resampled (the same
    values, exactly: the filter reaches 10 * max(up, down) / up input samples), so a long
    recording costs no more than a short one.
    """
    if rate == target:
        return wave
    from math import ceil, gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    up, down = target // g, rate // g
    if seconds is not None:
        wave = wave[:ceil(seconds * rate) + ceil(10 * max(up, down) / up) + 2]
    return torch.as_tensor(resample_poly(wave.numpy(), up, down), dtype=torch.float32)


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)  # the HTK mel scale


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None) -> torch.Tensor:
    """Triangular filters (n_mels, n_fft // 2 + 1), evenly spaced on the mel scale, each peaking at 1."""
    f_max = f_max or sample_rate / 2
    mels = torch.linspace(float(_hz_to_mel(torch.tensor(f_min))), float(_hz_to_mel(torch.tensor(f_max))), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)  # (n_mels + 2,) filter edges and centres
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)  # (F,)
    left, centre, right = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


def log_mel(waveform: torch.Tensor, sample_rate: int, n_mels: int = 40, n_fft: int = 512, hop: int = 256) -> torch.Tensor:
    """log(mel power spectrogram + 1e-6): (n_mels, frames) from a mono waveform (samples,)."""
    spectrum = torch.stft(waveform, n_fft, hop_length=hop, window=torch.hann_window(n_fft), return_complex=True)
    power = spectrum.abs() ** 2  # (F, frames)
    return torch.log(mel_filterbank(n_mels, n_fft, sample_rate) @ power + 1e-6)


def waves_to_tensor(waves: list[torch.Tensor], rate: int, duration: float, n_mels: int) -> torch.Tensor:
    """Mono waveforms → log-mel images (N, 1, n_mels, frames), each padded or cut to `duration` seconds.

    Shared by the folder loader and by prediction, so new audio is read as the training audio was.
    """
    length = int(duration * rate)
    specs = [log_mel(torch.nn.functional.pad(w[:length], (0, max(0, length - len(w[:length])))), rate, n_mels)
             for w in waves]
    return torch.stack(specs).unsqueeze(1)


def load_audio_folder(root: str | Path, duration: float = 1.2, n_mels: int = 40,
                      classes: list[str] | None = None) -> Dataset:
    """WAV files under root/<class>/ as log-mel images (N, 1, n_mels, frames), padded / cut to `duration` s.

    `classes` fixes which class folders are read, in label order (default: all, sorted).

    Raises:
        DataError: no such folder, no class folders, an empty class, unreadable files (other sample rates
            than the most common one are resampled to it, and said).
    """
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0.05 <= duration <= 600:
        raise ConfigError(f"The clip duration (data.options.duration) must be a number of seconds in [0.05, 600], "
                          f"e.g. 1.2. Got {duration!r} instead.")
    if isinstance(n_mels, bool) or not isinstance(n_mels, int) or not 4 <= n_mels <= 256:
        raise ConfigError(f"The number of mel bands (data.options.n_mels) must be a whole number in [4, 256], e.g. 40. "
                          f"Got {n_mels!r} instead.")
    root = Path(root)
    classes, labelled = class_files(root, (".wav",), "Audio", ".wav files", classes)
    files = [p for p, _ in labelled]
    waves = [read_wav(p) for p in files]
    rates = Counter(rate for _, rate in waves)
    rate = rates.most_common(1)[0][0]
    notes = []
    if len(rates) > 1:  # the others are resampled to the most common rate, as prediction does
        others = sum(n for r, n in rates.items() if r != rate)
        notes.append(f"{others} WAV file(s) resampled to {rate} Hz (rates found: "
                     f"{', '.join(f'{r} Hz x{n}' for r, n in sorted(rates.items()))})")
    clips = [resample_wave(w, r, rate, duration) for w, r in waves]  # only the first `duration` s are resampled
    x = waves_to_tensor(clips, rate, duration, n_mels)  # (N, 1, n_mels, frames)
    y = torch.tensor([label for _, label in labelled])
    return Dataset(x, y, "classification", root.name, class_names=classes, notes=notes,
                   inputs={"kind": "audio", "rate": rate, "duration": duration, "n_mels": n_mels})


def synthesize_spoken_digits(root: str | Path, voices: list[str], speeds: tuple[int, ...] = (130, 160, 190),
                             pitches: tuple[int, ...] = (35, 50, 65)) -> Path:
    """Write root/<digit>/<voice>_<speed>_<pitch>.wav for every digit word with espeak-ng."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("Spoken digits are synthesised with espeak-ng, which is not installed; "
                        "install it with `sudo apt-get install espeak-ng`.")
    root = Path(root)
    for digit, word in enumerate(DIGITS):
        (root / str(digit)).mkdir(parents=True, exist_ok=True)
        for voice in voices:
            for speed in speeds:
                for pitch in pitches:
                    path = root / str(digit) / f"{voice}_{speed}_{pitch}.wav"
                    if not path.is_file():
                        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), word],
                                       check=True, capture_output=True, timeout=30)
    return root


@DATASETS.register("spoken_digits", "Spoken digits 0-9 synthesised by espeak-ng: 8 training voices, 2 held-out test voices.")
def spoken_digits(data_dir: str | os.PathLike | None = None, n_mels: int = 40) -> Dataset:
    """Log-mel spectrograms of spoken digits; `official_test` holds two voices never used in training.

    The WAV files are made once in `data_dir` (default ~/.cache/neuronet/spoken_digits).
    """
    root = Path(data_dir or Path.home() / ".cache" / "neuronet" / "spoken_digits")
    synthesize_spoken_digits(root / "train", TRAIN_VOICES)
    synthesize_spoken_digits(root / "test", TEST_VOICES)
    classes = [str(d) for d in range(10)]
    train = load_audio_folder(root / "train", n_mels=n_mels, classes=classes)
    train.official_test = load_audio_folder(root / "test", n_mels=n_mels, classes=classes)
    train.name = train.official_test.name = "spoken_digits"
    return train


def wave_lengths(x: torch.Tensor) -> torch.Tensor:
    """Samples of each waveform in a zero-padded batch (B, S): up to its last non-zero sample.

    Example:
        >>> wave_lengths(torch.tensor([[0.1, 0.0, 0.2, 0.0], [0.0, 0.0, 0.0, 0.0]])).tolist()
        [3, 0]
    """
    position = torch.arange(1, x.shape[1] + 1, device=x.device)
    return (position * (x != 0)).amax(dim=1) if x.shape[1] else torch.zeros(len(x), dtype=torch.long, device=x.device)
