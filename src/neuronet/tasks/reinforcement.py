"""Reinforcement learning: an agent's policy maps observations to actions; it is scored by the returns it earns."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from neuronet.errors import ConfigError
from neuronet.tasks.base import TASKS, Task

__all__ = ["Reinforcement"]


@TASKS.register("reinforcement", "Learn a policy by trial and error in an environment (env: section).")
class Reinforcement(Task):
    """The policy's outputs are action logits (discrete), action means (continuous) or Q-values.

    There are no labels: the run's metrics are the returns of seeded evaluation episodes, and
    a falling loss is not the sign of learning (a rising return is).

    Example:
        >>> Reinforcement().predictions(torch.tensor([[0.1, 2.0], [3.0, -1.0]])).tolist()
        [1, 0]
    """

    name: ClassVar[str] = "reinforcement"
    default_loss: ClassVar[str] = "mse"
    report_metrics: ClassVar[tuple[str, ...]] = ("mean_return", "std_return")
    supervised: ClassVar[bool] = False
    curves_fall: ClassVar[bool] = False

    def predictions(self, outputs: Any) -> torch.Tensor:
        """The greedy actions: the argmax of logits or Q-values (a continuous policy's outputs are its actions)."""
        return outputs.argmax(dim=-1) if outputs.ndim == 2 else outputs

    def values(self, outputs: Any) -> torch.Tensor:
        return outputs

    def score(self, outputs: Any, targets: torch.Tensor, metrics: list[str] | None = None) -> dict[str, float]:
        raise ConfigError("A reinforcement-learning policy is scored in its environment, not on data: "
                          "neuronet evaluate RUN plays seeded episodes.")
