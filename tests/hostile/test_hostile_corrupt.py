"""A received run directory that was edited, truncated or corrupted: every command that reads it answers in one
sentence naming the file (never a traceback), and writes nothing."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from hostile.hostile_helpers import assert_refused, cli, edit_json, snapshot

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


@pytest.mark.parametrize("how", ["truncated", "random", "empty", "swapped", "not neuronet's", "edited state"])
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
