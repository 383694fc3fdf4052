"""Your own run as a pretrained backbone: a CNN pretrained on Fashion-MNIST, fine-tuned on scikit-learn digits.

What is measured: the test accuracy and training wall time on `digits` (8x8 hand-written
digits, 1,797 images, 10 classes) with 50, 200 and all (1,437) training images of:

  - `fine-tuned from own run`: `build_model("pretrained", (1, 8, 8), 10, run=<run dir>, seed=0)`:
    the Fashion-MNIST run's CNN with its trained weights. The digits are resized to 28x28
    (bilinear) inside the model, the size the run was trained on. Both data sets have 10 classes,
    so the run's output layer is KEPT (weights and all: it starts out mapping Fashion-MNIST
    features to Fashion-MNIST classes, and is retrained like every other layer); it is replaced
    by a fresh one only where the number of outputs differs. The table's "head kept" check
    compares the model's output layer with the run's file before training.
    Its batch-norm layers keep the run's statistics (`batchnorm: frozen`, the default).
  - `..., batchnorm: train`: the same, with the batch-norm statistics updated from the digits.
  - `..., fine_tune H+F`: `batchnorm: train` and the `fine_tune` recipe: the output layer alone for
    H = epochs // 6 epochs, then every layer for the rest, the backbone at lr / 10.
  - `CNN from scratch, 28x28`: the run's architecture (`build_model("cnn", (1, 28, 28), 10, seed=0)`)
    with random weights, on the digits resized to 28x28 as the fine-tuned rows see them: the
    controlled comparison (same network, same inputs; only the starting weights differ).
  - `CNN from scratch`: `build_model("cnn", (1, 8, 8), 10, seed=0)`, the same architecture (the
    CNN's defaults: conv 32-64, dense 128, dropout 0.25) on the native 8x8 images.
  - `fine-tuned from own run (run config)`, for the largest size only: the same fine-tuning through
    `neuronet.runs.train_run` with `{model: {type: pretrained, run: <run dir>}}`, into a temp dir;
    its test accuracy and `train_time_s` come from the run's metrics.json, and the run is loaded
    back with `nt.load` and evaluated again ("reloaded" in the JSON). Its data split is the one
    used here (prepare: test 0.2, val 0, seed 0), so it should match the first row of that size.

Every Trainer row but the fine_tune one: every layer trains from the first epoch, Adam lr 1e-3, batch 32, the SAME
number of epochs (--epochs, 30), seed 0, no validation part, no early stopping. "acc / scratch"
and "train / scratch" divide by the scratch CNN's accuracy and training time of the same size.

Pretraining (not counted in the rows' training time; its time is printed and in the JSON): a
`train_run` of `{data: {source: fashion_mnist, limit: 10000, val: 0, scale: none}, model: {type:
cnn}, train: {epochs: 3, lr: 2e-3, batch_size: 128}}` into a temporary directory (deleted at the
end; --keep to keep it). Its test accuracy is on the official Fashion-MNIST test set.

Splits: digits' test part is fixed: 20% (360 images), stratified, seed 0 (`prepare(..., val=0,
test=0.2, seed=0)`); the 1,437 others are the training pool, and a size below that is a seeded,
class-stratified subset of the pool (independent draws, not nested). Scaling: "none" for every
run, pretraining included: pixels in [0, 1] (Fashion-MNIST's are, digits' are divided by 16).
A model started from a run does not carry the run's preprocessing, so the same (no) scaling on
both sides keeps the digits' inputs in the range the backbone was trained on.

Settings: CPU, torch.set_num_threads(--threads, default 2).

Run:
    python bench/transfer_own.py [--sizes 50 200 all] [--epochs 30] [--pretrain-limit 10000]
    python bench/transfer_own.py --quick    # smoke check: 1,000 pretraining images, 1+2 epochs, sizes 50 and all
Needs `apt-get install dataset-fashion-mnist` (or --data-dir). Writes bench/results/transfer_own.json.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

import neuronet as nt
from common import print_table, write_json
from neuronet.config import RunConfig
from neuronet.models import build_model
from neuronet.models.pretrained import Resize
from neuronet.runs import train_run
from neuronet.transfer import head_names, read_weights

FINE_TUNED = "fine-tuned from own run"
CONFIG_ROW = "fine-tuned from own run (run config)"
SCRATCH = "CNN from scratch"
SCRATCH_28 = "CNN from scratch, 28x28"
LR, BATCH = 1e-3, 32


def stratified_subset(data: nt.datasets.Dataset, n: int, seed: int) -> nt.datasets.Dataset:
    """`n` rows of `data` with its class proportions, drawn with `seed` (kept in their original order)."""
    from sklearn.model_selection import train_test_split

    if n >= len(data):
        return data
    chosen, _ = train_test_split(np.arange(len(data)), train_size=n, stratify=data.y.numpy(), random_state=seed)
    return data.subset(np.sort(chosen))


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: nt.datasets.Dataset, batch: int = 512) -> float:
    model.eval()
    correct = sum(int((model(data.x[i:i + batch]).argmax(1) == data.y[i:i + batch]).sum())
                  for i in range(0, len(data), batch))
    return correct / len(data)


def pretrain(root: Path, args) -> tuple[Path, dict[str, Any]]:
    """The Fashion-MNIST CNN, as a finished neuronet run directory under `root`."""
    data = {"source": "fashion_mnist", "limit": args.pretrain_limit, "val": 0.0, "scale": "none"}
    if args.data_dir:
        data["data_dir"] = args.data_dir
    if args.pretrain_test_limit:
        data["options"] = {"test_limit": args.pretrain_test_limit}
    config = RunConfig.model_validate({
        "name": "fashion-cnn", "output_dir": str(root), "seed": 0, "data": data, "model": {"type": "cnn"},
        "train": {"epochs": args.pretrain_epochs, "lr": 2e-3, "batch_size": 128}})
    start = time.perf_counter()
    result = train_run(config, progress=False)
    info = {"wall_s": time.perf_counter() - start, "train_s": result.metrics["train_time_s"],
            "test_accuracy": result.metrics["test"]["accuracy"], "sizes": result.metrics["sizes"],
            "epochs": args.pretrain_epochs, "limit": args.pretrain_limit}
    print(f"pretrained on Fashion-MNIST: {info['sizes']['train']} images, {args.pretrain_epochs} epochs, "
          f"{info['train_s']:.1f} s; official test accuracy {info['test_accuracy']:.4f} ({info['sizes']['test']} "
          f"images); run {result.path}", flush=True)
    return result.path, info


def head_kept(model: torch.nn.Module, run_dir: Path) -> bool:
    """Whether the model's output layer holds the run's trained output layer (before any training)."""
    saved = read_weights(run_dir)
    names = head_names(model.net)
    return all(n in saved and saved[n].shape == p.shape and torch.equal(saved[n], p.detach())
               for n, p in model.net.named_parameters() if n in names)


def fit_row(method: str, model: torch.nn.Module, train, test, args, **recipe: Any) -> dict[str, Any]:
    epochs = {} if "fine_tune" in recipe else {"epochs": args.epochs}
    trainer = nt.Trainer(model, lr=LR, batch_size=BATCH, seed=0, progress=False, **epochs, **recipe)
    start = time.perf_counter()
    trainer.fit(train)
    train_s = time.perf_counter() - start
    return {"method": method, "test_accuracy": accuracy(model, test), "train_s": train_s, "epochs": trainer.epoch}


def config_row(run_dir: Path, root: Path, raw_test, args) -> dict[str, Any]:
    """The same fine-tuning through a run config (`model: {type: pretrained, run: ...}`)."""
    config = RunConfig.model_validate({
        "name": "digits-from-fashion", "output_dir": str(root), "seed": 0,
        "data": {"source": "digits", "val": 0.0, "test": 0.2, "scale": "none"},
        "model": {"type": "pretrained", "run": str(run_dir)},
        "train": {"epochs": args.epochs, "lr": LR, "batch_size": BATCH}})
    start = time.perf_counter()
    result = train_run(config, progress=False)
    wall_s = time.perf_counter() - start
    reloaded = nt.load(result.path).evaluate(raw_test)["accuracy"]
    return {"method": CONFIG_ROW, "test_accuracy": result.metrics["test"]["accuracy"],
            "train_s": result.metrics["train_time_s"], "run_wall_s": wall_s, "epochs": result.metrics["epochs_run"],
            "reloaded_accuracy": reloaded, "train_rows": result.metrics["sizes"]["train"], "path": str(result.path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["50", "200", "all"])
    parser.add_argument("--epochs", type=int, default=30, help="digits epochs, the same for every row")
    parser.add_argument("--pretrain-limit", type=int, default=10_000)
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--pretrain-test-limit", type=int, default=None, help="default: the official 10k")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="seed of the training subsets")
    parser.add_argument("--no-config", action="store_true", help="skip the run-config row")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run directories")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 1,000 pretraining images (1 epoch, 1,000 test), digits sizes 50 and all, "
                             "2 epochs")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.epochs = ["50", "all"], 2
        args.pretrain_limit, args.pretrain_epochs, args.pretrain_test_limit = 1000, 1, 1000
    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="neuronet-transfer-own-"))
    try:
        run_dir, pretraining = pretrain(root, args)

        digits = nt.datasets.load("digits")
        pool, val, test = nt.datasets.prepare(digits, val=0.0, test=0.2, seed=0, scale="none")
        _, _, raw_test = digits.split(val=0.0, test=0.2, seed=0)  # the same rows, raw (for the reloaded run)
        assert val is None and torch.equal(raw_test.x, test.x)
        print(f"digits: {len(pool)} training images (pool), {len(test)} test images", flush=True)
        sizes = sorted({len(pool) if s == "all" else min(int(s), len(pool)) for s in args.sizes})

        results, kept = [], None
        for n in sizes:
            train = stratified_subset(pool, n, args.seed)
            model = build_model("pretrained", (1, 8, 8), 10, run=str(run_dir), seed=0)
            kept = head_kept(model, run_dir) if kept is None else kept
            rows = [fit_row(FINE_TUNED, model, train, test, args)]
            rows.append(fit_row(FINE_TUNED + ", batchnorm: train", build_model(
                "pretrained", (1, 8, 8), 10, run=str(run_dir), batchnorm="train", seed=0), train, test, args))
            head = max(1, args.epochs // 6)  # the head alone first, then everything at lr / 10
            rows.append(fit_row(FINE_TUNED + f", fine_tune {head}+{args.epochs - head}", build_model(
                "pretrained", (1, 8, 8), 10, run=str(run_dir), batchnorm="train", seed=0), train, test, args,
                fine_tune={"head_epochs": head, "full_epochs": args.epochs - head}))
            if n == len(pool) and not args.no_config:
                try:
                    rows.append(config_row(run_dir, root, raw_test, args))
                except Exception as err:  # a new feature: report the error, keep the other rows
                    traceback.print_exc()
                    rows.append({"method": CONFIG_ROW, "error": f"{type(err).__name__}: {err}", "epochs": args.epochs})
            resized = torch.nn.Sequential(Resize(1, (28, 28)), build_model("cnn", (1, 28, 28), 10, seed=0))
            rows.append(fit_row(SCRATCH_28, resized, train, test, args))
            rows.append(fit_row(SCRATCH, build_model("cnn", (1, 8, 8), 10, seed=0), train, test, args))
            ref = rows[-1]
            for row in rows:
                row["train_size"] = n
                if "error" not in row:
                    row.update(acc_vs_scratch=row["test_accuracy"] / ref["test_accuracy"],
                               train_vs_scratch=row["train_s"] / ref["train_s"])
                print(f"  [{n}] {row['method']}: " + (row["error"] if "error" in row else
                      f"accuracy {row['test_accuracy']:.4f}, train {row['train_s']:.2f} s"), flush=True)
            results += rows
    finally:
        if args.keep:
            print(f"run directories kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    def cells(r: dict[str, Any]) -> list[Any]:
        if "error" in r:
            return [r["method"], r["train_size"], "error", "-", r["epochs"], "-", "-"]
        return [r["method"], r["train_size"], f"{r['test_accuracy']:.4f}", f"{r['train_s']:.2f}", r["epochs"],
                f"{r['acc_vs_scratch']:.3f}x", f"{r['train_vs_scratch']:.2f}x"]

    print_table(f"digits: own Fashion-MNIST run fine-tuned vs CNN from scratch, CPU ({torch.get_num_threads()} "
                f"threads), test {len(test)} images; output layer kept from the run: {kept}",
                ["method", "train size", "test acc", "train s", "epochs", "acc / scratch", "train / scratch"],
                [cells(r) for r in results])
    for r in results:
        if "reloaded_accuracy" in r:
            print(f"run config row: reloaded with nt.load, test accuracy {r['reloaded_accuracy']:.4f} "
                  f"(metrics.json {r['test_accuracy']:.4f})")
        if "error" in r:
            print(f"run config row failed: {r['error']}")
    settings = {k: v for k, v in vars(args).items() if k != "data_dir"}
    write_json("transfer_own", {
        "settings": {**settings, "lr": LR, "batch_size": BATCH, "scale": "none", "validation": "none",
                     "digits_test": {"fraction": 0.2, "seed": 0, "size": len(test)}, "head_kept": kept},
        "pretraining": pretraining, "results": results})


if __name__ == "__main__":
    main()
