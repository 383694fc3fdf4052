"""The training doctor: why training went wrong, in plain words, with the evidence and the fix.

- `findings.py`: `Finding` (code, severity, evidence, explanation, fix) and its JSON form;
- `monitor.py`: `TrainingMonitor`, per-layer statistics (gradient RMS, update-to-weight ratios,
  activation mean / std, dead ReLU units) on a few sampled steps;
- `training.py`: the rules on curves and statistics (overfitting, underfitting, vanishing and
  exploding gradients, dying ReLU, a learning rate too high or too low);
- `data.py`: the rules on the data (a rare class, rows shared between splits, constant
  features, a feature that gives the target away).

The Trainer runs it by default (`neuronet.train.Doctor`, `train.doctor` in a config); a run
stores its findings in `RUN/doctor.json`, and `neuronet doctor RUN` shows them.
"""

from neuronet.doctor.data import diagnose_data
from neuronet.doctor.findings import CHECKED, SEVERITIES, Finding, sort_findings
from neuronet.doctor.monitor import TrainingMonitor
from neuronet.doctor.training import TrainingEvidence, diagnose_training

__all__ = ["CHECKED", "Finding", "SEVERITIES", "TrainingEvidence", "TrainingMonitor", "diagnose_data", "diagnose_training",
           "sort_findings"]
