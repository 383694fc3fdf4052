"""The training doctor: each pathology induced on purpose on real data gets the right diagnosis; healthy runs
on digits, iris and Fashion-MNIST get none (no false alarms)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_wine
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.config import load_config
from neuronet.doctor import Finding, TrainingMonitor, diagnose_data
from neuronet.errors import TrainingDivergedError
from neuronet.runs import train_run

runner = CliRunner()


@pytest.fixture(scope="module")
def digits_splits():
    return nt.datasets.prepare(nt.datasets.load("digits"), seed=0)


def fit(model, train, val=None, **options) -> list[Finding]:
    """Train with the doctor on (quietly) and return its findings; a divergence is part of the story."""
    options = {"progress": False, "seed": 0, "doctor": {"live": False, "every_steps": 10}, **options}
    trainer = nt.Trainer(model, **options)
    try:
        trainer.fit(train, val=val)
    except TrainingDivergedError:
        pass
    return trainer.doctor.findings


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def scaled(model: torch.nn.Module, gain: float) -> torch.nn.Module:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.mul_(gain)
    return model


# --- training problems, each on purpose -------------------------------------------------------
def test_a_deep_sigmoid_mlp_has_vanishing_gradients(digits_splits):
    model = nt.models.MLP(64, 10, hidden=[32] * 20, activation="sigmoid", seed=0)
    found = fit(model, digits_splits.train, digits_splits.val, epochs=2)
    assert codes(found) == ["vanishing_gradients"]  # not also "learning rate too low": the gradients explain it
    finding = found[0]
    assert finding.layer == "net.1" and finding.values["first_grad"] / finding.values["last_grad"] < 1e-6
    assert "sigmoid" in finding.explanation and "relu" in finding.fix


def test_learning_rate_10_diverges_and_is_diagnosed(tmp_path):
    config = load_config(None, ["data.source=diabetes", "model.type=mlp", "train.optimizer=sgd", "train.lr=10",
                                "train.epochs=3", f"output_dir={tmp_path}", "name=lr10"])
    with pytest.raises(TrainingDivergedError):
        train_run(config, progress=False)
    state = json.loads((tmp_path / "lr10" / "doctor.json").read_text())  # written by a failed run too
    first = state["findings"][0]
    assert (first["code"], first["severity"]) == ("lr_too_high", "error")
    assert first["values"]["lr"] == 10 and first["epoch"] == 1 and "train.lr: 0.1 " in first["fix"]
    shown = runner.invoke(app, ["doctor", str(tmp_path / "lr10")], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "Learning rate too high" in shown.output and "try:" in shown.output


def test_a_wide_mlp_on_50_rows_overfits(digits_splits):
    few = digits_splits.train.subset(np.arange(50))
    found = fit(nt.models.MLP(64, 10, hidden=[512, 512], seed=0), few, digits_splits.val, epochs=40, batch_size=16)
    assert codes(found) == ["overfitting"]
    assert found[0].values["final_val_loss"] > 3 * found[0].values["final_train_loss"]
    assert "dropout" in found[0].fix and "early_stopping" in found[0].fix


def test_a_large_negative_bias_kills_the_relus(digits_splits):
    model = nt.models.MLP(64, 10, hidden=[64], seed=0)
    with torch.no_grad():
        model.net[1].bias.fill_(-20.0)
    found = fit(model, digits_splits.train, digits_splits.val, epochs=3)
    assert codes(found) == ["dying_relu"]
    assert found[0].layer == "net.2" and found[0].values["dead_share"] == 1.0 and found[0].severity == "error"


def test_large_initial_weights_explode_the_gradients(digits_splits):
    model = scaled(nt.models.MLP(64, 10, hidden=[64] * 12, seed=0), 6.0)
    found = fit(model, digits_splits.train, epochs=1, optimizer="sgd", lr=1e-6)
    assert "exploding_gradients" in codes(found)
    assert found[codes(found).index("exploding_gradients")].values["max_grad_norm"] > 1e4


def test_exploding_weights_that_overflow_are_blamed_on_the_initialisation_not_the_rate(digits_splits):
    model = scaled(nt.models.MLP(64, 10, hidden=[64] * 12, seed=0), 10.0)
    found = fit(model, digits_splits.train, epochs=1, optimizer="sgd", lr=1e-6)
    assert codes(found) == ["exploding_gradients"]


def test_a_tiny_learning_rate_makes_no_progress(digits_splits):
    found = fit(nt.models.MLP(64, 10, seed=0), digits_splits.train, digits_splits.val, epochs=5, optimizer="sgd",
                lr=1e-6)
    assert codes(found) == ["lr_too_low"]
    assert found[0].values["update_ratio"] < 1e-4 and "train.lr: 0.01 (usual for SGD" in found[0].fix


def test_a_one_unit_network_underfits(digits_splits):
    model = nt.models.MLP(64, 10, hidden=[1], activation="tanh", seed=0)
    found = fit(model, digits_splits.train, digits_splits.val, epochs=40, lr=1e-2)
    assert codes(found) == ["underfitting"]
    assert found[0].values["train_loss"] > 0.5 * found[0].values["start_loss"]


# --- data problems --------------------------------------------------------------------------------
def wine_frame() -> pd.DataFrame:
    bunch = load_wine(as_frame=True)
    frame = bunch.frame.copy()
    frame["target"] = [bunch.target_names[i] for i in bunch.target]
    return frame


def prepared(frame: pd.DataFrame):
    """The table's splits as a run prepares them (the pipeline fitted on the training rows)."""
    labels = pd.Categorical(frame["target"])
    raw = nt.datasets.Dataset(frame.drop(columns="target"), torch.as_tensor(labels.codes.astype(np.int64)),
                              "classification", name="wine", class_names=list(labels.categories))
    return nt.datasets.prepare(raw, seed=0)


def test_rows_duplicated_across_splits_are_leakage():
    frame = wine_frame()
    parts = prepared(pd.concat([frame, frame], ignore_index=True))
    found = diagnose_data(*parts)
    leak = [f for f in found if f.code == "leakage"]
    assert leak and leak[0].values["split"] == "test" and leak[0].values["shared"] / leak[0].values["rows"] > 0.3
    assert diagnose_data(*prepared(frame)) == []  # the real table as it is: nothing


def test_a_rare_class_a_constant_column_and_a_leaked_target():
    frame = wine_frame()
    rare = frame[frame["target"] != "class_2"]
    rare = pd.concat([rare, frame[frame["target"] == "class_2"].head(5)], ignore_index=True)
    found = {f.code: f for f in diagnose_data(*prepared(rare))}
    assert "class_imbalance" in found and found["class_imbalance"].values["counts"]["class_2"] <= 5
    assert "class_imbalance" not in codes(diagnose_data(*prepared(rare), balanced=True))

    frame["site"] = 1.0  # one value in every row
    frame["grade"] = pd.Categorical(frame["target"]).codes * 10.0 + 3  # the label under another name
    found = {f.code: f for f in diagnose_data(*prepared(frame))}
    assert found["constant_feature"].values["features"] == ["site"]
    assert found["target_leak"].values["feature"] == "grade" and found["target_leak"].severity == "error"


# --- healthy runs: no false alarms ------------------------------------------------------------------
@pytest.mark.parametrize("example, overrides", [
    ("digits_cnn.yaml", ["train.epochs=12"]),
    ("iris_mlp.yaml", []),
    ("fashion_mnist.yaml", ["data.limit=3000", "train.epochs=3"]),
])
@pytest.mark.slow
def test_healthy_runs_raise_no_finding(tmp_path, example, overrides):
    if example.startswith("fashion") and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    examples = Path(__file__).parents[1] / "examples"
    config = load_config(examples / example, [*overrides, f"output_dir={tmp_path}", "name=ok"])
    result = train_run(config, progress=False)
    assert result.findings == [], [f.line() for f in result.findings]
    state = json.loads((result.path / "doctor.json").read_text())
    assert state["findings"] == [] and state["records"], "statistics were sampled"
    assert "No problems found" in (result.path / "report.md").read_text()
    assert (result.path / "plots" / "gradients.png").is_file()


# --- mechanics ----------------------------------------------------------------------------------------
def test_the_monitor_measures_against_plain_pytorch():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    before, bias = model[0].weight.detach().clone(), model[0].bias.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = TrainingMonitor(every_steps=1)
    x = torch.randn(16, 4)
    monitor.start(model, 0)
    loss = model(x).pow(2).mean()
    loss.backward()
    opt.step()
    monitor.finish(model, 0, 1)
    record = monitor.records[0]
    grad = model[0].weight.grad
    assert record["layers"]["0"]["grad"] == pytest.approx(float(grad.pow(2).mean().sqrt()), rel=1e-6)
    moved = float((model[0].weight.detach() - before).norm() / before.norm())
    assert record["layers"]["0"]["update"] == pytest.approx(moved, rel=1e-5)
    hidden = torch.relu(torch.nn.functional.linear(x, before, bias))
    assert record["activations"]["1"]["dead"] == pytest.approx(float((hidden.amax(0) <= 0).float().mean()))
    assert not model[1]._forward_hooks  # nothing stays hooked between samples


def test_the_doctor_state_survives_a_resume(digits_splits, tmp_path):
    def trainer(epochs):
        return nt.Trainer(nt.models.MLP(64, 10, seed=0), epochs=epochs, progress=False, seed=0,
                          doctor={"live": False, "every_steps": 7})

    whole = trainer(3)
    whole.fit(digits_splits.train, digits_splits.val)
    first = trainer(1)
    first.fit(digits_splits.train, digits_splits.val)
    first.save_checkpoint(tmp_path / "ckpt.safetensors")
    resumed = trainer(3)
    resumed.load_checkpoint(tmp_path / "ckpt.safetensors")
    resumed.fit(digits_splits.train, digits_splits.val)
    assert resumed.doctor.monitor.records == whole.doctor.monitor.records
    assert [r["step"] for r in whole.doctor.monitor.records][:4] == [0, 7, 14, 21]


def test_doctor_off_and_bad_options():
    train = nt.datasets.prepare(nt.datasets.load("iris"), seed=0).train
    trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), epochs=1, progress=False, doctor=False)
    trainer.fit(train)
    assert trainer.doctor is None
    with pytest.raises(nt.errors.ConfigError, match="every_steps"):
        nt.Trainer(nt.models.MLP(4, 3), doctor={"every_steps": 0})
    with pytest.raises(nt.errors.ConfigError, match="Did you mean 'every_steps'"):
        load_config(None, ["train.doctor={every_step: 5}"])


def test_live_lines_and_the_cli(tmp_path):
    lines: list[str] = []
    train, val, _ = nt.datasets.prepare(nt.datasets.load("digits"), seed=0)
    doctor = nt.train.Doctor(every_steps=10, print_fn=lines.append)
    model = nt.models.MLP(64, 10, hidden=[32] * 20, activation="sigmoid", seed=0)
    nt.Trainer(model, epochs=2, progress=False, doctor=False, callbacks=[doctor]).fit(train, val)
    assert len(lines) == 1 and lines[0].startswith("doctor: [error] Vanishing gradients:")  # once, not per epoch
    missing = runner.invoke(app, ["doctor", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_a_finding_gone_by_the_end_stays_listed_as_info(digits_splits):
    from neuronet.train.doctor import Doctor

    doctor = Doctor(every_steps=10, live=False)
    trainer = nt.Trainer(nt.models.MLP(64, 10, seed=0), epochs=1, progress=False, doctor=False, callbacks=[doctor])
    trainer.fit(digits_splits.train, digits_splits.val)
    early = Finding("underfitting", "warning", "Underfitting", "loss still high.", "why", "fix", epoch=1)
    doctor._seen["underfitting"] = (1, early)  # seen at epoch 1, as a live line said
    found = doctor.diagnose(trainer)
    assert [(f.code, f.severity) for f in found] == [("underfitting", "info")]
    assert "at epoch 1, gone by the end" in found[0].title


def test_with_the_doctor_off_nothing_claims_a_clean_bill(tmp_path):
    config = load_config(None, ["data.source=iris", "model.type=mlp", "train.epochs=2", "train.doctor=false",
                                f"output_dir={tmp_path}", "name=doctor-off"])
    result = train_run(config, progress=False)
    assert result.findings == [] and "The doctor was off" in (result.path / "report.md").read_text()
    shown = runner.invoke(app, ["doctor", str(result.path)])
    assert shown.exit_code == 1 and "train.doctor: false" in shown.output


def test_fixes_name_the_table_column_not_the_prepared_feature(tmp_path):
    frame = wine_frame()
    frame["site"] = "north"  # a constant text column: one-hot encoded as 'site=north'
    frame["grade"] = frame["target"].str.upper()  # the label under another name, a text column too
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    config = load_config(None, [f"data.source={path}", "data.target=target", "model.type=mlp", "train.epochs=1",
                                f"output_dir={tmp_path}", "name=cols"])
    found = {f.code: f for f in train_run(config, progress=False).findings}
    assert "data.preprocess.ignore: [grade]" in found["target_leak"].fix
    assert "data.preprocess.ignore: [site]" in found["constant_feature"].fix


def test_label_smoothing_raises_the_floor_underfitting_is_read_from():
    """With smoothing 0.1 over 10 classes no model gets below 0.5003: a training loss flat at 0.70 from 1.25 is
    well fitted, not underfitting (the Fashion-MNIST speed recipe's curve); the same curve with no smoothing is."""
    from neuronet.doctor import TrainingEvidence, diagnose_training
    from neuronet.doctor.training import smoothing_floor

    epochs = [{"epoch": i + 1, "train_loss": v} for i, v in enumerate([1.0, 0.78, 0.73, 0.70])]
    steps = [{"epoch": 1 + i // 10, "batch": i % 10, "loss": 1.25 - 0.5 * i / 39, "lr": 1e-3} for i in range(40)]
    floor = smoothing_floor(0.1, 10)
    assert floor == pytest.approx(0.5003, abs=1e-4)
    assert "underfitting" not in codes(diagnose_training(TrainingEvidence(epochs, steps, floor=floor)))
    assert "underfitting" in codes(diagnose_training(TrainingEvidence(epochs, steps)))
