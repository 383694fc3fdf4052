"""Audio: WAV reading, the mel filter bank and log-mel spectrograms, SpecAugment, espeak-ng spoken digits."""

import math
import shutil
import wave

import numpy as np
import pytest
import torch

from neuronet.datasets import build_augmentations, load_audio_folder, log_mel, mel_filterbank, read_wav
from neuronet.datasets.audio import synthesize_spoken_digits
from neuronet.errors import ConfigError, DataError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def write_wav(path, samples, rate=16000, width=2):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(width)
        f.setframerate(rate)
        dtype = "<i2" if width == 2 else "u1"
        scale = 32767 if width == 2 else 127
        f.writeframes((np.asarray(samples) * scale + (0 if width == 2 else 128)).astype(dtype).tobytes())
    return path


def sine(freq, rate=16000, seconds=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * math.pi * freq * t)


def test_read_wav_round_trip(tmp_path):
    samples = sine(440)
    wave_, rate = read_wav(write_wav(tmp_path / "a.wav", samples))
    assert rate == 16000 and np.allclose(wave_.numpy(), samples, atol=2 / 32767)  # 16-bit quantisation


def test_bad_wav_files(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(DataError, match="cannot be read as WAV"):
        read_wav(tmp_path / "x.wav")
    with pytest.raises(DataError, match="8-bit samples"):
        read_wav(write_wav(tmp_path / "b.wav", sine(440), width=1))


def test_mel_filterbank_shape_and_peaks():
    bank = mel_filterbank(n_mels=20, n_fft=512, sample_rate=16000)
    assert bank.shape == (20, 257) and (bank >= 0).all() and bank.max() <= 1.0
    peaks = bank.argmax(dim=1)
    assert torch.all(peaks[1:] > peaks[:-1])  # centres rise with frequency
    widths = (bank > 0).sum(dim=1)
    assert widths[-1] > widths[0]  # and the filters widen, as the mel scale says


def test_log_mel_puts_a_tone_in_the_right_band():
    low, high = log_mel(torch.tensor(sine(300), dtype=torch.float32), 16000), log_mel(torch.tensor(sine(3000), dtype=torch.float32), 16000)
    assert low.shape == (40, 32)  # 8000 samples / hop 256 + 1 frames
    assert int(low.mean(1).argmax()) < int(high.mean(1).argmax())
    bank = mel_filterbank(40, 512, 16000)
    assert int(high.mean(1).argmax()) == int(bank[:, round(3000 / 8000 * 256)].argmax())


def test_audio_folder_and_its_errors(tmp_path):
    for label, freq in (("low", 300), ("high", 3000)):
        for i in range(3):
            write_wav(tmp_path / "tones" / label / f"{i}.wav", sine(freq * (1 + 0.05 * i)))
    data = load_audio_folder(tmp_path / "tones", duration=0.5)
    assert data.class_names == ["high", "low"] and data.input_shape == (1, 40, 32) and len(data) == 6
    write_wav(tmp_path / "tones" / "low" / "odd.wav", sine(300, rate=8000), rate=8000)
    mixed = load_audio_folder(tmp_path / "tones", duration=0.5)  # the odd rate is resampled, and said
    assert mixed.inputs["rate"] == 16000 and "1 WAV file(s) resampled to 16000 Hz" in " ".join(mixed.notes)
    odd = mixed.x[mixed.y == 1][-1, 0]  # the 8 kHz 300 Hz tone, now at 16 kHz: same band as the others
    assert int(odd.mean(1).argmax()) == int(mixed.x[mixed.y == 1][0, 0].mean(1).argmax())
    for options, message in (({"duration": 0}, "duration"), ({"n_mels": -1}, "n_mels")):
        with pytest.raises(ConfigError, match=f"data.options.{message}"):
            load_audio_folder(tmp_path / "tones", **options)
    (tmp_path / "tones" / "empty").mkdir()
    with pytest.raises(DataError, match="has no .wav files"):
        load_audio_folder(tmp_path / "tones")


def test_spec_augment_masks_bands():
    torch.manual_seed(0)
    x = torch.ones(8, 1, 40, 50)
    freq, _ = build_augmentations([{"type": "freq_mask", "width": 5}])(x, torch.zeros(8))
    zero_rows = (freq == 0).all(dim=3).sum(dim=(1, 2))  # fully masked mel bands per example
    assert zero_rows.max() <= 5 and zero_rows.sum() > 0
    time, _ = build_augmentations([{"type": "time_mask", "width": 7}])(x, torch.zeros(8))
    assert ((time == 0).all(dim=2).sum(dim=(1, 2)) <= 7).all()


@needs_espeak
def test_espeak_spoken_digits_are_real_speech(tmp_path):
    root = synthesize_spoken_digits(tmp_path / "sd", ["en-us+m1", "en-gb+f2"], speeds=(160,), pitches=(50,))
    assert len(list(root.rglob("*.wav"))) == 20
    data = load_audio_folder(root, classes=[str(d) for d in range(10)])
    assert data.input_shape[1] == 40 and torch.isfinite(data.x).all()
    wave_, rate = read_wav(root / "7" / "en-us+m1_160_50.wav")
    assert rate == 22050 and 0.3 < len(wave_) / rate < 1.5 and wave_.abs().max() > 0.05  # about a word of sound
