"""`RLTrainer`: run an agent for a budget of environment steps, on the trainers' shell (`neuronet.train.loop`).

The loop reads like the supervised one: `fit` repeats `agent.iteration()` (collect, learn);
every `log_every` environment steps make one record of the history (an "epoch": steps,
episodes, mean return, losses, entropy or epsilon), optionally with an evaluation over seeded
episodes. The same callback events run (`before_batch` / `after_batch` around each
iteration), so progress bars, checkpoints every N iterations or seconds, early stopping on
`eval_return` and the doctor work as in supervised training. A checkpoint holds everything
— weights, optimizers, replay buffer, RNGs, the environments' state — so that a resumed run
ends where an uninterrupted one does. The callbacks, events, RNG fork and saving are the
supervised Trainer's own (`LoopShell`); this file writes only the loop and its state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from neuronet.errors import ConfigError, TrainingDivergedError
from neuronet.params import Dict, Flag, InstanceOf, Interval, NoneOk, validate_params
from neuronet.rl.agent import Agent
from neuronet.rl.doctor import RLDoctor
from neuronet.rl.evaluate import evaluate_policy
from neuronet.rl.progress import RLProgress
from neuronet.train.callbacks import CHECKPOINT_PARAMS, Callback
from neuronet.train.doctor import DOCTOR_PARAMS
from neuronet.train.history import History
from neuronet.train.loop import LoopShell

__all__ = ["RLTrainer", "RL_TRAINER_PARAMS"]

_COUNT = Interval(int, 0, None, closed="neither")
RL_TRAINER_PARAMS = {
    "steps": [_COUNT],
    "log_every": [_COUNT],
    "eval_every": [_COUNT, NoneOk()],
    "eval_episodes": [_COUNT],
    "target_return": [Interval(float, None, None), NoneOk()],
    "callbacks": [InstanceOf((list, tuple), "a list of callbacks")],
    "checkpoint": [Dict(list(CHECKPOINT_PARAMS), "a mapping {every_steps, every_seconds}", "The checkpoint option"), NoneOk()],
    "doctor": [Flag(), Dict(list(DOCTOR_PARAMS), "a mapping {every_steps, live}", "The doctor option")],
    "progress": [Flag()],
}
EVAL_SEED = 1_000_000  # evaluation episodes are seeded apart from the training resets


class RLTrainer(LoopShell):
    """Train a reinforcement-learning agent (`neuronet.rl.PPO`, `DQN`, `A2C`, `REINFORCE`).

    Args:
        agent: The agent (it holds the environments and networks).
        steps: Environment steps to train for (over all environments).
        log_every: Environment steps per history record (rounded up to whole iterations).
        eval_every: Evaluate the greedy policy every this many steps (None: only at the end, by the run).
        eval_episodes: Episodes of each evaluation.
        target_return: Stop once an evaluation's mean return reaches this (e.g. 475 on CartPole-v1).
        callbacks: Callback objects (the Trainer's events; "batch" = one iteration).
        checkpoint: {"path": ..., "every_steps": iterations, "every_seconds": ...}.
        doctor: Diagnose the run (exploding value loss, collapsed entropy, no progress): True, False or
            {"live": bool}.
        progress: Show live progress (steps, episodes, mean return, entropy or epsilon, ETA).

    Example:
        >>> from neuronet.rl import PPO
        >>> agent = PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=32, n_epochs=1)
        >>> history = RLTrainer(agent, steps=64, log_every=32, progress=False).fit()
        >>> [r["steps"] for r in history.epochs]
        [32, 64]
    """

    params = RL_TRAINER_PARAMS
    progress_bar = RLProgress
    doctor_callback = RLDoctor

    def __init__(self, agent: Agent, steps: int = 100_000, log_every: int = 2048, eval_every: int | None = None,
                 eval_episodes: int = 10, target_return: float | None = None, callbacks: Sequence[Callback] = (),
                 checkpoint: dict[str, Any] | None = None, doctor: bool | dict[str, Any] = True,
                 progress: bool = True) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "agent", "__class__")}
        validate_params(RL_TRAINER_PARAMS, given, "RLTrainer")
        if not isinstance(agent, Agent):
            raise ConfigError(f"RLTrainer trains a neuronet.rl agent (PPO, DQN, A2C, REINFORCE); got {type(agent).__name__}.")
        self.hparams = {k: v for k, v in given.items() if k != "callbacks"}
        self.agent, self.model, self.device = agent, agent.policy, agent.device
        self.total_steps, self.eval_every, self.eval_episodes = steps, eval_every, eval_episodes
        self.target_return = target_return
        per = agent.steps_per_iteration
        self.steps_per_epoch = max(1, math.ceil(log_every / per))  # iterations per record
        self.epochs = math.ceil(steps / (per * self.steps_per_epoch))  # records in the whole run
        self.batch = 0  # iterations done in the current record
        self.evaluations: list[dict[str, Any]] = []
        self.task = None
        self._logs: list[dict[str, float]] = []  # the current record's iterations
        self._clock = 0.0  # seconds of training (evaluation excluded) in the current record
        super().__init__(callbacks, checkpoint=checkpoint, progress=progress, doctor=doctor)

    @property
    def steps(self) -> int:
        """Environment steps taken so far."""
        return self.agent.collector.steps

    @property
    def last_iteration(self) -> dict[str, float]:
        """The numbers the latest iteration of the current record reported (loss, entropy or epsilon, lr...);
        {} at the start of a record."""
        return self._logs[-1] if self._logs else {}

    # --- the loop ------------------------------------------------------------------------------
    def fit(self) -> History:
        """Train until `steps` environment steps are taken (or a callback stops it); returns the History."""
        self.agent.setup(self.total_steps)
        with self.fitting():  # the RNGs forked (the user's own are left alone), before_fit ... after_fit
            if self._logs and (self.batch >= self.steps_per_epoch or self.steps >= self.total_steps):
                self.end_epoch()  # resumed from a checkpoint taken after a record's last iteration
            first = True
            while self.steps < self.total_steps and not self.stop_training:
                if self.batch == 0 or first:  # a run resumed mid-record starts its record again too
                    self.emit("before_epoch")
                    first = False
                self.train_iteration()
                if self.batch >= self.steps_per_epoch or self.steps >= self.total_steps:
                    self.end_epoch()
        return self.history

    def train_iteration(self) -> None:
        """One `agent.iteration()` between the batch events; a NaN / infinite loss stops training."""
        self.emit("before_batch")
        start = time.perf_counter()
        logs = self.agent.iteration()
        self._clock += time.perf_counter() - start
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.diverged = {"epoch": self.epoch + 1, "batch": self.batch + 1, "value": loss, "lr": logs.get("lr")}
            raise TrainingDivergedError(f"The {self.agent.name} loss became {loss} at step {self.steps}; try a smaller "
                                        f"agent.lr (now {logs.get('lr')}) or max_grad_norm.")
        self._logs.append(logs)
        self.batch += 1
        self.emit("after_batch", loss if loss is not None else math.nan)

    def end_epoch(self) -> None:
        """Make the record (means of the iterations' numbers, the episodes' returns), evaluate when due."""
        collector = self.agent.collector
        keys = list(dict.fromkeys(k for logs in self._logs for k in logs))
        means = {k: sum(v) / len(v) for k in keys
                 if (v := [logs[k] for logs in self._logs if k in logs and math.isfinite(logs[k])])}
        last = self._logs[-1]
        record: dict[str, Any] = {"epoch": self.epoch + 1, "steps": self.steps, "episodes": collector.episodes,
                                  "mean_return": collector.mean_return, "mean_length": collector.mean_length, **means}
        for key in ("lr", "epsilon"):  # schedules: the value now, not the record's mean
            if key in last:
                record[key] = last[key]
        record["time"] = self._clock
        record["fps"] = self.batch * self.agent.steps_per_iteration / self._clock if self._clock else math.nan
        if self.eval_every and (self.steps // self.eval_every > (self.steps - self.batch * self.agent.steps_per_iteration)
                                // self.eval_every or self.steps >= self.total_steps):
            result = self.evaluate(self.eval_episodes)
            record.update(eval_return=result["mean_return"], eval_std=result["std_return"])
            self.evaluations.append({"steps": self.steps, **{k: v for k, v in result.items() if k != "lengths"}})
            if self.target_return is not None and result["mean_return"] >= self.target_return:
                self.stop_training = True
        self.epoch += 1
        self.batch, self._logs, self._clock = 0, [], 0.0
        self.history.log_epoch(record)
        self.emit("after_epoch", record)

    # --- evaluation and persistence (the shell writes the shared part and the files) ---------------
    def evaluate(self, episodes: int = 10, seed: int | None = None) -> dict[str, Any]:
        """The greedy policy's returns over `episodes` seeded episodes (see `evaluate_policy`)."""
        seed = self.agent.seed + EVAL_SEED if seed is None else seed
        self.model.eval()
        try:
            return evaluate_policy(self.agent.act, self.agent.env_spec, episodes, seed, device=self.device)
        finally:
            self.model.train()

    def state_dict(self) -> dict[str, Any]:
        """The agent's state, the loop's position, the history and every callback's state."""
        return {"agent": self.agent.state_dict(), "batch": self.batch, "logs": self._logs, "clock": self._clock,
                "evaluations": self.evaluations, **super().state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; `fit` then continues where it was."""
        self.agent.load_state_dict(state["agent"])
        self.batch = int(state["batch"])
        self._logs, self._clock = list(state["logs"]), float(state["clock"])
        self.evaluations = list(state["evaluations"])
        super().load_state_dict(state)


def _register() -> None:
    from neuronet.train import TRAINERS

    if "reinforcement" not in TRAINERS:
        TRAINERS.add("reinforcement", RLTrainer, "An agent acting in an environment: collect experience, learn, repeat.")


_register()
