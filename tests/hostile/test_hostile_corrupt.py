"""A received run directory that was edited, truncated or corrupted: every command that reads it answers in one
sentence naming the file (never a traceback), and writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hostile.hostile_helpers import assert_refused, cli, cli_process, edit_json, free_port, snapshot

pytestmark = pytest.mark.hostile("corrupt")

READERS = [["evaluate"], ["info"], ["export"], ["serve", "--port", "1"], ["report", "--no-explain"]]


def _truncate(path, keep: int = 100) -> None:
    path.write_bytes(path.read_bytes()[:keep])


@pytest.fixture(scope="module")
def mlp_run(train_small):
    """An MLP run: its weights are a CNN run's "swapped" weights."""
    return train_small("mlp", "model.type=mlp", "model.hidden=[8]", "train.epochs=1", "data.limit=200")


WEIGHTS = {
    "truncated": lambda run, other: _truncate(run / "model.safetensors"),
    "random": lambda run, other: (run / "model.safetensors").write_bytes(os.urandom(4096)),
    "empty": lambda run, other: (run / "model.safetensors").write_bytes(b""),
    "swapped": lambda run, other: shutil.copy(other / "model.safetensors", run / "model.safetensors"),
    "json": lambda run, other: (run / "model.safetensors").write_text('{"a": 1}'),
    "huge header": lambda run, other: (run / "model.safetensors").write_bytes((2**62).to_bytes(8, "little") + b"{}"),
}


@pytest.mark.parametrize("how", sorted(WEIGHTS))
@pytest.mark.parametrize("command", [["evaluate"], ["predict"]])
def test_broken_weights_are_one_sentence(run_copy, mlp_run, tmp_path, how, command):
    WEIGHTS[how](run_copy, mlp_run)
    args = [*command, run_copy] + ([run_copy / "config.yaml"] if command == ["predict"] else [])
    assert_refused(cli(*args), "model.safetensors")


@pytest.mark.parametrize("how", ["truncated", "random", "empty", "swapped", "not neuronet's", "edited state",
                                 "damaged bytes"])
def test_a_broken_checkpoint_at_resume_is_one_sentence_and_kept(run_copy, mlp_run, how):
    edit_json(run_copy / "status.json", status="interrupted")
    (run_copy / "model.safetensors").unlink()
    checkpoint = run_copy / "checkpoint.safetensors"
    if how == "truncated":
        _truncate(checkpoint, 5000)
    elif how == "random":
        checkpoint.write_bytes(os.urandom(10_000))
    elif how == "empty":
        checkpoint.write_bytes(b"")
    elif how == "swapped":
        shutil.copy(mlp_run / "checkpoint.safetensors", checkpoint)
    elif how == "not neuronet's":
        shutil.copy(mlp_run / "model.safetensors", checkpoint)
    elif how == "damaged bytes":  # the header intact, the last 2 KB of tensor data overwritten: the checksum says so
        data = checkpoint.read_bytes()
        checkpoint.write_bytes(data[:-2048] + b"\xff" * 2048)
    else:
        from safetensors import safe_open
        from safetensors.torch import save_file

        with safe_open(str(checkpoint), "pt") as f:
            tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
        meta["neuronet_state"] = meta["neuronet_state"].replace('"__tensor__"', '"__tensor_"', 3)[:-40]
        save_file(tensors, str(checkpoint), metadata=meta)
    before = snapshot(run_copy)
    assert_refused(cli("train", "--resume", run_copy, "-q"), "checkpoint.safetensors")
    assert snapshot(run_copy) == before


MODEL_JSON = {
    "a list": "[]",
    "empty": "{}",
    "not json": "{type: mlp",
    "no type": lambda spec: {k: v for k, v in spec.items() if k != "type"},
    "unknown type": lambda spec: {**spec, "type": "transformer9000"},
    "kwargs a list": lambda spec: {**spec, "kwargs": [1, 2]},
    "shape text": lambda spec: {**spec, "input_shape": "abc"},
    "shape negative": lambda spec: {**spec, "input_shape": [1, -8, 8]},
    "outputs text": lambda spec: {**spec, "num_outputs": "ten"},
    "unknown argument": lambda spec: {**spec, "kwargs": {**spec["kwargs"], "rm_rf": True}},
    "too large to allocate": lambda spec: {**spec, "kwargs": {**spec["kwargs"], "hidden": 10**7, "channels": [10**5]}},
    "unknown task": lambda spec: {**spec, "task": "mind-reading"},
    "deep": "[" * 100_000 + "]" * 100_000,
    "binary": b"\x00\xff\xfe" * 100,
}


@pytest.mark.parametrize("how", sorted(MODEL_JSON))
def test_an_edited_model_json_is_one_sentence(run_copy, how):
    edit = MODEL_JSON[how]
    path = run_copy / "model.json"
    if callable(edit):
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    elif isinstance(edit, bytes):
        path.write_bytes(edit)
    else:
        path.write_text(edit)
    before = snapshot(run_copy)
    assert_refused(cli("evaluate", run_copy))
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("how", ["{}", "[]", '{"pipeline": {}}', '{"data": 1, "pipeline": 2, "source": 3}',
                                 "truncated", '{"pipeline": {"steps": [{"type": "pickle"}]}}'])
def test_an_edited_preprocessing_json_is_one_sentence(run_copy, how):
    path = run_copy / "preprocessing.json"
    if how == "truncated":
        _truncate(path, 50)
    else:
        state = json.loads(path.read_text())
        edited = json.loads(how)
        path.write_text(json.dumps({**state, **edited} if how.startswith('{"pipeline": {"steps"') else edited))
    assert_refused(cli("evaluate", run_copy), "preprocessing.json")


@pytest.mark.parametrize("name,content", [("status.json", "[]"), ("status.json", "garbage"),
                                          ("metrics.json", "[1, 2]"), ("metrics.json", "{"),
                                          ("doctor.json", "[]"), ("doctor.json", "{"),
                                          ("history.csv", "\x00\xff\xfe")])
@pytest.mark.parametrize("command", [["info"], ["doctor"], ["report", "--no-explain"]])
def test_edited_side_files_are_one_sentence_or_ignored(run_copy, name, content, command):
    (run_copy / name).write_bytes(content.encode("latin-1"))
    ran = cli(command[0], run_copy, *command[1:])
    assert "Traceback" not in ran.output
    assert ran.exit_code == 0 or ran.exit_code == 1 and ran.stderr.startswith("Error: ") and name in ran.stderr, ran.output


@pytest.mark.parametrize("target", ["/etc/passwd", "/"])
def test_something_that_is_not_a_run_is_one_sentence(target):
    for command in READERS:
        assert_refused(cli(command[0], target, *command[1:]), target.rstrip("/") or "/")


def test_a_config_yaml_that_was_edited_into_garbage_is_one_sentence_at_resume(run_copy):
    edit_json(run_copy / "status.json", status="interrupted")
    (run_copy / "config.yaml").write_bytes(b"\x00\xff" * 50)
    assert_refused(cli("train", "--resume", run_copy), "config.yaml")


ESCAPE = "\x1b]0;pwned\x07\x1b[31mRED\x1b[0m"


@pytest.mark.parametrize("edit", [
    {"findings": [{"name": "x", "severity": "info"}]},
    {"findings": "abc"},
    {"findings": [{"code": "c", "severity": 5, "title": "t", "evidence": "e", "explanation": "x", "fix": "f"}]},
    {"findings": [{"code": "c", "severity": "info", "title": None, "evidence": "e", "explanation": "x", "fix": "f"}]},
    {"findings": [{"code": "c", "severity": "grave", "title": "t", "evidence": "e", "explanation": "x", "fix": "f"}]},
])
@pytest.mark.parametrize("command", [["doctor"], ["report", "--no-explain"]])
def test_an_edited_doctor_json_is_one_sentence(run_copy, edit, command):
    edit_json(run_copy / "doctor.json", **edit)
    assert_refused(cli(command[0], run_copy, *command[1:]), "doctor.json")


def test_terminal_escapes_in_a_received_run_are_shown_not_obeyed(run_copy):
    edit_json(run_copy / "status.json", status=ESCAPE, message=ESCAPE)
    doctor = json.loads((run_copy / "doctor.json").read_text())
    doctor["findings"] = [{"code": "c", "severity": "info", "title": ESCAPE, "evidence": ESCAPE, "explanation": ESCAPE,
                           "fix": ESCAPE}]
    (run_copy / "doctor.json").write_text(json.dumps(doctor))
    for command in ("info", "doctor"):
        ran = cli(command, run_copy)
        assert ran.exit_code == 0, ran.output
        assert "\x1b" not in ran.output and "\x07" not in ran.output and "\\x1b" in ran.output


@pytest.mark.parametrize("edit", [{"input_shape": 5}, {"input_shape": "abc"}, {"num_outputs": "3"}, "summary"])
def test_a_wrongly_typed_preprocessing_json_is_one_sentence_in_info(run_copy, edit):
    state = json.loads((run_copy / "preprocessing.json").read_text())
    if edit == "summary":
        state["summary"] = 5
    else:
        state["data"].update(edit)
    (run_copy / "preprocessing.json").write_text(json.dumps(state))
    for command in ("info", "evaluate"):
        assert_refused(cli(command, run_copy), "preprocessing.json")


@pytest.fixture(scope="module")
def table_for_scaling(table_run):
    """A table run (its columns scaled by scikit-learn steps stored in preprocessing.json)."""
    return table_run[0]


def _first_step(run):
    state = json.loads((run / "preprocessing.json").read_text())
    return state, state["pipeline"]["steps"][0]["steps"][0]


@pytest.mark.parametrize("how", ["short mean", "long mean", "estimator os.system", "unknown parameter", "dunder"])
def test_an_edited_fitted_step_is_refused_not_silently_wrong(table_for_scaling, tmp_path, how):
    run = tmp_path / "run"
    shutil.copytree(table_for_scaling, run)
    state, step = _first_step(run)
    if how == "short mean":
        step["scaler"]["fitted"]["mean_"]["__array__"] = []
    elif how == "long mean":
        step["scaler"]["fitted"]["mean_"]["__array__"] = [1.0] * 1000
    elif how == "estimator os.system":
        step["imputer"]["__estimator__"] = "os.system"
    elif how == "unknown parameter":
        step["scaler"]["params"]["__dict__"].append(["rm_rf", True])
    else:
        step["scaler"]["fitted"]["__class__"] = 1
    (run / "preprocessing.json").write_text(json.dumps(state))
    assert_refused(cli("evaluate", run), "preprocessing.json")


def test_a_server_refuses_to_start_on_a_pipeline_it_cannot_rebuild(table_for_scaling, tmp_path):
    from neuronet.deploy.server import create_app
    from neuronet.errors import DataError

    run = tmp_path / "run"
    shutil.copytree(table_for_scaling, run)
    state, step = _first_step(run)
    step["imputer"]["__estimator__"] = "os.system"
    (run / "preprocessing.json").write_text(json.dumps(state))
    with pytest.raises(DataError, match="os.system"):
        create_app(run)  # at start, not a 422 on every request


# --- what a command reads, it reads before it writes or announces anything ------------------------------------------
@pytest.mark.parametrize("name", ["metrics.json", "doctor.json"])
def test_report_reads_what_its_page_needs_before_it_explains(run_copy, name):
    shutil.rmtree(run_copy / "explain", ignore_errors=True)
    (run_copy / name).write_text('{"test": {"accuracy": ')
    before = snapshot(run_copy)
    assert_refused(cli("report", run_copy), name, "not valid JSON")
    assert snapshot(run_copy) == before  # it wrote explain/ first, then failed on the page


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_loads_a_damaged_run_before_anything_listens(run_copy, workers):
    _truncate(run_copy / "model.safetensors")
    try:  # two workers each died with a traceback and were restarted without end; one said "serving ..." first
        ran = cli_process("serve", run_copy, "--port", free_port(), "--workers", workers, timeout=90)
    except subprocess.TimeoutExpired as stuck:
        pytest.fail(f"serve did not stop on a damaged run; it printed:\n{(stuck.stderr or b'')[-2000:]!r}")
    assert_refused(ran, "model.safetensors")
    assert "serving" not in ran.stdout


@pytest.fixture(scope="module")
def rl_run(train_small):
    return train_small("rl-no-model-json", "env.id=CartPole-v1", "env.n_envs=2", "agent.type=ppo", "agent.n_steps=32",
                       "agent.batch_size=64", "train.steps=128", "train.eval_every=128", "train.eval_episodes=1",
                       "train.log_every=64")


@pytest.mark.parametrize("command", [["info"], ["evaluate", "--episodes", "1"], ["doctor"], ["report"]])
def test_a_run_without_model_json_names_it_whatever_its_kind(rl_run, tmp_path, command):
    pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")
    run = Path(shutil.copytree(rl_run, tmp_path / "run"))
    (run / "model.json").unlink()  # an RL run was read as a supervised one: "preprocessing.json is missing"
    message = assert_refused(cli(command[0], run, *command[1:]), "model.json is missing")
    assert "preprocessing.json" not in message and "learned from data" not in message


BASELINE_EDITS = {
    "a list": {"baselines": [1, 2]},
    "a text": {"baselines": "better"},
    "a score that is a word": {"baselines": {"majority": "high"}},
    "notes that are a number": {"baseline_notes": 5},
    "seconds that are a word": {"baselines_time_s": "soon"},
}


@pytest.mark.parametrize("edit", sorted(BASELINE_EDITS))
@pytest.mark.parametrize("command", [["evaluate"], ["report", "--no-explain"]])
def test_edited_baselines_in_metrics_json_are_one_sentence(run_copy, edit, command):
    assert "baselines" in json.loads((run_copy / "metrics.json").read_text())  # the tiny run has them to edit
    edit_json(run_copy / "metrics.json", **BASELINE_EDITS[edit])
    before = snapshot(run_copy)
    assert_refused(cli(command[0], run_copy, *command[1:]), "metrics.json", "baseline")  # was a traceback
    assert snapshot(run_copy) == before
