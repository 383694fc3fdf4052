"""Files are read only from inside the run folder: no link leads out of it, and no special file hangs a reader."""

from __future__ import annotations

import os
import shutil

import pytest

from hostile.hostile_helpers import assert_refused, cli, snapshot

pytestmark = pytest.mark.hostile("links")

SECRET = "-----BEGIN PRIVATE KEY----- hunter2"


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "id_rsa"
    path.write_text(SECRET)
    return path


def _link(path, target) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target)


@pytest.mark.parametrize("name", ["plots/loss.png", "plots", "model.safetensors", "config.yaml", "model.json",
                                  "preprocessing.json", "metrics.json", "doctor.json", "history.csv"])
@pytest.mark.parametrize("command", [["report", "--no-explain"], ["evaluate"], ["info"], ["export"]])
def test_a_link_out_of_the_run_is_refused(run_copy, secret, tmp_path, name, command):
    target = secret if name != "plots" else secret.parent
    _link(run_copy / name, target)
    before = snapshot(run_copy)
    assert_refused(cli(command[0], run_copy, *command[1:]), name.split("/")[0], "outside the run directory")
    assert snapshot(run_copy) == before
    assert not (run_copy / "report.html").exists()


def test_the_report_never_carries_a_linked_secret(run_copy, secret):
    _link(run_copy / "plots" / "accuracy.png", secret)
    ran = cli("report", run_copy, "--no-explain")
    assert ran.exit_code == 1
    for page in run_copy.rglob("*.html"):
        assert SECRET not in page.read_text()


def test_a_link_inside_the_run_is_fine(run_copy):
    (run_copy / "plots" / "loss.png").rename(run_copy / "loss-original.png")
    (run_copy / "plots" / "loss.png").symlink_to("../loss-original.png")
    ran = cli("report", run_copy, "--no-explain")
    assert ran.exit_code == 0, ran.output


def test_a_link_loop_is_one_sentence(run_copy):
    (run_copy / "metrics.json").unlink()
    (run_copy / "metrics.json").symlink_to("metrics.json")
    for command in (["info"], ["report", "--no-explain"], ["evaluate"]):
        ran = cli(command[0], run_copy, *command[1:])
        assert "Traceback" not in ran.output and ran.exit_code in (0, 1), ran.output


@pytest.mark.parametrize("name", ["plots/loss.png", "history.csv", "metrics.json"])
def test_a_fifo_in_a_run_is_refused_without_hanging(run_copy, name):
    (run_copy / name).unlink()
    os.mkfifo(run_copy / name)  # reading it would block until a writer came
    assert_refused(cli("report", run_copy, "--no-explain"), "special file")


def test_a_link_to_dev_zero_is_refused(run_copy):
    _link(run_copy / "model.safetensors", "/dev/zero")
    assert_refused(cli("evaluate", run_copy), "model.safetensors", "outside the run directory")


def test_an_export_linked_out_of_the_run_is_not_served(run_copy, secret):
    (run_copy / "export").mkdir()
    (run_copy / "export" / "model.onnx").symlink_to(secret)
    assert_refused(cli("serve", run_copy, "--backend", "onnx", "--port", "8"), "model.onnx", "outside the run")
