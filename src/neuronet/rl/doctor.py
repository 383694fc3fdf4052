"""`RLDoctor`: the callback that runs the doctor's RL rules (`neuronet.doctor.rl`) during `RLTrainer.fit`."""

from __future__ import annotations

from typing import Any

from neuronet.doctor import Finding, diagnose_rl
from neuronet.train.doctor import Doctor

__all__ = ["RLDoctor"]


class RLDoctor(Doctor):
    """The Doctor callback for `RLTrainer`: diagnoses the run's records after each one and at the end.

    Example:
        >>> import neuronet as nt
        >>> agent = nt.rl.PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=32, n_epochs=1, seed=0)
        >>> trainer = nt.rl.RLTrainer(agent, steps=64, log_every=32, progress=False, doctor={"live": False})
        >>> _ = trainer.fit()
        >>> type(trainer.doctor).__name__, trainer.doctor.findings
        ('RLDoctor', [])
    """

    def before_batch(self, trainer: Any) -> None:
        pass

    def after_batch(self, trainer: Any, loss: float) -> None:
        pass

    period = "record"

    def rules(self, trainer: Any) -> list[Finding]:
        agent = trainer.agent
        spec = getattr(agent.envs.envs[0], "spec", None)
        return diagnose_rl(trainer.history.epochs, agent.discrete, agent.action_dim, agent.name,
                           getattr(spec, "reward_threshold", None), trainer.diverged)
