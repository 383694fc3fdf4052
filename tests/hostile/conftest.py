"""The hostile corpus' harness: run the CLI as a user would, and check what a refusal must be.

A refusal is exit code 1, one sentence on stderr that starts with "Error: ", no Python
traceback, and the run directory left as it was (or marked, for a status that changed).
The harness lives in `hostile_helpers.py` (`from hostile.hostile_helpers import cli, ...`); the fixtures here.
Each test module marks its class (`pytestmark = pytest.mark.hostile("names")`); `pytest
tests/hostile --collect-only -q -m hostile` lists the corpus, `python tests/hostile/count.py` counts it by class.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hostile.hostile_helpers import TINY


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A completed, tiny digits CNN run; tests copy it (`run_copy`) before editing."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    out = tmp_path_factory.mktemp("hostile-runs")
    return train_run(load_config(None, [f"output_dir={out}", "name=tiny", *TINY]), progress=False).path


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the tiny run to edit, corrupt or lock."""
    target = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_run, target, symlinks=True)
    return target
