"""data.group naming a column the table does not have: the error names data.group (it said "Preprocessing names
column 'grp'", though no preprocessing option was given), suggests the closest column and lists them."""

from __future__ import annotations

from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


def test_a_misspelt_group_column_names_data_group(iris_csv, tmp_path):
    import pandas as pd

    frame = pd.read_csv(iris_csv)
    frame["plant"] = range(len(frame))
    path = tmp_path / "plants.csv"
    frame.to_csv(path, index=False)
    target = frame.columns[-2]
    result = runner.invoke(app, ["train", "--set", f"data.source={path}", "--set", f"data.target={target}", "--set",
                                 "data.group=plnt", "--output-dir", str(tmp_path / "runs")], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "data.group" in result.output and "Did you mean 'plant'?" in result.output
    assert "Preprocessing" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_data_group_on_texts_is_refused_as_cv_refuses_it(tmp_path):
    import pandas as pd

    texts = ["a good film", "a bad film", "great fun", "dull and slow", "loved it", "hated it"] * 10
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"review": texts, "label": ["pos", "neg"] * 30, "user": range(60)}).to_csv(path, index=False)
    result = runner.invoke(app, ["train", "--set", f"data.source={path}", "--set", "data.text=review", "--set",
                                 "data.target=label", "--set", "data.group=user", "--set", "train.epochs=1",
                                 "--output-dir", str(tmp_path / "runs")], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output  # it trained, ignoring data.group
    assert "data.group names a column, so it applies to tables" in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
