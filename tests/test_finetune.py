"""Fine-tuning recipes in the Trainer: discriminative LRs, gradual unfreezing, fine_tune, mixed precision,
and weights from files (the mismatch sentence)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import neuronet as nt
from neuronet.errors import ConfigError
from neuronet.train.unfreeze import GradualUnfreezing
from neuronet.transfer.weights import load_weights


@pytest.fixture(scope="module")
def digits():
    train, val, _ = nt.datasets.prepare(nt.datasets.load("digits"), seed=0)
    return train.subset(range(256)), val


def cnn() -> nn.Module:
    return nt.models.CNN((1, 8, 8), 10, channels=[4, 8], hidden=16, seed=0)


class Snapshots(nt.callbacks.Callback):
    """The weights of each parameter after every epoch, and which parameters trained during it."""

    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []
        self.trainable: list[set[str]] = []

    def before_epoch(self, trainer):
        self.trainable.append({n for n, p in trainer.model.named_parameters() if p.requires_grad})

    def after_epoch(self, trainer, logs):
        self.weights.append({k: v.clone() for k, v in trainer.model.state_dict().items()})


def test_gradual_unfreezing_unfreezes_each_group_at_its_epoch(digits):
    train, _ = digits
    model, snaps = cnn(), Snapshots()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    schedule = {2: "features.2.*", 3: "features.*"}  # the last conv block from epoch 2, every conv from epoch 3
    trainer = nt.Trainer(model, epochs=3, lr=1e-2, unfreeze=schedule, callbacks=[snaps], progress=False, device="cpu")
    trainer.fit(train)
    first_conv, last_conv, head = "features.0.0.weight", "features.2.0.weight", "head.5.weight"
    assert head in snaps.trainable[0] and last_conv not in snaps.trainable[0] and first_conv not in snaps.trainable[0]
    assert last_conv in snaps.trainable[1] and first_conv not in snaps.trainable[1]
    assert first_conv in snaps.trainable[2]
    e1, e2, e3 = snaps.weights
    assert torch.equal(e1[first_conv], start[first_conv]) and torch.equal(e1[last_conv], start[last_conv])
    assert not torch.equal(e1[head], start[head])
    assert not torch.equal(e2[last_conv], e1[last_conv]) and torch.equal(e2[first_conv], start[first_conv])
    assert not torch.equal(e3[first_conv], e2[first_conv])
    # frozen batch norms kept their running statistics until they unfroze
    assert torch.equal(e1["features.0.1.running_mean"], start["features.0.1.running_mean"])
    assert not torch.equal(e3["features.0.1.running_mean"], e2["features.0.1.running_mean"])
    unfreezing = next(cb for cb in trainer.callbacks if isinstance(cb, GradualUnfreezing))
    assert unfreezing.trainable[1] < unfreezing.trainable[2] < unfreezing.trainable[3]


def test_gradual_unfreezing_resumes_with_the_same_frozen_parameters(digits, tmp_path):
    train, _ = digits
    whole = nt.Trainer(cnn(), epochs=3, lr=1e-2, unfreeze={3: "features.*"}, progress=False, device="cpu")
    whole.fit(train)
    first = nt.Trainer(cnn(), epochs=3, lr=1e-2, unfreeze={3: "features.*"}, progress=False, device="cpu",
                       checkpoint={"path": str(tmp_path / "ckpt.safetensors")})
    first.epochs = 2
    first.fit(train)
    resumed = nt.Trainer(cnn(), epochs=3, lr=1e-2, unfreeze={3: "features.*"}, progress=False, device="cpu")
    resumed.load_checkpoint(tmp_path / "ckpt.safetensors")
    resumed.fit(train)
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_fine_tune_trains_the_head_first_then_everything_at_the_backbone_lr(digits):
    train, val = digits
    model, snaps = cnn(), Snapshots()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = nt.fine_tune(model, train, val, head_epochs=1, full_epochs=2, lr=1e-2, backbone_lr=1e-3,
                                    callbacks=[snaps], progress=False, device="cpu")
    assert trainer.epoch == 3 and trainer.hparams["epochs"] == 3
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert groups["head"]["lr"] == 1e-2 and groups["backbone"]["lr"] == 1e-3
    assert [id(p) for p in groups["head"]["params"]] == [id(model.head[5].weight), id(model.head[5].bias)]
    e1, e2, _ = snaps.weights
    assert snaps.trainable[0] == {"head.5.weight", "head.5.bias"}
    for key in ("features.0.0.weight", "head.2.weight"):  # everything but the output layer waits an epoch
        assert torch.equal(e1[key], start[key]) and not torch.equal(e2[key], e1[key])
    losses = [e["train_loss"] for e in trainer.history.epochs]
    assert losses[2] < losses[0]


def test_lr_groups_reach_the_parameters_they_name():
    model = cnn()
    trainer = nt.Trainer(model, lr=1e-3, lr_groups={"features.*": 1e-5, "head.5.*": 1e-2}, progress=False, device="cpu")
    by_name = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert by_name["features.*"]["lr"] == 1e-5 and by_name["head.5.*"]["lr"] == 1e-2 and by_name["*"]["lr"] == 1e-3
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    assert ids(by_name["features.*"]["params"]) == ids(model.features.parameters())
    assert ids(by_name["head.5.*"]["params"]) == ids(model.head[5].parameters())
    assert ids(by_name["*"]["params"]) == ids(model.head[2].parameters())
    with pytest.raises(ConfigError, match="The pattern 'encoder.\\*' matches no parameter of the model"):
        nt.Trainer(cnn(), lr_groups={"encoder.*": 1e-5}, progress=False, device="cpu")


def test_the_recipes_in_a_run_config_are_checked_before_anything_runs():
    from neuronet.config import load_config

    config = load_config(None, ["train.fine_tune={head_epochs: 1, full_epochs: 2}", "train.lr_groups={'features.*': 1e-4}",
                                "train.unfreeze={2: 'features.*'}", "train.precision=bf16"])
    assert config.train.fine_tune == {"head_epochs": 1, "full_epochs": 2}
    with pytest.raises(ConfigError, match="train.epochs \\(5\\) and train.fine_tune both set the number of epochs"):
        load_config(None, ["train.fine_tune={head_epochs: 1, full_epochs: 2}", "train.epochs=5"])
    with pytest.raises(ConfigError, match="fine_tune.*'full_epochs'|full_epochs.*fine_tune"):
        load_config(None, ["train.fine_tune={head_epochs: 1, full_epochs: 0}"])
    with pytest.raises(ConfigError, match="unfreeze takes \\{epoch: patterns\\} with epochs counted from 1; got epoch 0"):
        load_config(None, ["train.unfreeze={0: 'features.*'}"])
    with pytest.raises(ConfigError, match="precision"):
        load_config(None, ["train.precision=8"])


def test_bfloat16_mixed_precision_trains_on_the_cpu_and_float16_says_it_needs_a_gpu(digits):
    train, _ = digits
    trainer = nt.Trainer(cnn(), epochs=3, lr=1e-2, precision="bf16", device="cpu", progress=False)
    history = trainer.fit(train)
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())  # weights stay float32
    with pytest.raises(ConfigError, match="precision '16' \\(float16 with loss scaling\\) needs a CUDA GPU"):
        nt.Trainer(cnn(), precision="16", device="cpu", progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_float16_mixed_precision_with_loss_scaling_trains_on_a_gpu(digits):
    train, _ = digits
    trainer = nt.Trainer(cnn(), epochs=3, lr=1e-2, precision="16", device="cuda", progress=False)
    history = trainer.fit(train)
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    assert trainer.state_dict()["precision"]["scale"] > 0


def test_a_mismatched_checkpoint_is_one_sentence_naming_the_keys(tmp_path):
    from safetensors.torch import save_file

    source = nt.models.MLP(4, 3, hidden=[8], seed=0)
    torch.save({"state_dict": source.state_dict()}, tmp_path / "lightning.ckpt")  # nested, as Lightning saves
    target = nt.models.MLP(4, 3, hidden=[8], seed=1)
    load_weights(target, tmp_path / "lightning.ckpt")
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in source.state_dict().items())

    state = dict(source.state_dict())
    state["extra.weight"] = torch.zeros(2)
    del state[next(iter(state))]
    save_file(state, str(tmp_path / "w.safetensors"))
    wider = nt.models.MLP(4, 5, hidden=[8], seed=0)
    with pytest.raises(ConfigError) as err:
        load_weights(wider, tmp_path / "w.safetensors")
    message = str(err.value)
    assert message.startswith(f"The weights in {tmp_path / 'w.safetensors'} do not fit the model: missing ")
    assert "unexpected extra.weight" in message and "(file 3x8, model 5x8)" in message and "\n" not in message

    (tmp_path / "pickle.pt").write_bytes(b"not a state dict")
    with pytest.raises(ConfigError, match="pickle.pt is neither a .safetensors file nor a PyTorch state dict that loads with weights_only=True"):
        load_weights(wider, tmp_path / "pickle.pt")


def test_a_run_config_starts_from_a_weights_file_and_refuses_one_that_does_not_fit(tmp_path):
    from neuronet.config import load_config
    from neuronet.runs import train_run

    first = train_run(load_config(None, ["data.source=iris", "model.type=mlp", "model.hidden=[8]", "train.epochs=2",
                                         f"output_dir={tmp_path}", "name=a"]), progress=False)
    config = load_config(None, ["data.source=iris", "model.type=mlp", "model.hidden=[8]", "train.epochs=1",
                                "train.lr=1e-9", f"model.weights={first.path / 'model.safetensors'}",
                                f"output_dir={tmp_path}", "name=b"])
    second = train_run(config, progress=False)
    assert second.metrics["test"]["accuracy"] == pytest.approx(first.metrics["test"]["accuracy"])  # lr ~ 0: same model
    bad = load_config(None, ["data.source=iris", "model.type=mlp", "model.hidden=[16]",
                             f"model.weights={first.path}", f"output_dir={tmp_path}", "name=c"])
    with pytest.raises(ConfigError, match="do not fit the model: mis-shaped net.1.weight \\(file 8x4, model 16x4\\)"):
        train_run(bad, progress=False)
    assert not (tmp_path / "c").exists()  # nothing written


def test_a_bad_unfreeze_pattern_or_epoch_is_an_error_before_a_run_writes_anything(tmp_path, digits):
    from neuronet.config import load_config
    from neuronet.runs import train_run

    with pytest.raises(ConfigError, match="The pattern 'net.nothing.\\*' matches no parameter of the model; its parts "
                                          "are features.\\*, head.\\*"):
        nt.Trainer(cnn(), unfreeze={1: "net.nothing.*"}, progress=False, device="cpu")
    with pytest.raises(ConfigError, match="unfreeze: epoch 3 comes after the last epoch \\(2\\), so its parameters "
                                          "would never train"):
        nt.Trainer(cnn(), epochs=2, unfreeze={3: "features.*"}, progress=False, device="cpu")
    for bad in ("train.unfreeze={1: 'net.nothing.*'}", "train.unfreeze={3: 'features.*'}"):
        config = load_config(None, ["data.source=digits", "model.type=cnn", "train.epochs=2", bad,
                                    f"output_dir={tmp_path}", "name=u"])
        with pytest.raises(ConfigError):
            train_run(config, progress=False)
        assert not (tmp_path / "u").exists()  # (was: a failed run directory left behind)


def test_a_run_used_as_backbone_reads_inputs_scaled_as_it_was_trained(tmp_path):
    from neuronet.config import load_config
    from neuronet.runs import train_run
    from neuronet.runs.build import plan_run

    source = train_run(load_config(None, ["data.source=digits", "model.type=cnn", "model.channels=[4]",
                                          "model.hidden=8", "train.epochs=1", "data.scale=none",
                                          f"output_dir={tmp_path}", "name=src"]), progress=False)
    plan = plan_run(load_config(None, ["data.source=digits", "data.limit=200", "model.type=pretrained",
                                       f"model.run={source.path}"]))
    assert plan.state["scale"] == "none"  # (was: standard scaling, inputs the backbone never saw)
    assert f"features: scaled 'none' as the run {source.path} was (data.scale)" in plan.state["summary"]
    given = plan_run(load_config(None, ["data.source=digits", "data.limit=200", "model.type=pretrained",
                                        f"model.run={source.path}", "data.scale=standard"]))
    assert given.state["scale"] == "standard"  # an explicit data.scale wins
    with pytest.raises(ConfigError, match="starts from a named network or from a run, not both: drop name "
                                          "\\('efficientnet-lite0'\\) or run"):
        plan_run(load_config(None, ["data.source=digits", "model.type=pretrained", "model.name=efficientnet-lite0",
                                    f"model.run={source.path}"]))
    with pytest.raises(ConfigError, match="train.fine_tune trains every layer after its head epochs, but "
                                          "model.freeze is 'backbone'"):
        plan_run(load_config(None, ["data.source=digits", "model.type=pretrained", f"model.run={source.path}",
                                    "model.freeze=backbone", "train.fine_tune={head_epochs: 1, full_epochs: 1}"]))


def test_a_warmup_longer_than_the_whole_run_is_said(digits):
    train, _ = digits  # 256 examples: 8 batches of 32 an epoch
    trainer = nt.Trainer(cnn(), epochs=2, schedule={"type": "warmup", "warmup_steps": 100}, progress=False, device="cpu")
    with pytest.warns(UserWarning, match="warmup_steps \\(100\\) is not shorter than the whole run \\(2 epochs x 8 "
                                         "batches = 16 steps\\), so the learning rate never reaches lr"):
        trainer.fit(train)
