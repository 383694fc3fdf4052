"""`Finding`: one diagnosis of the training doctor — what, how bad, the evidence, why, and what to try.

Findings are plain data: they go to JSON (`RUN/doctor.json`), to one live line during
training, and to the run's reports. This module imports nothing heavy, so that
`neuronet doctor RUN` starts fast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CHECKED", "CHECKED_RL", "Finding", "SEVERITIES", "sort_findings"]

SEVERITIES = ("error", "warning", "info")  # most severe first
CHECKED = ("overfitting, underfitting, vanishing and exploding gradients, dying ReLU, a learning rate too high or too "
           "low, a rare class, rows shared between splits, constant features, a feature that gives the target away, a network that does not beat a simple baseline on the same "
           "test rows")


CHECKED_RL = ("exploding value losses or Q-values, a policy whose entropy collapsed before it did well, no progress in "
              "the mean return, a loss that became NaN or infinite")


@dataclass
class Finding:
    """One problem the doctor found.

    Args:
        code: A stable identifier, e.g. "overfitting", "vanishing_gradients", "leakage".
        severity: "error" (training is broken), "warning" (results suffer) or "info".
        title: A few words, e.g. "Overfitting".
        evidence: The numbers behind it, in one sentence (epochs, layers, values).
        explanation: What it means, for a learner, in one or two sentences.
        fix: The concrete change to try, in config terms (`train.l2: 1e-4`).
        epoch: The epoch where it shows (None: the data, or the whole run).
        layer: The layer concerned, when there is one.
        values: The measured numbers, for programs.

    Example:
        >>> f = Finding("dying_relu", "warning", "Dying ReLU", "62% of net.1's units never fire.", "...", "...")
        >>> f.line()
        "[warning] Dying ReLU: 62% of net.1's units never fire. Try: ..."
    """

    code: str
    severity: str
    title: str
    evidence: str
    explanation: str
    fix: str
    epoch: int | None = None
    layer: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"A finding's severity must be one of {', '.join(SEVERITIES)}; got {self.severity!r}.")

    def line(self) -> str:
        """The finding in one line: severity, title, evidence and the fix."""
        return f"[{self.severity}] {self.title}: {self.evidence} Try: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of `to_dict`."""
        return cls(**data)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first; among equals, in the order found."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))
