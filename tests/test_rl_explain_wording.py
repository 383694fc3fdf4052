"""What `neuronet report` and `neuronet explain` say of an RL run, which has nothing to explain: one clause each
(report used to say "...; the page shows its evaluation, curves and the doctor's findings; the page shows what the
run has", and explain spoke of "the page")."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def rl_run(train_small):
    return train_small("rl-wording", "env.id=CartPole-v1", "env.n_envs=2", "agent.type=ppo", "agent.n_steps=32",
                       "agent.batch_size=64", "train.steps=128", "train.eval_every=128", "train.eval_episodes=1",
                       "train.log_every=64")


def test_report_says_the_page_shows_what_the_run_has_once(rl_run):
    result = runner.invoke(app, ["report", str(rl_run)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert result.output.count("the page shows") == 1, result.output


def test_explain_does_not_speak_of_a_page(rl_run):
    result = runner.invoke(app, ["explain", str(rl_run)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "no test split to explain" in result.output and "the page" not in result.output
