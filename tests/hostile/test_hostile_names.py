"""Names are names: `--name` and `name:` are one folder inside the output folder, taken as they are (never YAML)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hostile.hostile_helpers import TINY, assert_refused, cli

pytestmark = pytest.mark.hostile("names")


def _sets() -> list[str]:
    return [a for v in TINY for a in ("--set", v)]


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute-run", "a/b", "..", ".", ".hidden", "a\nb",
                                  "tab\there", "bell\x07", "esc\x1b[31m", "x" * 5000, "", " padded", "back\\slash",
                                  "del\x7f"])
def test_a_name_that_is_not_one_folder_is_refused(tmp_path, name):
    out = tmp_path / "deep" / "runs"
    ran = cli("train", "--output-dir", out, "--name", name, *_sets(), "-q")
    assert_refused(ran, "name", "--name")
    assert not out.exists() and not (tmp_path / "escaped").exists() and not Path("/tmp/absolute-run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["exp #2", "null", "~", "[1, 2]", "résumé-δ", "{a: 1}", "yes", "1e-3"])
def test_a_name_is_taken_as_it_is_never_parsed(tmp_path, name):
    ran = cli("train", "--output-dir", tmp_path, "--name", name, *_sets(), "-q")
    assert ran.exit_code == 0, ran.output
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert json.loads((tmp_path / name / "status.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("where", ["config", "set"])
def test_a_name_from_a_config_or_set_is_checked_too(tmp_path, where):
    if where == "config":
        config = tmp_path / "c.yaml"
        config.write_text("name: ../../escaped\n")
        ran = cli("train", config, "--output-dir", tmp_path / "runs")
    else:
        ran = cli("train", "--set", "name=../../escaped", "--output-dir", tmp_path / "runs")
    assert_refused(ran, "one folder name")
    assert not (tmp_path / "runs").exists()


def test_an_existing_name_is_refused_and_left_alone(run_copy):
    before = (run_copy / "model.safetensors").read_bytes()
    assert_refused(cli("train", "--output-dir", run_copy.parent, "--name", run_copy.name, "-q"), "already exists",
                   "completed", "choose another name")  # not "--resume": a completed run has nothing to resume
    assert (run_copy / "model.safetensors").read_bytes() == before


def test_an_output_dir_that_is_a_file_is_one_sentence(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    assert_refused(cli("train", "--output-dir", afile, "-q"), str(afile), "is a file")
    assert_refused(cli("train", "--output-dir", afile / "below", "-q"), "is a file")


def test_an_output_dir_with_a_name_too_long_for_the_disk_is_one_sentence(tmp_path):
    assert_refused(cli("train", "--output-dir", tmp_path / ("d" * 300), *_sets(), "-q"), "too long")


def test_an_automatic_name_from_a_strange_file_name_is_made_safe(tmp_path, iris_csv):
    strange = tmp_path / "new\nline [x] $(rm).csv"
    strange.write_bytes(iris_csv.read_bytes())
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"source": str(strange), "target": "target"}, "model": {"type": "mlp"},
                                      "train": {"epochs": 1}}))
    ran = cli("train", config, "--output-dir", tmp_path / "runs", "-q")
    assert ran.exit_code == 0, ran.output
    (made,) = (tmp_path / "runs").iterdir()
    assert "\n" not in made.name and made.name.startswith("new-line [x] $(rm)-mlp-")


@pytest.mark.parametrize("command", ["cv", "tune"])
def test_cv_and_tune_check_names_too(tmp_path, command):
    assert_refused(cli(command, "--name", "../escaped", "--output-dir", tmp_path / "runs"), "one folder name")
    assert not (tmp_path / "escaped").exists()


def test_an_unfinished_run_of_that_name_gets_the_resume_command(run_copy):
    edit_status = json.loads((run_copy / "status.json").read_text())
    (run_copy / "status.json").write_text(json.dumps({**edit_status, "status": "interrupted"}))
    assert_refused(cli("train", "--output-dir", run_copy.parent, "--name", run_copy.name, "-q"), "already exists",
                   "--resume")  # a completed one is told to choose another name (above)

