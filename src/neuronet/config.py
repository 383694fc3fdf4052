"""The run config: one YAML file, validated by pydantic, with `--set a.b=value` overrides.

A misspelt key is an error that names the closest valid key; an unknown component name
(optimizer, loss, model, ...) lists the valid ones.

Example:
    >>> cfg = RunConfig.model_validate({"train": {"lr": 3e-4}})
    >>> cfg.data.source, cfg.model.type, cfg.train.lr
    ('digits', 'cnn', 0.0003)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from neuronet.datasets import AUGMENTATIONS, DATASETS, SCALINGS, TABLE_SUFFIXES
from neuronet.errors import ConfigError
from neuronet.models import MODELS
from neuronet.nn import LOSSES
from neuronet.optim import OPTIMIZERS, SCHEDULES
from neuronet.registry import Registry, suggest
from neuronet.train import METRICS

__all__ = ["yaml_load", "RunConfig", "DataConfig", "ModelConfig", "TrainConfig", "load_config", "apply_overrides", "to_yaml"]


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-3` as a string; this loader reads it as the float people mean."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def yaml_load(text: str) -> Any:
    """Parse YAML safely (no arbitrary objects), with `1e-3`-style floats."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _known(registry: Registry, name: str | None) -> str | None:
    if name is not None:
        registry.get(name)  # raises ConfigError listing valid names
    return name


class DataConfig(_Strict):
    """Where the data comes from and how it is split and scaled."""

    source: str = Field("digits", description="Built-in data set name, or a path to a .csv / .parquet file.")
    target: str | None = Field(None, description="Target column (files only).")
    text: str | None = Field(None, description="Text column (files only): the inputs are its words.")
    task: Literal["classification", "regression"] | None = Field(None, description="Default: inferred.")
    data_dir: str | None = Field(None, description="Folder of a built-in set's files (fashion_mnist).")
    limit: int | None = Field(None, gt=0, description="Use only the first N training examples (fashion_mnist, tweets).")
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="Other arguments of the data set's loader, e.g. {input_len: 36} for airline.")
    val: float = Field(0.1, ge=0, lt=1, description="Validation fraction.")
    test: float = Field(0.2, ge=0, lt=1, description="Test fraction (ignored where the set has an official test part).")
    preprocess: PreprocessConfig | None = Field(
        None, description="Prepare a CSV/Parquet table: missing values, categories, dates, scaling (files only).")
    group: str | None = Field(None, description="Column that keeps rows together in group k-fold (files with preprocess).")
    resample: Literal["undersample", "oversample"] | None = Field(
        None, description="Balance the classes of the training split by down- or up-sampling.")
    scale: Literal["standard", "minmax", "none"] | None = Field(
        None, description=f"Feature scaling: {', '.join(SCALINGS)} (default: standard; none for autoencoders and GANs).")

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if Path(v).suffix.lower() in TABLE_SUFFIXES or Path(v).is_dir():
            return v  # a table file, or a folder of images (one sub-folder per class)
        return _known(DATASETS, v)

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.val + self.test >= 1:
            raise ValueError(f"val + test must be below 1 so that data is left to train on (got {self.val} + {self.test})")
        return self


class PreprocessConfig(_Strict):
    """How a user's table is prepared (fitted on the training split only; see TablePreprocessor)."""

    missing: Literal["error", "drop", "mean", "median", "most_frequent", "constant"] = "error"
    fill_value: Any = None
    indicators: bool = Field(False, description="Add a 0/1 column per column with missing values.")
    categorical: Literal["onehot", "ordinal"] = "onehot"
    scale: Literal["standard", "minmax", "robust", "none"] = "standard"
    ignore: list[str] = Field(default_factory=list)
    columns: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-column overrides.")


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
    type: str = "cnn"


class ScheduleConfig(_Component):
    """A registered LR schedule (`type`) and its arguments, e.g. {type: step, gamma: 0.5}."""

    _registry: ClassVar[Registry] = SCHEDULES


class EarlyStoppingConfig(_Strict):
    monitor: str = "val_loss"
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0)


class TrainConfig(_Strict):
    """How the model is trained (see `neuronet.Trainer` for each field)."""

    loss: str | None = Field(None, description="Default: cross_entropy for classification, mse for regression.")
    optimizer: str = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    l1: float = Field(0.0, ge=0)
    l2: float = Field(0.0, ge=0)
    batch_size: int = Field(64, gt=0)
    epochs: int = Field(30, gt=0)
    grad_clip: float | None = Field(None, gt=0)
    schedule: ScheduleConfig | None = None
    early_stopping: EarlyStoppingConfig | None = Field(default_factory=EarlyStoppingConfig)
    metrics: list[str] | None = None
    augment: list[dict[str, Any]] = Field(
        default_factory=list, description="Training-batch augmentations, e.g. [{type: hflip}, {type: random_crop, padding: 2}].")
    class_weights: Literal["balanced"] | None = Field(
        None, description="Weight the loss by inverse class frequency of the training split (imbalanced data).")
    optimizer_kwargs: dict[str, Any] = Field(default_factory=dict)
    device: str = "auto"

    _loss = field_validator("loss")(classmethod(lambda cls, v: _known(LOSSES, v)))
    _optimizer = field_validator("optimizer")(classmethod(lambda cls, v: _known(OPTIMIZERS, v)))

    @field_validator("augment")
    @classmethod
    def _augment(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for spec in v:
            _known(AUGMENTATIONS, spec.get("type"))
        return v

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            _known(METRICS, name)
        return v


class RunConfig(_Strict):
    """A whole run: data → model → training → run directory."""

    name: str | None = Field(None, description="Run directory name (default: <data>-<model>-<time>).")
    output_dir: str = Field("runs", description="Where run directories are created.")
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)


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
        valid = _field_names(RunConfig, loc)
        return ConfigError(f"Unknown key '{where}' in {source}.{suggest(str(loc[-1]), valid)} "
                           f"Valid keys there: {', '.join(valid)}.")
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" Got {got!r}."
    return ConfigError(f"Bad value for '{where}' in {source}: {message}.{shown}".replace("..", "."))


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
        node[leaf] = yaml_load(value)
    return raw


def validate(raw: dict[str, Any], source: str = "the config") -> RunConfig:
    """Validate a config dict; pydantic's errors become one clear ConfigError."""
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        cause = err.errors()[0].get("ctx", {}).get("error")
        if isinstance(cause, ConfigError):
            loc = ".".join(map(str, err.errors()[0]["loc"]))
            raise ConfigError(f"{cause} (at '{loc}' in {source})") from None
        raise _explain(err, source) from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML run config (None: the defaults, i.e. the digits CNN demo) and apply overrides.

    Raises:
        ConfigError: missing/unreadable file, bad YAML, unknown key or bad value.
    """
    raw: dict[str, Any] = {}
    source = "the --set overrides" if overrides else "the default config"
    if path is not None:
        path, source = Path(path), str(path)
        if not path.is_file():
            raise ConfigError(f"Config file {path} does not exist; check the path.")
        try:
            raw = yaml_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"Config file {path} is not valid YAML: {err}".replace("\n", " ")) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"Config file {path} must hold a mapping of sections (data, model, train), not a {type(raw).__name__}.")
    return validate(apply_overrides(raw, overrides or []), source)


def to_yaml(config: RunConfig) -> str:
    """The resolved config as YAML text (every default written out)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
