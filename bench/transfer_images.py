"""Transfer learning on few images: EfficientNet-Lite0 (ImageNet) vs our CNN from scratch, Fashion-MNIST.

What is measured: for each training-set size (default 100, 500 and 2,000 images), the official
Fashion-MNIST 10k test accuracy, the training wall time and the test (inference) wall time of:

  a. `EfficientNet-Lite0 fine-tuned`: `build_model("pretrained", (1, 28, 28), 10,
     name="efficientnet-lite0", seed=0)` trained with the `fine_tune` recipe: the new head alone
     for --head-epochs (1), then every layer for --full-epochs (3), Adam lr 1e-3 (head) and
     backbone_lr 1e-4, batch 32. Images are resized to 224 px (and greyscale repeated to 3
     channels) inside the model, so the inputs stay 1x28x28 in [0, 1] (`prepare(scale="none")`).
     Loading the ImageNet weights is not counted (it is in the JSON as `load_s`).
  b. `EfficientNet-Lite0 features + head`: the same network with `freeze="backbone"`; the
     training images are embedded once with `neuronet.transfer.embed` (1,280 pooled features)
     and `head_of(model)` (dropout + linear) trains on them with the Trainer for
     --feature-epochs (30), Adam lr 1e-3, batch 32. Training time = embedding the training
     images + training the head. The test set is embedded ONCE and reused for every size; the
     test time of this row is that embedding plus the head's pass over the features, and the
     table shows the embedding part on its own ("test embed s", paid once for all sizes).
  c. `CNN from scratch`: `build_model("cnn", (1, 28, 28), 10, seed=0)` with the model options of
     examples/fashion_mnist.yaml (channels [32, 64], hidden 128, dropout 0.25 = the defaults),
     Adam lr 2e-3 as there, but batch 32 (as rows a/b: 128 would be a single step per epoch on
     100 images) and no one_cycle schedule / early stopping (a time budget fixes no number of
     epochs, and there is no validation part). It trains for as many epochs as it takes to
     spend the SAME training time as row (a) of that size (the sum of the epochs' training
     times; the last epoch may overshoot a little), at most --cnn-max-epochs. With --cnn-curve
     it also measures the test accuracy after every epoch (bench/common.py AccuracyBudget; not
     counted as training time, but slow: one test pass per epoch).

The CNN of the same size is the reference: "acc / CNN", "train / CNN" and "test / CNN" are this
row's test accuracy, training time and test time divided by the CNN's.

Splits: each size is a seeded (--seed 0), class-stratified subset of the 60k official training
images (sklearn train_test_split with stratify; the sizes are drawn independently, so the
subsets are not nested). NO validation part is carved from them: no method selects epochs or
stops early, so every chosen image is a training image. Evaluation is on the official 10k test
images (the first --test-limit of them when given). Inputs are pixels in [0, 1] for all rows
(`prepare(..., scale="none")`), as the pretrained weights expect (they normalise inside).
Accuracy is computed in batches of 256 in eval mode.

Settings: CPU (or --device cuda), torch.set_num_threads(--threads, default 2), seed 0 everywhere. The full
benchmark fine-tunes a 4.7M-parameter network at 224 px on the CPU and passes the 10k test
images through it four times (the embedding once, row a once per size); the smoke check took
~0.3 s per training image and epoch (fine-tuning) and ~0.15 s per test image on one busy core,
so expect one to a few hours on 2 cores; --test-limit 2000 cuts the test passes by 5x.

Run:
    python bench/transfer_images.py [--sizes 100 500 2000] [--test-limit N] [--threads 2]
    python bench/transfer_images.py --quick      # smoke check: 100 images, 500 test images, 1 epoch
Needs `apt-get install dataset-fashion-mnist` (or --data-dir) and `pip install 'neuronet[transfer]'`.
Writes bench/results/transfer_images.json.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

import neuronet as nt
from common import AccuracyBudget, print_table, write_json
from neuronet.models import build_model
from neuronet.train import fine_tune
from neuronet.transfer import embed, head_of

FINE_TUNED = "EfficientNet-Lite0 fine-tuned"
FEATURES = "EfficientNet-Lite0 features + head"
SCRATCH = "CNN from scratch (row a's time)"
CNN_OPTIONS = {"channels": [32, 64], "hidden": 128, "dropout": 0.25}  # examples/fashion_mnist.yaml
CNN_LR = 2e-3  # examples/fashion_mnist.yaml


class TimeBudget(nt.callbacks.Callback):
    """Stop once the epochs' training time (their `time` logs) reaches the budget."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s, self.train_s, self.epochs = budget_s, 0.0, 0

    def after_epoch(self, trainer: nt.Trainer, logs: dict[str, Any]) -> None:
        self.train_s += logs["time"]
        self.epochs = logs["epoch"]
        trainer.stop_training = self.train_s >= self.budget_s


def stratified_subset(data: nt.datasets.Dataset, n: int, seed: int) -> nt.datasets.Dataset:
    """`n` rows of `data` with its class proportions, drawn with `seed` (kept in their original order)."""
    from sklearn.model_selection import train_test_split

    if n >= len(data):
        return data
    chosen, _ = train_test_split(np.arange(len(data)), train_size=n, stratify=data.y.numpy(), random_state=seed)
    return data.subset(np.sort(chosen))


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: nt.datasets.Dataset, batch: int = 256) -> float:
    """Test accuracy in eval mode, in batches (a 224 px network on 1,024 images at once needs several GB)."""
    model.eval()
    device = next(model.parameters()).device
    correct = sum(int((model(data.x[i:i + batch].to(device)).argmax(1).cpu() == data.y[i:i + batch]).sum())
                  for i in range(0, len(data), batch))
    return correct / len(data)


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def run_fine_tuned(train, test, args) -> dict[str, Any]:
    model, load_s = timed(build_model, "pretrained", (1, 28, 28), 10, name="efficientnet-lite0", seed=0)
    _, train_s = timed(fine_tune, model, train, None, head_epochs=args.head_epochs, full_epochs=args.full_epochs,
                       lr=1e-3, backbone_lr=1e-4, batch_size=32, seed=args.seed, progress=False, device=args.device)
    acc, test_s = timed(accuracy, model, test)
    return {"method": FINE_TUNED, "test_accuracy": acc, "train_s": train_s, "test_s": test_s, "load_s": load_s,
            "epochs": args.head_epochs + args.full_epochs}


def run_features(model, initial_head, train, test_features, test_embed_s, args) -> dict[str, Any]:
    model.net.head.load_state_dict(initial_head)  # the same fresh head for every size
    start = time.perf_counter()
    features = embed(model, train, device=args.device)
    embed_s = time.perf_counter() - start
    head = head_of(model)
    nt.Trainer(head, lr=1e-3, batch_size=32, epochs=args.feature_epochs, seed=args.seed, progress=False,
               device=args.device).fit(features)
    train_s = time.perf_counter() - start
    acc, head_s = timed(accuracy, head, test_features)
    return {"method": FEATURES, "test_accuracy": acc, "train_s": train_s, "train_embed_s": embed_s,
            "test_s": test_embed_s + head_s, "test_embed_s": test_embed_s, "test_head_s": head_s,
            "epochs": args.feature_epochs}


def run_scratch(train, test, budget_s, args) -> dict[str, Any]:
    model = build_model("cnn", (1, 28, 28), 10, seed=0, **CNN_OPTIONS)
    probe = AccuracyBudget(test, budget_s, f"CNN n={len(train)}") if args.cnn_curve else TimeBudget(budget_s)
    trainer = nt.Trainer(model, lr=CNN_LR, batch_size=32, epochs=args.cnn_max_epochs, seed=args.seed, progress=False,
                         callbacks=[probe], device=args.device)
    _, wall_s = timed(trainer.fit, train)
    acc, test_s = timed(accuracy, model, test)
    row = {"method": SCRATCH, "test_accuracy": acc, "train_s": probe.train_s, "train_wall_s": wall_s,
           "budget_s": budget_s, "test_s": test_s, "epochs": trainer.epoch}
    if args.cnn_curve:
        row["curve"] = probe.curve
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--test-limit", type=int, default=None, help="first N official test images (default: all 10k)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu (the default) or cuda")
    parser.add_argument("--head-epochs", type=int, default=1)
    parser.add_argument("--full-epochs", type=int, default=3)
    parser.add_argument("--feature-epochs", type=int, default=30)
    parser.add_argument("--cnn-max-epochs", type=int, default=10_000)
    parser.add_argument("--cnn-curve", action="store_true", help="CNN test accuracy after every epoch (slow)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: sizes 100, test-limit 500, 1 epoch (head 1 + full 1 for row a)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.test_limit = [100], 500
        args.full_epochs, args.feature_epochs = 1, 1
    torch.set_num_threads(args.threads)

    data = nt.datasets.load("fashion_mnist", data_dir=args.data_dir)
    test_raw = data.official_test
    if args.test_limit:
        test_raw = test_raw.subset(np.arange(min(args.test_limit, len(test_raw))))
    print(f"Fashion-MNIST: {len(data)} training images, {len(test_raw)} official test images; "
          f"sizes {args.sizes}; {torch.get_num_threads()} threads", flush=True)

    # Row (b)'s backbone: loaded and the test set embedded once, for every size.
    extractor, extractor_load_s = timed(build_model, "pretrained", (1, 28, 28), 10, name="efficientnet-lite0",
                                        freeze="backbone", seed=0)
    initial_head = {k: v.clone() for k, v in extractor.net.head.state_dict().items()}
    test_features, test_embed_s = timed(embed, extractor, test_raw, device=args.device)
    print(f"test set embedded once: {len(test_raw)} images in {test_embed_s:.1f} s", flush=True)

    results = []
    for n in args.sizes:
        sub = stratified_subset(data, n, args.seed)
        train, val, test = nt.datasets.prepare(replace(sub, official_test=test_raw), val=0.0, seed=args.seed,
                                               scale="none")
        assert val is None and len(train) == len(sub) and len(test) == len(test_raw)
        rows = []
        print(f"\n[{n} images] {FINE_TUNED} ...", flush=True)
        rows.append(run_fine_tuned(train, test, args))
        print(f"[{n} images] {FEATURES} ...", flush=True)
        rows.append(run_features(extractor, initial_head, train, test_features, test_embed_s, args))
        budget = rows[0]["train_s"]
        print(f"[{n} images] {SCRATCH}: budget {budget:.1f} s ...", flush=True)
        rows.append(run_scratch(train, test, budget, args))
        ref = rows[-1]
        for row in rows:
            row.update(train_size=n, acc_vs_cnn=row["test_accuracy"] / ref["test_accuracy"],
                       train_vs_cnn=row["train_s"] / ref["train_s"], test_vs_cnn=row["test_s"] / ref["test_s"])
            print(f"  {row['method']}: accuracy {row['test_accuracy']:.4f}, train {row['train_s']:.1f} s, "
                  f"test {row['test_s']:.1f} s", flush=True)
        results += rows

    table = [[r["method"], r["train_size"], f"{r['test_accuracy']:.4f}", f"{r['train_s']:.1f}", r["epochs"],
              f"{r['test_s']:.2f}", f"{r['test_embed_s']:.2f}" if "test_embed_s" in r else "-",
              f"{r['acc_vs_cnn']:.3f}x", f"{r['train_vs_cnn']:.2f}x", f"{r['test_vs_cnn']:.2f}x"] for r in results]
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print_table(f"Fashion-MNIST transfer, {where}, official test "
                f"({len(test_raw)} images); reference: the CNN of the same size",
                ["method", "train size", "test acc", "train s", "epochs", "test s", "test embed s (once)",
                 "acc / CNN", "train / CNN", "test / CNN"], table)
    settings = {k: v for k, v in vars(args).items() if k != "data_dir"}
    write_json("transfer_images", {
        "settings": {**settings, "test_size": len(test_raw), "validation": "none", "scale": "none",
                     "fine_tune": {"lr": 1e-3, "backbone_lr": 1e-4, "batch_size": 32},
                     "features_head": {"lr": 1e-3, "batch_size": 32},
                     "cnn": {**CNN_OPTIONS, "lr": CNN_LR, "batch_size": 32, "budget": "row a's train_s"}},
        "extractor_load_s": extractor_load_s, "test_embed_s": test_embed_s, "results": results})


if __name__ == "__main__":
    main()
