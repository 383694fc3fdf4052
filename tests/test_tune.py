"""Hyperparameter tuning: bad spaces are one sentence, grid visits exactly the grid, random and bayes repeat with a
seed, pruning stops trials, a study resumes, two workers share one study (SQLite and a real PostgreSQL), and a
killed worker's trial is marked failed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuronet.cli import app
from neuronet.config import load_config
from neuronet.errors import ConfigError
from neuronet.tune import tune
from neuronet.space import combinations, parse_space

pytest.importorskip("optuna", reason="optuna is not installed (neuronet[tune])")
runner = CliRunner()
IRIS = ["data.source=iris", "model.type=mlp", "model.hidden=[8]", "train.epochs=4", "train.batch_size=16"]


def config(tmp_path: Path, name: str, *tune: str, extra: tuple[str, ...] = ()):
    return load_config(None, [*IRIS, *extra, f"output_dir={tmp_path}", f"name={name}", *tune])


def params(result) -> list[dict]:
    return [r.params for r in result.trials]


@pytest.mark.parametrize("space, message", [
    ({"train.lrr": {"log_uniform": [1e-4, 1e-1]}}, "Did you mean 'lr'"),
    ({"model.hidden": {"choice": []}}, "non-empty list"),
    ({"train.lr": {"uniform": [0.1, 0.01]}}, "low > high"),
    ({"train.lr": {"log_uniform": [0, 0.1]}}, "0 < low"),
    ({"train.lr": {"normal": [0, 1]}}, "must be one of"),
    ({"train.batch_size": {"choice": [16, -4]}}, "train.batch_size = -4"),
])
def test_bad_spaces_are_one_sentence(tmp_path, space, message):
    with pytest.raises(ConfigError, match=message) as err:
        raw = config(tmp_path, "bad").model_dump(mode="json")
        raw["tune"] = {"space": space}
        from neuronet.config import validate

        tune(validate(raw, "test.yaml"), retrain=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "bad").exists()  # nothing written


def test_grid_needs_values_and_a_tune_section(tmp_path):
    with pytest.raises(ConfigError, match="a grid needs the values"):
        tune(config(tmp_path, "g", "tune={method: grid, space: {train.lr: {uniform: [0.001, 0.1]}}}"), retrain=False)
    with pytest.raises(ConfigError, match="no tune: section"):
        tune(config(tmp_path, "none"), retrain=False)


def test_grid_visits_exactly_the_grid(tmp_path):
    space = "{train.lr: {choice: [0.003, 0.03]}, model.hidden: {choice: [[4], [8, 8]]}, train.batch_size: {int: [15, 16]}}"
    result = tune(config(tmp_path, "grid", f"tune={{method: grid, metric: val_accuracy, pruner: none, space: {space}}}"),
                  retrain=False)
    grid = combinations(parse_space(result.search.tune.space))
    assert len(result.trials) == len(grid) == 8
    assert sorted(map(json.dumps, params(result))) == sorted(map(json.dumps, grid))
    saved = json.loads((tmp_path / "grid" / "trials.json").read_text())
    assert [t["number"] for t in saved] == list(range(8)) and all(t["state"] == "complete" for t in saved)
    assert (tmp_path / "grid" / "trials.csv").read_text().count("\n") == 9
    for plot in ("history.png", "parallel.png"):
        assert (tmp_path / "grid" / "plots" / plot).stat().st_size > 5000


@pytest.mark.slow
@pytest.mark.parametrize("method", ["random", "bayes"])
def test_random_and_bayes_repeat_with_a_seed(tmp_path, method):
    spec = f"tune={{method: {method}, trials: 5, seed: 3, pruner: none, space: {{train.lr: {{log_uniform: [0.001, 0.1]}}, " \
           "model.dropout: {uniform: [0, 0.5]}}}"
    first, again = (tune(config(tmp_path, f"{method}-{i}", spec), retrain=False) for i in range(2))
    assert params(first) == params(again) and len(set(json.dumps(p) for p in params(first))) == 5
    other = tune(config(tmp_path, f"{method}-seed4", spec.replace("seed: 3", "seed: 4")), retrain=False)
    assert params(other) != params(first)


@pytest.mark.slow
def test_pruning_stops_hopeless_trials_and_the_best_is_retrained(tmp_path):
    spec = "tune={method: random, trials: 10, seed: 0, metric: val_accuracy, pruner: median, " \
           "space: {train.lr: {log_uniform: [1.0e-6, 0.1]}}}"
    result = tune(config(tmp_path, "prune", spec, extra=("train.epochs=8",)))
    pruned = [r for r in result.trials if r.state == "pruned"]
    assert pruned and all(r.epochs < 8 for r in pruned)
    assert result.best.state == "complete" and result.best.params["train.lr"] > 1e-3
    best = load_config(tmp_path / "prune" / "best.yaml")
    assert best.train.lr == result.best.params["train.lr"] and best.tune is None
    retrained = json.loads((tmp_path / "prune" / "best" / "metrics.json").read_text())
    assert retrained["sizes"]["val"] == 0 and retrained["epochs_run"] == result.best.epochs  # train + validation
    assert retrained["test"] == result.test and result.test["accuracy"] > 0.8


@pytest.mark.slow
def test_a_cross_validated_objective_is_the_mean_over_folds(tmp_path):
    spec = "tune={method: random, trials: 2, seed: 0, metric: val_accuracy, cv: 3, " \
           "space: {train.lr: {log_uniform: [0.01, 0.1]}}}"
    result = tune(config(tmp_path, "cv", spec), retrain=False)
    import optuna

    study = optuna.load_study(study_name="neuronet", storage=f"sqlite:///{tmp_path / 'cv' / 'study.db'}")
    for trial in study.trials:
        assert len(trial.user_attrs["folds"]) == 3
        assert trial.value == pytest.approx(sum(trial.user_attrs["folds"]) / 3)
    assert len(result.trials) == 2 and all(r.epochs == 4 for r in result.trials)  # the folds' mean epochs


def _tune_process(tmp_path: Path, name: str, *args: str, epochs: int = 8) -> subprocess.Popen:
    yaml = tmp_path / f"{name}.yaml"
    yaml.write_text(f"data: {{source: iris}}\nmodel: {{type: mlp, hidden: [8]}}\ntrain: {{epochs: {epochs}, batch_size: 8}}\n"
                    "tune: {method: random, trials: 6, pruner: none, space: {train.lr: {log_uniform: [0.001, 0.1]}}}\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "neuronet", "tune", str(yaml), "--output-dir", str(tmp_path),
                             "--name", name, "--no-retrain", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _states(db: Path) -> dict[int, str]:
    import optuna

    study = optuna.load_study(study_name="neuronet", storage=f"sqlite:///{db}")
    return {t.number: t.state.name for t in study.get_trials(deepcopy=False)}


@pytest.mark.slow
def test_a_killed_search_resumes_and_its_running_trial_is_marked_failed(tmp_path):
    process = _tune_process(tmp_path, "killed", epochs=120)  # trials long enough to be killed in one (40 was not)
    db, deadline = tmp_path / "killed" / "study.db", time.monotonic() + 120
    while time.monotonic() < deadline:  # bounded: kill it while a trial runs, after at least one finished
        time.sleep(0.2)
        try:
            states = _states(db) if db.is_file() else {}
        except KeyError:  # the study is being created
            states = {}
        if "COMPLETE" in states.values() and "RUNNING" in states.values():
            break
    assert process.poll() is None, "the search ended before it could be killed mid-trial"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    running = [n for n, s in _states(db).items() if s == "RUNNING"]
    assert running, "killed mid-trial"
    time.sleep(8)  # the dead worker's heartbeat goes stale (grace period)
    resumed = runner.invoke(app, ["tune", "--resume", str(tmp_path / "killed"), "--no-retrain"])
    assert resumed.exit_code == 0, resumed.output
    states = _states(db)
    assert all(states[n] == "FAIL" for n in running)  # not lost: failed, and the study went on
    assert sum(s == "COMPLETE" for s in states.values()) >= 6
    assert sorted(states) == list(range(len(states)))  # every trial recorded once


@pytest.mark.slow
def test_two_workers_share_one_sqlite_study(tmp_path):
    process = _tune_process(tmp_path, "jobs", "--jobs", "2")
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output
    states = _states(tmp_path / "jobs" / "study.db")
    assert sorted(states) == list(range(len(states))) and 6 <= len(states) <= 7
    assert all(s == "COMPLETE" for s in states.values())


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A real PostgreSQL server on 127.0.0.1 (Debian's postgresql, a cluster of this test's own), or a skip."""
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (neuronet[tune])")
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        pytest.skip("PostgreSQL (Debian's postgresql, run as root) is not available here")
    versions = sorted(os.listdir("/usr/lib/postgresql"))
    version, name, port = versions[-1], "neuronet_test", 54329
    subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)
    made = subprocess.run(["pg_createcluster", version, name, "-p", str(port), "--start", "--",
                           "--auth=trust"], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"could not start a PostgreSQL cluster: {made.stderr.strip()[:200]}")
    try:
        subprocess.run(["su", "postgres", "-c", f"createdb -h 127.0.0.1 -p {port} tune"], check=True, timeout=60)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/tune"
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)


@pytest.mark.slow
def test_two_workers_share_one_postgresql_study(tmp_path, postgres):
    process = _tune_process(tmp_path, "pg", "--jobs", "2", "--storage", postgres)
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output
    import optuna

    study = optuna.load_study(study_name="neuronet", storage=postgres)
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(len(numbers))) and 6 <= len(numbers) <= 7
    assert not (tmp_path / "pg" / "study.db").exists()
    assert json.loads((tmp_path / "pg" / "search.json").read_text())["storage"] == postgres


@pytest.mark.slow
def test_the_readme_example_tunes_from_the_command_line(tmp_path):
    example = Path(__file__).parents[1] / "examples" / "tune_breast_cancer.yaml"
    result = runner.invoke(app, ["tune", str(example), "--set", "tune.trials=3", "--set", "train.epochs=2",
                                 "--output-dir", str(tmp_path), "--name", "bc"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "bayes search of val_accuracy (maximize)" in result.output and "best trial" in result.output
    assert "test metrics" in result.output
    best = load_config(tmp_path / "bc" / "best.yaml")
    assert best.tune is None and 1e-4 <= best.train.lr <= 1e-1
    again = runner.invoke(app, ["tune", str(example), "--output-dir", str(tmp_path), "--name", "bc"])
    assert again.exit_code == 1 and "already exists" in again.output


def test_a_bad_storage_or_metric_leaves_nothing_behind(tmp_path):
    spec = "tune={method: random, trials: 2, space: {train.lr: {log_uniform: [0.001, 0.1]}}}"
    with pytest.raises(ConfigError, match="Cannot open the tuning storage 'nowhere://x'"):
        tune(config(tmp_path, "storage", spec), storage="nowhere://x", retrain=False)
    with pytest.raises(ConfigError, match="Did you mean 'val_accuracy'"):
        tune(config(tmp_path, "metric", spec.replace("method:", "metric: val_acc, method:")), retrain=False)
    assert not (tmp_path / "storage").exists() and not (tmp_path / "metric").exists()


@pytest.mark.slow
def test_a_resumed_search_draws_new_values(tmp_path):
    spec = "tune={method: random, trials: 3, seed: 0, pruner: none, space: {train.lr: {log_uniform: [0.001, 0.1]}}}"
    first = tune(config(tmp_path, "more", spec), retrain=False)
    raw = (tmp_path / "more" / "config.yaml").read_text().replace("trials: 3", "trials: 5")
    (tmp_path / "more" / "config.yaml").write_text(raw)  # ask the same study for two more
    more = tune(resume=tmp_path / "more", retrain=False)
    values = [p["train.lr"] for p in params(more)]
    assert len(values) == 5 and len(set(values)) == 5 and values[:3] == [p["train.lr"] for p in params(first)]
