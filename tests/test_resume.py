"""Exact resume from anywhere: mid-epoch checkpoints, and a run killed with SIGKILL at many moments."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import neuronet as nt
from neuronet.config import load_config
from neuronet.runs import train_run
from neuronet.train import SaveCheckpoint

NEURONET = Path(sys.executable).parent / "neuronet"


class KillAt(nt.callbacks.Callback):
    """Stands in for an interruption after the n-th training step."""

    def __init__(self, step: int) -> None:
        self.step, self.seen = step, 0

    def after_batch(self, trainer, loss):
        self.seen += 1
        if self.seen == self.step:
            raise KeyboardInterrupt


@pytest.mark.parametrize("options", [
    {"schedule": "one_cycle", "augment": [{"type": "rotation"}, {"type": "mixup"}]},
    {"schedule": {"type": "reduce_on_plateau", "patience": 0}, "early_stopping": {"patience": 1}, "l2": 1e-3},
])
def test_a_trainer_resumed_mid_epoch_ends_bit_identical(digits, tmp_path, options):
    """Dropout, augmentation, a per-step schedule and train metrics: the RNG, position and partial epoch are restored."""
    train, val, _ = nt.datasets.prepare(digits, seed=0)

    def make(*callbacks):
        model = nt.models.CNN((1, 8, 8), 10, channels=[8], hidden=16, dropout=0.3, seed=0)
        return nt.Trainer(model, epochs=3, batch_size=64, progress=False, callbacks=list(callbacks), **options)

    whole = make()
    whole.fit(train, val=val)
    for step in (5, 20, 21, 39):  # inside epoch 1, the last batch of epoch 1, the first of epoch 2, inside epoch 2
        cut = make(KillAt(step), SaveCheckpoint(tmp_path / "ckpt.safetensors", every_steps=1))
        with pytest.raises(KeyboardInterrupt):
            cut.fit(train, val=val)
        resumed = make()
        resumed.load_checkpoint(tmp_path / "ckpt.safetensors")
        assert (resumed.epoch, resumed.batch) == divmod(step - 1, 20)  # 20 batches per epoch
        resumed.fit(train, val=val)
        for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
            assert torch.equal(a, b), (step, name)
        drop_time = lambda h: [{k: v for k, v in r.items() if k != "time"} for r in h.epochs]  # noqa: E731
        assert drop_time(resumed.history) == drop_time(whole.history) and resumed.history.steps == whole.history.steps


CONFIG = """\
seed: 0
data: {source: digits, val: 0.1, test: 0.2}
model: {type: mlp, hidden: [512, 512], dropout: 0.2}
train:
  epochs: 3
  batch_size: 32
  schedule: one_cycle
  augment: [{type: rotation, degrees: 10}]
  early_stopping: {patience: 10}
  checkpoint: {every_steps: 2}
"""


def _same_run(a: Path, b: Path) -> None:
    """Weights, history (but wall-clock times) and metrics of two run directories are identical."""
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    ha, hb = pd.read_csv(a / "history.csv").drop(columns="time"), pd.read_csv(b / "history.csv").drop(columns="time")
    pd.testing.assert_frame_equal(ha, hb)
    pd.testing.assert_frame_equal(pd.read_csv(a / "history_steps.csv"), pd.read_csv(b / "history_steps.csv"))
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    assert ma["test"] == mb["test"] and ma["val"] == mb["val"]


def _progress(run: Path) -> int:
    """Training steps done according to the run's status file (0 when there is none yet)."""
    try:
        status = json.loads((run / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        return 0
    return status.get("epochs_done", 0) * 40 + status.get("batches_done", 0)  # 40 batches per epoch


def _kill_when(process: subprocess.Popen, run: Path, trigger: str, target: int, deadline: float) -> str:
    """SIGKILL the process at the chosen moment: once `target` steps are done ("step"), or while a
    checkpoint is being written ("write"). Returns what happened. Bounded by `deadline`."""
    while time.monotonic() < deadline and process.poll() is None:
        if trigger == "write" and run.is_dir() and any(run.glob(".checkpoint*.tmp")):
            process.send_signal(signal.SIGKILL)
            return "killed during a checkpoint write"
        if trigger == "step" and _progress(run) >= target:
            process.send_signal(signal.SIGKILL)
            return f"killed after step {target}"
        time.sleep(0.0005 if trigger == "write" else 0.005)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        return "killed at the deadline"
    return "finished before the kill"


@pytest.mark.slow
def test_the_cli_killed_with_sigkill_at_random_moments_resumes_bit_exact(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG)
    runs = tmp_path / "runs"
    reference = train_run(load_config(config, [f"output_dir={runs}", "name=reference"]), progress=False).path
    rng = random.Random(0)
    run = runs / "cut"
    outcomes, mid_write, copies = [], 0, 0
    for kill in range(12):
        trigger = "write" if kill % 3 == 2 else "step"
        target = _progress(run) + rng.randint(1, 10)  # a few steps on: mid-epoch, at epoch ends, anywhere
        args = [NEURONET, "train", "--resume", run, "-q"] if run.is_dir() else \
            [NEURONET, "train", config, "--output-dir", runs, "--name", "cut", "-q"]
        # The same thread count as this process: float sums may differ between thread counts.
        process = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())})
        outcome = _kill_when(process, run, trigger, target, time.monotonic() + 120)
        process.wait(timeout=30)
        outcomes.append(outcome)
        mid_write += outcome.startswith("killed during") and any(run.glob(".checkpoint*.tmp"))
        if not run.is_dir():
            continue  # killed before the run directory existed: nothing to resume, start again
        info = subprocess.run([str(NEURONET), "info", str(run)], capture_output=True, text=True, timeout=60)
        assert info.returncode == 0 and "status:" in info.stdout, info.stderr  # readable after every kill
        status = json.loads((run / "status.json").read_text())["status"]
        if status == "completed":
            break
        copy = tmp_path / f"copy{kill}"  # resume a copy to the end: this kill's resume must be exact
        shutil.copytree(run, copy)
        train_run(resume=copy, progress=False)
        assert not list(copy.rglob(".*.tmp"))  # the interrupted write left nothing behind
        _same_run(reference, copy)
        copies += 1
    if json.loads((run / "status.json").read_text())["status"] != "completed":
        subprocess.run([str(NEURONET), "train", "--resume", str(run), "-q"], check=True, timeout=300,
                       stdout=subprocess.DEVNULL)
    _same_run(reference, run)  # the run killed over and over ends as if never stopped
    assert copies >= 10, outcomes
    assert mid_write >= 1, outcomes  # at least one kill landed inside a checkpoint write
