"""Vision benchmarks on this machine's CPU, one section each, ratios against a reference run in the same process.

inception: Fashion-MNIST (the official 60k training and 10k test images). The zoo's CNN (the
reference), VGG, ResNet and Inception train through the public API with the same recipe (Adam
lr 1e-3, batch 128, seed 0) until their training time passes their budget; the official test
accuracy is measured after every epoch (not counted as training time). The table gives each
model's parameters, epochs, seconds per epoch, the training time at which the test accuracy first
reached 0.90, and the final test accuracy, with ratios against the CNN. The goal: Inception at
0.90 or better in under 10 minutes on 2 CPU cores.

detection, segmentation: the built-in Fashion-MNIST scenes (see bench/vision_scenes.py): the example
configs (`centernet_scenes.yaml`, `unet_scenes.yaml`) trained by `neuronet train`, their test mAP /
mean IoU on 500 held-out scenes beside the classical baseline's (threshold + connected components +
nearest class centroid) on the same scenes, and the detector's prediction and serving speed. Goals:
mAP@0.5 >= 0.70 and mean IoU >= 0.5 after at most 10 minutes of training on 2 CPU cores.

Run: python bench/vision.py --only inception [--budget-s 600 --others-s 600 --models cnn,inception]
     python bench/vision.py --only detection [--threads 2] (or segmentation)
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


def detection(args: argparse.Namespace) -> None:
    import vision_scenes

    found = vision_scenes.detection(args.threads or 2, args.set or [])
    net, base, speed = found["network"], found["baseline"], found["speed"]
    print_table(f"Detection: 500 held-out scenes, COCO mAP (pycocotools); network trained {net['train_s']:.0f} s "
                f"({net['epochs']} epochs, {args.threads or 2} threads)", ["system", "mAP@0.5", "mAP@[.5:.95]", "vs baseline"],
                [["CenterNet (examples/centernet_scenes.yaml)", f"{net['map50']:.4f}", f"{net['map']:.4f}",
                  ratio(net["map50"], base["map50"])],
                 ["threshold + components + nearest centroid", f"{base['map50']:.4f}", f"{base['map']:.4f}", "1.00x"]])
    print_table("Detection speed (1 thread; served: 1 worker, 4 clients, POST /predict with a base64 PNG)",
                ["what", "per second", "p50 ms", "p99 ms"],
                [["nt.load(run).detect, one image a call", speed["images_per_s"], "-", "-"],
                 ["nt.load(run).detect, 100 images a call", speed["images_per_s_batched"], "-", "-"],
                 ["neuronet serve", speed["served_per_s"], speed["p50_ms"], speed["p99_ms"]]])
    write_json("vision_detection", found)


def segmentation(args: argparse.Namespace) -> None:
    import vision_scenes

    found = vision_scenes.segmentation(args.threads or 2, args.set or [])
    net, base = found["network"], found["baseline"]
    print_table(f"Segmentation: 500 held-out scenes, 11 classes (background included); network trained "
                f"{net['train_s']:.0f} s ({net['epochs']} epochs, {args.threads or 2} threads)",
                ["system", "mean IoU", "Dice", "vs baseline"],
                [["U-Net (examples/unet_scenes.yaml)", f"{net['mean_iou']:.4f}", f"{net['dice']:.4f}",
                  ratio(net["mean_iou"], base["mean_iou"])],
                 ["threshold + components + nearest centroid", f"{base['mean_iou']:.4f}", f"{base['dice']:.4f}",
                  "1.00x"]])
    write_json("vision_segmentation", found)


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {"inception": inception, "detection": detection,
                                                             "segmentation": segmentation}


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
    parser.add_argument("--set", action="append", help="detection, segmentation: a config override for the example "
                                                       "run, e.g. --set train.epochs=6 (repeatable)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name, section in SECTIONS.items():
        if args.only in (None, name):
            section(args)


if __name__ == "__main__":
    main()
