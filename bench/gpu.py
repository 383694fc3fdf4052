"""The GPU paths on one CUDA device: the Fashion-MNIST speed recipe in each precision, layout and compile setting,
beside a hand-written loop of the same network on the same GPU, in one run.

Rows (the recipe of examples/fashion_fast.yaml: network, AdamW, one-cycle, label smoothing, batch 512, flips,
10 epochs; the data kept on the GPU; the official test set scored after each epoch, not counted):
- the Trainer with precision 32 / bf16 / 16 (float16 + gradient scaler), NCHW or channels-last, with and
  without `compile: true`;
- a hand-written loop (bf16 autocast, channels-last, fused AdamW, the same schedule).
Also the digits MLP (64-128-10, batch 64): µs per step of the Trainer and of the hand-written loop.

Run (on a machine with a CUDA GPU): python bench/gpu.py [--epochs 10 --data-dir DIR]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

import neuronet as nt
from common import AccuracyBudget, print_table, write_json
from fashion_mnist import TARGETS, recipe_model, recipe_settings, run_hand_written, summary
from overhead import reference_loop, trainer_fit


def trainer_row(train: Any, test: Any, settings: dict[str, Any], epochs: int, **options: Any) -> dict[str, Any]:
    probe = AccuracyBudget(test, 1e9, " ".join(f"{k}={v}" for k, v in options.items()))
    trainer = nt.Trainer(recipe_model(settings, train.input_shape), optimizer="adamw", lr=settings["lr"],
                         weight_decay=settings["weight_decay"], batch_size=settings["batch"], epochs=epochs, seed=0,
                         schedule={"type": "one_cycle", "pct_start": settings["pct_start"]},
                         loss_kwargs={"label_smoothing": settings["smoothing"]}, augment=[{"type": "hflip"}],
                         device="cuda", progress=False, callbacks=[probe], **options)
    trainer.fit(train)
    return summary(probe.curve)


def mlp_steps(repeats: int = 5, epochs: int = 20) -> dict[str, float]:
    train, _, _ = nt.datasets.load("digits").split(val=0.1, test=0.2, seed=0)
    train = nt.datasets.Scaler().fit(train).transform(train)
    steps = epochs * nt.datasets.num_batches(len(train), 64)
    x, y = train.x.reshape(len(train.x), -1).cuda(), train.y.cuda()
    found: dict[str, float] = {}
    for label, fn in (("hand-written loop", lambda m: reference_loop(m.cuda(), x, y, epochs, 64, 0)),
                      ("Trainer", lambda m: trainer_fit(m, train, epochs, 64, 0, device="cuda")),
                      ("Trainer (doctor=False)", lambda m: trainer_fit(m, train, epochs, 64, 0, device="cuda",
                                                                       doctor=False))):
        times = []
        for _ in range(repeats):
            model = nt.models.MLP(64, 10, hidden=[128], seed=0)
            torch.cuda.synchronize()
            start = time.perf_counter()
            fn(model)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        found[label] = min(times[1:]) / steps * 1e6  # the first run warms CUDA up
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench/gpu.py needs a CUDA GPU; none is visible here.")
    data = nt.datasets.load("fashion_mnist", data_dir=args.data_dir)
    train, _, test = data.split(val=0)
    settings = recipe_settings()
    variants = {"Trainer, fp32, NCHW": {"precision": "32", "channels_last": False},
                "Trainer, bf16, NCHW": {"precision": "bf16", "channels_last": False},
                "Trainer, bf16, channels-last": {"precision": "bf16", "channels_last": True},
                "Trainer, fp16 + scaler, channels-last": {"precision": "16", "channels_last": True},
                "Trainer, bf16, channels-last, compile": {"precision": "bf16", "channels_last": True, "compile": True}}
    results: dict[str, Any] = {}
    for label, options in variants.items():
        print(label, flush=True)
        results[label] = trainer_row(train, test, settings, args.epochs, **options)
    print("hand-written loop, bf16, channels-last", flush=True)
    results["hand-written loop, bf16, channels-last"] = summary(run_hand_written(
        train, test, {**settings, "epochs": args.epochs, "precision": "bf16"}, float("inf"), "cuda"))
    ref = results["hand-written loop, bf16, channels-last"]["s_per_epoch"]
    rows = [[label, *(f"{r[f'time_to_{t:.2f}']:.1f}" if r[f"time_to_{t:.2f}"] else "not reached" for t in TARGETS),
             f"{r['s_per_epoch']:.2f}", f"{r['s_per_epoch'] / ref:.2f}x", f"{r['final_accuracy']:.4f}"]
            for label, r in results.items()]
    print_table(f"Fashion-MNIST speed recipe on {torch.cuda.get_device_name()} ({args.epochs} epochs; the first "
                "epoch includes compilation where compiled)",
                ["system", "s to 91%", "s to 93%", "s/epoch", "vs hand loop", "final accuracy"], rows)
    steps = mlp_steps()
    print_table("Digits MLP 64-128-10, batch 64, Adam: µs per training step on the GPU (best of 4 after a warm-up)",
                ["loop", "µs/step", "vs hand loop"],
                [[k, f"{v:.1f}", f"{v / steps['hand-written loop']:.2f}x"] for k, v in steps.items()])
    write_json("gpu", {"device": torch.cuda.get_device_name(), "epochs": args.epochs, "fashion": results,
                       "mlp_us_per_step": steps})


if __name__ == "__main__":
    main()
