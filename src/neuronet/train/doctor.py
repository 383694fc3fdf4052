"""`Doctor`: the callback that runs the training doctor during `fit` (on by default: `doctor=True`).

It samples one step in `every_steps` for per-layer statistics (`neuronet.doctor.TrainingMonitor`),
diagnoses the run after every epoch and once more at the end (also when the loss diverged),
and prints one line when a finding first appears. `trainer.doctor.findings` holds the result.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from neuronet.doctor import Finding, TrainingEvidence, TrainingMonitor, diagnose_training, sort_findings
from neuronet.doctor.training import smoothing_floor
from neuronet.params import Flag, Interval, validate_params
from neuronet.train.callbacks import Callback, TrainerProtocol

__all__ = ["Doctor", "DOCTOR_PARAMS"]

DOCTOR_PARAMS = {"every_steps": [Interval(int, 0, None, closed="neither")], "live": [Flag()]}


class Doctor(Callback):
    """Watch training and diagnose its problems (see `neuronet.doctor`).

    Args:
        every_steps: Measure one training step in this many (the statistics' only cost).
        live: Print a line (`doctor: [warning] Overfitting: ...`) when a finding first appears.
        print_fn: Where live lines go (default: stderr, above the progress bar).

    Example:
        >>> import neuronet as nt
        >>> train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
        >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), lr=0.01, epochs=3, progress=False)
        >>> _ = trainer.fit(train, val=val)
        >>> trainer.doctor.findings
        []
    """

    def __init__(self, every_steps: int = 50, live: bool = True, print_fn: Any = None) -> None:
        validate_params(DOCTOR_PARAMS, {"every_steps": every_steps, "live": live}, "the doctor options")
        self.monitor = TrainingMonitor(every_steps)
        self.live, self.print_fn = live, print_fn
        self.findings: list[Finding] = []
        self._announced: list[str] = []
        self._seen: dict[str, tuple[int, Finding]] = {}  # code -> (epoch, its latest finding)
        self._sampling = False

    def _step(self, trainer: TrainerProtocol) -> int:
        return trainer.epoch * trainer.steps_per_epoch + trainer.batch

    def before_batch(self, trainer: TrainerProtocol) -> None:
        self._sampling = self.monitor.sampled(self._step(trainer))
        if self._sampling:
            self.monitor.start(trainer.model, self._step(trainer))

    def after_batch(self, trainer: TrainerProtocol, loss: float) -> None:
        if self._sampling:
            self.monitor.finish(trainer.model, self._step(trainer) - 1, trainer.epoch + 1)  # batch already counted
            self._sampling = False

    def evidence(self, trainer: TrainerProtocol) -> TrainingEvidence:
        """What the rules read, from the trainer as it is now."""
        lr = trainer.hparams.get("lr")
        smoothing = (trainer.hparams.get("loss_kwargs") or {}).get("label_smoothing", 0.0)
        heads = [m.out_features for m in trainer.model.modules() if isinstance(m, nn.Linear)]  # the last: classes
        return TrainingEvidence(trainer.history.epochs, trainer.history.steps, self.monitor.records,
                                getattr(trainer, "diverged", None), getattr(trainer.task, "curves_fall", True),
                                lr if isinstance(lr, (int, float)) else None, dict(trainer.hparams),
                                dict(getattr(trainer.model, "hparams", None) or {}),
                                smoothing_floor(smoothing, heads[-1] if heads else None))

    period = "epoch"  # what the history's rows are called in the findings

    def rules(self, trainer: TrainerProtocol) -> list[Finding]:
        """The findings of the rules (`neuronet.doctor`) on the trainer as it is now (RLDoctor reads other evidence)."""
        return diagnose_training(self.evidence(trainer))

    def diagnose(self, trainer: TrainerProtocol) -> list[Finding]:
        """Diagnose now, announce the new findings, and keep them in `findings`.

        A problem seen at an earlier epoch but gone now stays listed, as "info", with the epoch it was seen
        at: what was printed during training is never silently dropped.
        """
        current = self.rules(trainer)
        for finding in current:
            self._seen[finding.code] = (trainer.epoch, finding)
        now = {f.code for f in current}
        earlier = [Finding(f.code, "info", f"{f.title} (at {self.period} {epoch}, gone by the end)", f.evidence,
                           f.explanation, f.fix, f.epoch, f.layer, f.values)
                   for code, (epoch, f) in self._seen.items() if code not in now]
        self.findings = sort_findings([*current, *earlier])
        self.announce(current)
        return self.findings

    def announce(self, findings: list[Finding]) -> None:
        """Print each finding not announced before (one line each, when `live`)."""
        for finding in findings:
            if finding.code not in self._announced:
                self._announced.append(finding.code)
                if self.live:
                    self._print(f"doctor: {finding.line()}")

    def _print(self, line: str) -> None:
        if self.print_fn is not None:
            self.print_fn(line)
            return
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True).print(Text(line), soft_wrap=True)

    def after_epoch(self, trainer: TrainerProtocol, logs: dict[str, Any]) -> None:
        self.diagnose(trainer)

    def after_fit(self, trainer: TrainerProtocol) -> None:
        self.monitor.stop()  # a step that failed left its hooks
        self._sampling = False
        self.diagnose(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {**self.monitor.state_dict(), "announced": list(self._announced),
                "seen": [[epoch, f.to_dict()] for epoch, f in self._seen.values()]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.monitor.load_state_dict(state)
        self._announced = list(state.get("announced", []))
        self._seen = {f["code"]: (epoch, Finding.from_dict(f)) for epoch, f in state.get("seen", [])}
