"""The `neuronet` command line: train, cv, evaluate, predict, info, datasets.

Every error a user can cause is printed as one sentence on stderr with exit code 1;
Ctrl-C during training exits 130 and leaves a resumable run directory. Commands import what
they need when they run, so `neuronet --help` and `neuronet info` start without PyTorch.
"""

from __future__ import annotations

import functools
import io
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neuronet.errors import DataNote, NeuronetError, describe_os_error

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="neuronet: train, evaluate, cross-validate, predict, export and serve neural networks on your data.")
out = Console()
err = Console(stderr=True)


def _show_note(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
               line: str | None = None) -> None:
    """Print what was done to the user's data (a DataNote) as a `data:` line; other warnings as usual."""
    if issubclass(category, DataNote):
        err.print(Text(f"data: {message}"), soft_wrap=True)
    else:
        err.print(Text(warnings.formatwarning(message, category, filename, lineno, line).rstrip()), soft_wrap=True)


def _friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into one red line on stderr and exit code 1; Ctrl-C, SIGTERM and SIGHUP stop in order.

    A user error is neuronet's own (a NeuronetError), or what the operating system says about a
    file (a full disk, a read-only folder, a name too long), or memory running out.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from neuronet.runs.lifecycle import stop_signals

        try:
            with warnings.catch_warnings(), stop_signals():
                warnings.simplefilter("always", DataNote)
                warnings.showwarning = _show_note
                return command(*args, **kwargs)
        except NeuronetError as error:
            _error(str(error))
        except OSError as error:
            _error(describe_os_error(error))
        except MemoryError:
            _error("Out of memory; use a smaller model, batch size or data slice (data.limit), then run it again.")
        except KeyboardInterrupt as stop:  # neuronet.runs.RunInterrupted says how to resume
            err.print(Text(str(stop) or "Interrupted.", style="yellow"), soft_wrap=True)
            raise typer.Exit(128 + getattr(stop, "signum", 2)) from None

    return run


def _error(message: str) -> None:
    err.print(Text("Error: ", style="bold red") + Text(_plain(" ".join(message.split()))), soft_wrap=True)
    raise typer.Exit(1)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: str) -> str:
    """Text from a file someone else made, safe to print: control characters (terminal escapes) shown, not obeyed."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _run_text(path: Path, limit: int = 20_000) -> Text:
    """A run's text file (its config.yaml) to print: decoded leniently, cut at `limit` characters, escapes shown."""
    text = path.read_bytes()[:limit + 1].decode("utf-8", errors="replace")
    return Text(_plain(text[:limit].rstrip() + ("\n..." if len(text) > limit else "")))


def _metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(Text(_plain(str(key))), f"{value:.4f}" if isinstance(value, float) else Text(_plain(str(value))))
    return table


def _values(**named: Any) -> dict[str, str]:
    """Command-line names and paths as they are (never parsed as YAML): a name is a name."""
    return {key: str(value) for key, value in named.items() if value is not None}


def _check_port(port: int) -> int:
    from neuronet.deploy.guard import check_port

    return check_port(port)


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
    serve_: Annotated[bool, typer.Option("--serve", help="Then export it (ONNX, checked) and serve it: an HTTP API "
                                                         "and a web page.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
    trust_code: Annotated[bool, typer.Option("--trust-code", help="With --resume: import and run the code the run's "
                                                                  "config names (an env.id 'module:function'): any "
                                                                  "code at all. Only for runs you trust as you would "
                                                                  "a script.")] = False,
) -> None:
    """Train a model as CONFIG says and write a run directory (config, weights, history, plots, report)."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    if serve_:
        _check_port(port)
    if resume is not None:
        if config or set_ or name or output_dir or data_dir:
            raise NeuronetError("--resume continues a run with its own saved config; give no CONFIG, --set, --name, "
                                "--output-dir or --data-dir with it.")
        result = train_run(resume=resume, progress=not quiet, trust_code=trust_code)
    else:
        if trust_code:
            raise NeuronetError("--trust-code applies to --resume of a run directory; a config you run is trusted "
                                "as it is.")
        cfg = load_config(config, set_, _values(name=name, output_dir=output_dir, **{"data.data_dir": data_dir}))
        result = train_run(cfg, progress=not quiet)
    if result.plan is None:  # reinforcement learning: scored by seeded episodes, not a test split
        _print_episodes(f"evaluation of {result.path.name}", result.metrics["evaluation"])
    for line in result.plan.state.get("summary", []) if result.plan else []:
        err.print(Text(f"data: {line}"), soft_wrap=True)
    test = result.metrics.get("test", {})
    if test:
        out.print(_metrics_table("test metrics", test))
    headline = next((k for k in ("accuracy", "rmse", "mse", "d_real") if k in test), None)
    if headline:
        out.print(f"test {headline}: {test[headline]:.4f}")
    if result.trainer.doctor is None:
        err.print("doctor: off (train.doctor: false), nothing was diagnosed")
    else:
        _print_findings(result.findings, result.path)
    out.print(f"run directory: {result.path}")
    if serve_:
        _serve(result.path, port=port, export_first=result.plan is not None)  # a policy is served as it is


def _print_episodes(title: str, result: dict[str, Any]) -> None:
    """An RL evaluation: its table, and the mean return ± std in one line."""
    keys = ("episodes", "mean_return", "std_return", "min_return", "max_return", "mean_length")
    out.print(_metrics_table(title, {k: result[k] for k in keys}))
    out.print(f"mean return: {result['mean_return']:.2f} ± {result['std_return']:.2f} over {result['episodes']} episodes")


_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _print_findings(findings: list[Any], run: Path) -> None:
    """The doctor's findings after training: one line each, or that none were found."""
    if not findings:
        err.print("doctor: no problems found")
        return
    for finding in findings:
        err.print(Text(f"doctor: [{finding.severity}] ", style=_SEVERITY_STYLE[finding.severity]) +
                  Text(f"{finding.title}: {finding.evidence}"), soft_wrap=True)
    err.print(f"doctor: explanations and fixes: neuronet doctor {run}", soft_wrap=True)


def _serve(run: Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "torch", workers: int = 1,
           batch_window_ms: float = 2.0, max_batch: int = 64, max_body_bytes: int = 20 * 1024 * 1024,
           export_first: bool = False) -> None:
    """Serve `run` (exporting it to ONNX first when asked: a model that cannot be is served with torch)."""
    from neuronet.deploy.guard import check_address, log_config
    from neuronet.deploy.server import serve as run_server
    from neuronet.runs.rl import is_rl_run

    check_address(host, port)  # a port in use or a host not this machine's: one sentence, before anything starts
    if is_rl_run(run):  # a policy: observations in, greedy actions out
        import uvicorn

        from neuronet.deploy.policy import create_policy_app

        app = create_policy_app(run, max_body_bytes=max_body_bytes)
        out.print(f"serving the policy of {run} at http://{host}:{port}/act  (API docs: http://{host}:{port}/docs; "
                  "Ctrl-C stops)", soft_wrap=True)
        uvicorn.run(app, host=host, port=port, log_config=log_config("warning"), access_log=False,
                    timeout_graceful_shutdown=30)
        return

    if export_first:
        from neuronet.deploy.export import ExportError, export_run

        try:
            exported = export_run(run, "onnx")
            err.print(f"export: {exported.path} (ONNX; largest difference from PyTorch on "
                      f"{exported.checked_examples} test examples: {exported.max_abs_diff:.2g})")
        except ExportError as error:
            if backend == "onnx":
                raise
            err.print(Text(f"export: skipped ({error})", style="yellow"), soft_wrap=True)
        except NeuronetError as error:  # a GAN, or no serving extras
            err.print(Text(f"export: skipped ({error})", style="yellow"), soft_wrap=True)
    out.print(f"serving {run} at http://{host}:{port}/  (API docs: http://{host}:{port}/docs; Ctrl-C stops)", soft_wrap=True)
    run_server(run, host=host, port=port, backend=backend, workers=workers, batch_window_ms=batch_window_ms,
               max_batch=max_batch, max_body_bytes=max_body_bytes)


@app.command()
@_friendly
def export(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    format_: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
) -> None:
    """Export RUN for serving (RUN/export/): the model, checked against PyTorch on the test split, and its preprocessing."""
    from neuronet.deploy.export import ATOL, RTOL, export_run

    result = export_run(run, format_)  # type: ignore[arg-type]  (it holds the run's lock while it writes)
    out.print(f"exported {result.format}: {result.path} (input {result.input_shape}; largest difference from "
              f"PyTorch on {result.checked_examples} test examples {result.max_abs_diff:.2g}, tolerance {ATOL} + "
              f"{RTOL} x |value|)", soft_wrap=True)


@app.command()
@_friendly
def serve(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    backend: Annotated[str, typer.Option(help="torch, or onnx (ONNX Runtime runs the network; exported first if needed).")] = "torch",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one torch thread each when > 1).")] = 1,
    batch_window_ms: Annotated[float, typer.Option(min=0, help="Collect concurrent requests this long into one "
                                                              "forward pass (0: no micro-batching).")] = 2.0,
    max_batch: Annotated[int, typer.Option(min=1, help="The most instances per forward pass.")] = 64,
    max_body_mb: Annotated[float, typer.Option(min=0.001, help="Larger request bodies get a 413.")] = 20.0,
) -> None:
    """Serve RUN over HTTP: POST /predict, /predict/batch, /predict/file; GET /health, /ready, /metadata; a web page at /."""
    from neuronet.runs.files import RunFiles

    _check_port(port)
    RunFiles(run).check_trained()
    if backend not in ("torch", "onnx"):
        raise NeuronetError(f"Unknown backend {backend!r}; use torch or onnx.")
    limit = int(max_body_mb * 1024 * 1024)
    _serve(run, host, port, backend, workers, batch_window_ms, max_batch, limit,
           export_first=backend == "onnx" and not (run / "export" / "model.onnx").is_file())


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

    cfg = load_config(config, set_, _values(name=name, output_dir=output_dir))
    result = cross_validate(cfg, folds, split, on_fold=lambda i, m: err.print(
        f"fold {i}/{folds}: " + " · ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float))))
    for line in result.notes:
        err.print(Text(f"data: {line} (fold 1)"), soft_wrap=True)
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
    data: Annotated[Optional[Path], typer.Option(help="Labelled data: a table with the target column, or a folder with "
                                                      "one sub-folder per class (default: the run's test split).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    episodes: Annotated[Optional[int], typer.Option(min=1, help="RL runs: episodes to play (default: the run's "
                                                               "train.eval_episodes).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="RL runs: seed of the first episode (episode i: seed + i).")] = None,
    record: Annotated[Optional[Path], typer.Option(help="RL runs: write the first episode as an animated GIF.")] = None,
    trust_code: Annotated[bool, typer.Option("--trust-code", help="RL runs: import and run the environment code the "
                                                                  "run's config names ('module:function'): any code "
                                                                  "at all. Only for runs you trust as you would a "
                                                                  "script.")] = False,
) -> None:
    """Evaluate a trained run on its test split or on labelled data; an RL run replays its policy over seeded episodes."""
    from neuronet.runs import evaluate_run
    from neuronet.runs.files import json_text
    from neuronet.runs.rl import evaluate_rl_run, is_rl_run

    if is_rl_run(run):
        if data is not None:
            raise NeuronetError(f"{run} is a reinforcement-learning run: it is evaluated in its environment, not on "
                                "--data; use --episodes / --seed / --record.")
        result = evaluate_rl_run(run, episodes, seed, record, trust_code=trust_code)
        if as_json:
            typer.echo(json_text(result))
        else:
            _print_episodes(f"{run.name}: {result['episodes']} episodes", result)
            if record is not None:
                out.print(f"recorded: {record} ({result['recording']['frames']} frames, return "
                          f"{result['recording']['return']:g})")
        return
    if episodes is not None or seed is not None or record is not None:
        raise NeuronetError(f"--episodes, --seed and --record apply to reinforcement-learning runs; {run} is not one.")
    metrics = evaluate_run(run, data)  # rows left out are said as `data:` lines (DataNote)
    if as_json:
        typer.echo(json_text(metrics))
    else:
        out.print(_metrics_table(f"{run.name}: {'test split' if data is None else data}", metrics))


@app.command()
@_friendly
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    inputs: Annotated[list[Path], typer.Argument(help="What to predict: a .csv / .parquet / .npy / .txt file, images, "
                                                      "WAV files, or a folder of them.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write predictions to this CSV (default: stdout).")] = None,
) -> None:
    """Predict INPUTS with a trained run: labels and class probabilities, values, or anomaly scores."""
    from neuronet.atomic import write_text
    from neuronet.runs import predict_file

    if output is not None:
        from neuronet.runs.files import refuse_run_file

        refuse_run_file(output, "output")
        if any(os.path.realpath(output) == os.path.realpath(path) for path in inputs):
            raise NeuronetError(f"The output {output} is also an input; write the predictions to a new file.")
    frame = predict_file(run, [str(p) for p in inputs] if len(inputs) > 1 else str(inputs[0]))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
    else:
        write_text(output, buffer.getvalue())
        err.print(f"{len(frame)} predictions written to {output}")


@app.command()
@_friendly
def doctor(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train` (finished, failed or interrupted).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print doctor.json's findings as JSON.")] = False,
) -> None:
    """Diagnose RUN: overfitting, underfitting, vanishing / exploding gradients, dying ReLU, the learning rate, data
    problems; for an RL run: exploding value losses or Q-values, a collapsed entropy, no progress."""
    from neuronet.doctor.findings import CHECKED, CHECKED_RL
    from neuronet.runs.diagnosis import read_findings
    from neuronet.runs.files import json_text

    findings, state = read_findings(run)
    if as_json:
        typer.echo(json_text([f.to_dict() for f in findings]))
        return
    records = state.get("records", [])
    sampled = len(records) if isinstance(records, list) else 0
    rl = state.get("kind") == "reinforcement"
    out.print(Text.assemble((_plain(str(run)), "bold"), _plain(f": {len(findings) or 'no'} finding(s)" + (
        "" if rl else f"; per-layer statistics from {sampled} sampled step(s) (one in {state.get('every_steps')})"))),
        soft_wrap=True)
    if not findings:
        out.print(f"Checked: {CHECKED_RL if rl else CHECKED}.", soft_wrap=True)
    for finding in findings:  # a received run's doctor.json: its text is shown, its control characters not obeyed
        out.print(Text(_plain(f"\n[{finding.severity}] {finding.title}"), style=_SEVERITY_STYLE[finding.severity]))
        out.print(Text(_plain(f"  evidence: {finding.evidence}")), soft_wrap=True)
        out.print(Text(_plain(f"  why:      {finding.explanation}")), soft_wrap=True)
        out.print(Text(_plain(f"  try:      {finding.fix}")), soft_wrap=True)


def _trials_table(rows: list[Any], search: Any, limit: int = 25) -> Table:
    """The trials so far: number, state, the metric, seconds, epochs and the drawn values (the best in bold)."""
    table = Table(title=f"{search.tune.method} search of {search.tune.metric} ({search.direction}), "
                        f"{sum(r.state in ('complete', 'pruned') for r in rows)}/{search.trials} trials")
    for column in ("#", "state", search.tune.metric, "s", "epochs", *(p.path for p in search.params)):
        table.add_column(column, justify="right" if column not in ("state",) else "left")
    done = [r for r in rows if r.state == "complete" and r.value is not None]
    best = (min if search.direction == "minimize" else max)(done, key=lambda r: r.value) if done else None
    for r in rows[-limit:]:
        shown = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in (r.params.get(p.path) for p in search.params)]
        table.add_row(str(r.number), r.state, "" if r.value is None else f"{r.value:.4f}",
                      "" if r.seconds is None else f"{r.seconds:.1f}", str(r.epochs or ""), *shown,
                      style="bold green" if r is best else None)
    return table


@app.command()
@_friendly
def tune(
    config: Annotated[Optional[Path], typer.Argument(help="YAML run config with a tune: section.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value: --set tune.trials=40")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes on this machine (one torch thread each).")] = 1,
    storage: Annotated[Optional[str], typer.Option(help="Optuna storage URL shared by many workers, e.g. "
                                                        "postgresql+psycopg2://user@host/db (default: RUN/study.db).")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Continue a tuning folder.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Results folder name.")] = None,
    output_dir: Annotated[Optional[Path], typer.Option(help="Where results are written (default: runs).")] = None,
    retrain: Annotated[bool, typer.Option("--retrain/--no-retrain", help="Re-train the best config on train + "
                                                                         "validation and evaluate it on test.")] = True,
) -> None:
    """Tune CONFIG's hyperparameters (grid, random or Bayesian search with Optuna): trials, the best config, plots."""
    from rich.live import Live

    from neuronet.config import load_config
    from neuronet.tune import tune as run_tune

    if resume is not None and (config or set_ or name or output_dir):
        raise NeuronetError("--resume continues a search with its own saved config; give no CONFIG, --set, --name "
                            "or --output-dir with it.")
    cfg = None if resume is not None else load_config(config, set_, _values(name=name, output_dir=output_dir))
    live = Live(console=err, auto_refresh=False) if err.is_terminal else None

    def on_trial(rows: list[Any], search: Any) -> None:
        if live is not None:
            live.update(_trials_table(rows, search), refresh=True)
        elif rows and rows[-1].state != "running":
            r = rows[-1]
            value = "" if r.value is None else f"{r.value:.4f}"
            err.print(f"trial {r.number}: {r.state} {search.tune.metric} {value} ({r.seconds or 0:.1f}s) {r.params}",
                      soft_wrap=True, highlight=False)

    if live is not None:
        live.start()
    try:
        result = run_tune(cfg, jobs=jobs, storage=storage, resume=resume, on_trial=on_trial, retrain=retrain)
    finally:
        if live is not None:
            live.stop()
    out.print(_trials_table(result.trials, result.search, limit=len(result.trials)))
    out.print(f"best trial {result.best.number}: {result.search.tune.metric} {result.best_value:.4f} with "
              f"{result.best.params}", soft_wrap=True)
    if result.test:
        out.print("the best config re-trained on train + validation, evaluated once on test:")
        out.print(_metrics_table("test metrics", result.test))
    out.print(f"results: {result.path} (best config: {result.path / 'best.yaml'})", soft_wrap=True)


@app.command("lr-find")
@_friendly
def lr_find(
    config: Annotated[Optional[Path], typer.Argument(help="YAML run config; none uses the digits demo.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value.")] = None,
    start_lr: Annotated[float, typer.Option(min=0, help="The smallest learning rate tried.")] = 1e-7,
    end_lr: Annotated[float, typer.Option(min=0, help="The largest learning rate tried.")] = 10.0,
    steps: Annotated[int, typer.Option(min=10, help="Training steps (one per learning rate).")] = 100,
    plot: Annotated[Path, typer.Option("--plot", "-o", help="Where to write the loss-vs-lr plot.")] = Path("lr_find.png"),
) -> None:
    """The learning-rate range test: train a few steps at growing learning rates, plot the loss, suggest an LR."""
    from neuronet.config import load_config
    from neuronet.runs.build import make_trainer, plan_run

    cfg = load_config(config, set_)
    from neuronet.runs.files import refuse_run_file

    refuse_run_file(plot, "plot")
    plan = plan_run(cfg)
    trainer = make_trainer(plan, progress=False)
    result = trainer.lr_find(plan.train, start_lr=start_lr, end_lr=end_lr, steps=steps, path=plot, progress=True)
    out.print(f"tried {len(result.lrs)} learning rates from {result.lrs[0]:.2g} to {result.lrs[-1]:.2g} "
              f"(stopped: {result.stopped}); plot: {result.path}", soft_wrap=True)
    if result.suggestion is None:
        raise NeuronetError(f"No learning rate to suggest: {result.reason}")
    out.print(f"suggested lr: {result.suggestion:.3g} ({result.reason.rstrip('.')}); use it: --set "
              f"train.lr={result.suggestion:.3g}",
              soft_wrap=True)


def _examples(text: str) -> list[int]:
    try:
        chosen = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        chosen = []
    if not chosen or min(chosen) < 0:
        raise NeuronetError(f"--examples takes test-example indices separated by commas, e.g. 0,1,2; got {text!r}.")
    return chosen


@app.command()
@_friendly
def explain(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    tsne: Annotated[bool, typer.Option("--tsne", help="t-SNE of a layer's features on the test split (PNG).")] = False,
    layer: Annotated[Optional[str], typer.Option(help="The layer t-SNE maps (default: the penultimate one).")] = None,
    attention: Annotated[bool, typer.Option("--attention", help="Attention maps per layer and head (Transformer).")] = False,
    attribution: Annotated[Optional[str], typer.Option(help="lrp, integrated_gradients or saliency (Captum): heat maps, "
                                                            "highlighted tokens or feature bars.")] = None,
    wrong: Annotated[bool, typer.Option("--wrong", help="The most confidently wrong test examples, and per-class "
                                                        "metrics.")] = False,
    examples: Annotated[str, typer.Option(help="Test examples to attribute / show attention of: 0,1,2,3.")] = "0,1,2,3",
) -> None:
    """Show what RUN learned (PNGs in RUN/explain/): t-SNE, attributions, attention maps, its mistakes. No option: all."""
    from neuronet.runs.explain import explain_run

    parts = [p for p, on in (("tsne", tsne or layer), ("attribution", attribution), ("attention", attention),
                             ("wrong", wrong), ("per_class", wrong)) if on]
    result = explain_run(run, parts or None, layer=layer, method=attribution, examples=_examples(examples))
    _print_explained(result, run)  # (explain_run holds the run's lock while it writes RUN/explain/)


def _print_explained(result: dict[str, Any], run: Path) -> None:
    if "per_class" in result:
        rows = [(name, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1-score']:.3f}", str(int(v["support"])))
                for name, v in result["per_class"].items() if isinstance(v, dict)]
        _print_table("per-class metrics (test)", ["class", "precision", "recall", "F1", "support"], rows)
    if result.get("wrong"):
        _print_table("most confidently wrong (test)", ["example", "true", "predicted", "p", "input"],
                     [(str(m["index"]), str(m["true"]), str(m["predicted"]), f"{m['probability']:.3f}",
                       m["input"][:80] if isinstance(m["input"], str) else "") for m in result["wrong"]])
    paths = [result["tsne"]["path"]] if result.get("tsne") else []
    paths += [result["attribution"]["path"]] if result.get("attribution") else []
    paths += [m["path"] for m in result.get("attention", [])]
    for path in paths:
        out.print(f"wrote {path}", soft_wrap=True)
    for part, reason in result["skipped"].items():
        err.print(Text(f"explain: {part} skipped: {reason}", style="yellow"), soft_wrap=True)


@app.command()
@_friendly
def report(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    explain_: Annotated[bool, typer.Option("--explain/--no-explain", help="Also compute t-SNE, attributions, attention "
                                                                          "maps and mistakes (else: what is there).")] = True,
) -> None:
    """Write RUN/report.html: one self-contained page (config, data, curves, metrics, doctor, explanations)."""
    from neuronet.runs.explain import explain_run
    from neuronet.runs.files import RunFiles, read_json
    from neuronet.runs.html import write_html_report
    from neuronet.runs.lock import RunLock

    files = RunFiles(run)
    files.check()
    with RunLock(files.root, "report"):
        if explain_ and "agent" in read_json(files.model):
            err.print("report: a reinforcement-learning run has no test split to explain; the page shows its "
                      "evaluation, curves and the doctor's findings", soft_wrap=True)
        elif explain_ and files.weights.is_file():
            _print_explained(explain_run(run), run)
        elif explain_:
            err.print(f"report: {run} has no final weights (it failed or is unfinished), so nothing is explained; the "
                      "page shows its curves so far and the doctor's findings", soft_wrap=True)
        out.print(f"report: {write_html_report(run)}", soft_wrap=True)


@app.command()
def datasets() -> None:
    """List the built-in data sets."""
    from neuronet.datasets import DATASETS

    _print_table("built-in data sets (or pass a .csv / .parquet file, or a folder of images or WAVs)",
                 ["name", "description"], [(name, DATASETS.help(name)) for name in DATASETS.names()])


def _print_table(title: str, columns: list[str], rows: list[tuple[str, ...]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(_plain(str(cell))) for cell in row))
    out.print(table)


@app.command()
def models() -> None:
    """List the models (model.type) and the pretrained networks (model.name of type pretrained)."""
    from importlib.util import find_spec

    from neuronet.models import MODELS
    from neuronet.transfer.pretrained import PRETRAINED

    _print_table("models (model.type; auto, the default, chooses one from the data)", ["type", "description"],
                 [(name, MODELS.help(name)) for name in MODELS.names()])
    rows = []
    for name in PRETRAINED.names():
        spec = PRETRAINED.get(name)
        missing = [p for p in spec.packages if find_spec(p.replace("-", "_")) is None]
        rows.append((name, spec.kind, PRETRAINED.help(name), f"no: pip install {' '.join(missing)}" if missing else "yes"))
    _print_table("pretrained networks (model: {type: pretrained, name: NAME}, or run: a run directory)",
                 ["name", "reads", "description", "installed"], rows)


@app.command()
@_friendly
def info(run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")]) -> None:
    """Show what a run is: status, data, model, training settings and metrics."""
    from neuronet.runs.files import RunFiles, read_json
    from neuronet.runs.lifecycle import status_of

    files = RunFiles(run)
    files.check()
    status = status_of(files)
    model = files.model_spec()
    if "agent" in model:  # reinforcement learning: an agent and its environment, no data
        out.print(Text.assemble((_plain(str(run)), "bold"), _plain(f"  status: {status.get('status')}, steps done: "
                                                                     f"{status.get('steps_done')}")))
        if status.get("message"):
            out.print(Text(_plain(str(status["message"])), style="red"))
        out.print(Text(_plain(f"agent: {model['agent']} (observations {tuple(model['obs_shape'])}, "
                              f"{model['action_dim']} {'discrete actions' if model['discrete'] else 'action dimensions'})")))
        out.print(_run_text(files.config))
        evaluation = read_json(files.metrics).get("evaluation") if files.metrics.is_file() else None
        if evaluation:
            _print_episodes("evaluation", evaluation)
        out.print(_files_line(run))
        return
    state = files.preprocessing_state()
    meta = state["data"]
    out.print(Text.assemble((_plain(str(run)), "bold"), _plain(f"  status: {status.get('status')}, epochs done: "
                                                                 f"{status.get('epochs_done')}")))
    if status.get("message"):
        out.print(Text(_plain(str(status["message"])), style="red"))
    out.print(Text(_plain(f"data: {meta['name']} ({model['task']}, input {tuple(meta['input_shape'])}, "
                          f"{meta['num_outputs']} outputs)")))
    for line in state.get("summary", []):
        out.print(Text(_plain(f"  {line}")))
    out.print(_run_text(files.config))
    test = read_json(files.metrics).get("test") if files.metrics.is_file() else None
    if test:
        out.print(_metrics_table("test metrics", test))
    out.print(_files_line(run))


def _files_line(run: Path, limit: int = 200) -> Text:
    names = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return Text(_plain("files: " + ", ".join(names[:limit]) + more))


def main() -> None:  # pragma: no cover - console-script entry point
    app()
