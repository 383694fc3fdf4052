"""Image folders (Pillow) and batch augmentation on tensors."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.datasets import build_augmentations, load_image_folder
from neuronet.errors import ConfigError, DataError


@pytest.fixture
def digit_folder(tmp_path, digits):
    """300 real digit images written as PNG files, one folder per class."""
    root = tmp_path / "digits_png"
    for i in range(300):
        label = int(digits.y[i])
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = (digits.x[i, 0].numpy() * 255).round().astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(root / str(label) / f"{i:04d}.png")
    return root


def test_image_folder_reads_the_pixels_back(digit_folder, digits):
    data = load_image_folder(digit_folder)
    assert data.input_shape == (1, 8, 8) and data.class_names == [str(d) for d in range(10)] and len(data) == 300
    first = sorted((digit_folder / "0").iterdir())[0]  # file 0000.png is digits[0], a zero
    assert first.name == "0000.png" and torch.allclose(data.x[0], digits.x[0], atol=1 / 255)
    assert torch.equal(torch.bincount(data.y), torch.bincount(digits.y[:300]))


def test_image_folder_resizes_and_converts_when_asked(digit_folder):
    Image.new("RGB", (16, 12), color=(255, 0, 0)).save(digit_folder / "3" / "big_rgb.png")
    with pytest.raises(DataError, match="mix colour modes"):
        load_image_folder(digit_folder)
    with pytest.raises(DataError, match="different sizes; set data.options.size"):
        load_image_folder(digit_folder, mode="L")
    data = load_image_folder(digit_folder, size=[8, 8], mode="RGB")
    assert data.input_shape == (3, 8, 8) and len(data) == 301


@pytest.mark.parametrize("damage, message", [
    (lambda root: (root / "7" / "0007.png").write_bytes(b"not an image"), "cannot be read"),
    (lambda root: (root / "empty_class").mkdir(), "has no images"),
])
def test_bad_image_folders(digit_folder, damage, message):
    damage(digit_folder)
    with pytest.raises(DataError, match=message):
        load_image_folder(digit_folder)


def test_missing_or_flat_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DataError, match="no class sub-folders"):
        load_image_folder(tmp_path / "flat")


def test_cli_trains_on_an_image_folder(digit_folder, tmp_path, digits):
    run = CliRunner().invoke(app, ["train", "--set", f"data.source={digit_folder}", "--set", "train.epochs=2",
                                   "--set", "train.augment=[{type: random_crop, padding: 1}, {type: cutout, size: 2}]",
                                   "--output-dir", str(tmp_path / "runs"), "--name", "png", "-q"])
    assert run.exit_code == 0, run.output
    np.save(tmp_path / "x.npy", digits.x[300:305].numpy())
    pred = CliRunner().invoke(app, ["predict", str(tmp_path / "runs" / "png"), str(tmp_path / "x.npy")])
    assert pred.exit_code == 0 and len(pred.output.splitlines()) == 6


X = torch.rand(6, 1, 8, 8)
Y = torch.tensor([0, 1, 2, 0, 1, 2])


def test_identity_settings_leave_the_batch_alone():
    torch.manual_seed(0)
    for spec in ({"type": "random_crop", "padding": 0}, {"type": "rotation", "degrees": 0.0},
                 {"type": "color_jitter", "brightness": 0.0, "contrast": 0.0}, {"type": "hflip", "p": 0.0}):
        x, y = build_augmentations([spec])(X, Y)
        assert torch.allclose(x, X, atol=1e-6) and torch.equal(y, Y), spec


def test_flip_crop_cutout_and_mixup_do_what_they_say():
    x, _ = build_augmentations([{"type": "hflip", "p": 1.0}])(X, Y)
    assert torch.equal(x, X.flip(-1))
    torch.manual_seed(0)
    shifted, _ = build_augmentations([{"type": "random_crop", "padding": 2}])(X, Y)
    for a, b in zip(shifted, X):  # each image is a translated copy: its values come from the original or padding
        values = set(a.flatten().tolist()) - {0.0}
        assert values <= set(b.flatten().tolist())
    holes, _ = build_augmentations([{"type": "cutout", "size": 3}])(torch.ones(4, 1, 8, 8), Y[:4])
    assert all(1 <= int((h == 0).sum()) <= 9 for h in holes)  # at most a 3x3 square, clipped at the border
    torch.manual_seed(0)
    mixed, soft = build_augmentations([{"type": "mixup", "alpha": 0.4}], num_classes=3)(X, Y)
    assert soft.shape == (6, 3) and torch.allclose(soft.sum(1), torch.ones(6))
    assert float(mixed.min()) >= float(X.min()) - 1e-6 and float(mixed.max()) <= float(X.max()) + 1e-6


def test_augmentation_is_seeded_and_only_used_in_training(digits):
    train, _, test = digits.split(val=0, test=0.2, seed=0)

    def fit(augment):
        trainer = nt.Trainer(nt.models.CNN((1, 8, 8), 10, channels=[8], hidden=16, seed=0), epochs=2, progress=False,
                             augment=build_augmentations(augment, num_classes=10) if augment else None)
        trainer.fit(train)
        return trainer

    a, b = fit([{"type": "rotation", "degrees": 15}, {"type": "mixup"}]), fit([{"type": "rotation", "degrees": 15}, {"type": "mixup"}])
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert "train_accuracy" in a.history.keys()  # hard labels recovered from mixup's soft ones
    plain = fit(None)
    assert any(not torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), plain.model.state_dict().values()))
    calls = []
    a.augment = lambda x, y: calls.append(len(x)) or (x, y)  # a spy
    a.evaluate(test)
    a.predict(test)
    assert calls == []  # evaluation and prediction never see augmentation
    a.epochs = 3
    a.fit(train)
    assert sum(calls) == len(train)  # training does, every batch


def test_unknown_augmentation():
    with pytest.raises(ConfigError, match="Unknown augmentation 'flip'"):
        build_augmentations([{"type": "flip"}])


@pytest.mark.skipif(not nt.datasets.builtin.FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_png_folders_train_end_to_end(tmp_path):
    """A few hundred real Fashion-MNIST images written as PNG folders, trained on through the CLI."""
    fashion = nt.datasets.load("fashion_mnist", limit=400, test_limit=10)
    root = tmp_path / "fashion_png"
    for i, (image, label) in enumerate(zip(fashion.x, fashion.y)):
        folder = root / fashion.class_names[int(label)].replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image[0].numpy() * 255).round().astype(np.uint8), mode="L").save(folder / f"{i:04d}.png")
    data = load_image_folder(root)
    assert data.input_shape == (1, 28, 28) and len(data) == 400 and len(data.class_names) == 10
    run = CliRunner().invoke(app, ["train", "--set", f"data.source={root}", "--set", "train.epochs=3",
                                   "--set", "train.augment=[{type: hflip}, {type: random_crop, padding: 2}]",
                                   "--output-dir", str(tmp_path / "runs"), "--name", "fpng", "-q"])
    assert run.exit_code == 0, run.output
    assert json.loads((tmp_path / "runs" / "fpng" / "metrics.json").read_text())["test"]["accuracy"] > 0.3  # 10 classes
