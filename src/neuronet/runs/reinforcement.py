"""The reinforcement kind: an agent acts in an environment (an `env:` section) and is scored by episodes.

Its training is `neuronet.runs.rl`; it is evaluated by replaying seeded episodes and served
as a policy (observations in, actions out). This module is light: each method imports what
it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuronet.errors import ConfigError
from neuronet.rundir.files import RunFiles, read_json
from neuronet.runs.kinds import RunKind, Shown

__all__ = ["Reinforcement"]

EPISODES = ("episodes", "mean_return", "std_return", "min_return", "max_return", "mean_length")


def _episodes(result: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """An evaluation's table, and its mean return ± std in one line."""
    return ({k: result[k] for k in EPISODES},
            f"mean return: {result['mean_return']:.2f} ± {result['std_return']:.2f} over {result['episodes']} episodes")


class Reinforcement(RunKind):
    """An agent acting in an environment, learning from rewards."""

    name = "reinforcement"
    description = "An agent acting in an environment (env:), learning from its rewards; scored by seeded episodes."
    progress_word = "steps"
    server = "neuronet.deploy.serving:serve_policy"

    def claims(self, config: Any) -> bool:
        return getattr(config, "env", None) is not None

    def owns(self, spec: dict[str, Any]) -> bool:
        return "agent" in spec

    def train(self, config: Any, resume: Path | None, callbacks: Any = (), progress: bool = True,
              trust_code: bool = False) -> Any:
        from neuronet.runs.rl import train_rl_run

        return train_rl_run(config, resume, callbacks, progress, trust_code)

    def shown(self, result: Any) -> Shown:
        table, line = _episodes(result.metrics["evaluation"])
        return Shown(lines=[line], tables=[(f"evaluation of {result.path.name}", table)])

    def evaluate(self, run: Path, data: Any = None, episodes: int | None = None, seed: int | None = None,
                 record: Path | None = None, trust_code: bool = False) -> Shown:
        from neuronet.runs.rl import evaluate_rl_run

        if data is not None:
            raise ConfigError(f"{run} is a reinforcement-learning run: it is evaluated in its environment, not on "
                              "--data; use --episodes / --seed / --record.")
        result = evaluate_rl_run(run, episodes, seed, record, trust_code=trust_code)
        table, line = _episodes(result)
        lines = [line] + ([f"recorded: {record} ({result['recording']['frames']} frames, return "
                           f"{result['recording']['return']:g})"] if record is not None else [])
        return Shown(lines=lines, tables=[(f"{Path(run).name}: {result['episodes']} episodes", table)], data=result)

    def info(self, files: RunFiles, status: dict[str, Any]) -> Shown:
        model = files.model_spec()
        evaluation = read_json(files.metrics).get("evaluation") if files.metrics.is_file() else None
        lines = [f"agent: {model['agent']} (observations {tuple(model['obs_shape'])}, {model['action_dim']} "
                 f"{'discrete actions' if model['discrete'] else 'action dimensions'})"]
        if not evaluation:
            return Shown(lines=lines)
        table, line = _episodes(evaluation)
        return Shown(lines=[*lines, line], tables=[("evaluation", table)])

    def export(self, run: Path, format: str) -> Any:
        raise ConfigError(f"{run} holds a policy, which is served as it is (no export): serve it with "
                          f"`neuronet serve {run}` (POST /act).")

    def check_cv(self, config: Any) -> None:
        raise ConfigError("Cross-validation splits data into folds; a reinforcement-learning run has no data (it acts "
                          "in env:). Compare seeds instead: train with --set seed=1, seed=2, ...")

    def check_tune(self, config: Any) -> None:
        raise ConfigError("neuronet tune searches supervised runs (it scores trials on validation data); a "
                          "reinforcement-learning config (env:) is not supported yet: compare settings with "
                          "neuronet train --set agent.lr=... runs and their metrics.json.")

    def explainable(self, files: RunFiles) -> str | None:
        return "a reinforcement-learning run has no test split to explain (its report shows its evaluation and curves)"

    def report_sections(self, files: RunFiles, model: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, str]]:
        from neuronet.runs.html import rl_sections

        return rl_sections(files, model, metrics)

    def check_servable(self, files: RunFiles) -> None:
        files.check_trained()  # final weights: it completed

    def checked(self) -> str:
        from neuronet.doctor.findings import CHECKED_RL

        return CHECKED_RL
