"""The shared contract every registered model must pass, on tiny real data."""

import pytest
import torch
from safetensors.torch import load_file, save_file

import neuronet as nt
from neuronet.errors import ConfigError
from neuronet.models import MODELS, build_model

# Each registered model with a tiny config and a real input slice shape.
TINY = {
    "mlp": {"hidden": [32, 16], "dropout": 0.1},
    "cnn": {"channels": [8, 16], "hidden": 32},
}


def test_every_registered_model_is_in_the_contract():
    assert set(MODELS.names()) == set(TINY)


@pytest.fixture(scope="module")
def batch():
    digits = nt.datasets.load("digits")
    return digits.x[:8], digits.y[:8]


def make(name, seed=0):
    return build_model(name, (1, 8, 8), 10, seed=seed, **TINY[name])


@pytest.mark.parametrize("name", sorted(TINY))
def test_output_shape(name, batch):
    assert make(name)(batch[0]).shape == (8, 10)


@pytest.mark.parametrize("name", sorted(TINY))
def test_same_seed_same_weights_and_global_rng_untouched(name):
    state = torch.random.get_rng_state()
    a, b, c = make(name, seed=1), make(name, seed=1), make(name, seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


@pytest.mark.parametrize("name", sorted(TINY))
def test_one_step_lowers_the_loss(name, batch):
    model = make(name).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = torch.nn.CrossEntropyLoss()
    torch.manual_seed(0)
    before = loss_fn(model(batch[0]), batch[1])
    opt.zero_grad()
    before.backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        assert loss_fn(model(batch[0]), batch[1]) < loss_fn(make(name).eval()(batch[0]), batch[1])


@pytest.mark.parametrize("name", sorted(TINY))
def test_overfits_eight_examples(name, batch):
    model = make(name)
    trainer = nt.Trainer(model, lr=1e-2, batch_size=8, epochs=150, progress=False)
    data = nt.datasets.Dataset(batch[0], batch[1], "classification", "tiny", class_names=[str(i) for i in range(10)])
    trainer.fit(data)
    assert trainer.evaluate(data)["accuracy"] == 1.0


@pytest.mark.parametrize("name", sorted(TINY))
def test_save_load_gives_identical_outputs(name, batch, tmp_path):
    model = make(name).eval()
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    other = make(name, seed=99).eval()
    other.load_state_dict(load_file(tmp_path / "w.safetensors"))
    assert torch.equal(model(batch[0]), other(batch[0]))


@pytest.mark.parametrize("name", sorted(TINY))
def test_config_round_trip(name):
    model = make(name)
    again = build_model(name, (1, 8, 8), 10, **model.hparams)
    assert again.hparams == model.hparams
    for (k, va), vb in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(va, vb), k


def test_mlp_structure_and_cnn_pooling_stops_at_one_pixel():
    mlp = nt.models.MLP(4, 3, hidden=[5, 6], activation="tanh", batch_norm=True)
    kinds = [type(m).__name__ for m in mlp.net]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"]
    cnn = nt.models.CNN((1, 8, 8), 10, channels=[4, 4, 4, 4])
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in cnn.features) == 3  # 8 -> 4 -> 2 -> 1
    assert cnn(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_build_model_errors_name_the_problem():
    with pytest.raises(ConfigError, match="Unknown model 'lstmm'"):
        build_model("lstmm", (4,), 2)
    with pytest.raises(ConfigError, match="no parameter 'hiden'.*Did you mean 'hidden'"):
        build_model("mlp", (4,), 2, hiden=[3])
    with pytest.raises(ConfigError, match="images shaped"):
        build_model("cnn", (4,), 2)
