"""`tune`: a hyperparameter search over a run config, with Optuna as the engine.

Each trial draws values for the config paths of `tune.space`, trains the config (or
cross-validates it) and scores it by `tune.metric`; hopeless trials are pruned from the metric
reported each epoch. The study lives in an Optuna storage (a SQLite file in the tuning folder
by default, or any database URL shared by many workers), so a search can be resumed, run by
several processes at once, and survive a worker killed mid-trial (its trial is marked failed
once its heartbeat stops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from neuronet.config import RunConfig, TuneConfig, validate
from neuronet.errors import ConfigError
from neuronet.paths import safe_stem
from neuronet.space import Param, apply_params, grid_of, grid_size, parse_space

__all__ = ["Search", "TrialRecord", "make_search", "run_trials", "objective", "study_root", "STUDY"]

STUDY = "neuronet"          # the study's name inside its storage
HEARTBEAT_S, GRACE_S = 2, 6  # a trial whose worker is silent this long is marked failed


@dataclass
class Search:
    """A run config's search: its parameters, direction, sampler settings and storage."""

    config: RunConfig
    tune: TuneConfig
    params: list[Param]
    direction: str
    trials: int
    root: Path
    storage: str

    @property
    def base(self) -> dict[str, Any]:
        """The config as a dict without its tune: section (what each trial starts from)."""
        raw = self.config.model_dump(mode="json", exclude_none=False)
        raw.pop("tune", None)
        return raw


@dataclass
class TrialRecord:
    """One trial as the tables, CSV and JSON show it."""

    number: int
    state: str
    params: dict[str, Any]
    value: float | None
    seconds: float | None
    epochs: int | None = None
    findings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "state": self.state, "value": self.value, "seconds": self.seconds,
                "epochs": self.epochs, "findings": self.findings, **{f"params.{k}": v for k, v in self.params.items()}}


def _direction(tune: TuneConfig) -> str:
    if tune.direction != "auto":
        return tune.direction
    lower = any(k in tune.metric for k in ("loss", "mae", "mse", "rmse", "error"))
    return "minimize" if lower else "maximize"


def study_root(config: RunConfig) -> Path:
    """Where a new search writes: output_dir/<name>, or <data>-<model>-tune-<time>."""
    stem = safe_stem(Path(config.data.source).stem)
    name = config.name or f"{stem}-{config.model.type}-tune-{datetime.now():%Y%m%d-%H%M%S}"
    return Path(config.output_dir) / name


def make_search(config: RunConfig, root: Path | None = None, storage: str | None = None) -> Search:
    """Check a config's tune: section against the config itself (every path must be a key that takes the values).

    Raises:
        ConfigError: no tune: section, a path that is not a config key, a value the key refuses, a grid of
            continuous ranges.
    """
    if config.tune is None or not config.tune.space:
        raise ConfigError("The config has no tune: section; add one, e.g. tune: {method: bayes, trials: 20, "
                          "metric: val_accuracy, space: {train.lr: {log_uniform: [1.0e-4, 1.0e-1]}}}.")
    tune = config.tune
    params = parse_space(tune.space)
    raw = config.model_dump(mode="json")
    raw.pop("tune", None)
    for p in params:  # each path with its extreme values: an unknown key or a refused value is said now
        for value in (p.choices if p.kind == "choice" else (p.low, p.high)):
            value = int(value) if p.kind == "int" else value
            try:
                validate(apply_params(raw, {p.path: value}), "tune.space")
            except ConfigError as err:
                raise ConfigError(f"tune.space.{p.path} = {value!r} is not a valid config value: {err}") from None
    if tune.method == "grid":
        total = grid_size(params)
        trials = min(tune.trials or total, total)
    else:
        trials = tune.trials or 20
    if tune.cv and tune.pruner != "none":
        tune = tune.model_copy(update={"pruner": "none"})  # folds are not epochs: nothing to prune on
    root = root or study_root(config)
    storage = storage or f"sqlite:///{(root / 'study.db').resolve()}"
    return Search(config, tune, params, _direction(tune), trials, root, storage)


def _sampler(search: Search, worker: int = 0, offset: int = 0) -> Any:
    import optuna

    # Workers differ (+ worker); a resumed study draws on (+ 1000 x the trials it has), not from the start again.
    seed = (search.tune.seed if search.tune.seed is not None else search.config.seed) + worker + 1000 * offset
    if search.tune.method == "grid":
        return optuna.samplers.GridSampler(grid_of(search.params), seed=seed)
    if search.tune.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = min(10, max(3, search.trials // 4))  # random trials before the model guides: a quarter of the budget
    if all(p.kind != "choice" for p in search.params):  # a numeric space: a Gaussian process models it well
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=startup)


def _pruner(search: Search) -> Any:
    import optuna

    epochs = int(search.config.train.epochs or 10)
    return {"none": optuna.pruners.NopPruner(),
            "median": optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1),
            "successive_halving": optuna.pruners.SuccessiveHalvingPruner(),
            "hyperband": optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 2)),
            }[search.tune.pruner]


def open_study(search: Search, worker: int = 0, create: bool = True, offset: int = 0) -> Any:
    """The search's Optuna study in its storage (created on first use), with heartbeats for dead workers."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial is in the table; its error is raised once
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats: stable in use
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}} if search.storage.startswith("sqlite") else {}
    try:
        storage = optuna.storages.RDBStorage(search.storage, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                             engine_kwargs=kwargs)
    except Exception as err:  # SQLAlchemy's errors for a bad URL, a missing driver, a server that refuses
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"Cannot open the tuning storage {search.storage!r} ({first}); give a database URL such as "
                          "sqlite:///study.db or postgresql+psycopg2://user:password@host/database.") from None
    if create:
        return optuna.create_study(storage=storage, study_name=STUDY, direction=search.direction,
                                   sampler=_sampler(search, worker, offset), pruner=_pruner(search),
                                   load_if_exists=True)
    return optuna.load_study(storage=storage, study_name=STUDY, sampler=_sampler(search, worker, offset),
                             pruner=_pruner(search))


def trial_config(search: Search, values: dict[str, Any]) -> RunConfig:
    """The run config of one trial: the base config with the drawn values, the doctor quiet."""
    raw = apply_params(search.base, values)
    if raw["train"].get("doctor") is None:
        raw["train"]["doctor"] = {"live": False}
    return validate(raw, "tune.space")


def best_value(history: list[dict[str, Any]], metric: str, direction: str) -> float:
    """The best epoch's value of `metric` (the weights kept with early stopping are that epoch's)."""
    values = [r[metric] for r in history if isinstance(r.get(metric), (int, float)) and math.isfinite(r[metric])]
    if not values:
        from neuronet.registry import suggest

        logged = [k for k in (history[-1] if history else {}) if k not in ("epoch", "time", "lr")]
        raise ConfigError(f"tune.metric '{metric}' is not in the epoch records.{suggest(metric, logged)} Logged: "
                          f"{', '.join(logged)} (val_* keys need data.val > 0).")
    return min(values) if direction == "minimize" else max(values)


def objective(search: Search) -> Callable[[Any], float]:
    """The function Optuna calls per trial: draw, train (or cross-validate), score."""
    from neuronet.runs.build import cached_features, make_trainer, plan_run
    from neuronet.runs.cv import cross_validate
    from neuronet.tune.pruning import OptunaPruning

    metric = search.tune.metric

    def run(trial: Any) -> float:
        config = trial_config(search, {p.path: p.suggest(trial) for p in search.params})
        if search.tune.cv:
            result = cross_validate(config, search.tune.cv, write=False)
            key = metric.removeprefix("val_")
            if key not in result.mean:
                raise ConfigError(f"tune.metric '{metric}' is not a cross-validation metric; use one of "
                                  f"{', '.join(result.mean)} (the held-out folds' mean).")
            trial.set_user_attr("folds", [row[key] for row in result.folds])
            trial.set_user_attr("epochs", round(sum(row["epochs"] for row in result.folds) / len(result.folds)))
            return result.mean[key]
        plan = plan_run(config)
        cached = cached_features(plan, progress=False)
        trainer = make_trainer(plan, callbacks=[OptunaPruning(trial, metric)], progress=False,
                               model=cached[0] if cached else None)
        trainer.fit(*(cached[1:] if cached else (plan.train, plan.val)))
        trial.set_user_attr("epochs", trainer.epoch)
        trial.set_user_attr("findings", [f.code for f in (trainer.doctor.findings if trainer.doctor else [])])
        return best_value(trainer.history.epochs, metric, search.direction)

    return run


def records(study: Any, search: Search) -> list[TrialRecord]:
    """Every trial of the study, in order, with config values (a choice shown as itself, not its index)."""
    by_path = {p.path: p for p in search.params}
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and \
            t.datetime_start else None
        params = {k: by_path[k].value(v) if k in by_path else v for k, v in t.params.items()}
        rows.append(TrialRecord(t.number, t.state.name.lower(), params, t.value, seconds, t.user_attrs.get("epochs"),
                                t.user_attrs.get("findings", [])))
    return rows


def _stop_if_asked(study: Any, trial: Any) -> None:
    """Between trials: a Ctrl-C or SIGTERM whose exception a library swallowed still stops the search."""
    from neuronet.runs.lifecycle import stop_requested

    stop = stop_requested()
    if stop is not None:
        raise stop


def run_trials(search: Search, worker: int = 0,
               on_trial: Callable[[list[TrialRecord], Search], None] | None = None) -> None:
    """Run trials in this process until the study has `search.trials` finished (complete or pruned) ones."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from neuronet.runs.build import data_loaded_once

    study = open_study(search, worker)
    existing = len(study.get_trials(deepcopy=False))
    if existing:  # a resumed study (or a late worker): a sampler seeded past what it already drew
        study = open_study(search, worker, offset=existing)
    done = (TrialState.COMPLETE, TrialState.PRUNED)
    if len(study.get_trials(deepcopy=False, states=done)) >= search.trials:
        return
    callbacks = [MaxTrialsCallback(search.trials, states=done), _stop_if_asked]
    if on_trial is not None:
        callbacks.append(lambda s, _: on_trial(records(s, search), search))
    with data_loaded_once():  # every trial of this worker reads the data once
        study.optimize(objective(search), callbacks=callbacks, catch=(), gc_after_trial=True)
