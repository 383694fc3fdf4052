"""The commands that train: `train`, `cv`, `tune` and `lr-find`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from neuronet.cli.common import app, check_port, err, friendly, metrics_table, out, print_findings, print_shown, values
from neuronet.errors import NeuronetError

__all__ = ["train", "cv", "tune", "lr_find"]


@app.command()
@friendly
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
    nproc: Annotated[Optional[int], typer.Option("--nproc", min=1, help="Train in N processes on this machine (torchrun, "
                                                                 "DDP): each reads its part of every batch "
                                                                 "(default: distributed.processes, 1).")] = None,
) -> None:
    """Train a model as CONFIG says and write a run directory (config, weights, history, plots, report)."""
    from neuronet.config import load_config
    from neuronet.runs.kinds import kind_of_run, train_run
    from neuronet.runs.processes import launch, under_torchrun
    from neuronet.train.distributed import Ranks

    if serve_:
        check_port(port)
    if not under_torchrun():
        processes = nproc if nproc is not None else _processes(config, set_, resume)
        if resume is not None and nproc is not None:  # refused here, before any process starts
            _check_resumed_processes(Path(resume), nproc)
        if processes > 1:
            if serve_:
                raise NeuronetError("--serve serves the run of one process; train with --nproc, then `neuronet "
                                    "serve RUN`.")
            code = launch(processes, _argv_without_nproc())
            if code:
                raise typer.Exit(code)
            return
    elif nproc is not None:
        raise NeuronetError("--nproc starts torchrun; under torchrun, give the processes to torchrun "
                            "(--nproc-per-node) instead.")
    if not Ranks.from_env().main:  # rank 0 speaks and writes; the other processes train their part in silence
        if resume is not None:
            train_run(resume=resume, progress=False, trust_code=trust_code)
        else:
            train_run(load_config(config, set_, values(name=name, output_dir=output_dir,
                                                       **{"data.data_dir": data_dir})), progress=False)
        return
    if resume is not None:
        if config or set_ or name or output_dir or data_dir:
            raise NeuronetError("--resume continues a run with its own saved config; give no CONFIG, --set, --name, "
                                "--output-dir or --data-dir with it.")
        result = train_run(resume=resume, progress=not quiet, trust_code=trust_code)
    else:
        if trust_code:
            raise NeuronetError("--trust-code applies to --resume of a run directory; a config you run is trusted "
                                "as it is.")
        cfg = load_config(config, set_, values(name=name, output_dir=output_dir, **{"data.data_dir": data_dir}))
        result = train_run(cfg, progress=not quiet)
    kind = kind_of_run(result.path)
    print_shown(kind.shown(result))
    if getattr(result.trainer, "doctor", None) is None:  # (a kind without a trainer's doctor says nothing either)
        err.print("doctor: off (train.doctor: false), nothing was diagnosed")
    else:
        print_findings(result.findings, result.path)
    out.print(Text(f"run directory: {result.path}"), soft_wrap=True)
    if serve_:
        kind.serve(result.path, "127.0.0.1", port, say=lambda line: out.print(Text(line), soft_wrap=True),
                   export_first=True)


def _check_resumed_processes(run: Path, processes: int) -> None:
    """--nproc with --resume: the number the run was trained by, or a ConfigError saying why (a run that cannot be
    read is left to the resume itself to describe)."""
    from neuronet.config import load_config
    from neuronet.runs.processes import check_processes
    from neuronet.train.distributed import Ranks

    path = run / "config.yaml"
    if path.is_file():
        check_processes(load_config(path), Ranks(world=processes), run)


def _processes(config: Path | None, set_: list[str] | None, resume: Path | None) -> int:
    """The processes a config (or the run to resume) asks for: distributed.processes."""
    from neuronet.config import load_config

    if resume is not None:
        path = Path(resume) / "config.yaml"
        return load_config(path).distributed.processes if path.is_file() else 1  # a broken run says so later
    return load_config(config, set_).distributed.processes


def _argv_without_nproc() -> list[str]:
    """This command's arguments for torchrun's processes: as typed, less --nproc (each process is one)."""
    argv, out, skip = sys.argv[1:], [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


@app.command()
@friendly
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

    cfg = load_config(config, set_, values(name=name, output_dir=output_dir))
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
    out.print(Text(f"results: {result.path}"), soft_wrap=True)


def trials_table(rows: list[Any], search: Any, limit: int = 25) -> Table:
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
@friendly
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
    cfg = None if resume is not None else load_config(config, set_, values(name=name, output_dir=output_dir))
    live = Live(console=err, auto_refresh=False) if err.is_terminal else None

    def on_trial(rows: list[Any], search: Any) -> None:
        if live is not None:
            live.update(trials_table(rows, search), refresh=True)
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
    out.print(trials_table(result.trials, result.search, limit=len(result.trials)))
    out.print(f"best trial {result.best.number}: {result.search.tune.metric} {result.best_value:.4f} with "
              f"{result.best.params}", soft_wrap=True)
    if result.test:
        out.print("the best config re-trained on train + validation, evaluated once on test:")
        out.print(metrics_table("test metrics", result.test))
    out.print(f"results: {result.path} (best config: {result.path / 'best.yaml'})", soft_wrap=True)


@app.command("lr-find")
@friendly
def lr_find(
    config: Annotated[Optional[Path], typer.Argument(help="YAML run config; none uses the digits demo.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value.")] = None,
    start_lr: Annotated[float, typer.Option(min=0, help="The smallest learning rate tried (above 0).")] = 1e-7,
    end_lr: Annotated[float, typer.Option(min=0, help="The largest learning rate tried.")] = 10.0,
    steps: Annotated[int, typer.Option(min=10, help="Training steps (one per learning rate).")] = 100,
    plot: Annotated[Path, typer.Option("--plot", "-o", help="Where to write the loss-vs-lr plot.")] = Path("lr_find.png"),
) -> None:
    """The learning-rate range test: train a few steps at growing learning rates, plot the loss, suggest an LR."""
    from neuronet.config import load_config
    from neuronet.runs.build import make_trainer, plan_run
    from neuronet.rundir.files import refuse_run_file

    cfg = load_config(config, set_)
    refuse_run_file(plot, "plot")
    plan = plan_run(cfg)
    trainer = make_trainer(plan, progress=False)
    result = trainer.lr_find(plan.train, start_lr=start_lr, end_lr=end_lr, steps=steps, path=plot, progress=True)
    out.print(f"tried {len(result.lrs)} learning rates from {result.lrs[0]:.2g} to {result.lrs[-1]:.2g} "
              f"(stopped: {result.stopped}); plot: {result.path}", soft_wrap=True)
    if result.suggestion is None:
        raise NeuronetError(f"No learning rate to suggest: {result.reason}")
    out.print(f"suggested lr: {result.suggestion:.3g} ({result.reason.rstrip('.')}); use it: --set "
              f"train.lr={result.suggestion:.3g}", soft_wrap=True)
