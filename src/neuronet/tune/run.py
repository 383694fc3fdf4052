"""`tune`: a whole search — trials in one or many processes, the results folder, the best config re-trained.

    runs/<name>/
      config.yaml     the config searched (its tune: section included)
      search.json     the storage URL and the search's state (running / completed)
      study.db        the Optuna study (SQLite; absent with --storage URL)
      trials.csv      one row per trial: number, state, value, seconds, epochs, params.*
      trials.json     the same, with the doctor's findings per trial
      best.yaml       the best trial's config, ready for `neuronet train best.yaml`
      plots/          history.png, importances.png, parallel.png
      best/           the best config re-trained on train + validation, evaluated once on test
      tune.json       method, metric, direction, best value and params, test metrics of best/
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuronet.atomic import write_text
from neuronet.config import RunConfig, load_config, to_yaml, validate
from neuronet.errors import ConfigError, DataError, NeuronetError
from neuronet.rundir.files import read_json, write_json
from neuronet.tune.study import Search, TrialRecord, make_search, open_study, records, run_trials, trial_config

__all__ = ["TuneInterrupted", "TuneResult", "tune"]


class TuneInterrupted(KeyboardInterrupt):
    """Tuning was interrupted (Ctrl-C); the study is kept and can be continued."""

    def __init__(self, root: Path) -> None:
        super().__init__(f"Interrupted; the trials so far are kept: continue with neuronet tune --resume {root}")


@dataclass
class TuneResult:
    """What a search found, and where it is written."""

    path: Path
    search: Search
    trials: list[TrialRecord]
    best: TrialRecord
    best_config: RunConfig
    test: dict[str, Any]

    @property
    def best_value(self) -> float:
        return float(self.best.value)


def _worker(config_text: str, root: str, storage: str, worker: int) -> None:  # pragma: no cover - in a child process
    """One tuning process: one torch thread, trials until the study has enough."""
    import torch

    from neuronet.config import validate, yaml_load

    torch.set_num_threads(1)
    search = make_search(validate(yaml_load(config_text), "config.yaml"), Path(root), storage)
    run_trials(search, worker)


def _start(config: RunConfig, storage: str | None, resume: str | Path | None) -> Search:
    if resume is not None:
        root = Path(resume)
        if not (root / "search.json").is_file():
            raise DataError(f"{root} is not a tuning folder (no search.json); give a folder made by `neuronet tune`.")
        state = read_json(root / "search.json")
        return make_search(load_config(root / "config.yaml"), root, storage or state["storage"])
    search = make_search(config, storage=storage)
    if search.root.exists():
        raise ConfigError(f"{search.root} already exists; choose another --name, or continue it with "
                          f"`neuronet tune --resume {search.root}`.")
    search.root.mkdir(parents=True)
    try:
        open_study(search)  # created once here, so that workers only load it (a bad --storage fails now)
        write_text(search.root / "config.yaml", to_yaml(config))
        write_json(search.root / "search.json", {"storage": search.storage, "status": "running"})
    except BaseException:
        shutil.rmtree(search.root, ignore_errors=True)  # nothing half-made is left
        raise
    return search


def _parallel(search: Search, jobs: int, on_trial: Callable[[list[TrialRecord], Search], None] | None) -> None:
    """`jobs` worker processes on the one study; the parent shows progress until they end."""
    context = multiprocessing.get_context("spawn")
    text = to_yaml(search.config)
    env = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread per worker: threads of several processes collapse otherwise
    try:
        workers = [context.Process(target=_worker, args=(text, str(search.root), search.storage, i), daemon=False)
                   for i in range(jobs)]
        for w in workers:
            w.start()
    finally:
        if env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env
    study, seen = open_study(search, create=False), -1
    while any(w.is_alive() for w in workers):
        time.sleep(1.0)
        rows = records(study, search)
        finished = sum(r.state != "running" for r in rows)
        if on_trial is not None and finished != seen:
            seen = finished
            on_trial(rows, search)
    failed = [w.exitcode for w in workers if w.exitcode]
    if len(failed) == jobs:
        raise ConfigError(f"Every tuning worker failed (exit codes {failed}); run with --jobs 1 to see the error.")


def _write_trials(root: Path, rows: list[TrialRecord]) -> None:
    dicts = [r.to_dict() for r in rows]
    columns = list(dict.fromkeys(k for d in dicts for k in d if k != "findings"))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(dicts)
    write_text(root / "trials.csv", buffer.getvalue())
    write_json(root / "trials.json", dicts)


def _retrain(search: Search, best: TrialRecord, config: RunConfig) -> dict[str, Any]:
    """The best config trained on train + validation (as many epochs as its trial ran), scored once on test."""
    from neuronet.runs.kinds import train_run

    raw = config.model_dump(mode="json")
    raw.pop("tune", None)
    raw["data"]["val"] = 0.0
    raw["train"]["early_stopping"] = None
    if best.epochs:
        raw["train"]["epochs"] = best.epochs
    raw.update(name="best", output_dir=str(search.root))
    final = validate(raw, "best.yaml")
    if (search.root / "best").exists():
        shutil.rmtree(search.root / "best")  # a resumed search re-trains its (maybe new) best
    return train_run(final, progress=False).metrics.get("test", {})


def tune(config: RunConfig | None = None, jobs: int = 1, storage: str | None = None, resume: str | Path | None = None,
         on_trial: Callable[[list[TrialRecord], Search], None] | None = None, retrain: bool = True) -> TuneResult:
    """Search the config's `tune.space`; write the results folder (see the module docstring).

    Args:
        config: A run config with a tune: section (ignored with `resume`).
        jobs: Worker processes on this machine (1: in this process).
        storage: An Optuna storage URL shared by many workers (e.g. postgresql+psycopg2://user@host/db);
            default: a SQLite file in the results folder.
        resume: A results folder to continue (its config and storage).
        on_trial: Called as on_trial(records, search) after each finished trial (progress).
        retrain: Re-train the best config on train + validation and evaluate it on test.

    Raises:
        ConfigError: a bad tune: section, or a folder that exists.
        DataError: a resume folder that is not one.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be an int >= 1. Got {jobs!r} instead.")
    if config is None and resume is None:
        raise ConfigError("tune needs a config with a tune: section (or --resume a results folder).")
    if config is not None:
        from neuronet.runs.kinds import kind_for_config

        kind_for_config(config).check_tune(config)  # a kind tuning does not apply to says so
    search = _start(config, storage, resume)
    try:
        if jobs == 1:
            run_trials(search, 0, on_trial)
        else:
            _parallel(search, jobs, on_trial)
    except KeyboardInterrupt:
        raise TuneInterrupted(search.root) from None
    except NeuronetError:
        if resume is None and not any(r.state == "complete" for r in records(open_study(search, create=False), search)):
            shutil.rmtree(search.root, ignore_errors=True)  # e.g. a metric that is not logged: nothing worth keeping
        raise
    study = open_study(search, create=False)
    rows = records(study, search)
    _write_trials(search.root, rows)
    complete = [r for r in rows if r.state == "complete"]
    if not complete:
        raise DataError(f"No trial of {search.root} completed (states: {', '.join(sorted({r.state for r in rows}))}); "
                        "see trials.csv.")
    number = study.best_trial.number
    best = next(r for r in rows if r.number == number)
    best_config = trial_config(search, best.params)
    best_raw = best_config.model_dump(mode="json")
    best_raw["train"]["doctor"] = search.config.train.doctor
    best_raw.pop("tune", None)
    write_text(search.root / "best.yaml", to_yaml(best_raw))
    from neuronet.tune.plots import plot_study

    plot_study(rows, search, search.root / "plots")
    before = read_json(search.root / "tune.json") if (search.root / "tune.json").is_file() else {}
    if before.get("best", {}).get("number") == best.number and before.get("test") and (search.root / "best").is_dir():
        test = before["test"]  # a resumed search whose best trial did not change: its re-trained run stands
    else:
        test = _retrain(search, best, best_config) if retrain else {}
    summary = {"method": search.tune.method, "metric": search.tune.metric, "direction": search.direction,
               "cv": search.tune.cv, "pruner": search.tune.pruner,
               "trials": len(rows), "states": {s: sum(r.state == s for r in rows) for s in {r.state for r in rows}},
               "best": {"number": best.number, "value": best.value, "params": best.params, "epochs": best.epochs},
               "test": test}
    write_json(search.root / "tune.json", summary)
    write_json(search.root / "search.json", {"storage": search.storage, "status": "completed"})
    return TuneResult(search.root, search, rows, best, best_config, test)
