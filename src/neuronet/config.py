"""The run config: one YAML file, validated by pydantic, with `--set a.b=value` overrides.

The `train:` section is derived from the Trainer's own signature and checked with the
Trainer's own constraint table: one set of defaults (the Trainer's), one set of checks, every
Trainer option settable from YAML. A misspelt key names the closest valid one; an unknown
component name (optimizer, loss, model, ...) lists the valid ones; a key the chosen trainer
does not use is an error, never silently dropped.

Example:
    >>> cfg = RunConfig.model_validate({"train": {"lr": 3e-4}})
    >>> cfg.data.source, cfg.model.type, cfg.train.lr, cfg.train.batch_size
    ('digits', 'auto', 0.0003, None)
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
import typing
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PydanticSchemaGenerationError, TypeAdapter, ValidationError,
                      create_model, field_validator, model_validator)

from neuronet.datasets import SCALINGS, find_source
from neuronet.errors import ConfigError
from neuronet.models import MODELS
from neuronet.paths import check_name
from neuronet.registry import Registry, check_arguments, suggest
from neuronet.tasks import TASKS
from neuronet.train import TRAINER_PARAMS, GANTrainer, Trainer, trainer_for
from neuronet.train.options import check_options

__all__ = ["yaml_load", "RunConfig", "DataConfig", "ModelConfig", "TrainConfig", "EnvConfig", "AgentConfig",
           "TRAIN_SECTION_EXCLUDES",
           "load_config", "apply_overrides", "apply_values", "to_yaml", "model_task"]

# Trainer arguments that live elsewhere in a run config, and why.
TRAIN_SECTION_EXCLUDES = {
    "model": "the model: section",
    "task": "the top-level task: key",
    "seed": "the top-level seed: key (it also seeds the split and the model)",
    "callbacks": "Python objects; the run adds its own (checkpoints, samples)",
    "progress": "the command line's --quiet flag",
}
# Keys that moved, with where they are now.
MOVED = {"data.task": "task (top level)", "data.preprocess.scale": "data.scale"}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-3` as a string; this loader reads it as the float people mean."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


MAX_CONFIG_BYTES = 1024 * 1024  # a config is a page of settings; a megabyte is far more than any needs
MAX_NODES = 100_000  # values in a config once its aliases are expanded
MAX_DEPTH = 64  # levels of nesting


def yaml_load(text: str, source: str = "the config") -> Any:
    """Parse YAML safely (no arbitrary objects), with `1e-3`-style floats, and bounded.

    A config is bounded in size, in depth and in the values its aliases expand to, so that an
    "alias bomb" (a few lines that expand to billions of values) is refused at once.

    Raises:
        ConfigError: invalid YAML, or a config over a bound (each one sentence).
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source} is {len(text):,} characters; a config is at most {MAX_CONFIG_BYTES:,}.")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {err}".replace("\n", " ")) from None
    except RecursionError:
        raise ConfigError(f"{source} is nested more than {MAX_DEPTH} levels deep.") from None
    _check_bounds(data, source)
    return data


def _check_bounds(data: Any, source: str) -> None:
    """Walk `data` as pydantic would, aliases expanded, and stop at MAX_NODES values or MAX_DEPTH levels."""
    stack, seen = [(data, 1)], 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ConfigError(f"{source} expands to more than {MAX_NODES:,} values (YAML aliases repeated inside "
                              "each other?); a config is a page of settings.")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source} is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for pair in node.items() for v in pair)
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _known(registry: Registry, name: str | None) -> str | None:
    if name is not None:
        registry.get(name)  # raises ConfigError listing valid names
    return name


AUTO_MODEL = "auto"  # model.type chosen from the data (see `default_model`)


def model_task(model_type: str) -> str | None:
    """The task a model type declares (autoencoders: reconstruction, GANs: generation), or None."""
    return None if model_type == AUTO_MODEL else getattr(MODELS.get(model_type), "task", None)


def default_model(layout: str, task: str | None) -> str:
    """The model `type: auto` picks for raw data of `layout`: a CNN for images and sounds, an MLP for
    tables, a GRU for text and sequences, an LSTM for a series to forecast, a GPT for a corpus to generate
    from, an encoder-decoder Transformer for sentence pairs, a CTC speech model for recordings with transcripts, CenterNet for boxes and a U-Net for masks."""
    if task == "forecasting":
        return "lstm"
    if task == "transcription" or layout == "speech":
        return "speech_ctc"
    if task in ("detection", "segmentation"):
        return "centernet" if task == "detection" else "unet"
    if task in ("language_modeling", "seq2seq"):
        return "gpt" if task == "language_modeling" else "transformer_seq2seq"
    return {"image": "cnn", "frame": "mlp", "table": "mlp", "text": "gru", "tokens": "gru",
            "sequence": "gru"}.get(layout, "mlp")


class DataConfig(_Strict):
    """Where the data comes from, how it is split, and how it is prepared (fitted on the training split)."""

    source: str = Field("digits", description="Built-in data set name, a .csv / .parquet file, or a folder of images / WAVs.")
    target: str | list[str] | None = Field(None, description="Target column (tables); a list of columns for "
                                                             "multi-output regression.")
    text: str | None = Field(None, description="Text column (tables): the inputs are its words.")
    data_dir: str | None = Field(None, description="Folder of a built-in set's files (fashion_mnist).")
    limit: int | None = Field(None, gt=0, description="Use only the first N examples of the data (a quick trial on a large set).")
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="Other arguments of the loader, e.g. {input_len: 36} for a series.")
    val: float = Field(0.1, ge=0, lt=1, description="Validation fraction.")
    test: float = Field(0.2, ge=0, lt=1, description="Test fraction (ignored where the set has an official test part).")
    preprocess: dict[str, Any] | None = Field(
        None, description="Options of the fitted preparation: for tables {missing, indicators, categorical, ignore, "
                          "columns}, for texts {max_len, min_freq, max_vocab}.")
    group: str | None = Field(None, description="Column that keeps rows together in group k-fold (tables).")
    resample: Literal["undersample", "oversample"] | None = Field(
        None, description="Balance the classes of the training split by down- or up-sampling.")
    scale: Literal["standard", "minmax", "robust", "none"] | None = Field(
        None, description=f"Feature scaling: {', '.join(SCALINGS)} (default: standard; none for autoencoders and GANs).")

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        find_source(v)  # raises ConfigError: an unknown name (listing the valid ones) or a path that is not data
        return v

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.val + self.test >= 1:
            raise ValueError(f"val + test must be below 1 so that data is left to train on (got {self.val} + {self.test})")
        return self


class _Component(BaseModel):
    """`type` names a registered component; every other key is that component's own argument."""

    model_config = ConfigDict(extra="allow")
    _registry: ClassVar[Registry]
    type: str

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _known(cls._registry, v)

    def kwargs(self) -> dict[str, Any]:
        """The component's own arguments (everything but `type`)."""
        return dict(self.model_extra or {})


class ModelConfig(_Component):
    """A registered model (`type`) and its hyper-parameters, e.g. {type: mlp, hidden: [64]}."""

    _registry: ClassVar[Registry] = MODELS
    type: str = Field(AUTO_MODEL, description="A registered model, or auto: chosen from the data (cnn for images "
                                              "and sounds, mlp for tables, gru for text, lstm for a series). Any "
                                              "model also takes `weights`: a safetensors / state-dict file or run "
                                              "directory to start from.")

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return v if v == AUTO_MODEL else _known(cls._registry, v)

    @model_validator(mode="after")
    def _arguments(self) -> ModelConfig:
        if self.type == AUTO_MODEL:  # the arguments are checked once the data has chosen the model
            return self
        accepted = [p for p in inspect.signature(MODELS.get(self.type)).parameters if p not in ("input_shape", "num_outputs")]
        unknown = [k for k in self.kwargs() if k not in [*accepted, "weights"]]
        try:
            check_arguments(f"Model '{self.type}'", unknown, [*accepted, "weights"])
        except ConfigError as err:  # named at its own key, so that the error says which --set (or file) gave it
            raise _located(err, f"model.{unknown[0]}") from None
        _typed_arguments(MODELS.get(self.type), self.model_extra or {}, f"Model '{self.type}'", "model")
        return self


def _typed_arguments(component: Any, arguments: dict[str, Any], what: str, section: str) -> None:
    """Check (and convert in place, as pydantic does: 'false' -> False) each argument against its annotation in
    the component's signature; `pool_first: maybe` would otherwise build a model with a truthy string."""
    try:
        hints = typing.get_type_hints(component.__init__ if isinstance(component, type) else component)
    except (NameError, TypeError):  # an annotation that cannot be resolved here: the component checks itself
        return
    for key, value in arguments.items():
        if key not in hints:
            continue
        try:
            checked = TypeAdapter(hints[key]).validate_python(value)
        except PydanticSchemaGenerationError:  # a type pydantic does not know (a module, a callable)
            continue
        except ValidationError as err:
            hint = hints[key]
            wanted = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
            wanted = wanted.replace("collections.abc.", "")
            reason = err.errors()[0]["msg"][0].lower() + err.errors()[0]["msg"][1:]
            raise _located(ConfigError(f"{what} takes {key} as {wanted}; got {value!r} ({reason})"),
                           f"{section}.{key}") from None
        if checked != value or type(checked) is not type(value) and isinstance(checked, bool):
            arguments[key] = checked


def _train_section() -> type[BaseModel]:
    """The `train:` section: every argument of the Trainer (and of GANTrainer) except TRAIN_SECTION_EXCLUDES.

    Each key defaults to None, meaning "the trainer's own default"; a run writes the values
    its trainer really used into its config.yaml.
    """
    from neuronet.rl.trainer import RLTrainer

    names = [p for p in inspect.signature(Trainer.__init__).parameters if p != "self"]
    names += [p for p in [*GANTrainer.params, *RLTrainer.params] if p not in names]
    fields = {name: (Any, None) for name in names if name not in TRAIN_SECTION_EXCLUDES}
    return create_model("TrainConfig", __base__=_Strict, __doc__="How the model is trained (see neuronet.Trainer).",
                        **fields)


TrainConfig = _train_section()


class TuneConfig(_Strict):
    """The `tune:` section: how `neuronet tune` searches (see neuronet.tune); `neuronet train` ignores it."""

    method: Literal["grid", "random", "bayes"] = Field(
        "bayes", description="grid (every combination), random, or bayes (Optuna's TPE; its GP sampler for "
                             "numeric spaces).")
    trials: int | None = Field(None, gt=0, description="Trials to run (default: the whole grid, else 20).")
    metric: str = Field("val_loss", description="The epoch-record key to optimise, e.g. val_accuracy (with cv: the "
                                                "held-out folds' mean of it).")
    direction: Literal["auto", "minimize", "maximize"] = Field(
        "auto", description="auto: minimise losses and errors, maximise the rest.")
    seed: int | None = Field(None, description="Seed of the sampler (default: the run's seed).")
    space: dict[str, Any] = Field(default_factory=dict, description="{config path: {log_uniform | uniform | int: "
                                                                    "[low, high]} or {choice: [values]}}.")
    pruner: Literal["none", "median", "successive_halving", "hyperband"] = Field(
        "median", description="Stop hopeless trials early, from the metric reported each epoch.")
    cv: int | None = Field(None, ge=2, description="Score each trial by k-fold cross-validation (mean over folds).")

    @field_validator("space")
    @classmethod
    def _space(cls, v: dict[str, Any]) -> dict[str, Any]:
        from neuronet.space import parse_space

        parse_space(v)  # empty choices, low > high, log ranges <= 0: one sentence each
        return v


class DistributedConfig(_Strict):
    """The `distributed:` section: data-parallel training across processes (torchrun + DistributedDataParallel)."""

    processes: int = Field(1, ge=1, le=1024, description="Training processes on this machine: `neuronet train` starts "
                                                         "them with torchrun (as --nproc does); under torchrun, the "
                                                         "processes it started (config.yaml records how many ran).")
    global_batch_size: int | None = Field(None, description="Written by the run: train.batch_size per process x "
                                                            "processes, the examples of one step.")


class EnvConfig(_Strict):
    """The `env:` section: a reinforcement-learning run's environment (Gymnasium)."""

    id: str = Field(..., description="A Gymnasium id (CartPole-v1, Acrobot-v1, MountainCar-v0, LunarLander-v3, ...) or "
                                     "'package.module:function' returning a gymnasium.Env.")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Arguments of the environment.")
    n_envs: int = Field(1, gt=0, description="Environments stepped together (one batch of observations per step).")

    def spec(self) -> dict[str, Any]:
        """The environment spec `neuronet.rl.make_env` takes."""
        return {"id": self.id, "kwargs": dict(self.kwargs)}


def _agents() -> Registry:
    from neuronet.rl import AGENTS

    return AGENTS


class AgentConfig(BaseModel):
    """The `agent:` section: the algorithm (`type`: dqn, reinforce, a2c, ppo) and its hyper-parameters."""

    model_config = ConfigDict(extra="allow")
    type: str = Field("ppo", description="dqn, reinforce, a2c or ppo; every other key is that agent's own argument "
                                         "(lr, gamma, n_steps, ...).")

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _known(_agents(), v.lower() if isinstance(v, str) and v.lower() in _agents() else v)

    @model_validator(mode="after")
    def _arguments(self) -> AgentConfig:
        from neuronet.params import validate_params

        cls = _agents().get(self.type)
        accepted = [p for p in inspect.signature(cls).parameters if p not in ("env", "n_envs", "model", "seed")]
        given = self.kwargs()
        unknown = [k for k in given if k not in accepted]
        where = {"env": "env.id", "n_envs": "env.n_envs", "model": "the model: section", "seed": "the top-level seed"}
        moved = [k for k in unknown if k in where]
        if moved:
            raise _located(ConfigError(f"agent.{moved[0]} belongs in {where[moved[0]]}."), f"agent.{moved[0]}")
        if len(unknown) > 1:  # e.g. --set agent.type=a2c on a PPO config: name every key to remove
            raise _located(ConfigError(f"Agent '{self.type}' has no parameters {', '.join(unknown)}; remove them. "
                                       f"Valid: {', '.join(accepted)}."), f"agent.{unknown[0]}")
        try:
            check_arguments(f"Agent '{self.type}'", unknown, accepted)
        except ConfigError as err:
            raise _located(err, f"agent.{unknown[0]}") from None
        for key, value in given.items():  # one key at a time, so that the error names the right one
            if key in cls.params:
                try:
                    validate_params({key: cls.params[key]}, {key: value}, cls.__name__)
                except ConfigError as err:
                    raise _located(err, f"agent.{key}") from None
        return self

    def kwargs(self) -> dict[str, Any]:
        """The agent's own arguments (everything but `type`)."""
        return dict(self.model_extra or {})


class RunConfig(_Strict):
    """A whole run: data → model → training → run directory."""

    kind: str | None = Field(None, description="The kind of run: supervised (learning from data) or reinforcement (an "
                                               "agent in its env:); default: chosen from the config (`neuronet kinds` "
                                               "lists them).")
    name: str | None = Field(None, description="Run directory name (default: <data>-<model>-<time>).")
    output_dir: str = Field("runs", description="Where run directories are created.")
    seed: int = Field(0, ge=0, lt=2**32, description="Seeds the split, the model's weights and the training order (0 to 2**32 - 1).")
    task: str | None = Field(None, description="classification, regression, forecasting, reconstruction, generation, "
                                               "language_modeling, seq2seq, transcription or "
                                               "reinforcement (default: the model's own, else inferred from the data; "
                                               "reinforcement when there is an env: section).")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    baselines: bool = Field(True, description="Fit classical baselines on the same training rows and score them on "
                                              "the same test rows (majority class and logistic regression, mean and "
                                              "ridge regression, persistence and seasonal naive), reported beside the "
                                              "network's test metrics; false: none.")
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)
    tune: TuneConfig | None = Field(None, description="A hyperparameter search for `neuronet tune` (ignored by train).")
    env: EnvConfig | None = Field(None, description="Reinforcement learning: the environment the agent acts in "
                                                    "(then the task is reinforcement and there is no data: section).")
    agent: AgentConfig | None = Field(None, description="Reinforcement learning: the algorithm and its settings "
                                                        "(default: ppo).")

    @field_validator("task")
    @classmethod
    def _task(cls, v: str | None) -> str | None:
        return _known(TASKS, v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return v if v is None else check_name(v)

    @model_validator(mode="after")
    def _reinforcement(self) -> RunConfig:
        if self.env is None:
            if self.agent is not None or self.task == "reinforcement":
                key = "agent" if self.agent is not None else "task"
                raise _located(ConfigError("A reinforcement-learning run needs an env: section, e.g. env: {id: CartPole-v1}."),
                               key)
            return self
        if self.task not in (None, "reinforcement"):
            raise _located(ConfigError(f"task '{self.task}' cannot have an env: section; an environment makes the task "
                                       "reinforcement (remove task, or the env: section)."), "task")
        if "data" in self.model_fields_set:
            raise _located(ConfigError("A reinforcement-learning run learns from its env:, not from data; remove the "
                                       "data: section."), "data")
        if self.task is None:  # (an assignment validates the model again: only when it changes something)
            self.task = "reinforcement"
        if self.agent is None:
            self.agent = AgentConfig()
        return self

    @model_validator(mode="after")
    def _trainer_options(self) -> RunConfig:
        task = self.task or model_task(self.model.type)
        trainer = trainer_for(task) if task else Trainer
        params = trainer.params if trainer is not Trainer else TRAINER_PARAMS
        for key, value in self.train_options().items():
            if key not in params and self.agent is not None:
                agent_keys = inspect.signature(_agents().get(self.agent.type)).parameters
                hint = f"set agent.{key} instead" if key in agent_keys else "the agent's own settings go in agent:"
                raise _located(ConfigError(
                    f"train.{key} does not apply to a reinforcement-learning run ({hint}); train: takes "
                    f"{', '.join(k for k in params if k not in TRAIN_SECTION_EXCLUDES)}."), f"train.{key}")
            if key not in params:
                raise _located(ConfigError(
                    f"train.{key} does not apply to model '{self.model.type}': {trainer.__name__} trains it with "
                    f"losses and optimizers of its own; remove it. It takes: "
                    f"{', '.join(k for k in params if k not in TRAIN_SECTION_EXCLUDES)}."), f"train.{key}")
            try:
                check_options({key: value}, params, trainer.__name__)
            except ConfigError as err:
                raise _located(err, f"train.{key}") from None
        tune, epochs = self.train.fine_tune, self.train.epochs
        if isinstance(tune, dict) and epochs is not None and epochs != tune.get("head_epochs", 1) + tune.get("full_epochs", 3):
            raise _located(ConfigError(
                f"train.epochs ({epochs}) and train.fine_tune both set the number of epochs; remove train.epochs "
                "(fine_tune trains head_epochs + full_epochs)."), "train.epochs")
        return self

    def train_options(self) -> dict[str, Any]:
        """The train: keys that are set (the rest take the trainer's defaults)."""
        return {k: v for k, v in self.train.model_dump().items() if v is not None}


def _located(err: ConfigError, where: str) -> ConfigError:
    """Mark an error with the config key it is about (`validate` names it)."""
    err.where = where
    return err


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Valid keys at the place `loc` points to (for suggestions)."""
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        candidates = [a for a in (annotation, *getattr(annotation, "__args__", ())) if isinstance(a, type)
                      and issubclass(a, BaseModel)]
        if not candidates:
            return []
        model = candidates[0]
    return list(model.model_fields)


def _explain(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    where = ".".join(map(str, loc))
    if first["type"] == "extra_forbidden":
        if where in MOVED:
            return ConfigError(f"'{where}' in {source} has moved: set {MOVED[where]} instead.")
        valid = _field_names(RunConfig, loc)
        return ConfigError(f"Unknown key '{where}' in {source}.{suggest(str(loc[-1]), valid)} "
                           f"Valid keys there: {', '.join(valid)}.")
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    where = ".".join(str(p) for p in loc if not _TYPE_TAG.fullmatch(str(p)))  # 'data.target', not 'data.target.str'
    shown = "" if isinstance(got, (dict, list)) or got is None else f" Got {got!r:.80}."
    if isinstance(got, bool) and first["type"] == "string_type":
        shown += " (YAML reads yes / no / true / false / on / off as booleans; quote it: 'yes'.)"
    return ConfigError(f"Bad value for '{where}' in {source}: {message}.{shown}".replace("..", "."))


_TYPE_TAG = re.compile(r"(str|int|float|bool|dict|list)(\[.*\])?|function-.*|constrained-.*")


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b=value` overrides (values parsed as YAML) to a nested dict, in place."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"Override {item!r} must look like 'section.key=value', e.g. 'train.lr=3e-4'.")
        *parents, leaf = key.strip().split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {item!r}: '{part}' is not a section.")
        node[leaf] = yaml_load(value, f"The value of --set {item!r:.80}")
    _check_bounds(raw, "The config with its --set values")
    return raw


def apply_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Set `a.b` keys to values as they are, not parsed as YAML (names and paths from the command line)."""
    for key, value in values.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"'{part}' is not a section of the config, so {key} cannot be set.")
        node[leaf] = str(value)
    return raw


def _source_of(loc: str, source: str, overrides: list[str], flags: dict[str, str] | None = None) -> str:
    """Where the value at `loc` came from: the option (--name) or the --set that gave it, else the config file."""
    if loc in (flags or {}):
        return flags[loc]
    for item in reversed(overrides):  # the last --set of a key wins
        key = item.partition("=")[0].strip()
        if loc == key or loc.startswith(key + ".") or key.startswith(loc + "."):
            return f"--set {item}"
    return source


def validate(raw: dict[str, Any], source: str = "the config", overrides: list[str] | None = None,
             flags: dict[str, str] | None = None) -> RunConfig:
    """Validate a config dict; pydantic's errors become one clear ConfigError naming where the value came from.

    Args:
        raw: The config as a dict.
        source: What it was read from (a file name).
        overrides: The --set values applied to it.
        flags: {config key: the command-line option that set it}, e.g. {"name": "--name"}.
    """
    try:
        return RunConfig.model_validate(raw)
    except ConfigError as err:  # raised by a model-level check
        raise ConfigError(f"{err} (in {source})") from None
    except ValidationError as err:
        first = err.errors()[0]
        cause = first.get("ctx", {}).get("error")
        loc = ".".join(map(str, first["loc"]))
        if isinstance(cause, ConfigError):
            loc = getattr(cause, "where", None) or loc
            where = _source_of(loc, source, overrides or [], flags)
            raise ConfigError(f"{cause} (at '{loc}' in {where})" if loc else f"{cause} (in {where})") from None
        raise _explain(err, _source_of(loc, source, overrides or [], flags)) from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                values: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML run config (None: the defaults, i.e. the digits CNN demo) and apply overrides.

    Args:
        path: The YAML file.
        overrides: `a.b=value` strings, each value parsed as YAML (`--set`).
        values: `{"a.b": value}` set as they are, never parsed (`--name`, `--output-dir`).

    Raises:
        ConfigError: missing/unreadable file, bad YAML, a config over its bounds, unknown key or bad value.
    """
    raw: dict[str, Any] = {}
    source = "the default config"
    if path is not None:
        path, source = Path(path), str(path)
        if path.is_dir():
            raise ConfigError(f"Config file {path} is a folder; give a YAML file.")
        if not path.is_file():
            raise ConfigError(f"Config file {path} does not exist{'' if not path.exists() else ' as a regular file'}; "
                              "check the path.")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"Config file {path} is {path.stat().st_size:,} bytes; a config is at most "
                              f"{MAX_CONFIG_BYTES:,}.")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"Config file {path} is not UTF-8 text (byte {err.start}); save it as UTF-8 YAML.") from None
        raw = yaml_load(text, f"Config file {path}") or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"Config file {path} must hold a mapping of sections (data, model, train), not a {type(raw).__name__}.")
    raw = apply_values(apply_overrides(raw, overrides or []), values or {})
    flags = {key: "--" + key.split(".")[-1].replace("_", "-") for key, value in (values or {}).items() if value is not None}
    return validate(raw, source, overrides, flags)


def to_yaml(config: RunConfig | dict[str, Any]) -> str:
    """The config as YAML text."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    return yaml.safe_dump(data, sort_keys=False)
