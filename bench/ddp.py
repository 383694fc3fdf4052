"""Data-parallel training: examples per second and seconds per epoch, 1 process against 2 (torchrun, gloo, DDP).

Models: the digits MLP (64-128-10, batch 64 per process, Adam) and the Fashion-MNIST CNN of the zoo
(channels 32-64, batch norm, batch 64 per process) on 12,000 training images.
Rows, per model, all in this run:
- 1 process, 1 thread: the reference;
- 1 process, N threads: the other way to use N cores (intra-op threads);
- N processes x 1 thread: `python -m torch.distributed.run --nproc-per-node N`, each rank its part of
  every global batch (so a step sees N x 64 examples: fewer steps per epoch).
Scaling efficiency = examples/s of N processes / (N x examples/s of 1 process, 1 thread).
Seconds per epoch are the median of the epochs after the first (start-up, first-touch allocation).

Run: python bench/ddp.py [--processes 2 --epochs 4 --models mlp cnn]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import neuronet as nt
from common import print_table, write_json

HERE = Path(__file__).resolve()


def data(model: str) -> nt.datasets.Dataset:
    if model == "mlp":
        train, _, _ = nt.datasets.prepare(nt.datasets.load("digits"), seed=0)
        return train
    train, _, _ = nt.datasets.prepare(nt.datasets.load("fashion_mnist", limit=12_000, test_limit=100), val=0.0, seed=0)
    return train


def network(model: str, train: nt.datasets.Dataset) -> torch.nn.Module:
    if model == "mlp":
        return nt.models.MLP(train.input_shape, 10, hidden=[128], seed=0)
    return nt.models.CNN(train.input_shape, 10, channels=(32, 64), hidden=128, seed=0)


def worker(model: str, epochs: int, out: str) -> None:
    """One process of a measurement (under torchrun or alone): train, and rank 0 writes the epoch times."""
    train = data(model)
    trainer = nt.Trainer(network(model, train), optimizer="adam", lr=1e-3, batch_size=64, epochs=epochs,
                         progress=False, doctor=False)
    history = trainer.fit(train)
    if trainer.ranks.main:
        Path(out).write_text(json.dumps({"times": [e["time"] for e in history.epochs], "examples": len(train),
                                         "world": trainer.ranks.world, "threads": torch.get_num_threads(),
                                         "loss": history.epochs[-1]["train_loss"]}))


def measure(model: str, epochs: int, processes: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "result.json")
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        args = [str(HERE), "--worker", model, "--epochs", str(epochs), "--out", out]
        command = [sys.executable, *args] if processes == 1 else \
            [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *args]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        result = json.loads(Path(out).read_text())
    epoch_s = statistics.median(result["times"][1:] or result["times"])
    return {"processes": processes, "threads": threads, "epoch_s": epoch_s,
            "examples_per_s": result["examples"] / epoch_s, "final_train_loss": result["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--worker")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        worker(args.worker, args.epochs, args.out)
        return
    n = args.processes
    results = {}
    for model in args.models:
        rows = [measure(model, args.epochs, 1, 1), measure(model, args.epochs, 1, n), measure(model, args.epochs, n, 1)]
        reference = rows[0]["examples_per_s"]
        for row in rows:
            row["speedup"] = row["examples_per_s"] / reference
            row["efficiency"] = row["speedup"] / (row["processes"] * row["threads"])
        results[model] = rows
        print_table(f"{model}: batch 64 per process, {args.epochs} epochs (median epoch after the first)",
                    ["processes x threads", "s/epoch", "examples/s", "speed-up", "efficiency", "final train loss"],
                    [[f"{r['processes']} x {r['threads']}", f"{r['epoch_s']:.3f}", f"{r['examples_per_s']:,.0f}",
                      f"{r['speedup']:.2f}x", f"{r['efficiency']:.0%}", f"{r['final_train_loss']:.4f}"] for r in rows])
    write_json("ddp", {"processes": n, "epochs": args.epochs, "results": results})


if __name__ == "__main__":
    main()
