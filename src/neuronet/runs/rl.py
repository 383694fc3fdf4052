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

from neuronet.atomic import write_text
from neuronet.config import RunConfig, load_config, to_yaml
from neuronet.errors import DataError
from neuronet.rundir.files import RunFiles, read_json, write_json
from neuronet.runs.lifecycle import restore_checkpoint, run_lifecycle, write_status

__all__ = ["build_agent", "train_rl_run", "evaluate_rl_run", "load_policy"]


def build_agent(config: RunConfig, trusted: bool = True, where: Path | None = None, command: str = "neuronet") -> Any:
    """The configured agent (its environments made, its networks built).

    Args:
        config: The run config.
        trusted: False when the config was read from a run directory without --trust-code: an
            environment named by code ('module:function') is then refused.
        where: The file the config was read from (for the error).
        command: The command that reads it (for the error).
    """
    from neuronet.rl import AGENTS
    from neuronet.rl.envs import check_trusted

    if not trusted:
        check_trusted(config.env.spec(), str(where or "The run's config.yaml"), command)

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
    write_status(files, status, steps_done=trainer.steps, epochs_done=trainer.epoch, **extra)


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
                 progress: bool = True, trust_code: bool = False) -> Any:
    """Train an agent as the config says, into a run directory (resumable from its last checkpoint).

    Args:
        trust_code: With `resume`: allow the run's config.yaml to name an environment by
            'module:function' (Python code that would be imported and called). A config the
            user runs is theirs; a run directory is data, and needs this said.

    Returns:
        A RunResult (path, metrics, trainer, plan=None, findings).
    """
    from neuronet.runs.folder import reopen

    if resume is None:
        return _train(config, None, None, callbacks, progress)
    files, config, lock = reopen(resume)
    try:
        return _train(config, files, lock, callbacks, progress, trusted=trust_code)
    finally:
        lock.release()


def _train(config: RunConfig, files: RunFiles | None, lock: Any, callbacks: Any, progress: bool,
           trusted: bool = True) -> Any:
    import contextlib

    from neuronet.rl.envs import env_name
    from neuronet.runs.folder import RunResult, created, run_root

    agent = build_agent(config, trusted=trusted, where=None if files is None else files.config,
                        command="neuronet train --resume")
    files = files or RunFiles(run_root(config, f"{env_name(config.env.id)}-{config.agent.type}"))
    trainer = _trainer(config, agent, files, callbacks, progress)

    def write(staging: RunFiles) -> None:
        write_text(staging.config, _resolved(config, agent, trainer))
        write_json(staging.model, {"kind": "reinforcement", "task": "reinforcement", **agent.spec()})
        write_status(staging, "created", steps_done=0, epochs_done=0)

    with contextlib.nullcontext(lock) if lock else created(files, write):
        if lock is not None:
            restore_checkpoint(trainer, files)
        start = time.perf_counter()
        with run_lifecycle(files, lambda name, **extra: _status(files, trainer, name, **extra),
                           lambda: _write_findings(files, trainer),
                           lambda: (trainer.epoch, f"{trainer.steps:,} environment steps")):
            trainer.fit()
            metrics, findings = _finish(files, trainer, config, time.perf_counter() - start)
    agent.close()
    return RunResult(files.root, metrics, trainer, None, findings)


def _write_findings(files: RunFiles, trainer: Any) -> list[Any]:
    from neuronet.runs.diagnosis import write_findings

    return write_findings(files, trainer, [], kind="reinforcement")


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

def load_policy(path: str | Path, device: str | torch.device = "cpu", trust_code: bool = False,
                command: str = "load_policy") -> tuple[Any, RunConfig]:
    """The trained policy of a run, rebuilt as its agent built it, with the config.

    Args:
        path: The run directory.
        device: Where the policy runs.
        trust_code: Allow an environment the run's config.yaml names by 'module:function' (code
            that would be imported and called); without it such a run is refused.
        command: How to name what reads the run, in that refusal.

    Returns:
        (an agent whose `act` plays the trained policy, the run's config).
    """
    from neuronet.transfer.weights import load_weights

    files = RunFiles(path)
    files.check_trained()
    config = load_config(files.config)
    config.agent = config.agent.model_copy(update={"device": str(device)})
    agent = build_agent(config, trusted=trust_code, where=files.config, command=command)
    load_weights(agent.policy, files.load_weights(), where=str(files.weights))
    agent.policy.to(agent.device)
    agent.policy.eval()
    return agent, config


def evaluate_rl_run(path: str | Path, episodes: int | None = None, seed: int | None = None,
                    record: str | Path | None = None, trust_code: bool = False) -> dict[str, Any]:
    """Replay a run's policy over seeded episodes (and record one as a GIF).

    Args:
        path: The run directory.
        episodes: Episodes to play (default: the run's train.eval_episodes).
        seed: Seed of the first episode (default: the one the run's own evaluation used).
        record: Write the first episode as an animated GIF here.
        trust_code: Allow an environment named by code in the run's config.yaml (see `load_policy`).
    """
    from neuronet.rl import evaluate_policy, record_episode
    from neuronet.rl.trainer import EVAL_SEED

    if record is not None:
        from neuronet.rundir.files import refuse_run_file

        refuse_run_file(record, "recording")
    agent, config = load_policy(path, trust_code=trust_code, command="neuronet evaluate")
    episodes = episodes or config.train_options().get("eval_episodes", 10)
    seed = config.seed + EVAL_SEED if seed is None else seed
    if episodes < 1:
        raise DataError(f"--episodes must be at least 1. Got {episodes} instead.")
    result = evaluate_policy(agent.act, agent.env_spec, episodes, seed, device=agent.device)
    if record is not None:
        result["recording"] = record_episode(agent.act, agent.env_spec, record, seed=seed, device=agent.device)
    agent.close()
    return result
