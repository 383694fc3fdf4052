"""A run whose model.json was deleted: every command names model.json (it used to read an RL run as a supervised
one: `info` said "preprocessing.json is missing", `evaluate --episodes` that the run "learned from data")."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def rl_run(train_small):
    return train_small("rl-no-model-json", "env.id=CartPole-v1", "env.n_envs=2", "agent.type=ppo", "agent.n_steps=32",
                       "agent.batch_size=64", "train.steps=128", "train.eval_every=128", "train.eval_episodes=1",
                       "train.log_every=64")


@pytest.mark.parametrize("command", [["info"], ["evaluate", "--episodes", "1"], ["doctor"], ["report"]])
def test_an_rl_run_without_model_json_names_it(rl_run, tmp_path, command):
    run = tmp_path / "run"
    shutil.copytree(rl_run, run)
    (run / "model.json").unlink()
    result = runner.invoke(app, [command[0], str(run), *command[1:]], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "model.json is missing" in result.output
    assert "preprocessing.json" not in result.output and "learned from data" not in result.output
    assert "Traceback" not in result.output
