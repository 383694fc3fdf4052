"""The supervised kind: a model learns from data (classification, regression, forecasting, autoencoders, GANs).

Its training is `neuronet.runs.train`; evaluation, export and the served app follow the
run's task. This module is light: each method imports what it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuronet.errors import ConfigError
from neuronet.rundir.files import RunFiles, read_json
from neuronet.runs.kinds import RunKind, Shown

__all__ = ["Supervised"]


class Supervised(RunKind):
    """Learning from data: a model trained on examples of a data set, scored on held-out ones."""

    name = "supervised"
    description = "A model trained on a data set's examples, scored on its held-out ones."
    progress_word = "epochs"
    server = "neuronet.deploy.serving:serve_model"

    def claims(self, config: Any) -> bool:
        return True

    def owns(self, spec: dict[str, Any]) -> bool:
        return "agent" not in spec

    def train(self, config: Any, resume: Path | None, callbacks: Any = (), progress: bool = True,
              trust_code: bool = False) -> Any:
        from neuronet.runs.train import train_supervised

        return train_supervised(config, resume, callbacks, progress)

    def shown(self, result: Any) -> Shown:
        from neuronet.runs.baselines import baseline_grid, baseline_lines, headline

        test = result.metrics.get("test", {})
        metric = headline(test)
        grid = baseline_grid(test, result.metrics)
        return Shown(lines=[*baseline_lines(result.metrics), *([f"test {metric}: {test[metric]:.4f}"] if metric else [])],
                     notes=list(result.plan.state.get("summary", [])),
                     tables=[("test metrics", test)] if test and grid is None else [],
                     grids=[("test metrics beside the baselines (same test rows)", *grid)] if grid else [])

    def evaluate(self, run: Path, data: Any = None, episodes: int | None = None, seed: int | None = None,
                 record: Path | None = None, trust_code: bool = False) -> Shown:
        from neuronet.runs.evaluate import evaluate_in_full

        if episodes is not None or seed is not None or record is not None:
            raise ConfigError(f"--episodes, --seed and --record apply to reinforcement-learning runs; {run} learned "
                              "from data (evaluate it on its test split, or on --data).")
        from neuronet.runs.baselines import baseline_grid, baseline_lines, check_stored_baselines

        files = RunFiles(run)
        stored = read_json(files.metrics) if files.metrics.is_file() else {}
        check_stored_baselines(stored, files.metrics)
        metrics, worst = evaluate_in_full(run, data)  # rows left out are said as `data:` lines (DataNote)
        title = f"{Path(run).name}: {'test split' if data is None else data}"
        examples = [(f"{title}: the {len(worst)} examples with the most errors", list(worst[0]),
                     [list(row.values()) for row in worst])] if worst else []
        shown = {**metrics, "worst": worst} if worst else metrics
        grid = baseline_grid(metrics, stored)  # as stored at training (runs from before baselines have none)
        if grid is None:
            return Shown(tables=[(title, metrics)], grids=examples, data=shown)
        if data is not None:  # the baselines were scored on other rows: not side by side with these
            return Shown(lines=[f"baselines: scored on the run's own test split, not on {data} "
                                f"(`neuronet evaluate {run}` shows them beside the network)"],
                         tables=[(title, metrics)], grids=examples, data=shown)
        return Shown(lines=baseline_lines(stored)[:-1], grids=[(f"{title}, beside the baselines", *grid), *examples],
                     data=shown)

    def info(self, files: RunFiles, status: dict[str, Any]) -> Shown:
        state, model = files.preprocessing_state(), files.model_spec()
        meta = state["data"]
        lines = [f"data: {meta['name']} ({model['task']}, input {tuple(meta['input_shape'])}, "
                 f"{meta['num_outputs']} outputs)", *(f"  {line}" for line in state.get("summary", []))]
        test = read_json(files.metrics).get("test") if files.metrics.is_file() else None
        return Shown(lines=lines, tables=[("test metrics", test)] if test else [])

    def export(self, run: Path, format: str) -> Any:
        from neuronet.runs.kinds import _resolve

        return _resolve("neuronet.deploy.export:export_run")(run, format)  # the serving layer, above this one

    def check_cv(self, config: Any) -> None:
        return None  # every supervised task is checked by cross_validate itself (labels to score)

    def check_tune(self, config: Any) -> None:
        return None

    def explainable(self, files: RunFiles) -> str | None:
        return None if files.weights.is_file() else \
            f"{files.root} has no final weights (it failed or is unfinished), so nothing is explained"

    def report_sections(self, files: RunFiles, model: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, str]]:
        from neuronet.runs.html import supervised_sections

        return supervised_sections(files, model, metrics)

    def check_servable(self, files: RunFiles) -> None:
        files.check_trained()  # final weights: it completed

    def checked(self) -> str:
        from neuronet.doctor.findings import CHECKED

        return CHECKED
