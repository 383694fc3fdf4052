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
