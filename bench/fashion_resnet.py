"""Fashion-MNIST: the small ResNet vs the foundation CNN, test accuracy after a fixed CPU budget.

Both train through the public API (Adam lr 1e-3, batch 128, 60k official training images,
seed 0) until their training time passes the budget; the official 10k test accuracy is
measured after every epoch (not counted as training time). Ratios are against the CNN run
in the same process.

Run: python bench/fashion_resnet.py [--budget-s 300]
"""

from __future__ import annotations

import argparse

import torch

import neuronet as nt
from common import AccuracyBudget, print_table, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=300.0)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data = nt.datasets.load("fashion_mnist", data_dir=args.data_dir)
    train, _, test = data.split(val=0)
    models = {
        "CNN (foundation: conv 32-64, dense 128)": nt.models.CNN(data.input_shape, 10, seed=0),
        "ResNet (16-32-64, 1 block per stage)": nt.models.ResNet(data.input_shape, 10, channels=[16, 32, 64], blocks=1, seed=0),
    }
    results = {}
    for name, model in models.items():
        budget = AccuracyBudget(test, args.budget_s, name.split()[0])
        trainer = nt.Trainer(model, lr=1e-3, batch_size=128, epochs=100, seed=0, progress=False, callbacks=[budget])
        trainer.fit(train)
        params = sum(p.numel() for p in model.parameters())
        results[name] = {"params": params, "curve": budget.curve, "final_accuracy": budget.curve[-1]["test_accuracy"],
                         "best_accuracy": max(p["test_accuracy"] for p in budget.curve), "epochs": len(budget.curve),
                         "train_s": budget.train_s}
    ref = results[next(iter(models))]
    rows = [[name, f"{r['params']:,}", r["epochs"], f"{r['train_s'] / r['epochs']:.1f}", f"{r['final_accuracy']:.4f}",
             f"{r['best_accuracy']:.4f}", f"{r['final_accuracy'] / ref['final_accuracy']:.3f}x"] for name, r in results.items()]
    print_table(f"Fashion-MNIST test accuracy after a {args.budget_s:.0f} s CPU training budget ({torch.get_num_threads()} threads)",
                ["model", "params", "epochs", "s/epoch", "final acc", "best acc", "final vs CNN"], rows)
    write_json("fashion_resnet", {"budget_s": args.budget_s, "results": results})


if __name__ == "__main__":
    main()
