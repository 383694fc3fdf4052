"""Grid vs random vs Bayesian search at the same trial budget; one worker vs two; the LR finder vs the tuned LR.

Data: breast_cancer (every trial scored by 5-fold cross-validation, mean accuracy of the held-out
folds) and a Fashion-MNIST subset (validation accuracy; needs Debian's dataset-fashion-mnist).
The grid's values are a regular sample of the same ranges random and bayes draw from; the
reference row is random search (the usual baseline), so each method's best metric is shown as
a difference from it, and the two-worker wall time as a ratio to one worker's. After the search,
the best config is re-trained on train + validation and evaluated once on the test split.

Run: python bench/tune.py [--trials 16 --fashion-trials 8 --skip-fashion]
(workers use one torch thread each; the one-worker rows run with one thread too.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import print_table, write_json
from neuronet.config import load_config
from neuronet.datasets.builtin import FASHION_MNIST_DIR
from neuronet.runs.build import make_trainer, plan_run
from neuronet.tune import tune

CANCER = ["data.source=breast_cancer", "data.val=0.2", "model.type=mlp", "train.epochs=20", "train.batch_size=32"]
FASHION = ["data.source=fashion_mnist", "data.limit=3000", "data.options.test_limit=2000", "data.val=0.2",
           "model.type=cnn", "model.channels=[16, 32]", "train.epochs=3", "train.batch_size=64"]
SPACES = {
    "cancer": {"grid": "{train.lr: {choice: [0.0003, 0.001, 0.003, 0.01]}, model.hidden: {choice: [[32], [64, 32]]}, "
                       "model.dropout: {choice: [0.0, 0.4]}}",
               "range": "{train.lr: {log_uniform: [0.0003, 0.01]}, model.hidden: {choice: [[32], [64, 32]]}, "
                        "model.dropout: {uniform: [0.0, 0.4]}}"},
    "fashion": {"grid": "{train.lr: {choice: [0.0003, 0.001, 0.003, 0.01]}, model.dropout: {choice: [0.0, 0.4]}}",
                "range": "{train.lr: {log_uniform: [0.0003, 0.01]}, model.dropout: {uniform: [0.0, 0.4]}}"},
}


def search(base: list[str], space: str, method: str, trials: int, out: Path, name: str, jobs: int = 1,
           cv: int | None = None) -> dict:
    spec = f"tune={{method: {method}, trials: {trials}, seed: 0, metric: val_accuracy, pruner: none, space: {space}" \
           + (f", cv: {cv}}}" if cv else "}")
    config = load_config(None, [*base, spec, f"output_dir={out}", f"name={name}"])
    start = time.perf_counter()
    result = tune(config, jobs=jobs)
    seconds = time.perf_counter() - start
    return {"best": result.best_value, "lr": result.best.params["train.lr"], "params": result.best.params,
            "trials": len(result.trials), "seconds": seconds, "test_accuracy": result.test.get("accuracy")}


def lr_suggestion(base: list[str]) -> float | None:
    plan = plan_run(load_config(None, base))
    return make_trainer(plan, progress=False).lr_find(plan.train).suggestion


def study(label: str, base: list[str], spaces: dict, trials: int, out: Path, cv: int | None) -> tuple[list, dict]:
    runs = {m: search(base, spaces["grid" if m == "grid" else "range"], m, trials, out, f"{label}-{m}", cv=cv)
            for m in ("random", "grid", "bayes")}
    runs["bayes, 2 workers"] = search(base, spaces["range"], "bayes", trials, out, f"{label}-bayes-2", jobs=2, cv=cv)
    ref = runs["random"]
    rows = [[label, method, r["trials"], f"{r['best']:.4f}", f"{r['best'] - ref['best']:+.4f}",
             f"{r['test_accuracy']:.4f}", f"{r['lr']:.2g}", f"{r['seconds']:.0f}",
             f"{r['seconds'] / runs['bayes']['seconds']:.2f}x" if "2 workers" in method else ""]
            for method, r in runs.items()]
    suggestion = lr_suggestion(base)
    return rows, {"runs": runs, "lr_find": suggestion}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16, help="trials per method, breast_cancer (grid: 16 points)")
    parser.add_argument("--fashion-trials", type=int, default=8, help="trials per method, Fashion-MNIST (grid: 8)")
    parser.add_argument("--skip-fashion", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(tempfile.mkdtemp(prefix="neuronet-bench-tune-"))
    rows, results = study("breast_cancer (5-fold CV)", CANCER, SPACES["cancer"], args.trials, out, cv=5)
    results = {"breast_cancer": results}
    if not args.skip_fashion and FASHION_MNIST_DIR.is_dir():
        more, results["fashion_mnist"] = study("Fashion-MNIST 3k", FASHION, SPACES["fashion"], args.fashion_trials,
                                               out, cv=None)
        rows += more
    print_table("best validation accuracy at the same trial budget (vs random search), 1 torch thread per worker",
                ["data", "method", "trials", "best", "vs random", "test acc (re-trained)", "best lr", "wall s",
                 "2 workers vs 1"], rows)
    for name, r in results.items():
        tuned = r["runs"]["bayes"]["lr"]
        print(f"{name}: the LR finder suggests {r['lr_find']:.3g}; bayes tuned lr {tuned:.3g} "
              f"(ratio {r['lr_find'] / tuned:.2f})" if r["lr_find"] else f"{name}: no LR suggestion")
    write_json("tune", {"trials": args.trials, "fashion_trials": args.fashion_trials, "results": results})


if __name__ == "__main__":
    main()
