"""µs per training step: the Trainer against hand-written PyTorch loops, same process.

Models: the digits MLP (64-128-10) and the digits CNN, batch 64, Adam lr 1e-3.
Rows:
- reference: a lean hand-written loop with the Trainer's settings (fused Adam, the same
  seed-derived order, whole-tensor slicing) and no bookkeeping at all;
- Trainer: `nt.Trainer(...).fit(train)` with progress off (it also records every step's
  loss and LR, computes the epoch's train accuracy from the kept outputs, and runs the
  training doctor: per-layer statistics on one step in 50, a diagnosis per epoch);
- Trainer with doctor=False: the same without the doctor (the doctor's cost is the ratio of
  the two rows, printed after the table);
- Trainer with train_metrics=False: the same without the train-accuracy bookkeeping;
- typical loop: what most tutorials write: non-fused Adam and a DataLoader over a
  TensorDataset (per-sample indexing + collation);
- scikit-learn (MLP only): `MLPClassifier(hidden_layer_sizes=(128,), batch_size=64, solver="adam")`, the
  NumPy implementation users of small tables reach for, trained for the same epochs (no early stop).

Goal: Trainer at or below the reference and scikit-learn per step, faster than the typical loop, the doctor < 5%.
Run: python bench/overhead.py [--epochs 20 --repeats 11 --models mlp cnn --threads 1]
"""

from __future__ import annotations

import argparse
import copy

import torch
from torch.utils.data import DataLoader, TensorDataset

import neuronet as nt
from common import best_of, print_table, write_json


def reference_loop(model, x, y, epochs, batch_size, seed):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        xs, ys = x[order], y[order]
        for start in range(0, len(xs), batch_size):
            loss = loss_fn(model(xs[start:start + batch_size]), ys[start:start + batch_size])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def typical_loop(model, x, y, epochs, batch_size, seed):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def sklearn_fit(x, y, epochs, batch_size, seed):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    net = MLPClassifier(hidden_layer_sizes=(128,), batch_size=batch_size, solver="adam", learning_rate_init=1e-3,
                        max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, alpha=0.0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter epochs, on purpose
        net.fit(x, y)
    assert net.n_iter_ == epochs


def trainer_fit(model, train, epochs, batch_size, seed, **options):
    nt.Trainer(model, lr=1e-3, batch_size=batch_size, epochs=epochs, seed=seed, progress=False, **options).fit(train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady timings)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = nt.datasets.load("digits")
    train, _, _ = data.split(val=0.1, test=0.2, seed=0)
    train = nt.datasets.Scaler().fit(train).transform(train)
    steps = args.epochs * nt.datasets.num_batches(len(train), 64)
    models = {
        "digits MLP 64-128-10": lambda: nt.models.MLP(64, 10, hidden=[128], seed=0),
        "digits CNN": lambda: nt.models.CNN(data.input_shape, 10, seed=0),
    }
    models = {k: v for k, v in models.items() if k.split()[1].lower() in args.models}
    rows, results = [], {}
    for name, make in models.items():
        base = make()
        runs = {
            "reference (hand-written, fused Adam, tensor slicing)": lambda: reference_loop(
                copy.deepcopy(base), train.x, train.y, args.epochs, 64, 0),
            "Trainer (defaults, progress off)": lambda: trainer_fit(copy.deepcopy(base), train, args.epochs, 64, 0),
            "Trainer (doctor=False)": lambda: trainer_fit(copy.deepcopy(base), train, args.epochs, 64, 0,
                                                          doctor=False),
            "Trainer (doctor on every step)": lambda: trainer_fit(copy.deepcopy(base), train, args.epochs, 64, 0,
                                                                  doctor={"every_steps": 1, "live": False}),
            "Trainer (train_metrics=False)": lambda: trainer_fit(copy.deepcopy(base), train, args.epochs, 64, 0,
                                                                 train_metrics=False),
            "typical loop (Adam, DataLoader)": lambda: typical_loop(
                copy.deepcopy(base), train.x, train.y, args.epochs, 64, 0),
        }
        if name.startswith("digits MLP"):
            xs, ys = train.x.reshape(len(train.x), -1).numpy().astype("float32"), train.y.numpy()
            runs["scikit-learn MLPClassifier (NumPy, adam)"] = lambda: sklearn_fit(xs, ys, args.epochs, 64, 0)
        for fn in runs.values():  # warm-up
            fn()
        timings = {}
        for _ in range(args.repeats):  # interleave so drifts in machine load hit every variant alike
            for label, fn in runs.items():
                timings.setdefault(label, []).append(best_of(fn, 1)[0])
        # The minimum is the run least disturbed by the rest of the machine (as timeit reports).
        ref = min(timings[next(iter(runs))])
        off = min(timings["Trainer (doctor=False)"])
        results.setdefault(name, {})["doctor_cost"] = min(timings["Trainer (defaults, progress off)"]) / off - 1
        # the cost of one measured step, spread over the default cadence: precise where the direct ratio is noise
        results[name]["doctor_cost_per_50"] = (min(timings["Trainer (doctor on every step)"]) / off - 1) / 50
        for label, ts in timings.items():
            us = min(ts) / steps * 1e6
            rows.append([name, label, f"{us:.1f}", f"{min(ts) / ref:.3f}x"])
            results.setdefault(name, {})[label] = {"us_per_step": us, "ratio_vs_reference": min(ts) / ref,
                                                   "runs_s": ts}
    print_table(f"µs per training step ({args.epochs} epochs x {steps // args.epochs} steps, best of {args.repeats}, "
                f"{args.threads} torch thread(s))",
                ["model", "loop", "µs/step", "vs reference"], rows)
    for name in models:
        r = results[name]
        print(f"{name}: the doctor at its default cadence (one step in 50) costs {r['doctor_cost']:+.1%} measured "
              f"directly, {r['doctor_cost_per_50']:+.2%} from the every-step row / 50")
    write_json("overhead", {"epochs": args.epochs, "repeats": args.repeats, "threads": args.threads, "steps": steps, "results": results})


if __name__ == "__main__":
    main()
