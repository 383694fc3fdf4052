"""The Predictor: `nt.load(run)` predicts from what a user holds in memory, and stays light."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import neuronet as nt
from neuronet.datasets.audio import read_wav, synthesize_spoken_digits

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")



def test_tables_from_frames_records_and_files(table_run, tmp_path):
    path, frame = table_run
    predictor = nt.load(path)
    rows = frame.drop(columns="target").head(4)
    labels = predictor.predict(rows)
    assert labels.tolist() == predictor.predict(rows.to_dict("records")).tolist()
    assert predictor.predict(rows.iloc[0].to_dict()).tolist() == labels[:1].tolist()  # one record as a dict
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert predictor.predict(str(tmp_path / "rows.csv")).tolist() == labels.tolist()
    assert set(labels) <= {"benign", "malignant"} and predictor.classes == ["benign", "malignant"]
    proba = predictor.predict_proba(rows)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert [predictor.classes[i] for i in proba.argmax(axis=1)] == labels.tolist()
    messy = rows.copy()
    messy.loc[messy.index[0], "site"] = "west"  # a category never seen in training
    messy.loc[messy.index[1], "mean radius"] = None  # a missing value
    assert len(predictor.predict(messy)) == 4
    with pytest.raises(nt.DataError, match="lacks 1 column\\(s\\) the model was trained on: visit"):
        predictor.predict(rows.drop(columns="visit"))
    assert predictor.predict(rows.drop(columns="record")).tolist() == labels.tolist()  # left out, so not needed
    rows.head(1).to_csv(tmp_path / "first.csv", index=False)
    rows.tail(3).to_csv(tmp_path / "rest.csv", index=False)
    both = predictor.predict([str(tmp_path / "first.csv"), str(tmp_path / "rest.csv")])  # several files
    assert both.tolist() == labels.tolist()


def test_evaluate_reproduces_the_test_metrics_without_rebuilding_the_pipeline(table_run, digits_run, text_run):
    for path in (table_run[0], digits_run, text_run):
        saved = json.loads((path / "metrics.json").read_text())["test"]
        again = nt.runs.evaluate_run(path)
        assert again == pytest.approx(saved, rel=1e-6), path.name


def test_images_from_pil_arrays_tensors_files_and_folders(digits_run, digits, tmp_path):
    predictor = nt.load(digits_run)
    x = digits.x[:6]
    labels = predictor.predict(x)  # float tensors of the training shape: taken as they are
    assert labels.tolist() == predictor.predict(x.numpy()).tolist() == predictor.predict(list(x)).tolist()
    pixels = (x[:, 0].numpy() * 255).round().astype(np.uint8)
    pictures = [Image.fromarray(p, mode="L") for p in pixels]
    assert predictor.predict(pictures).tolist() == labels.tolist()  # PIL images
    assert predictor.predict(pixels).tolist() == labels.tolist()  # a batch of (H, W) uint8 arrays
    big = [p.resize((32, 32), Image.NEAREST).convert("RGB") for p in pictures]  # another size and mode: converted
    assert (predictor.predict(big) == labels).mean() >= 0.8
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, p in enumerate(pictures):
        p.save(folder / f"{i}.png")
    frame = predictor.predict_frame(str(folder))
    assert frame["input"].tolist() == [str(folder / f"{i}.png") for i in range(6)]
    assert frame["prediction"].tolist() == labels.tolist()
    with pytest.raises(nt.DataError, match="cannot be read"):
        (folder / "bad.png").write_bytes(b"not a picture")
        predictor.predict(str(folder / "bad.png"))


def test_image_arrays_in_every_layout_and_bad_ones(digits_run, digits):
    predictor = nt.load(digits_run)  # a greyscale 8x8 model
    grey = (digits.x[:3, 0].numpy() * 255).astype(np.uint8)  # (3, 8, 8): three greyscale images
    labels = predictor.predict([g for g in grey])
    assert predictor.predict(grey).tolist() == labels.tolist()
    for bad, message in (([], "nothing to predict"), (np.zeros((0, 0, 3)), "is empty"),
                         (np.full((8, 8), np.nan), "NaN or infinite")):
        with pytest.raises(nt.DataError, match=message):
            predictor.predict(bad)


@pytest.mark.slow
def test_evaluate_an_image_run_on_a_labelled_folder(digits_run, digits, tmp_path):
    root = tmp_path / "labelled"
    for i in range(40):
        (root / str(int(digits.y[i]))).mkdir(parents=True, exist_ok=True)
        Image.fromarray((digits.x[i, 0].numpy() * 255).round().astype(np.uint8), mode="L").save(root / str(int(digits.y[i])) / f"{i}.png")
    result = subprocess.run([sys.executable, "-m", "neuronet", "evaluate", str(digits_run), "--data", str(root),
                             "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] > 0.8


def test_text_files_give_one_prediction_per_line_and_paths_are_not_texts(text_run, digits, tmp_path):
    predictor = nt.load(text_run)
    (tmp_path / "t.txt").write_bytes(b"what a day\r\n\r\nso sad\rreally\n")  # a blank line, a bare CR inside
    frame = predictor.predict_frame(str(tmp_path / "t.txt"))
    assert frame["input"].tolist() == ["what a day", "so sad\rreally"]  # each line once, with its text
    pd.DataFrame({"text": ["fine", None]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(nt.DataError, match="has 1 empty 'text' cell\\(s\\) \\(data row\\(s\\) 2\\)"):  # not the text "nan"
        predictor.predict(str(tmp_path / "t.csv"))
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "photo.png")
    with pytest.raises(nt.DataError, match="photo.png is a file, not a text"):
        predictor.predict(str(tmp_path / "photo.png"))


def test_texts_from_strings_lists_series_and_files(text_run, tmp_path):
    predictor = nt.load(text_run)
    texts = ["I love my new phone, best day ever", "worst service ever @Apple", "the meeting is at noon"]
    labels = predictor.predict(texts)
    assert len(labels) == 3 and set(labels) <= set(predictor.classes)
    assert predictor.predict(texts[0]).tolist() == labels[:1].tolist()  # one string
    assert predictor.predict(pd.Series(texts)).tolist() == labels.tolist()
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n")
    assert predictor.predict(str(tmp_path / "t.txt")).tolist() == labels.tolist()
    pd.DataFrame({"text": texts, "sentiment": ["positive", "negative", "neutral"]}).to_csv(tmp_path / "t.csv", index=False)
    assert predictor.predict(str(tmp_path / "t.csv")).tolist() == labels.tolist()
    metrics = nt.runs.evaluate_run(text_run, str(tmp_path / "t.csv"))  # a labelled text file
    assert 0 <= metrics["accuracy"] <= 1 and "loss" in metrics


def test_series_from_arrays_and_tables(tmp_path, train_small):
    path = train_small("airline", "data.source=airline", "model.type=lstm", "model.hidden=8",
               "model.residual=true", "data.scale=none", "train.epochs=3")
    predictor = nt.load(path)
    history = nt.datasets.load("airline").official_test.x[0, :, 0]  # 24 months of log(passengers)
    one = predictor.predict(history.numpy())
    assert one.shape == (1, 1) and abs(float(one[0, 0]) - float(history[-1])) < 0.5
    two = predictor.predict([history.numpy(), history.numpy()[:-1].tolist() + [6.0]])
    assert two.shape == (2, 1) and two[0, 0] == pytest.approx(float(one[0, 0]))
    with pytest.raises(nt.DataError, match="too short: the model reads the last 24"):
        predictor.predict(history.numpy()[:10])
    gappy = history.numpy().astype(object)
    gappy[5] = None  # a gap, filled by interpolation as in training
    filled = history.numpy().copy()
    filled[5] = (filled[4] + filled[6]) / 2
    assert predictor.predict(gappy)[0, 0] == pytest.approx(float(predictor.predict(filled)[0, 0]))
    records = [{"value": float(v)} for v in history]  # rows as records, oldest first
    assert predictor.predict(records)[0, 0] == pytest.approx(float(one[0, 0]))
    with pytest.raises(nt.DataError, match="reads 1 value\\(s\\) per time step \\(value\\); the series has 2"):
        predictor.predict(np.stack([history.numpy(), history.numpy()], axis=1))
    with pytest.raises(nt.DataError, match="as a series of numbers"):
        predictor.predict(["a", "b"] * 12)


def test_autoencoder_scores_and_codes_and_gan_samples(digits, train_small):
    ae = nt.load(train_small("ae", "model.type=autoencoder", "model.latent=4", "train.epochs=2"))
    scores, codes = ae.scores(digits.x[:5]), ae.encode(digits.x[:5])
    assert scores.shape == (5,) and (scores > 0).all() and codes.shape == (5, 4)
    assert list(ae.predict_frame(digits.x[:5]).columns) == ["anomaly_score", "z_0", "z_1", "z_2", "z_3"]
    gan = nt.load(train_small("gan", "model.type=dcgan", "model.width=8", "model.latent=8", "train.epochs=1"))
    images = gan.sample(3, seed=1)
    assert images.shape == (3, 1, 8, 8) and 0 <= images.min() and images.max() <= 1
    assert np.array_equal(images, gan.sample(3, seed=1))
    with pytest.raises(nt.ConfigError, match="A GAN generates images"):
        gan.predict(digits.x[:2])


@needs_espeak
def test_audio_from_waveforms_wav_files_and_folders(tmp_path_factory, tmp_path, train_small):
    root = synthesize_spoken_digits(tmp_path_factory.mktemp("speech") / "sd", ["en-us+m1", "en-gb+f2"],
                                    speeds=(160,), pitches=(50,))
    predictor = nt.load(train_small("audio", f"data.source={root}", "data.val=0", "data.test=0.5",
                            "model.channels=[8]", "model.hidden=16", "train.epochs=2"))
    wav = root / "7" / "en-us+m1_160_50.wav"
    wave_, rate = read_wav(wav)
    label = predictor.predict(str(wav))
    assert predictor.predict(wave_.numpy()).tolist() == label.tolist()  # a waveform at the training rate
    slower = torch.from_numpy(np.interp(np.arange(0, len(wave_), 0.5), np.arange(len(wave_)), wave_.numpy()))
    assert len(predictor.predict((slower.numpy(), rate * 2))) == 1  # another rate: resampled
    frame = predictor.predict_frame(str(root / "7"))
    assert len(frame) == 2 and frame["input"].str.endswith(".wav").all()
    proba = predictor.predict_proba(wave_.numpy())
    pcm = np.round(wave_.numpy() * 32768).clip(-32768, 32767).astype(np.int16)  # samples as a WAV holds them
    assert np.allclose(predictor.predict_proba(pcm), proba, atol=1e-4)
    stereo = np.stack([wave_.numpy(), wave_.numpy()], axis=1)  # (samples, channels), as soundfile reads it
    assert np.allclose(predictor.predict_proba(stereo), proba, atol=1e-5)
    assert np.allclose(predictor.predict_proba(stereo.T), proba, atol=1e-5)  # (channels, samples), as torchaudio
    batch = np.stack([wave_.numpy()] * 3)  # (clips, samples)
    assert predictor.predict(batch).tolist() == label.tolist() * 3
    for bad, message in ((np.zeros(0, dtype=np.float32), "is empty"), (np.full(800, np.nan), "not all finite"),
                         ((wave_.numpy(), 0), "sample rate .* must be a positive whole number")):
        with pytest.raises(nt.DataError, match=message):
            predictor.predict(bad)


LIGHT_CHECK = """
import sys, numpy as np, neuronet as nt
p = nt.load({run!r})
print(p.predict({inputs}), p.predict_frame({inputs}).shape)
ours = [m for m in sys.modules if m.startswith(("neuronet.train", "neuronet.runs.train", "neuronet.runs.build",
                                                 "neuronet.plots", "neuronet.config", "matplotlib"))]
assert not ours, ours
rich = [m for m in sys.modules if m.startswith("rich")]
assert not rich or "sklearn.callback" in sys.modules, rich  # scikit-learn >= 1.9 imports rich for its own bars
print("sklearn" in sys.modules, bool(rich))
"""


@pytest.mark.slow
def test_predicting_imports_no_training_code_no_progress_bars_no_plots(digits_run, text_run, table_run, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), dtype=np.float32))
    table = tmp_path / "rows.csv"
    table_run[1].drop(columns="target").head(3).to_csv(table, index=False)
    cases = [(digits_run, f"np.load({str(tmp_path / 'x.npy')!r})", "False False"),  # images: no scikit-learn at all
             (text_run, "['what a day', 'so sad']", "False False"),
             (table_run[0], repr(str(table)), "True True")]  # tables are prepared with scikit-learn
    for run_dir, inputs, expected in cases:
        code = LIGHT_CHECK.format(run=str(run_dir), inputs=inputs)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == expected, result.stdout
