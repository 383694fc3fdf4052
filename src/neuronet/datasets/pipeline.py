"""One data pipeline: split → fit every step on the training part → transform every part.

Every fitted step (table preparation, text encoding, feature and target scaling) follows one
protocol, `Preprocessor`, and is stored as JSON. `prepare` is the one function that training,
resuming, cross-validation folds and the examples call; prediction re-applies the stored
`Pipeline` to new inputs.

Example:
    >>> from neuronet.datasets import load
    >>> train, val, test = prepare(load("iris"), val=0.2, test=0.2, seed=0)
    >>> abs(float(train.x.mean())) < 1e-6, len(val)
    (True, 30)
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.preprocessing import Scaler, TargetScaler
from neuronet.datasets.vocab import TextEncoder
from neuronet.errors import ConfigError, DataError
from neuronet.registry import Registry, check_arguments

__all__ = ["PREPROCESSORS", "Pipeline", "Prepared", "Preprocessor", "default_pipeline", "prepare"]

Fold = tuple[np.ndarray, np.ndarray]  # (training rows, held-out rows)


@runtime_checkable
class Preprocessor(Protocol):
    """A fitted step: `fit` learns from the training part only and returns self; `transform`
    maps a Dataset to a Dataset; the state round-trips through JSON. `kind` is its name in
    `PREPROCESSORS`."""

    kind: str

    def fit(self, data: Dataset) -> Preprocessor: ...
    def transform(self, data: Dataset) -> Dataset: ...
    def summary(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Preprocessor: ...


def _table_preprocessor() -> type:
    # scikit-learn (and through it rich) is imported only where a table is prepared.
    from neuronet.datasets.tabular import TablePreprocessor

    return TablePreprocessor


# name -> a function returning the class (so that a pipeline without a table never imports scikit-learn)
def _pretrained_tokenizer() -> Any:
    from neuronet.datasets.tokenizer import PretrainedTokenizer  # imports `tokenizers` only when used

    return PretrainedTokenizer


def _language(name: str) -> Any:
    def step() -> Any:
        from neuronet.datasets import language  # imports `tokenizers` only when used

        return getattr(language, name)

    return step


def _transcripts() -> Any:
    from neuronet.datasets.transcripts import SpeechTranscripts

    return SpeechTranscripts


PREPROCESSORS: Registry[Any] = Registry("preprocessor")
PREPROCESSORS.add("table", _table_preprocessor, "Tables: missing values, categories, dates, scaling, per column.")
PREPROCESSORS.add("text", lambda: TextEncoder, "Texts: vocabulary and length from the training texts, then token ids.")
PREPROCESSORS.add("tokenizer", _pretrained_tokenizer, "Texts for a pretrained network: its own tokenizer, saved with the run.")
PREPROCESSORS.add("corpus_windows", _language("CorpusWindows"), "A corpus: tokenizer learnt on the training text, next-token windows.")
PREPROCESSORS.add("sentence_pairs", _language("SentencePairs"), "Sentence pairs: a tokenizer per side, padded token ids.")
PREPROCESSORS.add("transcripts", lambda: _transcripts(), "Recordings and transcripts: an alphabet from the training "
                  "transcripts, padded waveforms and label ids.")
PREPROCESSORS.add("scaler", lambda: Scaler, "Float features: standard, min-max or robust scaling per feature / channel.")
PREPROCESSORS.add("target_scaler", lambda: TargetScaler, "Regression targets: standardised for training, undone for reports.")


class Pipeline:
    """Preprocessing steps applied in order; `fit` fits each on the output of the previous one.

    Args:
        steps: Preprocessor objects (see `PREPROCESSORS`).
    """

    def __init__(self, steps: list[Preprocessor]) -> None:
        self.steps = list(steps)

    def fit(self, data: Dataset) -> Pipeline:
        """Fit every step on `data` (the training part) and return self."""
        for step in self.steps:
            data = step.fit(data).transform(data)
        return self

    def transform(self, data: Dataset) -> Dataset:
        """Apply every fitted step."""
        for step in self.steps:
            data = step.transform(data)
        return data

    def inverse_target(self, y: torch.Tensor) -> torch.Tensor:
        """Model outputs (or targets) back in the data's own units (identity unless targets were scaled)."""
        for step in reversed(self.steps):
            if hasattr(step, "inverse"):
                y = step.inverse(y)
        return y

    @property
    def language(self) -> Any:
        """The step that turns text into token ids for a language model (`CorpusWindows`: `.tokenizer`) or a
        translator (`SentencePairs`: `.source`, `.target`).

        Raises:
            ConfigError: the pipeline has no such step (the run is not a language or translation run).
        """
        for step in self.steps:
            if step.kind in ("corpus_windows", "sentence_pairs"):
                return step
        raise ConfigError("This run prepares no text for a language or translation model (its preprocessing has "
                          "neither corpus_windows nor sentence_pairs).")

    @property
    def transcripts(self) -> Any:
        """The step that turns recordings and transcripts into waveforms and label ids (`SpeechTranscripts`:
        `.alphabet`).

        Raises:
            ConfigError: the pipeline has no such step (the run is not a speech-to-text run).
        """
        for step in self.steps:
            if step.kind == "transcripts":
                return step
        raise ConfigError("This run prepares no recordings for a speech-to-text model (its preprocessing has no "
                          "transcripts step).")

    def summary(self) -> list[str]:
        """One line per step saying what it does."""
        return [step.summary() for step in self.steps]

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [{"type": step.kind, **step.to_dict()} for step in self.steps]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Pipeline:
        steps = []
        for entry in state["steps"]:
            entry = dict(entry)
            steps.append(PREPROCESSORS.get(entry.pop("type"))().from_dict(entry))
        return cls(steps)

    @classmethod
    def stored(cls, state: dict[str, Any], source: Any) -> Pipeline:
        """The fitted pipeline a run's preprocessing.json holds (`state["pipeline"]`, read from `source`).

        Raises:
            DataError: a step that cannot be rebuilt (an edited file), in one sentence naming `source`.
        """
        try:
            return cls.from_dict(state["pipeline"])
        except (DataError, ConfigError) as err:
            raise DataError(f"{source}: {err}") from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise DataError(f"{source} holds a pipeline that cannot be rebuilt ({type(err).__name__}: "
                            f"{str(err)[:120]}); it was edited: restore it, or train the run again.") from None


def default_pipeline(data: Dataset, scale: str = "standard", preprocess: dict[str, Any] | None = None,
                     scale_target: bool | None = None) -> Pipeline:
    """The steps that suit `data`: tables are prepared per column, texts encoded, float features scaled.

    Args:
        data: The raw data (its layout decides the steps).
        scale: Feature scaling: "standard", "minmax", "robust" or "none".
        preprocess: Options of the table or text step (e.g. {"missing": "median"}, {"max_len": 64}).
        scale_target: Standardise the targets (default: for regression unless scale is "none"; a forecast's
            targets share the series' own scaling).
    """
    options = dict(preprocess or {})
    layout = data.layout
    if data.task == "transcription":  # recordings in, text out: the alphabet learnt on the training part
        if options:
            raise ConfigError(f"data.preprocess does not apply to recordings ('{data.name}'); the alphabet is learnt "
                              "from the training transcripts. Remove it.")
        return Pipeline([_transcripts()()])
    if data.task in ("language_modeling", "seq2seq"):  # texts in, texts out: tokenizers learnt on the training part
        step = _language("CorpusWindows" if data.task == "language_modeling" else "SentencePairs")()
        check_arguments(f"data.preprocess (for {data.task})", options, _params(step))
        return Pipeline([step(**options)])
    if layout == "frame":
        table = _table_preprocessor()
        check_arguments("data.preprocess (for a table)", options, _params(table, exclude=("scale",)))
        steps: list[Preprocessor] = [table(scale=scale, **options)]
    elif layout == "text" and "tokenizer" in options:  # a pretrained network's own word pieces
        name = options.pop("tokenizer")
        check_arguments("data.preprocess (for a pretrained tokenizer)", options, ["max_len"])
        steps = [_pretrained_tokenizer()(name, **options)]
    elif layout == "text":
        check_arguments("data.preprocess (for texts)", options, _params(TextEncoder))
        steps = [TextEncoder(**options)]
    else:
        if options:
            raise ConfigError(f"data.preprocess applies to tables and texts; '{data.name}' holds {layout} tensors "
                              "(use data.scale for them).")
        tied = data.task == "forecasting" and layout == "sequence"  # targets: the series' next values
        steps = [Scaler(scale, target_feature=0 if tied else None)]
    if scale_target is None:
        scale_target = data.task in ("regression", "forecasting") and scale != "none" and not (
            data.task == "forecasting" and layout == "sequence")
    if scale_target:
        steps.append(TargetScaler())
    return Pipeline(steps)


def _params(cls: type, exclude: tuple[str, ...] = ()) -> list[str]:
    return [p for p in inspect.signature(cls).parameters if p not in exclude]


@dataclass
class Prepared:
    """The prepared parts and the fitted pipeline; unpacks as `train, val, test`."""

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    pipeline: Pipeline

    def __iter__(self) -> Iterator[Dataset | None]:
        return iter((self.train, self.val, self.test))


def prepare(data: Dataset, val: float = 0.1, test: float = 0.2, seed: int = 0, fold: Fold | None = None,
            pipeline: Pipeline | None = None, scale: str = "standard", preprocess: dict[str, Any] | None = None,
            scale_target: bool | None = None) -> Prepared:
    """Split `data`, fit the preprocessing on the training part only, and transform every part.

    Args:
        data: Raw data from a loader (`neuronet.datasets.load`).
        val: Validation fraction (of the whole data, or of the fold's training rows).
        test: Test fraction (ignored where the data has an official test set, or with `fold`).
        seed: Seed of the split.
        fold: (training rows, held-out rows) of a cross-validation fold: the held-out rows are
            the test part, validation is carved from the training rows.
        pipeline: An already fitted Pipeline (resuming a run); otherwise `default_pipeline`.
        scale, preprocess, scale_target: Options of `default_pipeline`.

    Returns:
        Prepared(train, val, test, pipeline); a part of size 0 is None.
    """
    if fold is None:
        parts = data.split(val=val, test=test, seed=seed)
    else:
        train, held_val, _ = data.subset(fold[0]).split(val=val, test=0.0, seed=seed)
        parts = (train, held_val, data.subset(fold[1]))
    if pipeline is None:
        pipeline = default_pipeline(data, scale, preprocess, scale_target).fit(parts[0])
    train, val_part, test_part = (None if p is None else pipeline.transform(p) for p in parts)
    return Prepared(train, val_part, test_part, pipeline)
