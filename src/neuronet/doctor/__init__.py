"""The training doctor: why training went wrong, in plain words, with the evidence and the fix.

- `findings.py`: `Finding` (code, severity, evidence, explanation, fix) and its JSON form;
- `monitor.py`: `TrainingMonitor`, per-layer statistics (gradient RMS, update-to-weight ratios,
  activation mean / std, dead ReLU units) on a few sampled steps;
- `training.py`: the rules on curves and statistics (overfitting, underfitting, vanishing and
  exploding gradients, dying ReLU, a learning rate too high or too low);
- `data.py`: the rules on the data (a rare class, rows shared between splits, constant
  features, a feature that gives the target away);
- `baselines.py`: the network against the classical baselines fitted on the same rows (a
  network that does not beat the majority class or a linear model);
- `rl.py`: the rules on a reinforcement-learning run's records (exploding value loss or
  Q-values, a collapsed entropy, no progress, a loss that became NaN).

Every rule lives here. The trainers run them by default through their doctor callbacks
(`neuronet.train.Doctor`, `neuronet.rl.doctor.RLDoctor`; `train.doctor` in a config); a run
stores its findings in `RUN/doctor.json` (`neuronet.runs.diagnosis`), and `neuronet doctor RUN`
shows them.
"""

from neuronet.doctor.data import diagnose_data
from neuronet.doctor.findings import CHECKED, CHECKED_RL, SEVERITIES, Finding, sort_findings
from neuronet.doctor.monitor import TrainingMonitor
from neuronet.doctor.rl import diagnose_rl
from neuronet.doctor.training import TrainingEvidence, diagnose_training

__all__ = ["CHECKED", "CHECKED_RL", "Finding", "SEVERITIES", "TrainingEvidence", "TrainingMonitor", "diagnose_data",
           "diagnose_rl", "diagnose_training", "sort_findings"]
