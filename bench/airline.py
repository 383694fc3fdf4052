"""Airline passengers: LSTM and Transformer forecasts of the last 24 months vs seasonal naive.

Rolling one-step-ahead forecasts: for each of the last 24 months, every method sees only the
months before it. Seasonal naive repeats the value of 12 months earlier. The networks are
trained with the example configs (examples/lstm_airline.yaml, examples/transformer_airline.yaml)
on log(passengers), forecasting the change from the last month; errors are in passengers.

Run: python bench/airline.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

import neuronet as nt
from common import print_table, write_json
from neuronet.config import load_config
from neuronet.runs import train_run

EXAMPLES = Path(__file__).parents[1] / "examples"


def errors(pred: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    return {"rmse": float(((pred - true) ** 2).mean().sqrt()), "mape": float(((pred - true).abs() / true).mean() * 100)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    test = nt.datasets.load("airline", input_len=24, horizon=1).official_test
    true = test.y[:, 0].double().exp()  # passengers (thousands)
    results = {"seasonal naive (repeat last year)": [errors(test.x[:, -12, 0].double().exp(), true)]}
    with tempfile.TemporaryDirectory() as out:
        for name, example in (("LSTM", "lstm_airline.yaml"), ("Transformer", "transformer_airline.yaml")):
            for seed in args.seeds:
                config = load_config(EXAMPLES / example, [f"seed={seed}", f"output_dir={out}"])
                run = train_run(config, progress=False)
                pred = torch.as_tensor(nt.load(run.path).predict(test)[:, 0]).double().exp()
                results.setdefault(name, []).append({**errors(pred, true), "epochs": run.trainer.epoch})
                print(f"  {name} seed {seed}: RMSE {results[name][-1]['rmse']:.1f}, MAPE {results[name][-1]['mape']:.2f}%"
                      f" ({run.trainer.epoch} epochs)", flush=True)
    naive = results["seasonal naive (repeat last year)"][0]
    rows = []
    for name, runs in results.items():
        rmse = [r["rmse"] for r in runs]
        mape = [r["mape"] for r in runs]
        spread = lambda v: f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else ""  # noqa: E731
        rows.append([name, len(runs), f"{statistics.mean(rmse):.1f}{spread(rmse)}", f"{statistics.mean(mape):.2f}{spread(mape)}",
                     f"{statistics.mean(rmse) / naive['rmse']:.3f}x"])
    print_table("Airline passengers, last 24 months, one-step-ahead (thousands of passengers)",
                ["method", "runs", "RMSE", "MAPE %", "RMSE vs seasonal naive"], rows)
    write_json("airline", {"seeds": args.seeds, "results": results})


if __name__ == "__main__":
    main()
