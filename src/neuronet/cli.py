"""The `neuronet` command line: train, evaluate, predict, datasets, info.

Every error a user can cause is printed as one sentence on stderr with exit code 1;
Ctrl-C during training exits 130 and leaves a resumable run directory.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neuronet.errors import NeuronetError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="neuronet: train, evaluate, explain and serve neural networks on your data.")
out = Console()
err = Console(stderr=True)


def _friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn neuronet's own errors into one red line on stderr and exit code 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from neuronet.runs import RunInterrupted

        try:
            return command(*args, **kwargs)
        except NeuronetError as error:
            err.print(Text("Error: ", style="bold red") + Text(str(error)), soft_wrap=True)
            raise typer.Exit(1) from None
        except RunInterrupted as stop:
            err.print(Text(str(stop), style="yellow"), soft_wrap=True)
            raise typer.Exit(130) from None

    return run


def _metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    return table


@app.command()
@_friendly
def train(
    config: Annotated[Optional[Path], typer.Argument(help="YAML run config; none runs the digits CNN demo.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value: --set train.lr=3e-4")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Continue an interrupted run directory.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Run directory name.")] = None,
    output_dir: Annotated[Optional[Path], typer.Option(help="Where runs are written (default: runs).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder of a built-in data set's files (fashion_mnist).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train a model as CONFIG says and write a run directory (config, weights, history, plots, report)."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    if resume is not None:
        if config or set_ or name or output_dir or data_dir:
            raise NeuronetError("--resume continues a run with its own saved config; give no CONFIG, --set, --name, "
                                "--output-dir or --data-dir with it.")
        result = train_run(resume=resume, progress=not quiet)
    else:
        overrides = list(set_ or [])
        overrides += [f"name={name}"] if name else []
        overrides += [f"output_dir={output_dir}"] if output_dir else []
        overrides += [f"data.data_dir={data_dir}"] if data_dir else []
        result = train_run(load_config(config, overrides), progress=not quiet)
    test = result.metrics.get("test", {})
    if test:
        out.print(_metrics_table("test metrics", test))
    headline = "accuracy" if "accuracy" in test else "rmse"
    if headline in test:
        out.print(f"test {headline}: {test[headline]:.4f}")
    out.print(f"run directory: {result.path}")


@app.command()
@_friendly
def cv(
    config: Annotated[Optional[Path], typer.Argument(help="YAML run config; none uses the digits demo.")] = None,
    folds: Annotated[int, typer.Option(help="Number of folds.")] = 5,
    split: Annotated[str, typer.Option(help="auto, kfold, stratified, group (data.group) or time (expanding window).")] = "auto",
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Results folder name.")] = None,
    output_dir: Annotated[Optional[Path], typer.Option(help="Where results are written (default: runs).")] = None,
) -> None:
    """Cross-validate CONFIG: train on k-1 folds, score the held-out fold, report mean ± std and a per-fold table."""
    from neuronet.config import load_config
    from neuronet.runs.cv import cross_validate

    overrides = list(set_ or []) + ([f"name={name}"] if name else []) + ([f"output_dir={output_dir}"] if output_dir else [])
    cfg = load_config(config, overrides)
    result = cross_validate(cfg, folds, split, on_fold=lambda i, m: err.print(
        f"fold {i}/{folds}: " + " · ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float))))
    table = Table(title=f"{folds}-fold cross-validation ({result.split})")
    keys = list(result.mean)
    table.add_column("fold")
    for key in keys:
        table.add_column(key, justify="right")
    for row in result.folds:
        table.add_row(str(row["fold"]), *(f"{row[k]:.4f}" for k in keys))
    table.add_row("mean ± std", *(f"{result.mean[k]:.4f} ± {result.std[k]:.4f}" for k in keys), style="bold")
    out.print(table)
    for key in keys:
        out.print(f"{key}: {result.mean[key]:.4f} ± {result.std[key]:.4f}")
    out.print(f"results: {result.path}")


@app.command()
@_friendly
def evaluate(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    data: Annotated[Optional[Path], typer.Option(help="CSV/Parquet with the training columns and the target (default: the run's test split).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Evaluate a trained run on its test split or on a labelled file."""
    from neuronet.runs import evaluate_run

    metrics = evaluate_run(run, data)
    if as_json:
        out.print_json(json.dumps(metrics))
    else:
        out.print(_metrics_table(f"{run.name}: {'test split' if data is None else data}", metrics))


@app.command()
@_friendly
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    file: Annotated[Path, typer.Argument(help="CSV / Parquet with the training feature columns, or a .npy array.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write predictions to this CSV (default: stdout).")] = None,
) -> None:
    """Predict every row of FILE with a trained run (probabilities included for classifiers)."""
    from neuronet.runs import predict_file
    from neuronet.atomic import write_text

    frame = predict_file(run, file)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
    else:
        write_text(output, buffer.getvalue())
        err.print(f"{len(frame)} predictions written to {output}")


@app.command()
def datasets() -> None:
    """List the built-in data sets."""
    from neuronet.datasets import DATASETS

    table = Table(title="built-in data sets (or pass a .csv / .parquet path as data.source)")
    table.add_column("name")
    table.add_column("description")
    for name in DATASETS.names():
        table.add_row(name, DATASETS.help(name))
    out.print(table)


@app.command()
@_friendly
def info(run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")]) -> None:
    """Show what a run is: status, data, model, training settings and metrics."""
    from neuronet.runs.files import RunFiles, read_json

    files = RunFiles(run)
    files.check()
    status = read_json(files.status)
    meta = read_json(files.preprocessing)["data"]
    out.print(f"[bold]{run}[/]  status: {status.get('status')}, epochs done: {status.get('epochs_done')}")
    if status.get("message"):
        out.print(Text(status["message"], style="red"))
    out.print(f"data: {meta['name']} ({meta['task']}, input {tuple(meta['input_shape'])}, {meta['num_outputs']} outputs)")
    out.print(Text(files.config.read_text().rstrip()))
    if files.metrics.is_file():
        out.print(_metrics_table("test metrics", read_json(files.metrics).get("test", {})))
    out.print("files: " + ", ".join(sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())))


def main() -> None:  # pragma: no cover - console-script entry point
    app()
