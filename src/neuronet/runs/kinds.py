"""Run kinds: what a kind of run is (supervised learning from data, an agent in an environment, ...), as one object.

A kind knows how to train a run of its kind, resume it, evaluate it, summarise it for
`neuronet info`, serve it, and what `cv`, `tune` and `export` do with it (or the one sentence
saying they do not apply). The run layer and the command line ask the kind; they never test
which kind a run is. The kind is chosen in one place: from a config (`kind_for_config`: the
`kind:` key, else the first registered kind that claims it) or from a run directory
(`kind_of_run`: model.json names it).

Adding a kind is one class and one registration:

    class Constant(RunKind):
        name = "constant"
        ...
    KINDS.add("constant", Constant)

This module is light (no torch): `neuronet info` and serving read it. Each kind imports its
heavy parts inside its methods.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from neuronet.errors import ConfigError
from neuronet.registry import Registry
from neuronet.rundir.files import RunFiles, read_json

__all__ = ["RunKind", "Shown", "KINDS", "kind_for_config", "kind_of_run", "train_run"]


@dataclass
class Shown:
    """What the command line prints of a result: lines (stdout), notes (`data:` lines on stderr), tables
    (metric and value), grids (a title, column names and rows of text cells).

    Kinds fill it; the command line prints it the same way for every kind.
    """

    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    data: Any = None  # what --json prints
    grids: list[tuple[str, list[str], list[tuple[str, ...]]]] = field(default_factory=list)  # (title, columns, rows)


class RunKind:
    """The base of every kind of run: what the run layer and the command line need from it.

    Subclasses set the class attributes and override the methods that apply; a method that
    does not apply raises a ConfigError saying so in one sentence (the defaults here do).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    progress_word: ClassVar[str] = "epochs"  # what `info` counts: "epochs done: 3", "steps done: 20,480"
    server: ClassVar[str | Callable[..., None] | None] = None  # "module:function" serving a run: f(run, host, port, **options, say=print)

    # --- choosing the kind --------------------------------------------------------------------------------
    def claims(self, config: Any) -> bool:
        """Whether a config without a `kind:` key is of this kind."""
        return False

    def owns(self, spec: dict[str, Any]) -> bool:
        """Whether a run directory whose model.json is `spec` (without a "kind" key: older runs) is of this kind."""
        return False

    # --- what a kind does -----------------------------------------------------------------------------------
    def train(self, config: Any, resume: Path | None, callbacks: Any = (), progress: bool = True,
              trust_code: bool = False) -> Any:
        """Train a new run (config) or continue one (resume) into a run directory; returns a RunResult."""
        raise NotImplementedError

    def shown(self, result: Any) -> Shown:
        """What `neuronet train` prints after training: the headline metrics."""
        return Shown()

    def evaluate(self, run: Path, **options: Any) -> Shown:
        """Evaluate a trained run (`neuronet evaluate` options: data, episodes, seed, record, trust_code)."""
        raise ConfigError(f"A {self.name} run cannot be evaluated.")

    def info(self, files: RunFiles, status: dict[str, Any]) -> Shown:
        """What `neuronet info` shows besides the status, the config and the files."""
        return Shown()

    def export(self, run: Path, format: str) -> Any:
        """Export a trained run for serving (`neuronet export`)."""
        raise ConfigError(f"A {self.name} run is not exported; serve it with `neuronet serve {run}`.")

    def check_cv(self, config: Any) -> None:
        """Raise a ConfigError unless `neuronet cv` applies to this kind."""
        raise ConfigError(f"Cross-validation does not apply to a {self.name} run.")

    def check_tune(self, config: Any) -> None:
        """Raise a ConfigError unless `neuronet tune` applies to this kind."""
        raise ConfigError(f"neuronet tune does not apply to a {self.name} run.")

    def explainable(self, files: RunFiles) -> str | None:
        """None when `neuronet explain` applies to the run, else the reason it does not."""
        return f"a {self.name} run has nothing to explain"

    def report_sections(self, files: RunFiles, model: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, str]]:
        """The sections of report.html (title, HTML)."""
        return []

    def checked(self) -> str:
        """What the training doctor checks for this kind (for `neuronet doctor` when it found nothing)."""
        return "the loss curves"

    def check_servable(self, files: RunFiles) -> None:
        """Raise a DataError unless the run can be served (before anything starts or prints)."""
        files.check()

    def serve(self, run: Path, host: str, port: int, say: Callable[[str], None], **options: Any) -> None:
        """Serve a trained run until stopped, with the kind's `server` (from the serving layer, imported by name)."""
        if self.server is None:
            raise ConfigError(f"A {self.name} run cannot be served.")
        self.check_servable(RunFiles(run))
        serve = _resolve(type(self).server)  # (through the class: a function stays a plain function)
        serve(run, host=host, port=port, say=say, **options)


def _resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """A "module:function" name (a layer above the run layer, imported only when used) or a callable."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _lazy(module: str, name: str) -> Callable[[], RunKind]:
    def make() -> RunKind:
        return getattr(importlib.import_module(module), name)()
    return make


class _Kinds(Registry[Any]):
    """Run kinds by name; an entry is a RunKind subclass (or a function returning an instance)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self._made: dict[str, RunKind] = {}

    def instance(self, name: str) -> RunKind:
        """The kind registered as `name`, made once (an unknown name lists the valid ones)."""
        entry = self.get(name)
        stale = isinstance(entry, type) and not isinstance(self._made.get(name), entry)  # registered anew
        if name not in self._made or stale:
            self._made[name] = entry() if callable(entry) else entry
        return self._made[name]


KINDS = _Kinds("run kind")
KINDS.add("supervised", _lazy("neuronet.runs.supervised", "Supervised"),
          "Learning from data: a model trained on examples, scored on held-out ones.")
KINDS.add("reinforcement", _lazy("neuronet.runs.reinforcement", "Reinforcement"),
          "An agent acting in an environment (an env: section), scored by episodes.")


def kind_for_config(config: Any) -> RunKind:
    """The kind of run a config asks for: its `kind:` key, else the first kind that claims it (the last: supervised).

    Raises:
        ConfigError: an unknown `kind:` (listing the valid ones).
    """
    if getattr(config, "kind", None):
        return KINDS.instance(config.kind)
    kinds = [KINDS.instance(name) for name in KINDS.names()]
    default = KINDS.instance("supervised")
    return next((k for k in kinds if k is not default and k.claims(config)), default)


def kind_of_run(run: str | Path) -> RunKind:
    """The kind of a run directory, from its model.json ("kind", or what the older runs' files show).

    Raises:
        DataError: not a run directory (or one whose files lead out of it).
        ConfigError: a kind this installation does not have.
    """
    files = RunFiles(run)
    files.check()
    spec = read_json(files.model)  # a missing one is one sentence naming it (it used to make any run a supervised one:
    # an RL run's `info` then said "preprocessing.json is missing", its `evaluate --episodes` "learned from data")
    if "kind" in spec:
        kind = spec["kind"]
        if not isinstance(kind, str) or kind not in KINDS.names():
            raise ConfigError(f"{files.model} names the run kind {repr(kind)[:80]}, which this installation does not "
                              f"have; it has {', '.join(KINDS.names())} (was the run made by a newer neuronet, or the "
                              "file edited?).")
        return KINDS.instance(kind)
    kinds = [KINDS.instance(name) for name in KINDS.names()]
    return next((k for k in kinds if k.owns(spec)), KINDS.instance("supervised"))


def _one_process_unless_supervised(kind: RunKind) -> None:
    """Data-parallel training is the supervised kind's (each rank a part of the batch); others run in one process."""
    from neuronet.train.distributed import Ranks

    world = Ranks.from_env().world
    if world > 1 and kind.name != "supervised":
        raise ConfigError(f"A {kind.name} run trains in one process; {world} were started (torchrun / --nproc). "
                          "Train it without them.")


def train_run(config: Any = None, resume: str | Path | None = None, callbacks: Any = (), progress: bool = True,
              trust_code: bool = False) -> Any:
    """Train as the config says (or continue `resume`) and write a complete run directory, with the config's kind.

    Everything is checked (config, data, model, optimizer) before the directory is created. A
    run stopped at any moment (Ctrl-C, SIGTERM, a crash, a killed process) continues from its
    last checkpoint with `resume` and ends with the same weights and history as an
    uninterrupted run.

    Args:
        config: The run config (None: defaults, the digits CNN demo). Ignored with `resume`.
        resume: A run directory to continue from its last checkpoint.
        callbacks: Extra callbacks.
        progress: Show the live progress bar.
        trust_code: With `resume`: allow code the run's config names (an RL environment given as
            'module:function'); a run directory is data, so it is refused without this.

    Returns:
        A RunResult (path, metrics, trainer, plan, findings).

    Raises:
        ConfigError / DataError: bad config or data (nothing written).
        TrainingDivergedError: NaN/inf loss (the last checkpoint is kept).
        RunInterrupted: Ctrl-C, SIGTERM or SIGHUP; the run directory can be resumed.
        RunInUse: another process is writing the run (`resume`).
    """
    if resume is not None:
        kind = kind_of_run(resume)
        _one_process_unless_supervised(kind)
        return kind.train(None, Path(resume), callbacks, progress, trust_code)
    if config is None:
        from neuronet.config import RunConfig

        config = RunConfig()
    kind = kind_for_config(config)
    _one_process_unless_supervised(kind)
    config = config.model_copy(update={"kind": kind.name})  # config.yaml says the kind it ran as
    return kind.train(config, None, callbacks, progress, trust_code)
