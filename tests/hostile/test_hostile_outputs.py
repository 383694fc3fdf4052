"""An output the user names never replaces a run's own files (its weights, config, plots), nor the input itself."""

from __future__ import annotations

import os

import pytest

from hostile.hostile_helpers import assert_refused, cli, snapshot

pytestmark = pytest.mark.hostile("outputs")


@pytest.fixture
def inputs(tmp_path):
    """Two digit images to predict, as a user holds them."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    images = load_digits().images[:2]
    paths = []
    for i, image in enumerate(images):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("target", ["model.safetensors", "config.yaml", "model.json", "preprocessing.json",
                                    "status.json", "history.csv", "report.md", "plots/loss.png", "checkpoint.safetensors",
                                    "metrics.json", ".", "plots"])
def test_predict_output_over_a_runs_own_file_is_refused(run_copy, inputs, target):
    before = snapshot(run_copy)
    assert_refused(cli("predict", run_copy, *inputs, "-o", run_copy / target), "write to a new file")
    assert snapshot(run_copy) == before


def test_predict_output_through_a_link_to_a_runs_weights_is_refused(run_copy, inputs, tmp_path):
    link = tmp_path / "innocent.csv"
    link.symlink_to(run_copy / "model.safetensors")
    before = snapshot(run_copy)
    assert_refused(cli("predict", run_copy, *inputs, "-o", link), "model.safetensors")
    assert snapshot(run_copy) == before


def test_a_new_file_beside_a_runs_files_is_fine(run_copy, inputs):
    ran = cli("predict", run_copy, *inputs, "-o", run_copy / "predictions.csv")
    assert ran.exit_code == 0, ran.output
    assert (run_copy / "predictions.csv").read_text().count("\n") == 3


def test_an_output_that_is_the_input_is_refused(run_copy, tmp_path):
    from sklearn.datasets import load_digits

    table = tmp_path / "new.csv"
    import pandas as pd

    pd.DataFrame(load_digits().data[:3]).to_csv(table, index=False)
    before = table.read_bytes()
    ran = cli("predict", run_copy, table, "-o", table)
    assert "Traceback" not in ran.output and ran.exit_code == 1
    assert table.read_bytes() == before


def test_an_output_that_is_a_folder_is_one_sentence(run_copy, inputs, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    assert_refused(cli("predict", run_copy, *inputs, "-o", folder), str(folder))
    assert os.listdir(folder) == []


def test_lr_find_does_not_plot_over_a_runs_plot(run_copy):
    before = snapshot(run_copy)
    assert_refused(cli("lr-find", "--plot", run_copy / "plots" / "loss.png"), "loss.png", "write to a new file")
    assert snapshot(run_copy) == before


def test_a_run_evaluates_from_another_folder_and_a_moved_data_file_is_one_sentence(tmp_path, iris_csv):
    data = tmp_path / "data"
    data.mkdir()
    (data / "iris.csv").write_bytes(iris_csv.read_bytes())
    ran = cli("train", "--set", "data.source=iris.csv", "--set", "data.target=target", "--set", "model.type=mlp",
              "--set", "train.epochs=2", "--output-dir", tmp_path / "runs", "--name", "iris", "-q", cwd=data)
    assert ran.exit_code == 0, ran.output
    elsewhere = cli("evaluate", tmp_path / "runs" / "iris", "--json", cwd=tmp_path)  # the relative path still found
    assert elsewhere.exit_code == 0, elsewhere.output
    (data / "iris.csv").unlink()
    assert_refused(cli("evaluate", tmp_path / "runs" / "iris"), "iris.csv", "--data")
