"""A run directory as files: the ground floor that every layer above reads and writes.

- `files.py`: `RunFiles` (the layout: config.yaml, model.json, weights, status, metrics, plots),
  `read_json` / `write_json` (checked, atomic), `refuse_run_file` (an output never lands on a run);
- `lock.py`: `RunLock`, one writer per run (an OS file lock), `holder_alive`;
- `doctor.py`: `doctor.json`, the doctor's findings and sampled statistics, read and written.

It imports only the other ground modules (`atomic`, `errors`, `params`, `paths`), so that
prediction, serving, `neuronet info` and `neuronet doctor` read a run without the training code.
"""

from neuronet.rundir.doctor import read_doctor, write_doctor
from neuronet.rundir.files import RunDict, RunFiles, json_text, read_json, refuse_run_file, write_json
from neuronet.rundir.lock import RunInUse, RunLock, holder_alive

__all__ = ["RunDict", "RunFiles", "RunInUse", "RunLock", "holder_alive", "json_text", "read_doctor", "read_json",
           "refuse_run_file", "write_doctor", "write_json"]
