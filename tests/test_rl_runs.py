"""Reinforcement learning through the run layer and the command line: config → run directory → evaluate → resume.

The RL algorithms' numerics are in test_rl.py; here, what a user of `neuronet train env.yaml` sees.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")

from neuronet.cli import app  # noqa: E402
from neuronet.config import validate  # noqa: E402
from neuronet.errors import ConfigError  # noqa: E402
from neuronet.runs import train_run  # noqa: E402
from neuronet.runs.train import RunInterrupted  # noqa: E402
from neuronet.train.callbacks import Callback  # noqa: E402

runner = CliRunner()
SMALL_PPO = {"env": {"id": "CartPole-v1", "n_envs": 2}, "agent": {"type": "ppo", "n_steps": 32, "batch_size": 32,
                                                                  "n_epochs": 2},
             "train": {"steps": 512, "log_every": 128, "eval_episodes": 3}}


def config(tmp_path, **changes):
    raw = json.loads(json.dumps(SMALL_PPO))
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    return validate({"output_dir": str(tmp_path), **raw})


def test_a_run_directory_holds_the_policy_curves_evaluation_and_report(tmp_path):
    result = train_run(config(tmp_path, name="cart"), progress=False)
    root = result.path
    assert sorted(p.name for p in root.iterdir()) == sorted([
        "checkpoint.safetensors", "config.yaml", "doctor.json", "history.csv", "metrics.json", "model.json",
        "model.safetensors", "plots", "report.md", "status.json"])
    assert sorted(p.name for p in (root / "plots").iterdir()) == ["exploration.png", "losses.png", "returns.png"]
    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["steps"] == 512 and metrics["evaluation"]["episodes"] == 3 and len(metrics["evaluation"]["returns"]) == 3
    assert json.loads((root / "status.json").read_text())["status"] == "completed"
    spec = json.loads((root / "model.json").read_text())
    assert (spec["agent"], spec["obs_shape"], spec["discrete"], spec["action_dim"]) == ("ppo", [4], True, 2)
    weights = load_file(str(root / "model.safetensors"))
    assert torch.equal(weights["actor.1.net.1.weight"], result.trainer.agent.policy.actor[1].net[1].weight.detach())
    history = (root / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,steps,episodes,mean_return") and len(history) == 1 + 4
    assert "## Evaluation (3 seeded episodes, greedy policy)" in (root / "report.md").read_text()
    again = validate(__import__("yaml").safe_load((root / "config.yaml").read_text()))  # the config as it ran
    assert again.agent.kwargs()["n_steps"] == 32 and again.agent.kwargs()["gae_lambda"] == 0.95  # defaults written


@pytest.mark.slow
def test_the_command_line_trains_evaluates_and_records_a_gif(tmp_path):
    from PIL import Image

    path = tmp_path / "cart.yaml"
    path.write_text(__import__("yaml").safe_dump(SMALL_PPO))
    trained = runner.invoke(app, ["train", str(path), "--output-dir", str(tmp_path), "--name", "c", "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert "mean return:" in trained.output and "over 3 episodes" in trained.output
    gif = tmp_path / "episode.gif"
    played = runner.invoke(app, ["evaluate", str(tmp_path / "c"), "--episodes", "4", "--seed", "7", "--record", str(gif)])
    assert played.exit_code == 0, played.output
    assert "over 4 episodes" in played.output and gif.is_file()
    as_json = runner.invoke(app, ["evaluate", str(tmp_path / "c"), "--episodes", "4", "--seed", "7", "--json",
                                  "--record", str(gif)])
    result = json.loads(as_json.output)
    recording = result["recording"]  # the first evaluation episode, replayed with frames
    assert (recording["length"], recording["return"]) == (result["lengths"][0], result["returns"][0])
    assert recording["frames"] == recording["length"] + 1 and len(result["returns"]) == 4
    with Image.open(gif) as image:  # Pillow merges identical consecutive frames (adding up their durations)
        assert 1 < image.n_frames <= recording["frames"] and image.size == (600, 400)  # CartPole's rgb_array
    doctor = runner.invoke(app, ["doctor", str(tmp_path / "c")])
    assert doctor.exit_code == 0, doctor.output
    refused = runner.invoke(app, ["evaluate", str(tmp_path / "c"), "--data", "x.csv"])
    assert refused.exit_code != 0 and "evaluated in its environment" in refused.output


@pytest.mark.parametrize("env, agent, train, message", [
    ("CartPol-v1", {"type": "ppo"}, {}, "Unknown environment 'CartPol-v1'. Did you mean 'CartPole-v1'?"),
    ("CartPole-v1", {"type": "ppo", "lr": -1}, {}, "The 'lr' parameter of PPO must be a float > 0"),
    ("CartPole-v1", {"type": "dqn", "n_steps": 5}, {}, "Agent 'dqn' has no parameter 'n_steps'"),
    ("CartPole-v1", {"type": "ppo"}, {"lr": 0.1}, "set agent.lr instead"),
    ("Pendulum-v1", {"type": "dqn"}, {}, "needs a Discrete action space"),
    ("no_such_module:make", {"type": "ppo"}, {}, "Cannot import the environment 'no_such_module:make'"),
])
def test_bad_rl_configs_are_one_sentence_and_write_nothing(tmp_path, env, agent, train, message):
    path = tmp_path / "bad.yaml"
    path.write_text(__import__("yaml").safe_dump({"env": {"id": env}, "agent": agent,
                                                  "train": {"steps": 64, "eval_episodes": 1, **train}}))
    out = tmp_path / "runs"
    result = runner.invoke(app, ["train", str(path), "--output-dir", str(out), "--quiet"])
    assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_an_env_section_leaves_no_room_for_data_or_another_task(tmp_path):
    with pytest.raises(ConfigError, match="remove the data: section"):
        validate({**SMALL_PPO, "data": {"source": "iris"}})
    with pytest.raises(ConfigError, match="cannot have an env: section"):
        validate({**SMALL_PPO, "task": "regression"})
    with pytest.raises(ConfigError, match="needs an env: section"):
        validate({"agent": {"type": "ppo"}})


class StopAfter(Callback):
    """Ctrl-C after `n` iterations."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def after_batch(self, trainer, loss) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


DQN_RUN = {"env": {"id": "CartPole-v1", "n_envs": 2},
           "agent": {"type": "dqn", "learning_starts": 64, "train_freq": 16, "gradient_steps": 4, "batch_size": 16,
                     "target_update_interval": 64, "buffer_size": 500, "exploration_fraction": 0.5},
           "train": {"steps": 1600, "log_every": 320, "eval_episodes": 2, "checkpoint": {"every_steps": 1}}}


@pytest.mark.slow
@pytest.mark.parametrize("agent", ["dqn", "ppo"])
def test_a_run_interrupted_mid_record_resumes_to_the_uninterrupted_weights(tmp_path, agent):
    raw = DQN_RUN if agent == "dqn" else {**SMALL_PPO, "train": {**SMALL_PPO["train"], "checkpoint": {"every_steps": 1}}}
    whole = train_run(validate({**raw, "output_dir": str(tmp_path), "name": "whole"}), progress=False)
    with pytest.raises(RunInterrupted):
        train_run(validate({**raw, "output_dir": str(tmp_path), "name": "cut"}), callbacks=[StopAfter(7)], progress=False)
    status = json.loads((tmp_path / "cut" / "status.json").read_text())
    assert status["status"] == "interrupted" and 0 < status["steps_done"] < raw["train"]["steps"]
    resumed = train_run(resume=tmp_path / "cut", progress=False)
    a, b = load_file(str(whole.path / "model.safetensors")), load_file(str(resumed.path / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    drop = ("time", "fps")
    assert ([{k: v for k, v in r.items() if k not in drop} for r in whole.trainer.history.epochs] ==
            [{k: v for k, v in r.items() if k not in drop} for r in resumed.trainer.history.epochs])
    assert whole.metrics["evaluation"]["returns"] == resumed.metrics["evaluation"]["returns"]
    assert resumed.metrics["resumed_fresh_episodes"] is False
    if agent == "dqn":  # the replay buffer came back whole
        wa, wb = whole.trainer.agent.buffer, resumed.trainer.agent.buffer
        assert (wa.pos, wa.size) == (wb.pos, wb.size) and torch.equal(wa.obs, wb.obs) and torch.equal(wa.actions, wb.actions)


def test_an_environment_that_cannot_be_saved_restarts_its_episodes_on_resume(tmp_path):
    raw = {"env": {"id": "LunarLander-v3", "n_envs": 2}, "agent": {"type": "ppo", "n_steps": 16, "batch_size": 32},
           "train": {"steps": 128, "log_every": 64, "eval_episodes": 1, "checkpoint": {"every_steps": 1}},
           "output_dir": str(tmp_path), "name": "lunar"}
    with pytest.raises(RunInterrupted):
        train_run(validate(raw), callbacks=[StopAfter(2)], progress=False)
    resumed = train_run(resume=tmp_path / "lunar", progress=False)
    assert resumed.metrics["resumed_fresh_episodes"] is True and resumed.metrics["steps"] == 128


@pytest.mark.slow
def test_the_doctor_sees_a_collapsed_entropy_and_exploding_q_values(tmp_path):
    """Each pathology on purpose (CartPole): PPO with lr 0.1 turns deterministic at a return far below 475;
    DQN with lr 0.05, gamma 0.999 and a target copied every 16 steps drives Q-values far above every return;
    the RL Zoo's PPO settings raise nothing."""
    import neuronet as nt

    def findings(agent, steps):
        trainer = nt.rl.RLTrainer(agent, steps=steps, log_every=steps // 8, progress=False, doctor={"live": False})
        trainer.fit()
        return [f.code for f in trainer.doctor.findings if f.severity != "info"]

    ppo = nt.rl.PPO("CartPole-v1", n_envs=4, n_steps=32, batch_size=128, n_epochs=10, lr=0.1, seed=0, device="cpu")
    assert findings(ppo, 8000) == ["entropy_collapse"]
    dqn = nt.rl.DQN("CartPole-v1", lr=0.05, learning_starts=100, train_freq=16, gradient_steps=16,
                    target_update_interval=16, gamma=0.999, max_grad_norm=1e9, seed=0, device="cpu")
    assert findings(dqn, 4000) == ["exploding_q_values"]
    healthy = nt.rl.PPO("CartPole-v1", n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                        lr=1e-3, lr_schedule="linear", clip_range=0.2, clip_schedule="linear", seed=0, device="cpu")
    assert findings(healthy, 8192) == []


def test_a_policy_is_not_served_as_a_predictor(tmp_path):
    import neuronet as nt

    result = train_run(config(tmp_path, name="p", train={"steps": 128, "log_every": 64}), progress=False)
    with pytest.raises(ConfigError, match="reinforcement-learning policy"):
        nt.load(result.path)
    agent, cfg = nt.runs.load_policy(result.path)
    obs = torch.zeros(3, 4)
    assert agent.act(obs).shape == (3,) and cfg.agent.type == "ppo"


@pytest.mark.slow
def test_pixel_observations_get_a_cnn_that_learns_to_walk_the_corridor(tmp_path):
    """A CNN policy from the model registry, reading (H, W, C) uint8 frames: greedy return optimal after training."""
    import neuronet as nt
    from rl_envs import PixelCorridor, optimal_return

    agent = nt.rl.PPO(PixelCorridor, n_envs=4, n_steps=16, batch_size=32, n_epochs=4, lr=1e-3, seed=2, device="cpu")
    assert agent.model_spec["type"] == "cnn" and agent.model_spec["dropout"] == 0.0
    assert agent.policy(torch.zeros(2, 8, 32, 3, dtype=torch.uint8)).shape == (2, 2)
    untrained = nt.rl.evaluate_policy(agent.act, PixelCorridor, episodes=2)["mean_return"]
    nt.rl.RLTrainer(agent, steps=1536, progress=False, doctor=False).fit()
    trained = nt.rl.evaluate_policy(agent.act, PixelCorridor, episodes=2)
    assert untrained < optimal_return(4) and trained["returns"] == [optimal_return(4)] * 2


def test_a_continuous_action_space_gets_a_gaussian_policy_clipped_to_its_bounds(tmp_path):
    import neuronet as nt

    agent = nt.rl.PPO("Pendulum-v1", n_envs=2, n_steps=32, batch_size=64, n_epochs=2, seed=0, device="cpu")
    assert not agent.discrete and agent.action_dim == 1 and agent.policy.log_std is not None
    with torch.no_grad():
        agent.policy.log_std.fill_(3.0)  # std e^3 = 20: most samples fall outside [-2, 2]
    step = agent.collector.step(agent.policy.act(agent.collector.obs, agent.generator)[0])
    assert step.actions.abs().max() > 2  # stored as sampled (their log-probabilities are the policy's) ...
    history = nt.rl.RLTrainer(agent, steps=128, log_every=64, progress=False, doctor=False).fit()
    assert len(history) == 2 and all(torch.isfinite(torch.tensor(r["loss"])) for r in history.epochs)


def test_info_shows_an_rl_run_and_cv_and_tune_refuse_an_rl_config(tmp_path):
    result = train_run(config(tmp_path, name="i", train={"steps": 128, "log_every": 64}), progress=False)
    shown = runner.invoke(app, ["info", str(result.path)])
    assert shown.exit_code == 0 and "agent: ppo (observations (4,), 2 discrete actions)" in shown.output, shown.output
    path = tmp_path / "rl.yaml"
    path.write_text(__import__("yaml").safe_dump({**SMALL_PPO, "tune": {"space": {"agent.lr": {"choice": [1e-3]}}}}))
    for command in (["cv", str(path)], ["tune", str(path)]):
        refused = runner.invoke(app, command)
        assert refused.exit_code != 0 and "reinforcement-learning" in refused.output, refused.output


@pytest.mark.parametrize("env, agent, model, message", [
    ({"id": "rl_envs:corridor", "kwargs": {"width": 3}}, "ppo", None, "does not take the arguments ['width'] (at env.kwargs)"),
    ({"id": "rl_envs:not_an_env"}, "ppo", None, "returned dict, not a gymnasium.Env (at env.id)"),
    ({"id": "rl_envs:DictCorridor"}, "ppo", None, "is not supported; the agents read one array (a Box)"),
    ({"id": "rl_envs:NaNCorridor"}, "ppo", None, "returned a NaN or infinite observation at step 2"),
    ({"id": "CartPole-v1"}, "ppo", None, None),  # (a control: the same command works)
])
def test_a_users_environment_that_does_not_fit_is_one_sentence(tmp_path, env, agent, model, message):
    path = tmp_path / "env.yaml"
    path.write_text(__import__("yaml").safe_dump({"env": env, "agent": {"type": agent, "n_steps": 8, "batch_size": 8},
                                                  "train": {"steps": 16, "eval_episodes": 1}}))
    result = runner.invoke(app, ["train", str(path), "--output-dir", str(tmp_path / "runs"), "--quiet"])
    if message is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_an_agent_setting_error_names_its_own_key_and_where_it_came_from(tmp_path):
    path = tmp_path / "cart.yaml"
    path.write_text(__import__("yaml").safe_dump(SMALL_PPO))
    from neuronet.config import load_config

    with pytest.raises(ConfigError, match=r"The 'lr' parameter of PPO .* Got 'fast' instead\. \(at 'agent\.lr' in --set "
                                          r"agent\.lr=fast\)"):
        load_config(path, ["agent.lr=fast"])
    with pytest.raises(ConfigError, match="Agent 'a2c' has no parameters batch_size, n_epochs; remove them"):
        load_config(path, ["agent.type=a2c"])
    assert load_config(path, ["agent.type=PPO"]).agent.type == "ppo"


def test_an_explicit_cnn_policy_with_batch_norm_builds(tmp_path):
    import neuronet as nt
    from rl_envs import PixelCorridor

    plain = nt.rl.PPO(PixelCorridor, model={"type": "cnn"}, n_steps=8, batch_size=8, device="cpu")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.policy.modules())  # the agent's defaults
    normed = nt.rl.PPO(PixelCorridor, model={"type": "cnn", "batch_norm": True}, n_steps=8, batch_size=8, device="cpu")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in normed.policy.modules())
    assert __import__("math").isfinite(normed.iteration()["loss"])  # it trains


def test_the_doctor_lists_the_rl_checks_and_export_refuses_a_policy(tmp_path):
    result = train_run(config(tmp_path, name="d", train={"steps": 128, "log_every": 64}), progress=False)
    doctor = runner.invoke(app, ["doctor", str(result.path)])
    assert "exploding value losses or Q-values" in doctor.output and "dying ReLU" not in doctor.output, doctor.output
    exported = runner.invoke(app, ["export", str(result.path)])
    assert exported.exit_code != 0 and "serve it with `neuronet serve" in " ".join(exported.output.split())


@pytest.mark.parametrize("agent", ["ppo", "dqn"])
def test_a_served_policy_acts_as_the_trained_agent(tmp_path, agent):
    """POST /act and /act/batch give the greedy actions of the run's own agent; bad observations get a 422 sentence."""
    from fastapi.testclient import TestClient

    from neuronet.deploy.policy import create_policy_app
    from neuronet.runs import load_policy

    settings = {"type": "dqn", "learning_starts": 32} if agent == "dqn" else {"type": "ppo", "n_steps": 32, "batch_size": 32}
    raw = {**SMALL_PPO, "agent": settings, "train": {"steps": 256, "log_every": 128, "eval_episodes": 2}}
    result = train_run(validate({**raw, "output_dir": str(tmp_path), "name": agent}), progress=False)
    trained, _ = load_policy(result.path)
    observations = torch.tensor([[0.0, 0.1, 0.02, -0.3], [0.1, -1.0, -0.2, 1.5], [-0.05, 0.5, 0.1, 0.0]])
    expected = trained.act(observations).tolist()
    with TestClient(create_policy_app(result.path)) as client:
        one = client.post("/act", json={"observation": observations[1].tolist()})
        assert one.status_code == 200 and one.json() == {"action": expected[1]}
        many = client.post("/act/batch", json={"observations": observations.tolist()})
        assert many.status_code == 200 and many.json() == {"actions": expected}
        meta = client.get("/metadata").json()
        assert (meta["agent"], meta["observation_shape"], meta["actions"]) == (agent, [4], 2)
        assert meta["evaluation"]["episodes"] == 2
        short = client.post("/act", json={"observation": [0.0, 0.1, 0.2]})
        assert short.status_code == 422 and short.json()["detail"] == "An observation must have shape [4]; got [3]."
        words = client.post("/act", json={"observation": ["a", "b", "c", "d"]})
        assert words.status_code == 422 and "nested lists of numbers" in words.json()["detail"]
        empty = client.post("/act", json={})
        assert empty.status_code == 422 and 'send {"observation": [...]}' in empty.json()["detail"]
        assert client.get("/nowhere").status_code == 404


# --- what report and explain say of an RL run, which has nothing to explain: one clause each -------------------
@pytest.fixture(scope="module")
def wording_run(train_small):
    return train_small("rl-wording", "env.id=CartPole-v1", "env.n_envs=2", "agent.type=ppo", "agent.n_steps=32",
                       "agent.batch_size=64", "train.steps=128", "train.eval_every=128", "train.eval_episodes=1",
                       "train.log_every=64")


def test_report_says_the_page_shows_what_the_run_has_once(wording_run):
    result = runner.invoke(app, ["report", str(wording_run)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert result.output.count("the page shows") == 1, result.output


def test_explain_does_not_speak_of_a_page(wording_run):
    result = runner.invoke(app, ["explain", str(wording_run)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "no test split to explain" in result.output and "the page" not in result.output
