"""Speech to text, its parts: the CTC model reads clips of any length the same alone or padded, the loss and
the error rates are torch's and jiwer's, the pipeline step, recording augmentations, recordings folders as a
source, and the one-sentence refusals of recordings that cannot be transcribed."""

import math
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

import neuronet as nt
from neuronet.datasets import Dataset
from neuronet.datasets.augment import build_augmentations, check_augmentations
from neuronet.datasets.sources import find_source
from neuronet.datasets.transcribed import is_transcribed_folder, load_transcribed, speech_dataset
from neuronet.datasets.transcripts import Alphabet, SpeechTranscripts
from neuronet.errors import ConfigError, DataError
from neuronet.models import CTCOutput, SpeechCTC
from neuronet.models.speech import LogMel, wave_lengths
from neuronet.nn.losses import CTCLoss
from neuronet.tasks import Transcription
from neuronet.tasks.transcription import error_rates, label_texts

RATE = 16_000


def tone(seconds: float, freq: float = 440.0, rate: int = RATE, amplitude: float = 0.3) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return amplitude * torch.sin(2 * math.pi * freq * t) * (1 + 0.5 * torch.sin(2 * math.pi * 3 * t))


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels), f.setsampwidth(2), f.setframerate(rate)
        f.writeframes(pcm.tobytes())
    return path


# --- the model -------------------------------------------------------------------------------
def test_a_clip_ends_at_its_last_non_zero_sample():
    x = torch.zeros(3, 10)
    x[0, :4], x[1, 2], x[2, :] = 1.0, -0.5, 0.1
    assert wave_lengths(x).tolist() == [4, 3, 10]


def test_log_mel_frames_are_normalised_per_clip_so_loudness_does_not_change_them():
    frames = LogMel(RATE, 40)
    clip = (tone(1.0) + 0.05 * torch.randn(RATE, generator=torch.Generator().manual_seed(0)))[None]  # every band heard
    quiet, loud = frames(clip, torch.tensor([RATE]))[0], frames(4 * clip, torch.tensor([RATE]))[0]
    assert torch.allclose(quiet, loud, atol=1e-3)
    assert abs(float(quiet.mean())) < 1e-4 and abs(float(quiet.std(dim=-1).mean()) - 1) < 0.05


@pytest.mark.parametrize("encoder", ["gru", "lstm", "transformer"])
def test_padding_never_changes_a_clips_output(encoder):
    model = SpeechCTC((RATE,), 12, n_mels=40, channels=4, encoder=encoder, hidden=16, layers=2, seed=0).eval()
    short, long = tone(0.6, 300), tone(1.3, 500)
    alone = model(short[None])
    batch = torch.zeros(2, len(long))
    batch[0, : len(short)], batch[1] = short, long
    together = model(batch)
    n = int(alone.lengths[0])
    assert together.lengths.tolist() == [n, int(model(long[None]).lengths[0])]
    assert torch.allclose(alone.log_probs[0, :n], together.log_probs[0, :n], atol=1e-4)


def test_spec_augment_masks_only_while_training():
    model = SpeechCTC((RATE,), 8, n_mels=40, channels=4, hidden=8, layers=1, freq_masks=2, freq_width=20,
                      time_masks=2, time_width=0.3, seed=0)
    clip = tone(1.0)[None]
    torch.manual_seed(0)
    trained = [model.train()(clip).log_probs for _ in range(2)]
    model.eval()
    assert torch.equal(model(clip).log_probs, model(clip).log_probs)  # no masks: the same every time
    assert not torch.allclose(trained[0], trained[1])  # other masks each time


def test_model_options_are_checked_in_one_sentence():
    with pytest.raises(ConfigError, match="'encoder' of model speech_ctc must be gru, lstm or transformer"):
        SpeechCTC((RATE,), 8, encoder="conformer")
    with pytest.raises(ConfigError, match="'hidden' of model speech_ctc"):
        SpeechCTC((RATE,), 8, hidden=0)


# --- loss and error rates ---------------------------------------------------------------------
def test_ctc_loss_is_torchs_mean_and_the_kept_outputs_give_the_same_number():
    torch.manual_seed(0)
    log_probs = torch.randn(3, 20, 6).log_softmax(-1)
    lengths, targets = torch.tensor([20, 15, 9]), torch.tensor([[1, 2, 3, 0], [4, 4, 0, 0], [5, 1, 2, 1]])
    expected = torch.nn.CTCLoss(zero_infinity=True)(log_probs.transpose(0, 1), targets, lengths, torch.tensor([3, 2, 4]))
    out = CTCOutput(log_probs, lengths)
    assert torch.allclose(CTCLoss()(out, targets), expected)
    kept = Transcription().compact(out, targets)
    assert torch.allclose(CTCLoss()(kept, targets), expected)
    impossible = CTCLoss()(CTCOutput(log_probs[:1, :2], torch.tensor([2])), torch.tensor([[1, 1, 1, 1]]))
    assert float(impossible) == 0.0  # a transcript longer than its clip: dropped, not infinite


def test_error_rates_are_jiwers_and_label_ids_count_words_without_an_alphabet():
    import jiwer

    said, heard = ["four one seven", "nine two"], ["for one seven", "nine"]
    assert error_rates(said, heard) == {"wer": round(jiwer.wer(said, heard), 6), "cer": round(jiwer.cer(said, heard), 6)}
    alphabet = Alphabet.fit(said)
    ids = lambda texts: torch.nn.utils.rnn.pad_sequence([torch.tensor(alphabet.encode(t)) for t in texts],  # noqa: E731
                                                        batch_first=True)
    scores = Transcription().score((torch.zeros(2), ids(heard)), ids(said))
    assert scores == pytest.approx(error_rates(said, heard))
    assert label_texts(ids(["ab c"]))[0].count(" ") == 1


def test_the_space_is_always_label_one():
    alphabet = Alphabet.fit(["yes", "no"])  # no space in any transcript
    assert alphabet.symbols[:2] == ["<blank>", " "] and alphabet.decode(alphabet.encode("no yes")) == "no yes"
    with pytest.raises(DataError, match="a space"):
        Alphabet(["<blank>", "a", " "])


# --- the pipeline step -------------------------------------------------------------------------
def test_transcripts_step_pads_waveforms_and_labels_and_round_trips_through_json():
    raw = Dataset([tone(0.5), tone(0.2)], ["ab c", "ca"], "transcription", inputs={"kind": "speech", "rate": RATE})
    step = SpeechTranscripts().fit(raw)
    ready = step.transform(raw)
    assert ready.x.shape == (2, RATE // 2) and ready.layout == "speech" and ready.num_outputs == len(step.alphabet) == 5
    assert step.alphabet.decode(ready.y[1].tolist()) == "ca" and bool((ready.x[1, RATE // 5:] == 0).all())
    again = SpeechTranscripts.from_dict(step.to_dict())
    held_out = Dataset([tone(0.3)], ["abz"], "transcription", inputs={"kind": "speech", "rate": RATE})
    assert again.transform(held_out).y.tolist() == [[2, 3]]  # 'z' was never in training: it cannot be emitted
    assert "1 training" not in again.summary() and "2 training transcripts" in again.summary()


# --- augmentation of recordings ----------------------------------------------------------------
def test_volume_noise_and_speed_change_the_clips_and_keep_padding_silent():
    x = torch.zeros(2, RATE)
    x[0, : RATE // 2], x[1] = tone(0.5), tone(1.0)
    y = torch.tensor([[1, 2], [3, 0]])
    torch.manual_seed(0)
    louder, _ = build_augmentations([{"type": "volume", "db": [6, 6]}])(x, y)
    assert torch.allclose(louder, (x * 10 ** (6 / 20)).clamp(-1, 1))
    noisy, _ = build_augmentations([{"type": "noise", "snr_db": [20, 20]}])(x, y)
    assert bool((noisy[0, RATE // 2:] == 0).all())  # the padding stays padding
    snr = 10 * math.log10(float(x[1].pow(2).mean() / (noisy[1] - x[1]).pow(2).mean()))
    assert abs(snr - 20) < 0.5
    slower, same_y = build_augmentations([{"type": "speed", "factors": [0.8, 0.8]}])(x, y)
    assert torch.equal(same_y, y) and wave_lengths(slower).tolist() == [RATE // 2 * 5 // 4, RATE * 5 // 4]
    with pytest.raises(ConfigError, match="'snr_db' of a recording augmentation"):
        build_augmentations([{"type": "noise", "snr_db": [40, 10]}])
    with pytest.raises(ConfigError, match="applies to recordings"):
        check_augmentations([{"type": "speed"}], "image")
    with pytest.raises(ConfigError, match="applies to images and spectrograms"):
        check_augmentations([{"type": "hflip"}], "speech")


# --- recordings as data --------------------------------------------------------------------------
def test_clips_that_cannot_be_learnt_from_are_left_out_and_said(tmp_path):
    files = {"ok": tone(1.5).numpy(), "long": tone(3.0).numpy(), "short": tone(0.05).numpy(),
             "silent": np.zeros(RATE), "dense": tone(0.2).numpy()}
    paths = [write_wav(tmp_path / f"{name}.wav", samples) for name, samples in files.items()]
    texts = ["Flight 417 is 50% full!", "a", "a", "a", "x" * 11]
    data = speech_dataset(paths, texts, "mine", max_seconds=2)
    assert data.y == ["flight four hundred and seventeen is fifty percent full"] and data.ids == [str(paths[0])]
    said = " ".join(data.notes)
    for what in ("longer than 2 s", "shorter than 0.1 s", "silent", "more than 50 characters a second", "normalised"):
        assert what in said
    with pytest.raises(DataError, match="No recording of 'mine' can be learnt from: 1 silent"):
        speech_dataset(paths[3:4], ["a"], "mine")
    with pytest.raises(ConfigError, match="data.options.rate"):
        speech_dataset(paths[:1], ["a"], "mine", rate=100)


def test_any_rate_and_channel_count_is_read_as_the_training_rate_in_mono(tmp_path):
    clip = tone(1.0, rate=44_100).numpy()
    write_wav(tmp_path / "a.wav", clip, 44_100, channels=2)
    (tmp_path / "a.txt").write_text("hello there\n")
    write_wav(tmp_path / "b.wav", tone(1.0, rate=8_000).numpy(), 8_000)
    (tmp_path / "b.txt").write_text("General Kenobi.")
    data = load_transcribed(tmp_path)
    assert [len(w) for w in data.x] == [RATE, RATE] and data.y == ["hello there", "general kenobi"]
    assert "8,000 Hz x1, 44,100 Hz x1" in data.notes[0] and data.layout == "speech"


def test_recordings_folders_are_told_from_class_folders_and_text(tmp_path):
    ljspeech = tmp_path / "lj"
    (ljspeech / "wavs").mkdir(parents=True)
    write_wav(ljspeech / "wavs" / "x1.wav", tone(0.5).numpy())
    (ljspeech / "metadata.csv").write_text("x1|Hello.\n")
    pairs = tmp_path / "pairs" / "speaker1"
    pairs.mkdir(parents=True)
    write_wav(pairs / "c.wav", tone(0.5).numpy())
    (pairs / "c.txt").write_text("hi")
    classes = tmp_path / "classes" / "yes"
    classes.mkdir(parents=True)
    write_wav(classes / "c.wav", tone(0.5).numpy())
    table = tmp_path / "table"
    table.mkdir()
    write_wav(table / "c.wav", tone(0.5).numpy())
    (table / "clips.tsv").write_text("path\ttext\nc.wav\thi\n")
    assert [find_source(str(p))[0] for p in (ljspeech, pairs.parent, classes.parent, table)] == \
        ["recordings", "recordings", "audio folder", "recordings"]
    assert find_source(str(table / "clips.tsv"))[0] == "recordings"  # the table itself
    assert not is_transcribed_folder(str(tmp_path / "nowhere"))


def test_an_official_validation_part_replaces_the_carved_one():
    data = Dataset(torch.zeros(20, 2), torch.arange(20) % 2)
    data.official_val = Dataset(torch.ones(4, 2), torch.tensor([0, 1, 0, 1]))
    train, val, test = data.split(val=0.2, test=0.2, seed=0)
    assert val is data.official_val and len(train) + len(test) == 20
    assert data.split(val=0.0, test=0.2)[1] is None


# --- predicting from recordings ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def predictor():
    from neuronet.datasets import Pipeline

    raw = Dataset([tone(0.5), tone(0.7)], ["ab", "ba"], "transcription", inputs={"kind": "speech", "rate": RATE,
                                                                                 "max_seconds": 30})
    pipeline = Pipeline([SpeechTranscripts()]).fit(raw)
    ready = pipeline.transform(raw)
    model = SpeechCTC(tuple(ready.x.shape[1:]), ready.num_outputs, n_mels=40, channels=4, hidden=8, layers=1, seed=0)
    return nt.predict.Predictor(model.eval(), pipeline, Transcription(), ready.meta(), "ctc")


def test_recordings_are_transcribed_from_files_arrays_and_pairs(predictor, tmp_path):
    path = write_wav(tmp_path / "stereo.wav", tone(0.8, rate=44_100).numpy(), 44_100, channels=2)
    texts = predictor.predict([str(path), tone(0.5).numpy(), (tone(0.5, rate=8_000).numpy(), 8_000)])
    assert len(texts) == 3 and all(isinstance(t, str) and set(t) <= set(" ab") for t in texts)
    beam = predictor.transcribe([str(path)] * 2, beam=4)
    assert len(beam) == 2 and beam[0] == beam[1] and set(beam[0]) <= set(" ab")
    with pytest.raises(ConfigError, match="beam width"):
        predictor.transcribe(str(path), beam=0)
    frame = predictor.predict_frame(str(tmp_path))
    assert list(frame.columns) == ["input", "seconds", "prediction"] and frame["seconds"].tolist() == [0.8]


def _written(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: write_wav(d / "short.wav", tone(0.05).numpy()), "too short to hold a word"),
    (lambda d: write_wav(d / "slow.wav", tone(0.5, rate=2_000).numpy(), 2_000), "2,000 Hz, too slow to hold speech"),
    (lambda d: _written(d / "text.wav", b"not audio at all"), "not a WAV file"),
    (lambda d: _written(d / "empty.wav", b""), "is empty"),
])
def test_recordings_that_cannot_be_transcribed_are_refused_in_one_sentence(predictor, tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError, match=message) as caught:
        predictor.predict(str(path))
    assert str(caught.value).count(". ") <= 1


def test_silence_is_transcribed_rather_than_refused(predictor):
    texts = predictor.predict(np.zeros(RATE, dtype=np.float32))
    assert len(texts) == 1 and isinstance(texts[0], str)
