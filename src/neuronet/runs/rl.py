"""Reinforcement-learning runs: config → agent → training → a complete run directory; replaying a trained policy.

The run directory has the supervised layout where it applies: config.yaml, model.json (the
agent and the policy network's spec), model.safetensors (the policy), checkpoint.safetensors
(everything to resume: weights, optimizers, replay buffer, RNGs, environments), history.csv
(one row per record), metrics.json (an evaluation over seeded episodes), plots/, doctor.json,
report.md, status.json.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from neuronet.atomic import atomic_dir, write_text
from neuronet.config import RunConfig, load_config, to_yaml
from neuronet.errors import DataError, TrainingDivergedError
from neuronet.runs.files import RunFiles, read_json, write_json

__all__ = ["build_agent", "train_rl_run", "evaluate_rl_run", "load_policy", "is_rl_run"]


def build_agent(config: RunConfig) -> Any:
    """The configured agent (its environments made, its networks built)."""
    from neuronet.rl import AGENTS

    model = None if config.model.type == "auto" else {"type": config.model.type, **config.model.kwargs()}
    return AGENTS.get(config.agent.type)(config.env.spec(), n_envs=config.env.n_envs, model=model, seed=config.seed,
                                         **config.agent.kwargs())


def _resolved(config: RunConfig, agent: Any, trainer: Any) -> str:
    """The config as run: every agent and trainer setting with the value used (defaults included)."""
    data = config.model_dump(mode="json", exclude={"data", "tune"})
    data["agent"] = {"type": agent.name, **{k: v for k, v in agent.hparams.items() if k != "n_envs"},
                     "device": str(agent.device)}
    data["model"] = dict(agent.model_spec)
    data["train"] = {k: v for k, v in trainer.hparams.items() if k not in ("progress", "checkpoint")}
    if config.train.checkpoint:  # the user's own checkpoint settings (the run adds the path)
        data["train"]["checkpoint"] = config.train.checkpoint
    return to_yaml(data)


def _status(files: RunFiles, trainer: Any, status: str, **extra: Any) -> None:
    write_json(files.status, {"status": status, "steps_done": trainer.steps, "epochs_done": trainer.epoch, **extra})


def _trainer(config: RunConfig, agent: Any, files: RunFiles, callbacks: Any, progress: bool) -> Any:
    from neuronet.rl import RLTrainer

    options = config.train_options()
    checkpoint = {"every_steps": None, "every_seconds": 60.0, **(options.pop("checkpoint", None) or {}),
                  "path": str(files.checkpoint), "on_save": lambda t: _saved(files, t)}
    return RLTrainer(agent, callbacks=list(callbacks), checkpoint=checkpoint, progress=progress, **options)


def _saved(files: RunFiles, trainer: Any) -> None:
    write_text(files.history, trainer.history.epochs_csv())
    _status(files, trainer, "running")


def train_rl_run(config: RunConfig | None = None, resume: str | Path | None = None, callbacks: Any = (),
                 progress: bool = True) -> Any:
    """Train an agent as the config says, into a run directory (resumable from its last checkpoint).

    Returns:
        A RunResult (path, metrics, trainer, plan=None, findings).
    """
    from neuronet.rl.envs import env_name
    from neuronet.runs.train import RunInterrupted, RunResult, reopen, run_root

    files = None
    if resume is not None:
        files, config = reopen(resume)
    agent = build_agent(config)
    files = files or RunFiles(run_root(config, f"{env_name(config.env.id)}-{config.agent.type}"))
    trainer = _trainer(config, agent, files, callbacks, progress)
    if resume is None:
        with atomic_dir(files.root) as folder:
            staging = RunFiles(folder)
            write_text(staging.config, _resolved(config, agent, trainer))
            write_json(staging.model, {"task": "reinforcement", **agent.spec()})
            write_json(staging.status, {"status": "created", "steps_done": 0, "epochs_done": 0})
    elif files.checkpoint.is_file():
        trainer.load_checkpoint(files.checkpoint)
    _status(files, trainer, "running")
    start = time.perf_counter()
    try:
        trainer.fit()
    except KeyboardInterrupt:
        _write_findings(files, trainer)
        _status(files, trainer, "interrupted")
        raise RunInterrupted(files.root, trainer.epoch, f"{trainer.steps:,} environment steps") from None
    except TrainingDivergedError as err:
        _write_findings(files, trainer)
        _status(files, trainer, "failed", message=str(err))
        raise TrainingDivergedError(f"{err} Run directory: {files.root}.") from None
    except Exception as err:
        _status(files, trainer, "failed", message=f"{type(err).__name__}: {err}")
        raise
    metrics, findings = _finish(files, trainer, config, time.perf_counter() - start)
    agent.close()
    return RunResult(files.root, metrics, trainer, None, findings)


def _write_findings(files: RunFiles, trainer: Any) -> list[Any]:
    from neuronet.runs.diagnosis import write_findings

    return write_findings(files, trainer, [])


def _finish(files: RunFiles, trainer: Any, config: RunConfig, elapsed: float) -> tuple[dict[str, Any], list[Any]]:
    from neuronet.rl.plots import plot_rl_curves
    from neuronet.runs.report import render_rl_report
    from neuronet.train.checkpoint import atomic_save_file

    agent = trainer.agent
    atomic_save_file(dict(agent.policy.state_dict()), files.weights)
    write_text(files.history, trainer.history.epochs_csv())
    evaluation = trainer.evaluate(trainer.eval_episodes)
    metrics = {"evaluation": evaluation, "steps": trainer.steps, "episodes": agent.collector.episodes,
               "records": trainer.epoch, "train_time_s": sum(r.get("time", 0.0) for r in trainer.history.epochs),
               "wall_time_s": elapsed, "evaluations": trainer.evaluations,
               "resumed_fresh_episodes": agent.collector.resumed_fresh}
    write_json(files.metrics, metrics)
    plots = plot_rl_curves(trainer.history.epochs, trainer.evaluations, files.plots)
    findings = _write_findings(files, trainer)
    n_params = sum(p.numel() for p in agent.policy.parameters() if p.requires_grad)
    rel = [str(p.relative_to(files.root)) for p in plots]
    write_text(files.report, render_rl_report(files.root.name, read_json(files.model), files.config.read_text(),
                                              n_params, trainer.history, metrics, rel, findings,
                                              trainer.doctor is not None))
    _status(files, trainer, "completed")
    return metrics, findings


# --- a trained policy ---------------------------------------------------------------------------------

def is_rl_run(path: str | Path) -> bool:
    """Whether a run directory holds a reinforcement-learning agent (its model.json names one)."""
    model = RunFiles(path).model
    return model.is_file() and "agent" in read_json(model)


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> tuple[Any, RunConfig]:
    """The trained policy of a run, rebuilt as its agent built it, with the config.

    Returns:
        (an agent whose `act` plays the trained policy, the run's config).
    """
    from safetensors.torch import load_file

    files = RunFiles(path)
    files.check_trained()
    config = load_config(files.config)
    config.agent = config.agent.model_copy(update={"device": str(device)})
    agent = build_agent(config)
    agent.policy.load_state_dict(load_file(str(files.weights), device=str(agent.device)))
    agent.policy.eval()
    return agent, config


def evaluate_rl_run(path: str | Path, episodes: int | None = None, seed: int | None = None,
                    record: str | Path | None = None) -> dict[str, Any]:
    """Replay a run's policy over seeded episodes (and record one as a GIF).

    Args:
        path: The run directory.
        episodes: Episodes to play (default: the run's train.eval_episodes).
        seed: Seed of the first episode (default: the one the run's own evaluation used).
        record: Write the first episode as an animated GIF here.
    """
    from neuronet.rl import evaluate_policy, record_episode
    from neuronet.rl.trainer import EVAL_SEED

    agent, config = load_policy(path)
    episodes = episodes or config.train_options().get("eval_episodes", 10)
    seed = config.seed + EVAL_SEED if seed is None else seed
    if episodes < 1:
        raise DataError(f"--episodes must be at least 1. Got {episodes} instead.")
    result = evaluate_policy(agent.act, agent.env_spec, episodes, seed, device=agent.device)
    if record is not None:
        result["recording"] = record_episode(agent.act, agent.env_spec, record, seed=seed, device=agent.device)
    agent.close()
    return result
