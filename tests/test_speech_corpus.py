"""The built-in speech corpus's parts: seeded speakers and digit strings, clips spoken by espeak-ng in LJSpeech's
layout (skipped, saying why, where espeak-ng is not installed)."""

import shutil

import pytest
import torch

from neuronet.datasets.audio import read_wav
from neuronet.datasets.speech import (ACCENTS, DIGIT_WORDS, Speaker, digit_strings, speakers, synthesize,
                                      voice_variants, write_spoken_corpus)
from neuronet.errors import DataError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def test_speakers_are_seeded_and_use_every_variant_before_repeating_one():
    variants = [f"v{i}" for i in range(10)]
    first, again = speakers(25, seed=3, variants=variants), speakers(25, seed=3, variants=variants)
    assert first == again and first != speakers(25, seed=4, variants=variants)
    assert sorted(s.variant for s in first[:10]) == sorted(variants)  # ten different voices first
    assert all(s.accent in ACCENTS and 120 <= s.speed <= 210 and 20 <= s.pitch <= 80 for s in first)
    with pytest.raises(DataError, match="no voice variants"):
        speakers(2, seed=0, variants=[])


def test_digit_strings_are_seeded_words_of_one_to_seven_digits():
    texts = digit_strings(300, seed=1)
    assert texts == digit_strings(300, seed=1) and texts != digit_strings(300, seed=2)
    lengths = [len(t.split()) for t in texts]
    assert min(lengths) == 1 and max(lengths) == 7
    assert {w for t in texts for w in t.split()} == set(DIGIT_WORDS)


@needs_espeak
def test_espeak_lists_about_a_hundred_voice_variants():
    assert len(voice_variants()) >= 50 and "f3" in voice_variants()


@needs_espeak
def test_a_spoken_corpus_is_written_in_ljspeechs_layout_once(tmp_path):
    items = list(zip(["four one seven", "-s 5 is not an option"], speakers(2, seed=0, variants=["f3", "m1"])))
    root = write_spoken_corpus(tmp_path / "corpus", items)
    assert (root / "metadata.csv").read_text() == "00000|four one seven\n00001|-s 5 is not an option\n"
    assert (root / "speakers.csv").read_text().splitlines()[1] == f"00000,{items[0][1].name}"
    wave, rate = read_wav(root / "wavs" / "00000.wav")
    assert rate == 22050 and 0.4 < wave.shape[-1] / rate < 4 and float(wave.abs().max()) > 0.05  # speech, not silence
    longer, _ = read_wav(root / "wavs" / "00001.wav")
    assert longer.shape[-1] > wave.shape[-1]  # the text was spoken, not read as espeak-ng's -s option
    stamp = (root / "wavs" / "00000.wav").stat().st_mtime_ns
    write_spoken_corpus(tmp_path / "corpus", items)
    assert (root / "wavs" / "00000.wav").stat().st_mtime_ns == stamp  # made once, then reused
    slow = synthesize("four one seven", Speaker("en-us", "f3", 120, 50), tmp_path / "slow.wav")
    assert read_wav(slow)[0].shape[-1] > wave.shape[-1] * (items[0][1].speed / 120) * 0.8
    assert not list(tmp_path.rglob("*.partial"))


@needs_espeak
def test_an_unknown_accent_is_one_sentence(tmp_path):  # (an unknown variant: espeak-ng speaks with its default)
    with pytest.raises(DataError, match="espeak-ng could not speak 'hello' as xx-nowhere\\+f3@150/50: .*voice does "
                                        "not exist"):
        synthesize("hello", Speaker("xx-nowhere", "f3", 150, 50), tmp_path / "x.wav")
    assert not list(tmp_path.iterdir())


@needs_espeak
def test_spoken_corpora_hold_out_whole_voices_for_validation_and_test(tmp_path):
    from neuronet.datasets.speech import spoken_digit_strings, spoken_sentences, voice_split

    data = spoken_digit_strings(data_dir=tmp_path, limit=10)
    assert (len(data), len(data.official_val), len(data.official_test)) == (10, 2, 2)
    assert data.task == "transcription" and data.layout == "speech" and "held out" in data.notes[0]
    voices = voice_split()
    assert not set(voices["train"]) & (set(voices["val"]) | set(voices["test"])) and len(voices["test"]) == 10
    corpus = next(tmp_path.glob("spoken_digit_strings/*"))
    heard = {part: {row.split("+")[1].split("@")[0] for row in (corpus / part / "speakers.csv").read_text().split()[1:]}
             for part in ("train", "val", "test")}
    assert heard["train"] <= set(voices["train"]) and heard["val"] <= set(voices["val"])
    assert heard["test"] <= set(voices["test"])
    again = spoken_digit_strings(data_dir=tmp_path, limit=10)  # made once, read again: the same clips
    assert again.y == data.y and all(torch.equal(a, b) for a, b in zip(again.x, data.x))
    sentences = spoken_sentences(data_dir=tmp_path, limit=5)
    assert not set(sentences.y) & set(sentences.official_test.y)  # other sentences, not only other voices
