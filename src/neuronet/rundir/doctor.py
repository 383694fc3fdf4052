"""`RUN/doctor.json`: the doctor's findings and its sampled per-layer statistics.

Findings are stored as plain dicts (`neuronet.doctor.Finding.to_dict`); this module reads and
writes the file and checks its shape, so that an edited doctor.json is one sentence naming it.
Turning the dicts into `Finding`s, and the rules themselves, are `neuronet.doctor`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuronet.errors import DataError
from neuronet.rundir.files import RunFiles, read_json, write_json

__all__ = ["FINDING_TEXT", "read_doctor", "write_doctor", "checked_findings"]

FINDING_TEXT = ("code", "severity", "title", "evidence", "explanation", "fix")


def write_doctor(files: RunFiles, findings: list[dict[str, Any]], *, enabled: bool, kind: str,
                 every_steps: int | None = None, records: list[dict[str, Any]] | None = None) -> None:
    """Write doctor.json atomically: the findings (as dicts), whether the doctor ran, the kind of run, the records."""
    write_json(files.doctor, {"findings": findings, "enabled": enabled, "kind": kind, "every_steps": every_steps,
                              "records": records or []})


def checked_findings(state: dict[str, Any], source: Path) -> list[dict[str, Any]]:
    """The findings a doctor.json holds, as dicts; an edited one (a key missing, a wrong type) is one sentence."""
    found = state.get("findings")
    if not isinstance(found, list) or not all(isinstance(f, dict) and all(isinstance(f.get(k), str)
                                                                         for k in FINDING_TEXT) for f in found):
        raise DataError(f"{source} holds findings that are not a list of {{{', '.join(FINDING_TEXT)}}} texts; it "
                        "was edited: restore it, or train the run again.")
    return found


def read_doctor(run: str | Path) -> dict[str, Any]:
    """The whole doctor.json of a run (findings checked); one sentence when there is none or the doctor was off."""
    files = RunFiles(run)
    files.check()
    if not files.doctor.is_file():
        raise DataError(f"{files.root} has no doctor.json yet: it is still running or was stopped before it wrote "
                        f"one (continue it with `neuronet train --resume {files.root}`), or it was trained before "
                        "the doctor existed.")
    state = read_json(files.doctor)
    if not state.get("enabled", True):
        raise DataError(f"{files.root} was trained with train.doctor: false, so nothing was diagnosed; train it "
                        "again without that to diagnose it.")
    checked_findings(state, files.doctor)
    return state
