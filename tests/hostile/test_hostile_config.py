"""Config parsing is bounded and fails in one sentence: alias bombs, deep nesting, huge files, bad bytes, bad --set."""

from __future__ import annotations


import pytest

from hostile.hostile_helpers import assert_refused, cli, cli_process

pytestmark = pytest.mark.hostile("config")


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """`levels` anchors, each a list of `width` aliases of the one before: width ** levels values once expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines)


@pytest.mark.slow
def test_an_alias_bomb_under_a_valid_key_is_refused_at_once(tmp_path):
    bomb = _alias_bomb().replace("\n", "\n    ")
    config = tmp_path / "bomb.yaml"
    config.write_text(f"train:\n  metrics:\n    {bomb}\n")
    ran = cli_process("train", config, "--output-dir", tmp_path / "runs", timeout=60)  # it hung before, memory growing
    assert_refused(ran, "expands to more than", str(config))
    assert not (tmp_path / "runs").exists()


def test_an_alias_bomb_under_an_unknown_key_is_refused(tmp_path):
    config = tmp_path / "bomb.yaml"
    config.write_text("bomb:\n  " + _alias_bomb().replace("\n", "\n  ") + "\n")
    assert_refused(cli("train", config), "expands to more than")


def test_an_alias_bomb_in_a_set_value_is_refused(tmp_path):
    value = "[" + ", ".join(["&a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"] + ["*a"] * 8) + "]"
    nested = value
    for _ in range(5):
        nested = "[" + ", ".join([nested.replace("&a", "&b").replace("*a", "*b")] * 10) + "]"
    assert_refused(cli("train", "--set", f"train.metrics={nested}"), "--set")


@pytest.mark.slow
def test_a_recursive_alias_is_refused(tmp_path):
    config = tmp_path / "loop.yaml"
    config.write_text("train:\n  metrics: &loop [*loop]\n")
    ran = cli_process("train", config, timeout=60)
    assert "Traceback" not in ran.output and ran.exit_code == 1, ran.output


@pytest.mark.slow
@pytest.mark.parametrize("depth", [100, 10_000])
def test_deep_nesting_is_refused(tmp_path, depth):
    config = tmp_path / "deep.yaml"
    config.write_text("train:\n  metrics: " + "[" * depth + "]" * depth + "\n")
    assert_refused(cli_process("train", config, timeout=60), "nested more than")


def test_a_config_of_megabytes_is_refused(tmp_path):
    config = tmp_path / "big.yaml"
    config.write_text("# " + "x" * (2 * 1024 * 1024) + "\nseed: 1\n")
    assert_refused(cli("train", config), "bytes", "at most")


@pytest.mark.parametrize("payload,fragment", [
    (b"\xff\xfe\x00s\x00e\x00e\x00d", "not UTF-8"),
    (b"seed: 1\x00\n", "not valid YAML"),
    (b"train:\n\t- lr: 1\n", "not valid YAML"),
    (b"- just\n- a list\n", "mapping of sections"),
    (b"42\n", "mapping of sections"),
    (b"train: {lr: [1,\n", "not valid YAML"),
    (b"? [a, b]\n: 1\n", "not valid YAML"),
    (b"!!python/object/apply:os.system ['touch PWNED']\n", "not valid YAML"),
    (b"seed: !!python/name:os.system\n", "not valid YAML"),
    (b"seed: 1e400\n", "seed"),
    (b"seed: 99999999999999999999999999\n", "seed"),
    (b"seed: -1\n", "seed"),
    (b"data: {limit: -5}\n", "data.limit"),
    (b"train: 5\n", "train"),
    (b"train: {lr: .nan}\n", "lr"),
])
def test_bad_config_files_are_one_sentence(tmp_path, payload, fragment):
    config = tmp_path / "c.yaml"
    config.write_bytes(payload)
    assert_refused(cli("train", config, "--output-dir", tmp_path / "runs", cwd=tmp_path), fragment)
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("kind", ["folder", "fifo", "missing"])
def test_a_config_that_is_not_a_file_is_one_sentence(tmp_path, kind):
    import os

    config = tmp_path / "c.yaml"
    if kind == "folder":
        config.mkdir()
    elif kind == "fifo":
        os.mkfifo(config)  # opening it would block until a writer came
    assert_refused(cli("train", config), str(config))


@pytest.mark.parametrize("override,fragment", [
    ("train.lr=[1,", "not valid YAML"),
    ("train.lr", "section.key=value"),
    ("=3", "section.key=value"),
    ("train.lr.x=1", "train.lr"),
    ("seed={a: 1}", "seed"),
    ("train.lr=!!python/object/apply:os.system ['x']", "not valid YAML"),
    ("name=a/b", "one folder name"),
    ("name=..", "one folder name"),
    ("name='a\\x00b'", "one folder name"),
    ('name="a\\x00b"', "one folder name"),
    ("data.val=0.9", "val + test must be below 1"),
    ("train.lr=.inf", "Got inf"),
    ("train.lr=.nan", "lr"),
    ("data.limit=3", "at least 5"),
    ("data.target=yes", "quote it"),
])
def test_bad_set_values_are_one_sentence(tmp_path, override, fragment):
    assert_refused(cli("train", "--set", override, "--output-dir", tmp_path / "runs", "-q"), fragment)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_the_config_a_run_wrote_is_read_with_the_same_bounds(run_copy):
    (run_copy / "status.json").write_text('{"status": "interrupted"}')
    (run_copy / "config.yaml").write_text("train:\n  metrics:\n    " + _alias_bomb().replace("\n", "\n    ") + "\n")
    assert_refused(cli_process("train", "--resume", run_copy, timeout=60), "expands to more than")
