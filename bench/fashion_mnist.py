"""Fashion-MNIST on this machine's CPU: time to 91% test accuracy, and accuracy in a fixed budget.

Both runs train the same CNN (neuronet's default `CNN`, same initial weights) with Adam
lr 1e-3, batch 128, on the 60k official training images, and measure the official 10k test
accuracy after every epoch (evaluation time is not counted as training time):
- neuronet: the public API (`nt.datasets.load`, `nt.models.CNN`, `nt.Trainer`);
- reference: a hand-written PyTorch loop (fused Adam, the same data order).
A run goes on until its training time passes the budget (or --max-epochs); the table gives
the time at which the test accuracy first reached the target, and the accuracy at the end.

Run: python bench/fashion_mnist.py [--target 0.91 --budget-s 150 --max-epochs 10]
Needs `apt-get install dataset-fashion-mnist` (or --data-dir).
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

import neuronet as nt
from common import AccuracyBudget, print_table, write_json


def run_neuronet(model, train, test, args):
    probe = AccuracyBudget(test, args.budget_s, "neuronet ")
    trainer = nt.Trainer(model, lr=1e-3, batch_size=128, epochs=args.max_epochs, seed=0, progress=False,
                         callbacks=[probe])
    trainer.fit(train)
    return probe.curve


def run_reference(model, train, test, args):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    train_s, curve = 0.0, []
    for epoch in range(args.max_epochs):
        start = time.perf_counter()
        torch.default_generator.manual_seed(epoch)
        model.train()
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(epoch))
        x, y = train.x[order], train.y[order]
        for i in range(0, len(x), 128):
            loss = loss_fn(model(x[i:i + 128]), y[i:i + 128])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        train_s += time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            acc = float((torch.cat([model(b).argmax(1) for b in test.x.split(1024)]) == test.y).double().mean())
        curve.append({"epoch": epoch + 1, "train_s": train_s, "test_accuracy": acc})
        print(f"  reference epoch {epoch + 1}: {train_s:6.1f} s  test accuracy {acc:.4f}", flush=True)
        if train_s >= args.budget_s:
            break
    return curve


def summary(curve, target):
    hit = next((p for p in curve if p["test_accuracy"] >= target), None)
    return {"time_to_target_s": hit["train_s"] if hit else None, "epochs_to_target": hit["epoch"] if hit else None,
            "final_accuracy": curve[-1]["test_accuracy"], "final_train_s": curve[-1]["train_s"],
            "epochs": len(curve), "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.91)
    parser.add_argument("--budget-s", type=float, default=150.0)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data = nt.datasets.load("fashion_mnist", data_dir=args.data_dir)
    train, _, test = data.split(val=0)
    base = nt.models.CNN(data.input_shape, data.num_outputs, seed=0)
    results = {}
    for name, fn in (("reference (hand-written loop)", run_reference), ("neuronet Trainer", run_neuronet)):
        print(f"{name}:")
        results[name] = summary(fn(copy.deepcopy(base), train, test, args), args.target)
    ref = results["reference (hand-written loop)"]
    rows = []
    for name, r in results.items():
        t = r["time_to_target_s"]
        ratio = f"{t / ref['time_to_target_s']:.3f}x" if t and ref["time_to_target_s"] else "-"
        per_epoch = r["final_train_s"] / r["epochs"]
        rows.append([name, f"{t:.1f}" if t else f"not in {r['epochs']} epochs", r["epochs_to_target"] or "-",
                     ratio, f"{per_epoch:.1f}", f"{r['final_accuracy']:.4f} after {r['final_train_s']:.0f} s"])
    print_table(f"Fashion-MNIST, CPU ({torch.get_num_threads()} threads): time to {args.target:.0%} test accuracy, "
                f"accuracy after a {args.budget_s:.0f} s training budget",
                ["loop", "seconds to target", "epochs", "vs reference", "s/epoch", "accuracy at budget"], rows)
    write_json("fashion_mnist", {"target": args.target, "budget_s": args.budget_s, "results": results})


if __name__ == "__main__":
    main()
