"""The speed paths of the Trainer: torch.compile, channels-last, mixed precision, and the GPU.

On a CPU the compiled and channels-last paths must give the weights the plain path gives (they change how the
same arithmetic is laid out, not what it computes). The tests marked `gpu` run every model family and precision
on a CUDA device and skip, saying why, where there is none.
"""

import copy

import pytest
import torch

from safetensors.torch import load_file

import neuronet as nt
from neuronet.config import load_config
from neuronet.datasets import Scaler
from neuronet.errors import ConfigError

GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


@pytest.fixture(scope="module")
def digits():
    train, _, test = nt.datasets.load("digits").split(val=0, test=0.2, seed=0)
    scaler = Scaler().fit(train)
    return scaler.transform(train), scaler.transform(test)


def images(data):
    """The digits as 1 x 8 x 8 images."""
    return nt.datasets.Dataset(data.x.reshape(-1, 1, 8, 8), data.y, data.task, "digits")


def cnn():
    return nt.models.CNN((1, 8, 8), 10, channels=[8, 16], seed=0)


def first(data, n=64):
    """The first `n` examples: one batch, one step. Weights are compared after one SGD step: later steps, and
    Adam's first (g / |g|), amplify the last-bit differences of another summation order."""
    return nt.datasets.Dataset(data.x[:n], data.y[:n], data.task, "digits")


def fit(model, train, epochs=2, **options):
    trainer = nt.Trainer(model, lr=1e-2, batch_size=64, epochs=epochs, seed=0, progress=False, doctor=False, **options)
    history = trainer.fit(train)
    return trainer, history


def assert_close_weights(a, b, tol):
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(x.float().cpu(), y.float().cpu(), atol=tol), name


def test_channels_last_trains_the_same_weights_and_saves_them_plain(digits, tmp_path):
    plain, _ = fit(cnn(), first(images(digits[0])), epochs=1, optimizer="sgd", channels_last=False)
    nhwc, _ = fit(cnn(), first(images(digits[0])), epochs=1, optimizer="sgd", channels_last=True)
    conv = next(p for p in nhwc.model.parameters() if p.ndim == 4 and p.shape[1] > 1)  # 1 channel: both layouts
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert_close_weights(plain.model, nhwc.model, 1e-6)
    _, whole = fit(cnn(), images(digits[0]), channels_last=False)
    _, whole_nhwc = fit(cnn(), images(digits[0]), channels_last=True)
    assert whole_nhwc["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-3)
    nhwc.save_weights(tmp_path / "w.safetensors")
    again = cnn()
    again.load_state_dict(load_file(tmp_path / "w.safetensors"))
    assert_close_weights(again, plain.model, 1e-5)


def test_channels_last_is_off_on_the_cpu_by_default_and_on_for_cuda_convolutions(digits):
    assert nt.Trainer(cnn(), progress=False).channels_last is False
    if torch.cuda.is_available():
        assert nt.Trainer(cnn(), device="cuda", progress=False).channels_last is True
        assert nt.Trainer(nt.models.MLP(64, 10), device="cuda", progress=False).channels_last is False


def test_a_compiled_step_gives_the_plain_steps_weights_and_history(digits):
    plain, _ = fit(cnn(), first(images(digits[0])), epochs=1, optimizer="sgd")
    compiled, _ = fit(cnn(), first(images(digits[0])), epochs=1, optimizer="sgd", compile={"backend": "aot_eager"})
    assert compiled.replica is not compiled.model  # the step ran through the compiled module
    assert_close_weights(plain.model, compiled.model, 1e-6)
    _, history = fit(cnn(), images(digits[0]))
    _, compiled_history = fit(cnn(), images(digits[0]), compile={"backend": "aot_eager"})
    assert compiled_history["train_loss"] == pytest.approx(history["train_loss"], rel=1e-3)
    assert set(compiled.model.state_dict()) == set(plain.model.state_dict())  # no _orig_mod. prefix


@pytest.mark.parametrize("value, match", [
    ({"mode": "fastest"}, "mode"),
    ({"backnd": "inductor"}, "backend"),
    ({"backend": "nonexistent"}, "backend 'nonexistent' is not one torch.compile knows; use one of .*inductor"),
    ("yes", "compile"),
    ("auto", "channels_last"),
])
def test_bad_speed_options_are_one_sentence(value, match):
    key = "channels_last" if match == "channels_last" else "compile"
    with pytest.raises(ConfigError, match=match):
        nt.Trainer(cnn(), progress=False, **{key: value})


def test_a_compile_that_fails_is_one_sentence(digits, monkeypatch):
    """Inductor on a machine without a C++ compiler fails at the first step: a ConfigError saying what to do."""
    import torch._dynamo.exc

    def broken(*args, **kwargs):
        raise torch._dynamo.exc.TorchDynamoException("backend='inductor' raised: CppCompileError: no g++")

    trainer = nt.Trainer(cnn(), epochs=1, progress=False, doctor=False, compile={"backend": "aot_eager"})
    monkeypatch.setattr(trainer, "replica", broken)
    with pytest.raises(ConfigError, match="torch.compile could not compile the model .*train.compile: false"):
        trainer.fit(first(images(digits[0])))


def test_a_checkpoint_of_another_optimizer_is_one_sentence(digits, tmp_path):
    sgd, _ = fit(cnn(), first(images(digits[0])), epochs=1, optimizer="sgd")
    sgd.save_checkpoint(tmp_path / "c.safetensors")
    adam = nt.Trainer(cnn(), epochs=2, progress=False, doctor=False)
    with pytest.raises(ConfigError, match="holds SGD's state, but this trainer optimizes with Adam"):
        adam.load_checkpoint(tmp_path / "c.safetensors")


def test_a_config_takes_the_speed_options_and_the_gan_refuses_compile():
    config = load_config(None, ["train.compile={mode: default}", "train.channels_last=true"])
    assert config.train.compile == {"mode": "default"} and config.train.channels_last is True
    with pytest.raises(ConfigError, match="train.compile does not apply to model 'dcgan'"):
        load_config(None, ["model.type=dcgan", "train.compile=true"])


@pytest.mark.slow
def test_inductor_compiles_the_default_way_on_this_cpu(digits):
    """torch.compile's default backend (inductor: generated C++ on a CPU) trains to the plain path's weights."""
    plain, _ = fit(nt.models.MLP(64, 10, hidden=[32], seed=0), first(digits[0]), epochs=1, optimizer="sgd")
    compiled, _ = fit(nt.models.MLP(64, 10, hidden=[32], seed=0), first(digits[0]), epochs=1, optimizer="sgd", compile=True)
    assert_close_weights(plain.model, compiled.model, 1e-5)


# --- on a GPU -----------------------------------------------------------------------------------------------
@pytest.mark.gpu
@GPU
@pytest.mark.parametrize("precision", ["32", "bf16", "16"])
@pytest.mark.parametrize("family", ["mlp", "cnn", "resnet", "lstm", "transformer"])
def test_every_family_trains_on_the_gpu_in_each_precision(digits, family, precision):
    train, test = digits
    make = {"mlp": lambda: nt.models.MLP(64, 10, hidden=[64], seed=0),
            "cnn": cnn,
            "resnet": lambda: nt.models.build_model("resnet", (1, 8, 8), 10, seed=0),
            "lstm": lambda: nt.models.build_model("lstm", (8, 8), 10, seed=0),
            "transformer": lambda: nt.models.build_model("transformer", (8, 8), 10, seed=0)}[family]
    shaped = {"mlp": lambda d: d, "cnn": images, "resnet": images,
              "lstm": lambda d: nt.datasets.Dataset(d.x.reshape(-1, 8, 8), d.y, d.task, "digits"),
              "transformer": lambda d: nt.datasets.Dataset(d.x.reshape(-1, 8, 8), d.y, d.task, "digits")}[family]
    trainer = nt.Trainer(make(), lr=3e-3, batch_size=64, epochs=4, seed=0, progress=False, device="cuda",
                         precision=precision)
    trainer.fit(shaped(train))
    assert next(trainer.model.parameters()).is_cuda
    assert trainer.evaluate(shaped(test))["accuracy"] > 0.5  # learning (10 classes: chance 0.1), in 4 short epochs
    if precision == "16":
        assert trainer.precision.scaler is not None and trainer.precision.scaler.get_scale() > 0


@pytest.mark.gpu
@GPU
def test_compiled_channels_last_bf16_on_the_gpu_matches_the_plain_gpu_run(digits):
    still = lambda: nt.models.CNN((1, 8, 8), 10, channels=[8, 16], dropout=0.0, seed=0)  # noqa: E731 - compiled
    # code draws dropout masks from its own generator: compared without dropout
    plain, _ = fit(still(), first(images(digits[0])), epochs=1, optimizer="sgd", device="cuda", channels_last=False)
    fast, _ = fit(still(), first(images(digits[0])), epochs=1, optimizer="sgd", device="cuda", compile=True,
                  precision="32")
    assert fast.channels_last
    assert_close_weights(plain.model, fast.model, 1e-4)  # TF32 / other kernels: a looser float tolerance
    bf16, _ = fit(cnn(), images(digits[0]), device="cuda", compile=True, precision="bf16")
    assert bf16.evaluate(images(digits[1]))["accuracy"] > 0.8


@pytest.mark.gpu
@GPU
def test_a_dataloader_on_the_gpu_pins_its_batches(digits):
    trainer, _ = fit(cnn(), images(digits[0]), device="cuda", in_memory=False)
    assert trainer.evaluate(images(digits[1]))["accuracy"] > 0.5


@pytest.mark.gpu
@GPU
def test_the_gpu_run_resumes_to_the_same_weights(digits, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)  # cuDNN's fastest convolutions add in any order
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    whole, _ = fit(cnn(), images(digits[0]), device="cuda")
    first = nt.Trainer(cnn(), lr=1e-2, batch_size=64, epochs=1, seed=0, progress=False, doctor=False, device="cuda")
    first.fit(images(digits[0]))
    first.save_checkpoint(tmp_path / "c.safetensors")
    second = nt.Trainer(cnn(), lr=1e-2, batch_size=64, epochs=2, seed=0, progress=False, doctor=False, device="cuda")
    second.load_checkpoint(tmp_path / "c.safetensors")
    second.fit(images(digits[0]))
    assert_close_weights(whole.model, second.model, 1e-5)
    assert copy.deepcopy(second.model).cpu()  # the weights leave the GPU for export
