"""Run kinds are objects: the command line asks a run's kind, never tests which kind it is.

The proof: a toy kind that fits a constant (the training split's commonest class) is one class
and one registration here, and `neuronet train / evaluate / info / serve` work on it unchanged.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from neuronet.cli import app
from neuronet.runs.kinds import KINDS, RunKind, Shown, kind_for_config, kind_of_run

SRC = Path(__file__).parents[1] / "src" / "neuronet"
runner = CliRunner()


def _split_labels(config: Any) -> tuple[list[str], list[str]]:
    """The class names of the config's training and test rows, split as every run splits."""
    import neuronet as nt

    data = nt.datasets.load(config.data.source)
    train, _, test = data.split(val=config.data.val, test=config.data.test, seed=config.seed)
    return [data.class_names[int(i)] for i in train.y], [data.class_names[int(i)] for i in test.y]


def serve_constant(run: Path, host: str, port: int, say: Any, **options: Any) -> None:
    """The toy kind's server: an app answering the constant (asked once in-process, then stopped)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    value = json.loads((run / "model.json").read_text())["value"]
    served = FastAPI()
    served.post("/predict")(lambda: {"prediction": value})
    with TestClient(served) as client:
        say(f"serving {run.name} at http://{host}:{port}/predict: {client.post('/predict').json()}")


class Constant(RunKind):
    """A kind of run that predicts the training split's commonest class, whatever the input."""

    name = "constant"
    description = "Predicts the training split's commonest class."
    server = serve_constant

    def train(self, config: Any, resume: Path | None, callbacks: Any = (), progress: bool = True,
              trust_code: bool = False) -> Any:
        from collections import Counter

        from neuronet.config import to_yaml
        from neuronet.rundir.files import RunFiles, write_json
        from neuronet.runs.folder import RunResult, created, run_root
        from neuronet.runs.lifecycle import write_status

        train, test = _split_labels(config)
        value = Counter(train).most_common(1)[0][0]
        files = RunFiles(run_root(config, "constant"))

        def write(staging: Any) -> None:
            staging.config.write_text(to_yaml(config))
            write_json(staging.model, {"kind": self.name, "value": value})

        metrics = {"test": {"accuracy": sum(t == value for t in test) / len(test)}}
        with created(files, write):
            write_json(files.metrics, metrics)
            write_status(files, "completed", epochs_done=0)
        return RunResult(files.root, metrics, None, None, [])

    def shown(self, result: Any) -> Shown:
        return Shown(lines=[f"test accuracy: {result.metrics['test']['accuracy']:.4f}"])

    def evaluate(self, run: Path, **options: Any) -> Shown:
        from neuronet.config import load_config

        value = json.loads((Path(run) / "model.json").read_text())["value"]
        _, test = _split_labels(load_config(Path(run) / "config.yaml"))
        metrics = {"accuracy": sum(t == value for t in test) / len(test)}
        return Shown(tables=[(f"{Path(run).name}: test split", metrics)], data=metrics)

    def info(self, files: Any, status: dict[str, Any]) -> Shown:
        return Shown(lines=[f"predicts {json.loads(files.model.read_text())['value']!r} for every input"])


@pytest.fixture
def constant_kind():
    KINDS.add("constant", Constant)  # the one registration
    yield
    KINDS._entries.pop("constant")
    KINDS._help.pop("constant")


def test_a_new_kind_is_one_class_and_one_registration_and_the_cli_works_on_it(constant_kind, tmp_path):
    trained = runner.invoke(app, ["train", "--set", "kind=constant", "--set", "data.source=iris", "--output-dir",
                                  str(tmp_path), "--name", "c", "-q"])
    assert trained.exit_code == 0, trained.output
    run = tmp_path / "c"
    accuracy = json.loads((run / "metrics.json").read_text())["test"]["accuracy"]
    assert f"test accuracy: {accuracy:.4f}" in trained.stdout and 0 < accuracy < 0.5  # 3 balanced classes
    assert kind_of_run(run).name == "constant"

    evaluated = runner.invoke(app, ["evaluate", str(run), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout) == {"accuracy": accuracy}

    info = runner.invoke(app, ["info", str(run)])
    said = " ".join(info.stdout.split())
    assert info.exit_code == 0 and "status: completed" in said and "for every input" in said, info.output

    served = runner.invoke(app, ["serve", str(run), "--port", "8123"])
    value = json.loads((run / "model.json").read_text())["value"]
    assert served.exit_code == 0 and f"{{'prediction': '{value}'}}" in served.stdout, served.output

    refused = runner.invoke(app, ["export", str(run)])  # what a kind does not do is one sentence
    assert refused.exit_code == 1 and "is not exported" in refused.stderr


def test_an_unknown_kind_lists_the_valid_ones(tmp_path):
    ran = runner.invoke(app, ["train", "--set", "kind=telepathy", "--output-dir", str(tmp_path)])
    assert ran.exit_code == 1 and "Unknown run kind 'telepathy'" in ran.stderr and "supervised" in ran.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["telepathy", ["supervised"], None])
def test_a_run_naming_a_kind_this_installation_lacks_is_one_sentence(constant_kind, tmp_path, kind):
    trained = runner.invoke(app, ["train", "--set", "kind=constant", "--set", "data.source=iris", "--output-dir",
                                  str(tmp_path), "--name", "c", "-q"])
    assert trained.exit_code == 0, trained.output
    spec = tmp_path / "c" / "model.json"
    spec.write_text(json.dumps({**json.loads(spec.read_text()), "kind": kind}))  # edited, or from a newer neuronet
    for command in ("info", "evaluate", "serve", "export", "report"):
        ran = runner.invoke(app, [command, str(tmp_path / "c")])
        assert ran.exit_code == 1 and "names the run kind" in ran.stderr and "has supervised, reinforcement" in ran.stderr


def test_the_kind_is_chosen_from_the_config_in_one_place():
    from neuronet.config import validate

    assert kind_for_config(validate({})).name == "supervised"
    assert kind_for_config(validate({"env": {"id": "CartPole-v1"}})).name == "reinforcement"
    assert kind_for_config(validate({"kind": "reinforcement", "env": {"id": "CartPole-v1"}})).name == "reinforcement"


def test_no_command_cv_or_tune_tests_which_kind_a_run_is():
    """The CLI, cv, tune, serve, evaluate and info ask the kind: no `is_rl_run`, `"agent" in`, `env is not None`."""
    def telling(node: ast.AST) -> bool:  # a comparison that tells kinds apart
        return any(isinstance(n, ast.Attribute) and n.attr in ("env", "agent", "plan") or
                   isinstance(n, ast.Name) and n.id == "is_rl_run" or
                   isinstance(n, ast.Constant) and n.value in ("agent", "reinforcement", "supervised")
                   for n in ast.walk(node))

    files = [*sorted((SRC / "cli").glob("*.py")), SRC / "runs" / "cv.py", SRC / "tune" / "run.py",
             SRC / "deploy" / "serving.py"]
    found = [f"{path.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}" for path in files
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, (ast.Compare, ast.Call)) and telling(node) and
             (isinstance(node, ast.Compare) or getattr(node.func, "id", "") == "is_rl_run")]
    assert found == []


def test_a_stop_signal_during_an_import_is_raised_after_it(tmp_path, monkeypatch):
    """Raised inside an import, the interruption could cross C++ that aborts on it (torch's start-up): it is sent
    again until the import is over, and then raised as usual."""
    import sys
    import time

    from neuronet.runs.lifecycle import _importing, stop_signals

    (tmp_path / "slow_module.py").write_text("import os, signal, sys, time\nFRAME = sys._getframe()\n"
                                             "os.kill(os.getpid(), signal.SIGINT)\nfor _ in range(20):\n"
                                             "    time.sleep(0.01)\nLOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt), stop_signals():
        import slow_module  # noqa: F401 - the signal arrives while it loads
        time.sleep(2)  # the signal again, now outside the import: raised here
    assert sys.modules["slow_module"].LOADED  # the import was not cut short
    assert _importing(sys.modules["slow_module"].FRAME) and not _importing(sys._getframe())
    del sys.modules["slow_module"]
