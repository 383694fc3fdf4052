"""A run directory is data: nothing it names is imported or called unless the user says so (--trust-code).

A config the user runs is theirs, as a script is: its own `module:function` environment works.
Python's own modules (os, subprocess, builtins...) are never an environment, trusted or not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from hostile.hostile_helpers import assert_refused, cli, edit_yaml, snapshot

pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")
pytestmark = pytest.mark.hostile("code")

TESTS = Path(__file__).parents[1]  # rl_envs.py lives there: a user's own environment module
TINY_RL = ["env.id=rl_envs:corridor", "env.n_envs=1", "agent.n_steps=16", "agent.batch_size=16", "agent.n_epochs=1",
           "train.steps=64", "train.log_every=32", "train.eval_episodes=2"]


def _sets(values: list[str]) -> list[str]:
    return [a for v in values for a in ("--set", v)]


@pytest.fixture(scope="module")
def rl_run(tmp_path_factory) -> Path:
    """A finished RL run whose environment is a user's factory, `rl_envs:corridor` (as a colleague would send it)."""
    out = tmp_path_factory.mktemp("rl")
    ran = cli("train", *_sets(TINY_RL), "--output-dir", out, "--name", "corridor", "-q", cwd=TESTS)
    assert ran.exit_code == 0, ran.output
    return out / "corridor"


@pytest.fixture
def received(rl_run, tmp_path) -> Path:
    """The RL run as received: copied into a folder of the receiver's."""
    target = tmp_path / "inbox" / "corridor"
    shutil.copytree(rl_run, target)
    return target


def _payload(tmp_path: Path) -> tuple[dict, Path]:
    marker = tmp_path / "PWNED"
    return {"id": "os:system", "kwargs": {"command": f"touch {marker}"}}, marker


@pytest.mark.parametrize("target", ["os:system", "subprocess:run", "builtins:exec", "shutil:rmtree", "posix:system",
                                    "importlib:import_module", "os.path:join", "runpy:run_path"])
def test_a_config_naming_pythons_own_modules_is_refused_before_anything_runs(tmp_path, target):
    marker = tmp_path / "PWNED"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"env": {"id": target, "kwargs": {"command": f"touch {marker}"}},
                                      "output_dir": str(tmp_path / "runs")}))
    assert_refused(cli("train", config, "-q"), target, "standard library")
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_a_users_module_that_reexports_os_system_is_refused(tmp_path):
    (tmp_path / "sneaky.py").write_text("from os import system as make\n")
    marker = tmp_path / "PWNED"
    ran = cli("train", "--set", "env.id=sneaky:make", "--set", f"env.kwargs={{command: 'touch {marker}'}}",
              "--output-dir", tmp_path / "runs", "-q", cwd=tmp_path)
    assert_refused(ran, "sneaky:make", "standard library")
    assert not marker.exists()


def test_a_config_the_user_runs_keeps_its_own_factory(rl_run):
    assert json.loads((rl_run / "status.json").read_text())["status"] == "completed"
    assert yaml.safe_load((rl_run / "config.yaml").read_text())["env"]["id"] == "rl_envs:corridor"


def test_evaluating_a_received_run_that_names_code_needs_trust_code(received):
    before = snapshot(received)
    message = assert_refused(cli("evaluate", received, cwd=TESTS), "rl_envs:corridor", "--trust-code",
                             "neuronet evaluate")
    assert "config.yaml" in message
    assert snapshot(received) == before
    trusted = cli("evaluate", received, "--trust-code", "--json", cwd=TESTS)
    assert trusted.exit_code == 0, trusted.output
    assert json.loads(trusted.stdout)["episodes"] == 2


def test_an_edited_run_config_running_a_shell_command_is_refused_even_when_trusted(received, tmp_path):
    env, marker = _payload(tmp_path)
    edit_yaml(received / "config.yaml", env=env)
    before = snapshot(received)
    assert_refused(cli("evaluate", received), "os:system", "--trust-code")
    assert_refused(cli("evaluate", received, "--trust-code"), "os:system")
    assert not marker.exists() and snapshot(received) == before


def test_resuming_a_received_run_that_names_code_needs_trust_code(received):
    status = json.loads((received / "status.json").read_text())
    (received / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))
    (received / "model.safetensors").unlink()
    before = snapshot(received)
    assert_refused(cli("train", "--resume", received, cwd=TESTS), "rl_envs:corridor", "--trust-code",
                   "neuronet train --resume")
    assert snapshot(received) == before
    ran = cli("train", "--resume", received, "--trust-code", "-q", cwd=TESTS)
    assert ran.exit_code == 0, ran.output
    assert json.loads((received / "status.json").read_text())["status"] == "completed"


def test_resuming_an_edited_run_with_a_shell_command_runs_nothing(received, tmp_path):
    env, marker = _payload(tmp_path)
    edit_yaml(received / "config.yaml", env=env)
    (received / "status.json").write_text(json.dumps({"status": "interrupted", "steps_done": 32}))
    assert_refused(cli("train", "--resume", received, "--trust-code", "-q"), "os:system")
    assert_refused(cli("train", "--resume", received, "-q"), "os:system")
    assert not marker.exists()


@pytest.mark.parametrize("command", [["info"], ["doctor"], ["doctor", "--json"], ["report", "--no-explain"]])
def test_reading_an_edited_rl_run_runs_nothing(received, tmp_path, command):
    env, marker = _payload(tmp_path)
    edit_yaml(received / "config.yaml", env=env)
    ran = cli(command[0], received, *command[1:])
    assert ran.exit_code == 0, ran.output
    assert not marker.exists()


def test_serving_an_edited_rl_run_makes_no_environment(received, tmp_path):
    from fastapi.testclient import TestClient

    from neuronet.deploy.policy import create_policy_app

    env, marker = _payload(tmp_path)
    edit_yaml(received / "config.yaml", env=env)
    with TestClient(create_policy_app(received)) as client:
        answer = client.post("/act", json={"observation": [1.0, 0.0, 0.0, 0.0, 0.0]})
    assert answer.status_code == 200, answer.text
    assert not marker.exists()


def test_a_module_shipped_inside_a_received_run_is_not_imported(received, tmp_path):
    marker = tmp_path / "PWNED"
    (received / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
                                      "def make(**kw):\n    raise SystemExit\n")
    edit_yaml(received / "config.yaml", env={"id": "evil:make", "kwargs": {}})
    assert_refused(cli("evaluate", received, cwd=received), "evil:make", "--trust-code")
    assert not marker.exists()


def test_trust_code_is_only_for_resuming(tmp_path):
    assert_refused(cli("train", "--trust-code", "--output-dir", tmp_path, "-q"), "--trust-code", "--resume")


@pytest.mark.parametrize("key,value", [("run", "/etc"), ("weights", "/etc/passwd")])
def test_a_model_json_that_points_outside_the_run_is_refused(run_copy, key, value):
    spec = json.loads((run_copy / "model.json").read_text())
    spec["kwargs"][key] = value
    (run_copy / "model.json").write_text(json.dumps(spec))
    assert_refused(cli("evaluate", run_copy), "model.json", key, "outside the run")
    assert_refused(cli("predict", run_copy, run_copy / "config.yaml"), "model.json", key)


def test_a_model_json_url_is_never_downloaded_from(run_copy):
    """A pretrained network's download address in model.json is dropped: the run's own weights replace them anyway."""
    spec = json.loads((run_copy / "model.json").read_text())
    spec["kwargs"]["url"] = "http://127.0.0.1:9/weights.pth"
    (run_copy / "model.json").write_text(json.dumps(spec))
    ran = cli("evaluate", run_copy, "--json")
    assert ran.exit_code == 0, ran.output
