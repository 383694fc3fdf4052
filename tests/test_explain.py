"""neuronet.explain: features, t-SNE, attention maps, attributions (checked against their defining sums), mistakes."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import classification_report
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from torch import nn

import neuronet as nt
from neuronet import explain
from neuronet.datasets import Dataset
from neuronet.explain.tsne import sample
from neuronet.models import build_model
from neuronet.models.inception import InceptionModule
from neuronet.models.layers import Add
from neuronet.runs.evaluate import test_split as held_out  # a run's raw test split

needs_captum = pytest.mark.skipif(importlib.util.find_spec("captum") is None,
                                  reason="Captum is not installed (pip install 'neuronet[explain]')")


@pytest.fixture(scope="module")
def digits_mlp(train_small):
    """A small MLP trained on digits, and its raw test split (360 images)."""
    path = train_small("explain-digits", "model.type=mlp", "model.hidden=[32]", "train.epochs=3")
    return nt.load(path), held_out(path)


@pytest.fixture(scope="module")
def tweets_transformer(train_small):
    """A tiny Transformer trained for one epoch on 400 tweets, and its raw test split (80 texts)."""
    path = train_small("explain-tweets", "data.source=tweets", "data.limit=400", "model.type=transformer",
                       "model.dim=16", "model.heads=2", "model.layers=2", "train.epochs=1")
    return nt.load(path), held_out(path)


def _slice(data: Dataset, n: int, dtype: torch.dtype = torch.float32) -> Dataset:
    return Dataset(data.x[:n].to(dtype), data.y[:n], class_names=data.class_names, feature_names=data.feature_names)


# --- attributions against their defining properties (float64) -------------------------------
@needs_captum
def test_lrp_conserves_relevance_in_a_bias_free_relu_mlp(digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32, bias=False), nn.ReLU(), nn.Linear(32, 16, bias=False),
                          nn.ReLU(), nn.Linear(16, 10, bias=False)).double()
    data = _slice(digits, 6, torch.float64)
    result = explain.attribute(model, data, method="lrp", examples=range(6), target=3)
    output = model(data.x)[:, 3].detach().numpy()
    relevance = result["attributions"].reshape(6, -1).sum(axis=1)
    np.testing.assert_allclose(relevance, output, rtol=1e-6, atol=1e-9)  # only Captum's 1e-9 stabiliser is lost


class _Residual(nn.Module):
    """A bias-free residual block: relu(conv(relu(conv(x))) ⊕ x), with `Add` or with a plain `+`."""

    def __init__(self, plus: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU(),
                                  nn.Conv2d(4, 4, 3, padding=1, bias=False))
        self.shortcut, self.add, self.plus, self.act = nn.Identity(), Add(), plus, nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        body, skip = self.body(x), self.shortcut(x)
        return self.act(body + skip if self.plus else self.add(body, skip))


@needs_captum
@pytest.mark.parametrize("plus", [False, True])
def test_lrp_conserves_relevance_through_a_residual_add_but_not_through_plus(digits, plus):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(), _Residual(plus), _Residual(plus),
                          nn.Flatten(), nn.Linear(256, 10, bias=False)).double()
    data = _slice(digits, 4, torch.float64)
    result = explain.attribute(model, data, method="lrp", examples=range(4))
    output = model(data.x).max(dim=1).values.detach().numpy()
    relevance = result["attributions"].reshape(4, -1).sum(axis=1)
    if plus:  # `+` hands the whole relevance to both branches: it is counted twice
        assert np.abs(relevance - output).max() > 1e-3
    else:
        np.testing.assert_allclose(relevance, output, rtol=1e-6, atol=1e-9)


def _without_biases(model: nn.Module) -> nn.Module:
    """The model in eval mode with every bias 0 and each batch norm a plain positive scaling (mean 0, variance 1,
    random scales): a ReLU network without biases, whose whole output LRP must hand back to the input."""
    generator = torch.Generator().manual_seed(1)
    for module in model.eval().modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
            nn.init.zeros_(module.bias)
            module.weight.data = 0.5 + torch.rand(module.weight.shape, generator=generator, dtype=module.weight.dtype)
        elif isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
    return model


@needs_captum
@pytest.mark.parametrize("aux", [False, True])
def test_lrp_conserves_relevance_through_inception_and_splits_it_between_the_branches(digits, aux):
    from captum.attr import LayerLRP

    from neuronet.explain.lrp import lrp_rules

    model = build_model("inception", (1, 8, 8), 10, stem=8, stages=[[16], [16]], aux=aux, seed=0).double()
    model = _without_biases(model)  # the auxiliary classifier does not run in eval mode: LRP never sees it
    data = _slice(digits, 4, torch.float64)
    result = explain.attribute(model, data, method="lrp", examples=range(4))
    output = model(data.x).max(dim=1)
    relevance = result["attributions"].reshape(4, -1).sum(axis=1)
    np.testing.assert_allclose(relevance, output.values.detach().numpy(), rtol=1e-6, atol=1e-9)
    join = model.stages[-1][-1].concat  # the last module's Concat: each branch's share (Captum lists the last first)
    with lrp_rules(model):
        shares = LayerLRP(model, join).attribute(data.x.clone().requires_grad_(), target=output.indices,
                                                 attribute_to_layer_input=True)
    ones, _, threes, _, fives, pool = InceptionModule.widths(16)
    assert sorted(s.shape[1] for s in shares) == sorted([ones, threes, fives, pool])
    total = sum(s.flatten(1).sum(dim=1) for s in shares).detach().numpy()
    np.testing.assert_allclose(total, output.values.detach().numpy(), rtol=1e-6, atol=1e-9)
    assert not any(hasattr(m, "rule") or hasattr(m, "activations") for m in model.modules())


@needs_captum
def test_integrated_gradients_add_up_to_the_output_change(digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10)).double()
    data = _slice(digits, 5, torch.float64)
    result = explain.attribute(model, data, examples=range(5), target=[0, 1, 2, 3, 4])
    with torch.no_grad():
        change = (model(data.x) - model(torch.zeros_like(data.x)))[torch.arange(5), torch.arange(5)].numpy()
    np.testing.assert_allclose(result["attributions"].reshape(5, -1).sum(axis=1), change, rtol=1e-6, atol=1e-8)


@needs_captum
@pytest.mark.parametrize("name", ["mlp", "cnn", "vgg", "resnet", "inception"])
def test_every_zoo_image_model_runs_lrp_and_is_left_as_it_was(digits, name):
    model = build_model(name, (1, 8, 8), 10, seed=0)
    model.train()  # LRP runs in eval mode; the model's own mode comes back
    data = _slice(digits, 4)
    with torch.no_grad():
        before = model.eval()(data.x).clone()
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    if name in ("resnet", "inception"):  # `Add` and `Concat` hold no weights: runs saved before them load as they are
        assert not any(".add" in key or ".concat" in key for key in state)
    result = explain.attribute(model, data, method="lrp")
    assert result["attributions"].shape == (4, 1, 8, 8) and np.isfinite(result["attributions"]).all()
    assert np.abs(result["attributions"]).sum() > 0
    assert all(m.training for m in model.modules())
    assert not any(hasattr(m, "rule") or hasattr(m, "activations") for m in model.modules())
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    with torch.no_grad():
        assert torch.equal(model.eval()(data.x), before)


@needs_captum
def test_lrp_on_a_table_mlp_and_a_gelu_mlp(tmp_path):
    iris = nt.datasets.load("iris")
    data = _slice(iris, 8)
    relu = build_model("mlp", (4,), 3, hidden=[8], seed=0)
    result = explain.attribute(relu, data, method="lrp", path=tmp_path / "bars.png")
    assert result["attributions"].shape == (4, 4) and (tmp_path / "bars.png").stat().st_size > 0
    gelu = build_model("mlp", (4,), 3, hidden=[8], activation="gelu", seed=0)
    with pytest.raises(nt.ConfigError, match="LRP needs ReLU \\(or Tanh\\) modules; 'net.2' is a GELU; use "
                                             "attribution integrated_gradients or saliency"):
        explain.attribute(gelu, data, method="lrp")
    assert not any(hasattr(m, "rule") for m in gelu.modules())
    series = Dataset(torch.randn(3, 6, 1), torch.randn(3, 1))
    transformer = build_model("transformer", (6, 1), 1, dim=8, heads=2, layers=1, seed=0)
    with pytest.raises(nt.ConfigError, match="LRP has no rule for 'position' \\(Embedding\\)"):
        explain.attribute(transformer, series, method="lrp", examples=[0])
    with pytest.raises(nt.ConfigError, match="Unknown attribution method 'lpr'. Did you mean 'lrp'"):
        explain.attribute(relu, data, method="lpr")
    with pytest.raises(nt.ConfigError, match="Target 5 is not an output"):
        explain.attribute(relu, data, target=5)


def test_attribute_without_captum_says_how_to_install_it(monkeypatch, digits):
    monkeypatch.setitem(sys.modules, "captum.attr", None)  # `import captum.attr` now fails
    with pytest.raises(nt.ConfigError, match="needs Captum: pip install 'neuronet\\[explain\\]'"):
        explain.attribute(build_model("mlp", (1, 8, 8), 10, seed=0), _slice(digits, 2))


# --- a trained digits model: features, t-SNE, attributions, mistakes ------------------------
def test_tsne_of_the_penultimate_layer_separates_the_digits(digits_mlp, tmp_path):
    predictor, test = digits_mlp
    values, layer = explain.features(predictor, test)
    assert values.shape == (360, 32) and layer == "net.3 (input)"
    result = explain.tsne(predictor, test, path=tmp_path / "tsne.png")
    assert result["embedding"].shape == (360, 2) and result["layer"] == layer
    assert (tmp_path / "tsne.png").stat().st_size > 0 and result["path"] == tmp_path / "tsne.png"
    labels = np.array(result["labels"])
    assert set(labels) == set(predictor.classes)
    knn = cross_val_score(KNeighborsClassifier(5), result["embedding"], labels, cv=3).mean()
    assert knn > 0.5  # chance is 0.1
    again = explain.tsne(predictor, test, limit=100)
    assert again["embedding"].shape == (100, 2)
    assert np.allclose(again["embedding"], explain.tsne(predictor, test, limit=100)["embedding"])  # seeded
    with pytest.raises(nt.ConfigError, match="has no layer 'head'; valid names include 'net.3'"):
        explain.features(predictor, test, layer="head")


@needs_captum
def test_attributions_of_a_trained_model_and_the_model_is_unchanged(digits_mlp, tmp_path):
    predictor, test = digits_mlp
    before = predictor.predict_proba(test)
    for method in explain.METHODS:
        result = explain.attribute(predictor, test, method=method, path=tmp_path / f"{method}.png")
        assert result["attributions"].shape == (4, 1, 8, 8) and (tmp_path / f"{method}.png").stat().st_size > 0
        assert result["targets"] == before[:4].argmax(axis=1).tolist()  # the predicted classes
    np.testing.assert_array_equal(predictor.predict_proba(test), before)
    ready = predictor.prepare(test)
    same = explain.attribute(predictor, ready, method="saliency", prepared=True)["attributions"]
    np.testing.assert_allclose(same, explain.attribute(predictor, test, method="saliency")["attributions"])


def test_confidently_wrong_and_per_class_metrics(digits_mlp, tmp_path):
    predictor, test = digits_mlp
    predicted = predictor.predict(test)
    true = np.asarray(predictor.classes)[test.y.numpy()]
    mistakes = explain.confidently_wrong(predictor, test, k=5, path=tmp_path / "wrong.png")
    assert 0 < len(mistakes) <= 5 and (tmp_path / "wrong.png").stat().st_size > 0
    p = [m["probability"] for m in mistakes]
    assert p == sorted(p, reverse=True)
    proba = predictor.predict_proba(test)
    wrong = np.flatnonzero(predicted != true)
    assert p[0] == pytest.approx(proba[wrong].max(axis=1).max())
    for m in mistakes:
        assert m["true"] == true[m["index"]] != m["predicted"] == predicted[m["index"]]
        assert m["input"].shape == (1, 8, 8)
    report = explain.per_class_metrics(predictor, test)
    assert report == classification_report(true, predicted, output_dict=True, zero_division=0)


def test_mistakes_need_a_classifier_and_labels(digits):
    data = Dataset(digits.x[:6].reshape(6, -1), torch.rand(6, 1))  # regression targets
    with pytest.raises(nt.ConfigError, match="confidently_wrong needs a classification model; this one is regression"):
        explain.confidently_wrong(build_model("mlp", (64,), 1, seed=0), data)
    unlabelled = Dataset(digits.x[:6], None, task="classification")
    with pytest.raises(nt.DataError, match="per_class_metrics needs labelled data"):
        explain.per_class_metrics(build_model("mlp", (1, 8, 8), 10, seed=0), unlabelled)


# --- text: attention maps, token attributions, quoted mistakes --------------------------------
def test_attention_maps_of_a_text_transformer(tweets_transformer, tmp_path):
    predictor, test = tweets_transformer
    maps = explain.attention_maps(predictor, test, examples=[0, 3], path=tmp_path)
    ids = predictor.prepare(test).x
    vocab = predictor.prepare(test).vocab
    for entry, row in zip(maps, ids[[0, 3]]):
        assert entry["tokens"] == vocab.decode(row.tolist())  # padding left out
        n = len(entry["tokens"])
        assert entry["weights"].shape == (2, 2, n, n) and n < ids.shape[1]
        np.testing.assert_allclose(entry["weights"].sum(axis=-1), 1.0, atol=1e-5)  # a distribution over keys
        assert entry["path"] == tmp_path / f"attention-{entry['example']}.png" and entry["path"].stat().st_size > 0
    one = explain.attention_maps(predictor, test, examples=1, path=tmp_path / "one.png")
    assert one[0]["path"] == tmp_path / "one.png" and one[0]["path"].is_file()
    with pytest.raises(nt.ConfigError, match="need a model with self-attention \\(gpt, transformer\\); this one is a MLP"):
        explain.attention_maps(build_model("mlp", (4,), 3), _slice(nt.datasets.load("iris"), 4))


def test_attention_maps_of_a_series_transformer_label_time_steps():
    data = nt.datasets.load("airline")
    train, _, _ = nt.datasets.prepare(data, val=0.1, test=0.2, seed=0)
    model = build_model("transformer", train.input_shape, train.num_outputs, dim=8, heads=2, layers=1, seed=0)
    maps = explain.attention_maps(model, train, examples=[0])
    steps = train.input_shape[0]
    assert maps[0]["tokens"][0] == f"t-{steps - 1}" and maps[0]["tokens"][-1] == "t-0"
    assert maps[0]["weights"].shape == (1, 2, steps, steps)


@needs_captum
def test_token_attributions_and_text_mistakes(tweets_transformer, tmp_path):
    predictor, test = tweets_transformer
    ids = predictor.prepare(test).x[:4]
    for method in ("integrated_gradients", "saliency"):
        result = explain.attribute(predictor, test, method=method, path=tmp_path / f"{method}.png")
        assert result["attributions"].shape == ids.shape and (tmp_path / f"{method}.png").stat().st_size > 0
        assert [len(t) for t in result["tokens"]] == (ids != 0).sum(dim=1).tolist()
        if method == "integrated_gradients":  # padding is the baseline: it gets nothing
            assert np.abs(result["attributions"][(ids == 0).numpy()]).max() < 1e-7
    with pytest.raises(nt.ConfigError, match="LRP cannot pass relevance through the token lookup 'embed'"):
        explain.attribute(predictor, test, method="lrp")
    mistakes = explain.confidently_wrong(predictor, test, k=3, path=tmp_path / "wrong.png")
    assert all(m["input"] == test.x[m["index"]] for m in mistakes)  # the raw tweets
    assert (tmp_path / "wrong.png").is_file()


def test_the_tsne_sample_keeps_class_proportions():
    classes = np.repeat([0, 1, 2], [50, 30, 20])
    kept = sample(100, 20, seed=0, classes=classes)
    assert len(kept) == 20 and np.bincount(classes[kept]).tolist() == [10, 6, 4]
    assert sample(100, 20, seed=0, classes=classes).tolist() == kept.tolist()
    assert sample(10, 50).tolist() == list(range(10))
