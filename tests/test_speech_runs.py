"""Speech to text end to end, from a user's folder of recordings: `neuronet train`, predict (a clip, a folder,
CSV), evaluate (WER, CER, the clips transcribed worst), explain --alignment, `nt.load(run).predict(waveform)`,
the service's /predict/file and /predict, and the web page's upload and microphone recording in a real browser.
Recordings are spoken by espeak-ng (skipped, saying why, where it is not installed)."""

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.datasets.audio import read_wav
from neuronet.datasets.speech import Speaker, digit_strings, synthesize

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")]
runner = CliRunner()
TINY = ["model.hidden=24", "model.layers=1", "model.channels=4", "model.n_mels=40", "train.epochs=2",
        "train.batch_size=8", "train.lr=0.003"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def resampled(path: Path, rate: int, channels: int) -> None:
    """The clip at `path` rewritten at `rate` Hz with `channels` channels (as a phone or a studio records)."""
    from neuronet.datasets.audio import resample_wave

    samples, clip_rate = read_wav(path)
    pcm = (resample_wave(samples, clip_rate, rate).clamp(-1, 1).numpy() * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels), f.setsampwidth(2), f.setframerate(rate)
        f.writeframes(np.repeat(pcm[:, None], channels, axis=1).tobytes())


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    """A user's folder: name.wav beside name.txt, at 8 kHz mono, 22.05 kHz and 44.1 kHz stereo, numbers as digits."""
    root = tmp_path_factory.mktemp("recordings")
    for i, text in enumerate(digit_strings(40, seed=5, words=(1, 3))):
        speaker = Speaker(("en-us", "en")[i % 2], ("m1", "f2", "m3")[i % 3], 150 + 5 * (i % 5), 50)
        synthesize(text, speaker, root / f"clip{i:02d}.wav")
        if i % 3 == 1:
            resampled(root / f"clip{i:02d}.wav", 8_000, 1)
        elif i % 3 == 2:
            resampled(root / f"clip{i:02d}.wav", 44_100, 2)
        said = " ".join(str("zero one two three four five six seven eight nine".split().index(w)) for w in text.split())
        (root / f"clip{i:02d}.txt").write_text(said + ("." if i % 2 else "") + "\n")  # "4 1 7." as a person writes
    return root


@pytest.fixture(scope="module")
def run(recordings, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = invoke("train", "--set", f"data.source={recordings}", *[a for s in TINY for a in ("--set", s)],
                    "--set", f"output_dir={out}", "--name", "speech", "-q")
    assert result.exit_code == 0, result.output
    assert "transcripts normalised as read aloud" in result.output and "8,000 Hz" in result.output
    return out / "speech"


def test_a_folder_of_recordings_trains_and_evaluates_with_wer_cer_and_the_worst_clips(run):
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"wer", "cer", "loss"} <= set(metrics["test"]) and metrics["examples"]
    assert (run / "plots" / "alignment.png").stat().st_size > 5000
    state = json.loads((run / "preprocessing.json").read_text())
    assert state["pipeline"]["steps"][0]["alphabet"]["symbols"][:2] == ["<blank>", " "]
    result = invoke("evaluate", run)
    assert result.exit_code == 0, result.output
    assert "wer" in result.output and "cer" in result.output and "most errors" in result.output
    shown = json.loads(invoke("evaluate", run, "--json").output)
    assert shown["wer"] == pytest.approx(metrics["test"]["wer"]) and len(shown["worst"]) == 5


def test_evaluate_on_another_folder_of_recordings(run, recordings, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in ("clip03", "clip04", "clip05"):
        for suffix in (".wav", ".txt"):
            shutil.copy(recordings / f"{name}{suffix}", other / f"{name}{suffix}")
    result = invoke("evaluate", run, "--data", other, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert {"wer", "cer"} <= set(shown) and len(shown["worst"]) == 3
    assert invoke("evaluate", run, "--data", recordings / "clip03.wav").exit_code != 0  # no transcripts: refused


def test_predict_a_clip_a_folder_and_a_waveform(run, recordings, tmp_path):
    clip = recordings / "clip02.wav"  # 44.1 kHz stereo
    result = invoke("predict", run, clip)
    assert result.exit_code == 0, result.output
    expected = nt.load(run).predict(str(clip))[0]
    assert expected in result.output
    result = invoke("predict", run, recordings, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(table.columns) == ["input", "seconds", "prediction"] and len(table) == 40
    samples, rate = read_wav(clip)
    assert nt.load(run).predict((samples.numpy(), rate)) == [expected]
    assert invoke("predict", run, tmp_path / "out.csv").exit_code != 0  # not a recording: refused
    searched = invoke("predict", run, clip, "--beam", "4", "--words")
    assert searched.exit_code == 0, searched.output
    heard = searched.output.strip().splitlines()[-1].split(",", 2)[2]
    assert set(heard.split()) <= set("zero one two three four five six seven eight nine".split())
    assert heard == nt.load(run).transcribe(str(clip), beam=4, words=True)[0]


def test_explain_draws_the_alignment_of_test_clips(run):
    result = invoke("explain", run, "--alignment", "--examples", "0,1")
    assert result.exit_code == 0, result.output
    assert (run / "explain" / "alignment_1.png").stat().st_size > 5000
    assert invoke("explain", run, "--tsne").exit_code != 0  # not a part of a transcription run


def test_the_service_transcribes_uploads_and_waveforms_and_refuses_what_is_not_audio(run, recordings):
    from test_deploy import Server

    server = Server(run)
    try:
        clip = recordings / "clip01.wav"
        expected = nt.load(run).predict(str(clip))[0]
        upload = server.post("/predict/file", files={"file": ("clip.wav", clip.read_bytes(), "audio/wav")})
        assert upload.status_code == 200, upload.text
        assert upload.json()["predictions"][0] == {"transcript": expected, "seconds": pytest.approx(read_wav(clip)[0].shape[0] / 8000, abs=0.01)}
        samples, rate = read_wav(clip)
        answer = server.post("/predict", json={"waveform": samples.tolist(), "rate": rate})
        assert answer.status_code == 200 and answer.json()["transcript"] == expected
        import io

        short = io.BytesIO()
        with wave.open(short, "wb") as f:
            f.setnchannels(1), f.setsampwidth(2), f.setframerate(16_000)
            f.writeframes((np.ones(400) * 1000).astype("<i2").tobytes())  # 25 ms
        for name, body, message in (("x.wav", b"RIFF....WAVE", "cannot be read as WAV"),
                                    ("notes.txt", b"hello", "WAV"),
                                    ("short.wav", short.getvalue(), "too short")):
            refused = server.post("/predict/file", files={"file": (name, body, "audio/wav")})
            assert refused.status_code == 422 and message in refused.json()["detail"], refused.text
    finally:
        server.stop()


def test_the_page_uploads_a_recording_and_records_from_the_microphone(run, recordings, tmp_path):
    from test_deploy import Server, _browser

    sync_api, chromium = _browser()
    server = Server(run)
    errors = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
                "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "/", timeout=30_000)
            clip = recordings / "clip00.wav"
            page.set_input_files("[name='file']", str(clip))
            page.click("#predict")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            assert page.text_content("#prediction") == nt.load(run).predict(str(clip))[0]
            page.set_input_files("[name='file']", [])
            page.click("#record")  # Chromium's fake microphone: a beep, as MediaRecorder records it
            page.wait_for_timeout(1500)
            page.click("#record")
            page.wait_for_function("document.getElementById('recorded').textContent.includes('s recorded')",
                                   timeout=30_000)
            page.evaluate("document.getElementById('result').hidden = true")
            page.click("#predict")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            assert page.text_content("#error") == ""
            page.screenshot(path=str(tmp_path / "speech.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    assert not errors, errors
