from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import neuronet as nt
from neuronet.datasets import Scaler, TargetScaler, epoch_permutation, load, tensor_batches
from neuronet.datasets.builtin import FASHION_MNIST_DIR, read_idx
from neuronet.errors import ConfigError, DataError

from conftest import write_csv

EXPECTED = {  # name: (examples, input shape, outputs, task)
    "digits": (1797, (1, 8, 8), 10, "classification"),
    "iris": (150, (4,), 3, "classification"),
    "wine": (178, (13,), 3, "classification"),
    "breast_cancer": (569, (30,), 2, "classification"),
    "diabetes": (442, (10,), 1, "regression"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_sets_have_the_documented_shape(name):
    n, shape, outputs, task = EXPECTED[name]
    data = load(name)
    assert (len(data), data.input_shape, data.num_outputs, data.task) == (n, shape, outputs, task)
    assert data.x.dtype == torch.float32
    assert torch.isfinite(data.x).all()
    assert data.feature_names and len(data.feature_names) == int(np.prod(shape))
    if task == "classification":
        assert data.y.dtype == torch.long and int(data.y.max()) == outputs - 1


def test_every_registered_set_is_covered():
    # fashion_mnist: below; airline, gunpoint, mnist1d, tweets: test_sequences_text.py; spoken_digits: test_audio.py;
    # fortunes, shakespeare, verses_en_es: test_language_data.py; spoken_digit_strings, spoken_sentences:
    # test_speech_corpus.py; fashion_scenes, fashion_scene_masks: test_scenes.py, test_vision_runs.py
    assert set(nt.datasets.names()) == set(EXPECTED) | {"fashion_mnist", "airline", "gunpoint", "mnist1d", "tweets",
                                                          "spoken_digits", "fortunes", "shakespeare", "verses_en_es",
                                                          "spoken_digit_strings", "spoken_sentences", "fashion_scenes",
                                                          "fashion_scene_masks"}


def test_digits_pixels_are_scaled_to_unit_range(digits):
    assert float(digits.x.min()) == 0.0 and float(digits.x.max()) == 1.0


def test_split_is_stratified_seeded_and_disjoint(digits):
    train, val, test = digits.split(val=0.1, test=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (1257, 180, 360)
    again = digits.split(val=0.1, test=0.2, seed=0)
    assert all(torch.equal(a.x, b.x) for a, b in zip((train, val, test), again))
    other = digits.split(val=0.1, test=0.2, seed=1)
    assert not torch.equal(test.x, other[2].x)
    for part in (train, val, test):  # class proportions kept within one example per class
        counts = torch.bincount(part.y, minlength=10).double() / len(part)
        overall = torch.bincount(digits.y, minlength=10).double() / len(digits)
        assert (counts - overall).abs().max() < 1.5 / len(part) * 10
    rows = {tuple(r.tolist()) for r in digits.x.flatten(1)}
    assert len(rows) > 1700  # (digits holds a few duplicate images; the parts still partition the rows)
    assert len(train) + len(val) + len(test) == len(digits)


def test_split_zero_fraction_gives_none_and_bad_fractions_fail():
    data = load("iris")
    train, val, test = data.split(val=0, test=0.2)
    assert val is None and len(train) == 120
    with pytest.raises(ConfigError, match="'val' fraction"):
        data.split(val=-0.1)
    with pytest.raises(ConfigError, match="below 1"):
        data.split(val=0.5, test=0.5)


def test_split_with_a_single_example_class_is_a_clear_error():
    data = nt.datasets.Dataset(torch.randn(10, 2), torch.tensor([0] * 9 + [1]), "classification", "tiny",
                               class_names=["common", "rare"])
    with pytest.raises(DataError, match=r"Cannot split 'tiny' keeping class proportions: 1 of its 2 classes has a "
                                        r"single example \('rare'\).*set task: regression"):
        data.split(val=0.2, test=0.2)
    twice = nt.datasets.Dataset(torch.randn(20, 2), torch.tensor([0] * 18 + [1] * 2), "classification", "tiny",
                                class_names=["common", "rare"])
    with pytest.raises(DataError, match=r"keeping class proportions: once the test part is held out, 1 of its 2 "
                                        r"classes has a single example left \('rare'\)"):  # (was: "a single example")
        twice.split(val=0.2, test=0.5, seed=0)
    many = nt.datasets.Dataset(torch.randn(16, 2), torch.arange(16), "classification", "longley")
    with pytest.raises(DataError) as error:
        many.split(val=0.1, test=0.2)
    assert len(str(error.value)) < 300  # not sixteen class numbers and scikit-learn's paragraph


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_reads_the_real_idx_files():
    data = load("fashion_mnist", limit=500, test_limit=200)
    assert data.input_shape == (1, 28, 28) and len(data) == 500 and len(data.official_test) == 200
    assert data.class_names[0] == "T-shirt/top" and 0.0 <= float(data.x.min()) and float(data.x.max()) <= 1.0
    labels = read_idx(FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and np.bincount(labels).tolist() == [1000] * 10
    train, val, test = data.split(val=0.2)
    assert test is data.official_test and len(train) + len(val) == 500


def test_fashion_mnist_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load("fashion_mnist", data_dir=tmp_path)


def test_idx_reader_rejects_a_non_idx_file(tmp_path):
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(bad)


def test_csv_with_text_target_is_classification(iris_csv):
    data = load(str(iris_csv), target="target")
    assert data.task == "classification" and data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.layout == "frame" and data.feature_names[0] == "sepal_length"  # raw columns until prepared
    train, _, _ = nt.datasets.prepare(data)
    assert train.input_shape == (4,) and train.feature_names[0] == "sepal_length"


def test_parquet_with_numeric_target(cancer_parquet):
    data = load(str(cancer_parquet), target="target")
    assert data.task == "classification" and data.num_outputs == 2 and data.x.shape[1] == 30
    reg = load(str(cancer_parquet), target="mean radius")
    assert reg.task == "regression" and reg.num_outputs == 1


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "absent.csv", "does not exist"),
    (lambda p: write(p / "empty.csv", ""), "is empty"),
    (lambda p: write(p / "head.csv", "a,b,target\n"), "no data rows"),
    (lambda p: write_csv(p / "t.csv", pd.DataFrame({"a": [1, 2], "b": [3, 4]})), "Target column 'target' is not in"),
    (lambda p: write_csv(p / "t.csv", pd.DataFrame({"a": [1, 2], "target": [None, None]})), "'target' .* is empty"),
    (lambda p: write(p / "t.txt", "a"), "expected one of .csv"),
])
def test_bad_tables_give_one_clear_sentence(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError, match=message):
        nt.datasets.load_table(path, target="target")


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"a": [1.0, np.inf] * 5, "target": [0, 1] * 5}), "Column 'a' holds infinite values"),
    (pd.DataFrame({"a": ["1", "2", "x", "4", "y1", "6", "7", "8", "9", "z2"], "target": [0, 1] * 5}), "mixes numbers and text"),
])
def test_bad_values_are_named_where_the_table_is_prepared(tmp_path, frame, message):
    data = nt.datasets.load_table(write_csv(tmp_path / "t.csv", frame), target="target")
    with pytest.raises(DataError, match=message):
        nt.datasets.prepare(data, val=0, test=0.2)


def test_scaler_standardises_with_training_statistics_only():
    data = load("wine")
    train, _, test = data.split(val=0, test=0.3, seed=0)
    scaler = Scaler().fit(train)
    scaled = scaler.transform(train)
    assert torch.allclose(scaled.x.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(scaled.x.std(0, unbiased=False), torch.ones(13), atol=1e-4)
    reference = (test.x.double() - train.x.double().mean(0)) / train.x.double().std(0, unbiased=False)
    assert torch.allclose(scaler.transform(test).x.double(), reference, atol=1e-5)
    again = Scaler.from_dict(scaler.to_dict())
    assert torch.equal(again.transform_x(test.x), scaler.transform_x(test.x))


def test_scaler_per_channel_for_images_and_target_inverse(digits):
    scaler = Scaler("minmax").fit(digits)
    assert scaler.shift_.shape == (1,) and float(scaler.transform(digits).x.max()) == pytest.approx(1.0)
    robust = Scaler("robust").fit(load("wine")).transform(load("wine")).x
    assert torch.allclose(robust.median(dim=0).values, torch.zeros(13), atol=0.05)
    diabetes = load("diabetes")
    s = TargetScaler().fit(diabetes)
    scaled = s.transform(diabetes)
    assert float(scaled.y.mean()) == pytest.approx(0.0, abs=1e-5) and torch.equal(scaled.x, diabetes.x)
    assert torch.allclose(s.inverse(scaled.y), diabetes.y, atol=1e-3)
    again = TargetScaler.from_dict(s.to_dict())
    assert torch.equal(again.inverse(scaled.y), s.inverse(scaled.y))


def test_scaler_must_be_fitted():
    with pytest.raises(nt.NotFittedError, match="not fitted"):
        Scaler().transform_x(torch.zeros(2, 2))


def test_tensor_batches_cover_every_example_once():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    order = epoch_permutation(10, seed=0, epoch=3)
    seen = torch.cat([yb for _, yb in tensor_batches(x, y, 4, order)])
    assert sorted(seen.tolist()) == list(range(10)) and torch.equal(seen, order)
    assert [len(b) for b, _ in tensor_batches(x, y, 4, drop_last=True)] == [4, 4]
    assert torch.equal(order, epoch_permutation(10, seed=0, epoch=3))
    assert not torch.equal(order, epoch_permutation(10, seed=0, epoch=4))
