"""Data-parallel training across processes (torchrun + DDP on gloo, on CPU): each rank's part of the seeded order,
the same steps as one process with the global batch, and the run directory written by rank 0 alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file

from neuronet.datasets.batching import epoch_permutation, shard_order
from neuronet.errors import ConfigError
from neuronet.train.distributed import Ranks

WORKER = Path(__file__).with_name("ddp_worker.py")


@given(n=st.integers(1, 300), batch=st.integers(1, 40), world=st.integers(1, 5))
def test_the_ranks_parts_of_each_global_batch_are_that_batch(n, batch, world):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    parts = [shard_order(order, batch, rank, world) for rank in range(world)]
    assert len({len(p) for p in parts}) == 1  # as many examples on every rank: DDP needs every rank at every step
    padded = torch.cat([order, order.repeat(world)])[: n + (-n) % world]
    steps = -(-len(parts[0]) // batch)
    for step in range(steps):  # step k of every rank together: global batch k of the (padded) order
        together = torch.cat([p[step * batch:(step + 1) * batch] for p in parts])
        assert together.tolist() == padded[step * batch * world:(step + 1) * batch * world].tolist()


def test_one_process_reads_the_order_as_it_is():
    order = torch.arange(7)
    assert shard_order(order, 3, 0, 1) is order


@pytest.mark.parametrize("env,said", [({"WORLD_SIZE": "two", "RANK": "0"}, "whole numbers"),
                                      ({"WORLD_SIZE": "2", "RANK": "2"}, "no process of the group")])
def test_a_wrong_torchrun_environment_is_one_sentence(env, said):
    with pytest.raises(ConfigError, match=said):
        Ranks.from_env(env)


def test_no_torchrun_is_one_process():
    assert Ranks.from_env({}) == Ranks(0, 1, 0) and Ranks.from_env({}).main


def _worker(tmp_path: Path, kind: str, processes: int, batch: int) -> tuple[dict[str, torch.Tensor], dict]:
    out = tmp_path / f"{kind}-{processes}.safetensors"
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    command = [sys.executable, str(WORKER), kind, str(batch), str(out)] if processes == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", str(WORKER),
         kind, str(batch), str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return load_file(out), json.loads(Path(f"{out}.json").read_text())


@pytest.mark.slow
def test_two_processes_of_32_take_the_steps_of_one_process_of_64(tmp_path):
    two, record2 = _worker(tmp_path, "mlp", 2, 32)
    one, record1 = _worker(tmp_path, "mlp", 1, 64)
    assert record2["world"] == 2 and record2["steps"] == record1["steps"] == 19
    for name in one:  # float32 sums in another order: within 1e-6 after 19 steps
        torch.testing.assert_close(two[name], one[name], rtol=0, atol=1e-6, msg=name)
    # the epoch's loss and accuracy are those of every rank's examples, not of rank 0's half
    assert record2["epochs"][0]["train_loss"] == pytest.approx(record1["epochs"][0]["train_loss"], abs=1e-6)
    assert record2["epochs"][0]["train_accuracy"] == record1["epochs"][0]["train_accuracy"]


@pytest.mark.slow
def test_with_batch_norm_each_process_normalises_its_own_half(tmp_path):
    """The documented difference: on CPUs (no SyncBatchNorm) batch norm's statistics are each rank's; the running
    statistics are rank 0's (DDP broadcasts its buffers). A hand-written loop doing exactly that matches."""
    two, _ = _worker(tmp_path, "cnn", 2, 32)
    one, _ = _worker(tmp_path, "cnn", 1, 64)
    assert max(float((two[k].float() - one[k].float()).abs().max()) for k in one) > 1e-4  # it does differ
    reference = ghost_batch_norm_epoch()
    for name, value in reference.items():
        torch.testing.assert_close(two[name], value, rtol=0, atol=1e-5, msg=name)


def ghost_batch_norm_epoch() -> dict[str, torch.Tensor]:
    """One epoch as two processes of 32 take it, by hand in one process: each global batch of 64 (the Trainer's
    seeded order) in two halves, batch norm on each half alone, the mean of the two halves' losses, one SGD step;
    the running statistics as rank 0's half left them."""
    import ddp_worker
    from torch.func import functional_call

    torch.manual_seed(0)
    data, net = ddp_worker.digits(), ddp_worker.model("cnn")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    order = epoch_permutation(len(data), seed=0, epoch=0)
    net.train()
    for first in range(0, len(order), 64):
        halves = order[first:first + 64].split(32)
        params = dict(net.named_parameters())
        own = [{k: v.clone() for k, v in net.named_buffers()} for _ in halves]  # each rank's copy of the buffers
        losses = [torch.nn.functional.cross_entropy(functional_call(net, {**params, **own[r]}, (data.x[half],)),
                                                    data.y[half]) for r, half in enumerate(halves)]
        optimizer.zero_grad()
        (sum(losses) / 2).backward()
        optimizer.step()
        with torch.no_grad():
            for k, v in net.named_buffers():
                v.copy_(own[0][k])  # rank 0's statistics go to every rank at the next step
    return {k: v.detach() for k, v in net.state_dict().items()}


LONG = ["--set", "data.source=digits", "--set", "model.type=mlp", "--set", "model.hidden=[256, 256]", "--set",
        "train.epochs=25", "--set", "train.batch_size=32", "--set", "train.doctor=false", "--set", "baselines=false"]


def _neuronet(*args: str, cwd: Path, wait: bool = True, module: tuple[str, ...] = ("neuronet",)):
    """`python -m neuronet ARGS` (or `python -m MODULE... ARGS`) in `cwd`, one thread a process."""
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "HOME": str(cwd)}
    command = [sys.executable, "-m", *module, *args]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _kill_after_epochs(status: Path, epochs: int) -> None:
    """SIGKILL the run's writer (rank 0, the pid in status.json) once it has finished `epochs` epochs."""
    import os
    import signal
    import time

    for _ in range(600):  # bounded: 60 s
        if status.is_file() and json.loads(status.read_text()).get("epochs_done", 0) >= epochs:
            break
        time.sleep(0.1)
    os.kill(json.loads(status.read_text())["pid"], signal.SIGKILL)


@pytest.mark.slow
def test_a_two_process_run_killed_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    whole = _neuronet("train", "--nproc", "2", *LONG, "--name", "whole", "-q", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert "each step sees a global batch of 64 examples" in whole.stderr
    config = (tmp_path / "runs/whole/config.yaml").read_text()
    assert "processes: 2" in config and "global_batch_size: 64" in config

    killed = _neuronet("train", "--nproc", "2", *LONG, "--name", "killed", "-q", cwd=tmp_path, wait=False)
    _kill_after_epochs(tmp_path / "runs/killed/status.json", 3)  # rank 0, the writer, dies without a word
    assert killed.wait(120) == 1
    said = killed.stderr.read()
    assert "Traceback" not in said and "Another of the 2 training processes stopped" in said, said[-2000:]
    assert "runs/killed`" in said, said[-2000:]  # the folder to resume is named

    one = _neuronet("train", "--resume", "runs/killed", "--nproc", "1", cwd=tmp_path)
    assert one.returncode == 1 and "was trained by 2 processes (global batch 64)" in one.stderr, one.stderr

    resumed = _neuronet("train", "--resume", "runs/killed", "-q", cwd=tmp_path)  # config.yaml: 2 processes again
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ends, reference = load_file(tmp_path / "runs/killed/model.safetensors"), load_file(tmp_path / "runs/whole/model.safetensors")
    assert all(torch.equal(ends[k], reference[k]) for k in reference)  # bit for bit
    steps = [(tmp_path / f"runs/{name}/history_steps.csv").read_text() for name in ("killed", "whole")]
    assert steps[0] == steps[1]

    # torchrun's own restarts: the killed worker's group is started again and the named run resumes by itself
    restarted = _neuronet("--standalone", "--nproc-per-node", "2", "--max-restarts", "1", "-m", "neuronet", "train",
                          *LONG, "--name", "restarted", "-q", cwd=tmp_path, wait=False,
                          module=("torch.distributed.run",))
    _kill_after_epochs(tmp_path / "runs/restarted/status.json", 3)
    _, said = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, said[-2000:]
    ends = load_file(tmp_path / "runs/restarted/model.safetensors")
    assert all(torch.equal(ends[k], reference[k]) for k in reference)
    assert (tmp_path / "runs/restarted/history_steps.csv").read_text() == steps[1]


def test_nproc_below_one_and_a_resume_with_another_number_are_refused_before_any_process_starts(tmp_path):
    from typer.testing import CliRunner

    from neuronet.cli import app

    runner = CliRunner()
    for bad in ("0", "-1"):
        result = runner.invoke(app, ["train", "--nproc", bad, "--set", "data.source=iris",
                                     "--output-dir", str(tmp_path / "runs")])
        assert result.exit_code == 2 and "--nproc" in result.output and not (tmp_path / "runs").exists()
    one = runner.invoke(app, ["train", "--set", "data.source=iris", "--set", "model.type=mlp", "--set", "train.epochs=1",
                              "--output-dir", str(tmp_path / "runs"), "--name", "one", "-q"])
    assert one.exit_code == 0, one.output
    before = sorted(p.name for p in (tmp_path / "runs/one").iterdir())
    again = runner.invoke(app, ["train", "--resume", str(tmp_path / "runs/one"), "--nproc", "2"])
    assert again.exit_code == 1 and "was trained by 1 process (global batch" in again.output, again.output
    assert "resume it with --nproc 1 (without torchrun)" in " ".join(again.output.split())
    assert sorted(p.name for p in (tmp_path / "runs/one").iterdir()) == before
