"""Shared helpers for the benchmarks: timing, tables, JSON results."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import neuronet as nt

RESULTS = Path(__file__).parent / "results"


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """Run `fn` `repeats` times; return (median seconds, all timings)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(), "cuda": torch.cuda.is_available()}


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    print(f"\nwrote {path}")
    return path


class AccuracyBudget(nt.callbacks.Callback):
    """After each epoch: test accuracy (not counted as training time); stop once training time passes the budget."""

    def __init__(self, test: nt.datasets.Dataset, budget_s: float, label: str) -> None:
        self.test, self.budget_s, self.label = test, budget_s, label
        self.train_s, self.curve = 0.0, []

    def after_epoch(self, trainer: nt.Trainer, logs: dict[str, Any]) -> None:
        self.train_s += logs["time"]
        acc = trainer.evaluate(self.test)["accuracy"]
        self.curve.append({"epoch": logs["epoch"], "train_s": self.train_s, "test_accuracy": acc})
        print(f"  {self.label} epoch {logs['epoch']}: {self.train_s:6.1f} s  test accuracy {acc:.4f}", flush=True)
        trainer.stop_training = self.train_s >= self.budget_s


def cosine_lr(peak: float, warmup: int, steps: int, spent: float, budget: float) -> float:
    """Linear warm-up over `warmup` steps, then a cosine decay to a tenth of `peak` over the time budget."""
    import math

    warm = min(1.0, (steps + 1) / warmup)
    return peak * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, spent / budget))))


def train_for_time(trainer: nt.Trainer, train: Any, val: Any, minutes: float, peak: float, warmup: int,
                   eval_every: int, report: Callable[[int, float, float], None], keep_best: bool = False) -> dict[str, Any]:
    """Train with the Trainer's `train_step` (after its augmentations, once `setup` bound them) until `minutes` of
    training time are spent (the learning rate by
    `cosine_lr`); every `eval_every` steps, and at the end, the validation loss (not counted as training time) is
    measured and passed to `report(steps, seconds, loss)`. With `keep_best`, the best weights are loaded at the end.

    Returns:
        {"train_s", "steps", "epochs", "best_val_loss", "curve": [{"steps", "train_s", "val_loss"}, ...]}.
    """
    import copy
    import math

    model = trainer.model
    budget, spent, steps, epoch, curve = minutes * 60, 0.0, 0, 0, []
    best, best_state = math.inf, None
    while spent < budget:
        model.train()
        for x, y in trainer.batches(train, shuffle=True, epoch=epoch):
            for group in trainer.optimizer.param_groups:
                group["lr"] = cosine_lr(peak, warmup, steps, spent, budget)
            start = time.perf_counter()
            if trainer.augment is not None:  # bound by trainer.setup(train)
                x, y = trainer.augment(x, y)
            trainer.train_step(x, y)
            spent += time.perf_counter() - start
            steps += 1
            if steps % eval_every == 0 or spent >= budget:
                loss = trainer.evaluate(val)["loss"]
                if loss < best:
                    best, best_state = loss, copy.deepcopy(model.state_dict()) if keep_best else None
                curve.append({"steps": steps, "train_s": round(spent, 1), "val_loss": loss})
                report(steps, spent, loss)
                model.train()
            if spent >= budget:
                break
        epoch += 1
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"train_s": spent, "steps": steps, "epochs": epoch, "best_val_loss": best, "curve": curve}
