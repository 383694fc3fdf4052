"""Property-based fuzzing of the config loader: whatever YAML, bytes or --set values come in, the only
exceptions are neuronet's own one-sentence errors (ConfigError / DataError)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuronet.config import load_config, validate
from neuronet.errors import NeuronetError

from hostile.hostile_helpers import FUZZ_EXAMPLES

pytestmark = pytest.mark.hostile("fuzz")

KEYS = {"data": ["source", "target", "text", "limit", "val", "test", "scale", "resample", "options", "preprocess",
                 "group", "data_dir"],
        "model": ["type", "hidden", "dropout", "channels", "activation", "weights", "batch_norm"],
        "train": ["lr", "epochs", "batch_size", "optimizer", "loss", "schedule", "early_stopping", "metrics",
                  "precision", "augment", "checkpoint", "doctor", "steps", "fine_tune", "unfreeze", "lr_groups",
                  "class_weights", "weight_decay"],
        "env": ["id", "kwargs", "n_envs"], "agent": ["type", "lr", "n_steps", "gamma"],
        "tune": ["method", "trials", "space", "metric", "cv"]}
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30), st.floats(),
                    st.text(max_size=20),
                    st.sampled_from(["digits", "mlp", "cnn", "adam", "auto", "CartPole-v1", "iris", "nan", "-1",
                                     "1e-3", "../x", "os:system", "a\x00b", "standard", "cosine"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=20)
CONFIGS = st.fixed_dictionaries({}, optional={
    "seed": VALUES, "task": VALUES, "name": VALUES, "output_dir": VALUES,
    **{name: st.dictionaries(st.sampled_from([*keys, "zzz"]), VALUES, max_size=4) for name, keys in KEYS.items()}})
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _only_ours(action) -> None:
    try:
        action()
    except NeuronetError:
        pass


@FUZZ
@given(CONFIGS)
def test_any_config_mapping_validates_or_is_one_sentence(raw):
    _only_ours(lambda: validate(raw))


@FUZZ
@given(st.text(max_size=300))
def test_any_config_text_loads_or_is_one_sentence(tmp_path_factory, text):
    path = Path(tmp_path_factory.mktemp("fuzz")) / "c.yaml"
    path.write_text(text, encoding="utf-8")
    _only_ours(lambda: load_config(path))


@FUZZ
@given(st.binary(max_size=300))
def test_any_config_bytes_load_or_are_one_sentence(tmp_path_factory, data):
    path = Path(tmp_path_factory.mktemp("fuzz")) / "c.yaml"
    path.write_bytes(data)
    _only_ours(lambda: load_config(path))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["train.lr", "name", "data.source", "model.hidden", "train", "seed",
                                           "env.id", "a.b.c", "", "train.metrics", "data", "model.type"])
                          | st.text(max_size=10), st.text(max_size=30)), max_size=3))
def test_any_set_values_apply_or_are_one_sentence(pairs):
    _only_ours(lambda: load_config(None, [f"{key}={value}" for key, value in pairs]))
