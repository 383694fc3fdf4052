"""Vision benchmarks on this machine's CPU, one section each, ratios against a reference run in the same process.

inception: Fashion-MNIST (the official 60k training and 10k test images). The zoo's CNN (the
reference), VGG, ResNet and Inception train through the public API with the same recipe (Adam
lr 1e-3, batch 128, seed 0) until their training time passes their budget; the official test
accuracy is measured after every epoch (not counted as training time). The table gives each
model's parameters, epochs, seconds per epoch, the training time at which the test accuracy first
reached 0.90, and the final test accuracy, with ratios against the CNN. The goal: Inception at
0.90 or better in under 10 minutes on 2 CPU cores.

Run: python bench/vision.py --only inception [--budget-s 600 --others-s 600 --models cnn,inception]
Needs `apt-get install dataset-fashion-mnist` (or --data-dir).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch

import neuronet as nt
from common import AccuracyBudget, print_table, write_json

TARGET = 0.90  # test accuracy the inception section times


def zoo(input_shape: tuple[int, ...]) -> dict[str, tuple[str, torch.nn.Module]]:
    """The image classifiers of the inception section: key -> (label, model), the reference (CNN) first."""
    return {
        "cnn": ("CNN (foundation: conv 32-64, dense 128)", nt.models.CNN(input_shape, 10, seed=0)),
        "vgg": ("VGG (32-32, 64-64, dense 256)", nt.models.VGG(input_shape, 10, seed=0)),
        "resnet": ("ResNet (16-32-64, 1 block per stage)",
                   nt.models.ResNet(input_shape, 10, channels=[16, 32, 64], blocks=1, seed=0)),
        "inception": ("Inception (defaults: stem 32, modules 64-64, 128-128)",
                      nt.models.Inception(input_shape, 10, seed=0)),
    }


def train_for(model: torch.nn.Module, train: nt.datasets.Dataset, test: nt.datasets.Dataset, budget_s: float,
              label: str) -> dict[str, Any]:
    """Train `model` until its training time passes `budget_s`; its curve and the figures of the table."""
    budget = AccuracyBudget(test, budget_s, label)
    trainer = nt.Trainer(model, lr=1e-3, batch_size=128, epochs=1000, seed=0, progress=False, callbacks=[budget])
    trainer.fit(train)
    curve = budget.curve
    reached = next((p["train_s"] for p in curve if p["test_accuracy"] >= TARGET), None)
    return {"params": sum(p.numel() for p in model.parameters()), "epochs": len(curve), "train_s": budget.train_s,
            "s_per_epoch": budget.train_s / len(curve), f"time_to_{TARGET:.2f}_s": reached,
            "final_accuracy": curve[-1]["test_accuracy"], "best_accuracy": max(p["test_accuracy"] for p in curve),
            "curve": curve}


def ratio(value: float | None, reference: float | None, digits: int = 2) -> str:
    """value / reference as '1.23x', or '-' when either is missing."""
    return "-" if value is None or not reference else f"{value / reference:.{digits}f}x"


def inception(args: argparse.Namespace) -> None:
    """Fashion-MNIST: the zoo's CNN, VGG, ResNet and Inception, each for its CPU budget."""
    data = nt.datasets.load("fashion_mnist", data_dir=args.data_dir)
    train, _, test = data.split(val=0)
    models = zoo(data.input_shape)
    chosen = args.models.split(",") if args.models else None
    if chosen is not None and not set(chosen) <= set(models):
        raise SystemExit(f"--models takes a comma-separated subset of {','.join(models)}; got {args.models!r}.")
    results: dict[str, dict[str, Any]] = {}
    for key, (label, model) in models.items():
        if chosen is not None and key not in chosen:
            continue
        budget_s = args.budget_s if key == "inception" else (args.others_s or args.budget_s)
        results[label] = {"budget_s": budget_s, **train_for(model, train, test, budget_s, key)}
    reached = f"time_to_{TARGET:.2f}_s"
    ref = next(iter(results.values()))  # the CNN, unless --models leaves it out
    rows = [[label, f"{r['params']:,}", r["epochs"], f"{r['s_per_epoch']:.1f}",
             "-" if r[reached] is None else f"{r[reached]:.0f}", f"{r['final_accuracy']:.4f}",
             ratio(r["params"], ref["params"]), ratio(r["s_per_epoch"], ref["s_per_epoch"]),
             ratio(r[reached], ref[reached]), ratio(r["final_accuracy"], ref["final_accuracy"], 3)]
            for label, r in results.items()]
    threads = torch.get_num_threads()
    on = f"{threads} thread{'s' * (threads != 1)}"
    print_table(f"Fashion-MNIST (60k / 10k official), Adam lr 1e-3, batch 128, {on}; ratios against "
                f"{next(iter(results))}",
                ["model", "params", "epochs", "s/epoch", f"s to {TARGET:.2f}", "final acc", "params ×", "s/epoch ×",
                 f"to {TARGET:.2f} ×", "acc ×"], rows)
    ours = next((r for label, r in results.items() if label.startswith("Inception")), None)
    if ours is not None:
        when = ours[reached]
        outcome = (f"not reached in its {ours['budget_s']:.0f} s budget" if when is None else
                   f"{'met' if when < 600 else 'not met'}, reached after {when:.0f} s")
        print(f"\nGoal, Inception at {TARGET:.2f} test accuracy in under 600 s of training ({on}): {outcome}.")
    write_json("vision_inception", {"budget_s": args.budget_s, "others_s": args.others_s or args.budget_s,
                                    "target": TARGET, "threads": threads, "results": results})


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {"inception": inception}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), help="run one section (default: all of them)")
    parser.add_argument("--budget-s", type=float, default=600.0, help="training seconds of the section's own model")
    parser.add_argument("--others-s", type=float, default=None, help="training seconds of each other model "
                                                                     "(default: --budget-s)")
    parser.add_argument("--models", default=None,
                        help="inception: a comma-separated subset of cnn,vgg,resnet,inception (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name, section in SECTIONS.items():
        if args.only in (None, name):
            section(args)


if __name__ == "__main__":
    main()
