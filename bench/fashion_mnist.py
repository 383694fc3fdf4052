"""Fashion-MNIST on this machine's CPU: time to 91% and to 93% test accuracy, four ways, in one run.

Rows (the official 10k test set scored after every epoch; scoring time is not training time):
- recipe: `neuronet train examples/fashion_fast.yaml` (through `neuronet.runs.train_run`, as the command does);
- old example: `neuronet train examples/fashion_mnist.yaml`, the example before the recipe;
- hand-written PyTorch loop of the recipe: the same network (same initial weights), optimizer, one-cycle
  schedule, label smoothing, batch, precision, flips and channels-last layout, written as a tutorial would
  with fused AdamW;
- Keras 3 on its torch backend: the same layers (conv-pool-BN-ReLU blocks as the recipe orders them, dense
  head; BN momentum as PyTorch's), AdamW with Keras' warm-up + cosine schedule, label smoothing, batch, epochs
  and mixed bfloat16 policy (Keras' own NHWC layout).
A row stops at its config's epochs or when its training time passes --budget-s.

Run: OMP_NUM_THREADS=2 python bench/fashion_mnist.py [--budget-s 130 --only recipe,keras]
Needs `apt-get install dataset-fashion-mnist` (or --data-dir) and, for the Keras row, `pip install keras`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import neuronet as nt
from common import AccuracyBudget, print_table, write_json
from neuronet.config import load_config

EXAMPLES = Path(__file__).parents[1] / "examples"
TARGETS = (0.91, 0.93)


def run_config(name: str, test: nt.datasets.Dataset, args: argparse.Namespace) -> list[dict[str, Any]]:
    """`neuronet train examples/<name>` with a probe scoring the official test set after each epoch."""
    from neuronet.runs import train_run

    overrides = [f"data.data_dir={args.data_dir}"] if args.data_dir else []
    config = load_config(EXAMPLES / name, overrides)
    probe = AccuracyBudget(test, args.budget_s, Path(name).stem)
    with tempfile.TemporaryDirectory() as out:
        config.output_dir, config.name = out, "bench"
        train_run(config, callbacks=[probe], progress=False)
    return probe.curve


def recipe_settings() -> dict[str, Any]:
    """The recipe's network, optimizer and schedule as the hand-written loop and Keras take them."""
    config = load_config(EXAMPLES / "fashion_fast.yaml")
    train = config.train
    return {"model": config.model.model_dump(exclude_none=True), "lr": train.lr, "batch": train.batch_size,
            "epochs": train.epochs, "weight_decay": train.weight_decay or 0.0,
            "smoothing": (train.loss_kwargs or {}).get("label_smoothing", 0.0), "precision": str(train.precision or 32),
            "flip": any(a.get("type") == "hflip" for a in train.augment or []),
            "pct_start": (train.schedule or {}).get("pct_start", 0.3)}


def recipe_model(settings: dict[str, Any], input_shape: tuple[int, ...]) -> torch.nn.Module:
    spec = dict(settings["model"])
    return nt.models.build_model(spec.pop("type"), input_shape, 10, seed=0, **spec)


def run_hand_written(train: nt.datasets.Dataset, test: nt.datasets.Dataset, settings: dict[str, Any],
                     budget_s: float, device: str = "cpu") -> list[dict[str, Any]]:
    """The recipe written out as a tutorial would (fused AdamW, one-cycle, flips, channels-last, bf16 autocast), on
    `device` with the data kept there; the curve of (epoch, training seconds, test accuracy)."""
    model = recipe_model(settings, train.input_shape).to(device, memory_format=torch.channels_last)
    x_all, y_all, test_x, test_y = train.x.to(device), train.y.to(device), test.x.to(device), test.y.to(device)
    batch, epochs = settings["batch"], settings["epochs"]
    steps = epochs * -(-len(train) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"], fused=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, settings["lr"], total_steps=steps,
                                                   pct_start=settings["pct_start"])
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=settings["smoothing"])
    bf16 = settings["precision"] == "bf16"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)  # time the GPU's work, not its queue
    train_s, curve = 0.0, []
    for epoch in range(epochs):
        sync()
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(epoch)).to(device)
        for i in range(0, len(train), batch):
            x, y = x_all[order[i:i + batch]], y_all[order[i:i + batch]]
            if settings["flip"]:
                flip = torch.rand(len(x), device=device) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
        sync()
        train_s += time.perf_counter() - start
        model.eval()
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            acc = float((torch.cat([model(b).argmax(1) for b in test_x.split(1024)]) == test_y).double().mean())
        curve.append({"epoch": epoch + 1, "train_s": train_s, "test_accuracy": acc})
        print(f"  hand-written epoch {epoch + 1}: {train_s:6.1f} s  test accuracy {acc:.4f}", flush=True)
        if train_s >= budget_s:
            break
    return curve


def run_keras(train: nt.datasets.Dataset, test: nt.datasets.Dataset, args: argparse.Namespace,
              settings: dict[str, Any]) -> list[dict[str, Any]]:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    import numpy as np

    spec = settings["model"]
    if spec["type"] != "cnn":
        raise SystemExit(f"the Keras row mirrors model type 'cnn'; the recipe uses {spec['type']!r}")
    keras.utils.set_random_seed(0)
    if settings["precision"] == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")  # the recipe's bf16 autocast
    layers: list[Any] = [keras.Input((28, 28, 1))]
    if settings["flip"]:
        layers.append(keras.layers.RandomFlip("horizontal"))
    for channels in spec.get("channels", [32, 64]):
        block = [keras.layers.Conv2D(channels, 3, padding="same", use_bias=False),
                 keras.layers.BatchNormalization(momentum=0.9),  # PyTorch's momentum 0.1 (Keras' default 0.99)
                 keras.layers.ReLU()]
        block.insert(1 if spec.get("pool_first") else 3, keras.layers.MaxPooling2D(2))
        layers += block
    dropout = spec.get("dropout", 0.25)
    layers += [keras.layers.Flatten(), keras.layers.Dropout(dropout)]
    if spec.get("hidden", 128):
        layers += [keras.layers.Dense(spec.get("hidden", 128), activation="relu"), keras.layers.Dropout(dropout)]
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers)
    steps = settings["epochs"] * -(-len(train) // settings["batch"])
    warm = int(settings["pct_start"] * steps)
    lr = keras.optimizers.schedules.CosineDecay(settings["lr"] / 25, steps - warm, warmup_target=settings["lr"],
                                                warmup_steps=warm)
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=settings["weight_decay"]),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=settings["smoothing"]),
                  metrics=["accuracy"])
    x = train.x.permute(0, 2, 3, 1).numpy()  # (N, 28, 28, 1): Keras' channels-last images
    y = np.eye(10, dtype="float32")[train.y.numpy()]
    tx, ty = test.x.permute(0, 2, 3, 1).numpy(), np.eye(10, dtype="float32")[test.y.numpy()]
    curve: list[dict[str, Any]] = []

    class Probe(keras.callbacks.Callback):
        train_s = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            Probe.train_s += time.perf_counter() - self.started
            acc = float(self.model.evaluate(tx, ty, batch_size=1024, verbose=0)[1])
            curve.append({"epoch": epoch + 1, "train_s": Probe.train_s, "test_accuracy": acc})
            print(f"  keras epoch {epoch + 1}: {Probe.train_s:6.1f} s  test accuracy {acc:.4f}", flush=True)
            self.model.stop_training = Probe.train_s >= args.budget_s

    model.fit(x, y, batch_size=settings["batch"], epochs=settings["epochs"], shuffle=True, verbose=0,
              callbacks=[Probe()])
    return curve


def summary(curve: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {"final_accuracy": curve[-1]["test_accuracy"], "final_train_s": curve[-1]["train_s"],
                             "epochs": len(curve), "s_per_epoch": curve[-1]["train_s"] / len(curve), "curve": curve}
    for target in TARGETS:
        hit = next((p for p in curve if p["test_accuracy"] >= target), None)
        found[f"time_to_{target:.2f}"] = hit["train_s"] if hit else None
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=130.0, help="training seconds at most per row")
    parser.add_argument("--only", default="recipe,old,hand,keras", help="a comma-separated subset of the rows")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data = nt.datasets.load("fashion_mnist", data_dir=args.data_dir)
    train, _, test = data.split(val=0)
    settings = recipe_settings()
    rows = {"recipe": ("examples/fashion_fast.yaml (neuronet train)", lambda: run_config("fashion_fast.yaml", test, args)),
            "old": ("examples/fashion_mnist.yaml (the old example)", lambda: run_config("fashion_mnist.yaml", test, args)),
            "hand": ("hand-written PyTorch loop, the recipe's network", lambda: run_hand_written(train, test, settings,
                                                                                                 args.budget_s)),
            "keras": ("Keras 3 (torch backend), the recipe's network", lambda: run_keras(train, test, args, settings))}
    results = {}
    for key in args.only.split(","):
        label, fn = rows[key]
        print(f"{label}:", flush=True)
        results[label] = summary(fn())
    table = []
    for label, r in results.items():
        times = [r[f"time_to_{t:.2f}"] for t in TARGETS]
        table.append([label, *(f"{t:.1f}" if t else "not reached" for t in times), f"{r['s_per_epoch']:.1f}",
                      f"{r['final_accuracy']:.4f} after {r['final_train_s']:.0f} s ({r['epochs']} epochs)"])
    print_table(f"Fashion-MNIST, CPU ({torch.get_num_threads()} torch threads): training seconds to a test accuracy "
                f"(official 10k test set)", ["system", "s to 91%", "s to 93%", "s/epoch", "final"], table)
    write_json("fashion_mnist", {"targets": TARGETS, "budget_s": args.budget_s, "recipe": settings, "results": results})


if __name__ == "__main__":
    main()
