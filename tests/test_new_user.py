"""What a newcomer does first, on real data: one-liners on messy tables, a CSV time series, text files, start-up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app

ROOT = Path(__file__).parents[1]
NEURONET = Path(sys.executable).parent / "neuronet"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def wine_table(tmp_path_factory):
    """The real wine table as a user's messy export: a date, a category, gaps and '?' markers."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    rng = np.random.default_rng(3)
    frame["bottled"] = pd.date_range("2019-01-01", periods=len(frame), freq="3D").strftime("%Y-%m-%d")
    frame["cellar"] = rng.choice(["A", "B", "C"], len(frame))
    frame["alcohol"] = frame["alcohol"].astype(object)
    frame.loc[rng.choice(len(frame), 9, replace=False), "alcohol"] = "?"
    frame.loc[rng.choice(len(frame), 7, replace=False), "magnesium"] = np.nan
    frame["cultivar"] = frame.pop("target").map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_one_liner_just_works_on_a_messy_table_and_says_what_it_did(wine_table, tmp_path):
    result = invoke("train", "--set", f"data.source={wine_table}", "--set", "data.target=cultivar",
                    "--set", "model.type=mlp", "--set", "train.epochs=40", "--output-dir", tmp_path, "--name", "w", "-q")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "data: table: 13 numeric, 1 categorical, 1 date column(s) -> 20 features" in said
    assert re.search(r"\d+ missing value\(s\) in 2 column\(s\) filled \(median\)", said)  # counted in training rows
    assert re.search(r"read as missing: \d marker\(s\) like '\?' or 'n/a' in 'alcohol'", said)
    assert json.loads((tmp_path / "w" / "metrics.json").read_text())["test"]["accuracy"] > 0.85


def test_the_readme_per_column_override_works(wine_table, tmp_path):
    """The README's own example, `columns: {COL: {type: ...}}`, crashed with an AttributeError."""
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  source: {wine_table}\n  target: cultivar\n  preprocess:\n    missing: median\n"
                      "    indicators: true\n    categorical: onehot\n    columns: {bottled: {type: date}, cellar: "
                      "{type: categorical}, magnesium: {scale: robust}}\nmodel: {type: mlp}\ntrain: {epochs: 3}\n")
    result = invoke("train", config, "--output-dir", tmp_path, "--name", "c", "-q")
    assert result.exit_code == 0, result.output
    step = json.loads((tmp_path / "c" / "preprocessing.json").read_text())["pipeline"]["steps"][0]
    assert [s["kind"] for s in step["steps"] if s["column"] in ("bottled", "cellar")] == ["date", "categorical"]


def test_a_user_csv_time_series_is_forecast_from_the_cli(tmp_path):
    """Real monthly airline passengers as a user's CSV: shuffled rows, a date column, gaps in the target."""
    from sktime.datasets import load_airline

    series = load_airline()
    frame = pd.DataFrame({"month": series.index.to_timestamp().strftime("%Y-%m"), "passengers": series.values})
    frame.loc[[10, 11, 50], "passengers"] = np.nan
    frame.sample(frac=1, random_state=0).to_csv(tmp_path / "airline.csv", index=False)
    result = invoke("train", "--set", f"data.source={tmp_path / 'airline.csv'}", "--set", "data.target=passengers",
                    "--set", "task=forecasting", "--set", "data.options={input_len: 12}", "--set", "model.type=lstm",
                    "--set", "model.residual=true", "--set", "train.epochs=60", "--output-dir", tmp_path, "--name", "f", "-q")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "rows sorted by 'month'" in said and "gaps filled by linear interpolation: 3 in 'passengers'" in said
    assert json.loads((tmp_path / "f" / "metrics.json").read_text())["test"]["r2"] > 0.7
    forecast = invoke("predict", tmp_path / "f", tmp_path / "airline.csv")
    assert forecast.exit_code == 0 and 380 < float(forecast.output.splitlines()[1]) < 520  # the month after Dec 1960
    scored = invoke("evaluate", tmp_path / "f", "--data", tmp_path / "airline.csv", "--json")
    assert scored.exit_code == 0 and json.loads(scored.output)["rmse"] < 60


def test_evaluating_a_text_run_on_a_file_reads_its_text_column(tmp_path):
    from neuronet.datasets.text import tweets_frame

    tweets = tweets_frame().sample(n=700, random_state=2)[["text", "sentiment"]]
    tweets.iloc[:600].to_csv(tmp_path / "train.csv", index=False)
    tweets.iloc[600:].to_csv(tmp_path / "new.csv", index=False)
    result = invoke("train", "--set", f"data.source={tmp_path / 'train.csv'}", "--set", "data.text=text",
                    "--set", "data.target=sentiment", "--set", "model.type=gru", "--set", "train.epochs=2",
                    "--output-dir", tmp_path, "--name", "t", "-q")
    assert result.exit_code == 0, result.output
    scored = invoke("evaluate", tmp_path / "t", "--data", tmp_path / "new.csv", "--json")
    assert scored.exit_code == 0, scored.output
    assert 0 <= json.loads(scored.stdout)["accuracy"] <= 1, scored.output  # (was: the text column read as numbers, and a crash)
    unlabelled = tweets.iloc[600:].copy()
    unlabelled["text"] = unlabelled.text.str.replace("\r", " ")  # (bare carriage returns break CSV rows)
    unlabelled.iloc[[3, 7], 1] = ["?", None]  # two rows without a label: left out, and said
    unlabelled.iloc[[1, 5], 0] = ["", "   "]  # two empty texts: left out as in training (was: an error)
    unlabelled.to_csv(tmp_path / "some-unlabelled.csv", index=False)
    scored = invoke("evaluate", tmp_path / "t", "--data", tmp_path / "some-unlabelled.csv", "--json")
    assert scored.exit_code == 0, scored.output
    assert "data: 2 row(s) of" in scored.stderr and "without a target left out (data row(s) 4, 8)" in scored.stderr
    assert "with an empty 'text' left out (data row(s) 2, 6), as in training" in scored.stderr
    assert 0 <= json.loads(scored.stdout)["accuracy"] <= 1
    tweets.iloc[600:].rename(columns={"text": "tweet"}).to_csv(tmp_path / "renamed.csv", index=False)
    bad = invoke("evaluate", tmp_path / "t", "--data", tmp_path / "renamed.csv")
    assert bad.exit_code == 1 and "has no 'text' column with the texts" in bad.output and len(bad.output) < 300


def test_a_crash_during_training_leaves_a_failed_status_not_created(tmp_path):
    class Boom(nt.callbacks.Callback):
        def after_batch(self, trainer, loss):
            raise RuntimeError("disk on fire")

    config = nt.config.load_config(None, [f"output_dir={tmp_path}", "name=boom", "model.type=mlp"])
    with pytest.raises(RuntimeError, match="disk on fire"):
        nt.runs.train_run(config, callbacks=[Boom()], progress=False)
    status = json.loads((tmp_path / "boom" / "status.json").read_text())
    assert status["status"] == "failed" and "disk on fire" in status["message"]


def test_the_command_line_starts_without_pytorch(tmp_path):
    """`neuronet --help` and `neuronet info` read no model: they must not import torch (it takes seconds)."""
    run = nt.runs.train_run(nt.config.load_config(None, [f"output_dir={tmp_path}", "name=r", "model.type=mlp",
                                                          "train.epochs=1"]), progress=False).path
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom neuronet.cli import app\n"
            "r = CliRunner().invoke(app, {args})\nassert r.exit_code == 0, r.output\n"
            "heavy = [m for m in ('torch', 'sklearn', 'pandas', 'matplotlib') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    for args in (["--help"], ["train", "--help"], ["info", str(run)]):
        done = subprocess.run([sys.executable, "-c", code.replace("{args}", repr(args))], capture_output=True, text=True)
        assert done.returncode == 0, (args, done.stderr)
    done = subprocess.run([sys.executable, "-c", "import sys, neuronet\nassert 'torch' not in sys.modules"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_name_the_readme_gives_exists():
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"examples/([\w.-]+\.yaml)", readme)) | set(re.findall(r"`([\w-]+\.yaml)`", readme))
    examples = {p.name for p in (ROOT / "examples").glob("*.yaml")}
    assert named - {"config.yaml", "data.yaml"} <= examples, named - examples  # a run's config; YOLO's class names
    commands = set(re.findall(r"^neuronet ([a-z-]+)", readme, flags=re.M))
    registered = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert commands and commands <= registered, commands - registered
    help_text = invoke("--help").output
    assert all(word not in help_text for word in ("serve", "explain")) or "serve" in registered


def test_every_example_is_named_in_the_readme_and_every_model_has_one():
    readme = (ROOT / "README.md").read_text()
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert [p.name for p in examples if p.name not in readme] == []
    from neuronet.config import load_config

    used = {load_config(p).model.type for p in examples}
    assert used == set(nt.models.MODELS.names()), set(nt.models.MODELS.names()) - used


def test_several_target_columns_make_a_multi_output_regression(tmp_path):
    from sklearn.datasets import load_linnerud

    load_linnerud(as_frame=True).frame.to_csv(tmp_path / "linnerud.csv", index=False)  # 3 exercises -> 3 body measures
    result = invoke("train", "--set", f"data.source={tmp_path / 'linnerud.csv'}", "--set", "data.target=[Weight, Waist, Pulse]",
                    "--set", "model.type=mlp", "--set", "train.epochs=20", "--set", "data.test=0.25",
                    "--output-dir", tmp_path, "--name", "m", "-q")
    assert result.exit_code == 0, result.output
    pred = invoke("predict", tmp_path / "m", tmp_path / "linnerud.csv")
    assert pred.output.splitlines()[0] == "prediction_Weight,prediction_Waist,prediction_Pulse"
    assert len(pred.output.splitlines()) == 21
    assert set(json.loads(invoke("evaluate", tmp_path / "m", "--json").output)) == {"loss", "mae", "rmse", "r2"}
    bad = invoke("train", "--set", f"data.source={tmp_path / 'linnerud.csv'}", "--set", "data.target=[Weight, Waist]",
                 "--set", "task=classification", "--output-dir", tmp_path, "-q")
    assert bad.exit_code == 1 and "multi-output regression; a classification task takes one target column" in bad.output


def test_newcomer_mistakes_with_text_and_images_are_one_sentence_before_anything_is_written(tmp_path):
    from neuronet.datasets.text import tweets_frame

    tweets = tweets_frame().sample(n=200, random_state=0)[["text", "sentiment"]].rename(columns={"text": "tweet"})
    path = tmp_path / "tweets.csv"
    tweets.to_csv(path, index=False)
    base = ["train", "--set", f"data.source={path}", "--set", "data.target=sentiment", "--output-dir", tmp_path,
            "--name", "x", "-q"]
    cases = [
        (["--set", "data.text=tweet", "--set", "model.type=gru", "--set", "train.augment=[{type: hflip}]"],
         r"Augmentation 'hflip' \(train.augment\) applies to images and spectrograms, not to token ids \(text\)"),
        (["--set", "data.text=tweet", "--set", "model.type=mlp"], "Model 'mlp' reads table or sequence"),
        ([], "no usable feature columns .*; to learn from the text in 'tweet', set data.text: tweet"),
        (["--set", "data.text=tweet", "--set", "train.epochs=two"], "--set train.epochs=two"),
    ]
    for extra, message in cases:
        result = invoke(*base, *extra)
        assert result.exit_code == 1 and re.search(message, " ".join(result.output.split())), (extra, result.output)
        assert not (tmp_path / "x").exists()  # checked before any run directory is written
    folder = tmp_path / "pictures"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
    for mode, message in (("RBG", "must be 'L' \\(grey\\) or 'RGB'"), ("[32]", None)):
        option = "data.options.mode" if mode == "RBG" else "data.options.size"
        result = invoke("train", "--set", f"data.source={folder}", "--set", f"{option}={mode}", "--output-dir", tmp_path)
        assert result.exit_code == 1 and re.search(message or "must be \\[height, width\\]", result.output), result.output


def test_a_file_that_is_not_utf8_is_read_and_said(tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["target"] = frame.target.map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame["note"] = "ok"
    frame.loc[3, "note"] = "caf\xe9"  # written below in Latin-1, as an old spreadsheet would
    path = tmp_path / "iris-latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    result = invoke("train", "--set", f"data.source={path}", "--set", "data.target=target", "--set", "model.type=mlp",
                    "--set", "train.epochs=2", "--output-dir", tmp_path, "--name", "latin", "-q")
    assert result.exit_code == 0, result.output
    assert "data: " in result.stderr and "is not valid UTF-8 (byte 0xe9" in " ".join(result.stderr.split())
    folder = invoke("evaluate", tmp_path / "latin", "--data", tmp_path)
    assert folder.exit_code == 1 and "is a folder, but a table file" in folder.output


def test_without_model_type_the_model_is_chosen_from_the_data(tmp_path):
    from neuronet.datasets.text import tweets_frame

    tweets_frame().sample(n=300, random_state=1)[["text", "sentiment"]].to_csv(tmp_path / "t.csv", index=False)
    result = invoke("train", "--set", f"data.source={tmp_path / 't.csv'}", "--set", "data.text=text", "--set",
                    "data.target=sentiment", "--set", "train.epochs=1", "--output-dir", tmp_path, "-q")
    assert result.exit_code == 0, result.output
    assert "model: gru (model.type auto, for text data)" in " ".join(result.stderr.split())
    run_dir = next(tmp_path.glob("t-gru-*"))  # the chosen model names the run
    assert "type: gru" in (run_dir / "config.yaml").read_text()
    bad = invoke("train", "--set", "model.hiden=8", "--output-dir", tmp_path)  # digits: the CNN is chosen
    assert bad.exit_code == 1 and "Model 'cnn' (model.type auto, for image data) has no parameter 'hiden'. " \
        "Did you mean 'hidden'" in " ".join(bad.output.split())
