"""The loop shell: the three trainers share one base (callbacks, events, RNG fork, saving), progress bars read
public state only, and train/, rl/ and doctor/ import one another without a cycle."""

from __future__ import annotations

import ast
import importlib
import io
import re
from pathlib import Path

import pytest
import torch
from rich.console import Console

import neuronet as nt
from neuronet.errors import ConfigError
from neuronet.rl.progress import RLProgress
from neuronet.train import Callback, GANTrainer, LoopShell, ProgressBar, Trainer, TrainerProtocol

SRC = Path(__file__).parents[1] / "src" / "neuronet"


@pytest.fixture(scope="module")
def iris():
    train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
    return train


def ppo(seed: int = 0) -> nt.rl.PPO:
    return nt.rl.PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=32, n_epochs=1, seed=seed)


def trainers() -> list[LoopShell]:
    data = nt.datasets.load("digits")
    gan = nt.models.DCGAN(data.input_shape, 0, latent=8, width=8, seed=0)
    return [Trainer(nt.models.MLP(4, 3, seed=0), progress=False), GANTrainer(gan, progress=False),
            nt.rl.RLTrainer(ppo(), steps=64, progress=False)]


def test_every_trainer_builds_on_the_shell_and_offers_callbacks_the_same_public_state():
    for trainer in trainers():
        assert isinstance(trainer, LoopShell) and isinstance(trainer, TrainerProtocol), type(trainer).__name__
        for name in ("add_callback", "emit", "fitting", "save_weights", "save_checkpoint", "load_checkpoint"):
            assert getattr(type(trainer), name) is getattr(LoopShell, name), (type(trainer).__name__, name)


class Incomplete:
    def before_fit(self, trainer):
        pass


def test_a_callback_without_every_event_is_refused_by_every_trainer_with_a_module_that_exists():
    for trainer in trainers():
        with pytest.raises(ConfigError, match="lacks before_epoch, before_batch") as err:
            trainer.add_callback(Incomplete())
        named = re.search(r"subclass (neuronet(?:\.\w+)+)\.(\w+)\)", str(err.value))
        assert named, str(err.value)
        assert getattr(importlib.import_module(named.group(1)), named.group(2)) is Callback


class Events(Callback):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def before_fit(self, trainer):
        self.seen.append("before_fit")

    def after_epoch(self, trainer, logs):
        self.seen.append("after_epoch")

    def after_fit(self, trainer):
        self.seen.append("after_fit")


def test_the_rl_trainer_keeps_a_checkpoint_last_and_runs_the_events_and_rng_fork_of_the_shell(tmp_path):
    events = Events()
    trainer = nt.rl.RLTrainer(ppo(), steps=64, log_every=32, progress=False, doctor=False,
                              checkpoint={"path": str(tmp_path / "c.safetensors")})
    trainer.add_callback(events)
    assert [type(cb).__name__ for cb in trainer.callbacks] == ["Events", "SaveCheckpoint"]
    assert trainer.callbacks_for("before_batch") == []  # an event no callback implements is skipped
    assert [type(cb).__name__ for cb in trainer.callbacks_for("after_batch")] == ["SaveCheckpoint"]
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    trainer.fit()
    assert torch.equal(torch.rand(1), expected)  # the user's RNG is left alone
    assert events.seen == ["before_fit", "after_epoch", "after_epoch", "after_fit"]
    assert (tmp_path / "c.safetensors").is_file()


class PublicOnly:
    """The trainer, with its private attributes out of reach."""

    def __init__(self, trainer: object) -> None:
        self._trainer = trainer

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AssertionError(f"a progress bar read the private trainer.{name}")
        return getattr(self._trainer, name)


def drive(bar: ProgressBar, trainer: object, logs: dict) -> str:
    """Every event of the bar on one epoch of `trainer` as it is now; what it printed."""
    bar.before_fit(trainer)
    bar.before_epoch(trainer)
    bar.after_batch(trainer, 0.5)
    bar.after_epoch(trainer, logs)
    bar.after_fit(trainer)
    return bar.console.file.getvalue()


def test_both_progress_bars_are_one_implementation_reading_public_state(iris):
    assert issubclass(RLProgress, ProgressBar)
    assert {"before_fit", "after_batch", "after_epoch", "after_fit"}.isdisjoint(vars(RLProgress))  # events: once
    trainer = Trainer(nt.models.MLP(4, 3, seed=0), epochs=1, progress=False, doctor=False)
    trainer.fit(iris)
    terminal = {"force_terminal": True, "width": 200}
    out = drive(ProgressBar(Console(file=io.StringIO(), **terminal), refresh=0), PublicOnly(trainer),
                {**trainer.history.epochs[-1], "epoch": 1})
    assert "epoch 1/1  train_loss" in out
    rl = nt.rl.RLTrainer(ppo(), steps=64, log_every=64, progress=False, doctor=False)
    rl.fit()
    rl.train_iteration()  # one iteration into a record, so that the info line has something to show
    out = drive(RLProgress(Console(file=io.StringIO(), **terminal), refresh=0), PublicOnly(rl), rl.history.epochs[-1])
    assert "record 1/1  steps 64 · episodes" in out and "entropy" in out


def imports_of(path: Path) -> set[str]:
    """The neuronet modules a file imports anywhere: top level, inside functions, under TYPE_CHECKING."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return {n for n in names if n.startswith("neuronet.")}


def test_train_rl_and_doctor_import_one_another_without_a_cycle():
    modules = {}
    for package in ("train", "rl", "doctor"):
        for path in (SRC / package).rglob("*.py"):
            name = ".".join(("neuronet", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
            modules[name] = path
    edges = {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name):], name]))
        if name not in done:
            for other in sorted(edges[name]):
                visit(other, [*path, name])
            done.add(name)

    for name in sorted(modules):
        visit(name, [])
    # the recipes sit above the Trainer: it never imports them
    assert "neuronet.train.finetune" not in edges["neuronet.train.trainer"]
    assert "neuronet.train.trainer" in edges["neuronet.train.finetune"]
    # the base modules build none of their subclasses, and every rule of the doctor lives in neuronet.doctor
    assert not edges["neuronet.train.callbacks"] & {"neuronet.train.progress", "neuronet.train.doctor"}
    rules = [f"{name}.{node.name}" for name, path in modules.items() if not name.startswith("neuronet.doctor")
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.FunctionDef) and node.name.startswith("diagnose_")]
    assert rules == []
