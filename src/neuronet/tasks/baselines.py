"""Baselines: fast classical models fitted on a run's training rows and scored on its test rows.

A network that does not beat the majority class, or a linear model on the same inputs, has
learned nothing a few lines of scikit-learn would not. Each task names its baselines
(`Task.baselines`); `fit_baselines` fits them on the training split, scores them with the
task's own metrics on the test split (the same rows, the same label encoding, the data's own
units), and skips one that cannot be fitted with the reason, never failing the run.

Example:
    >>> import torch
    >>> from neuronet.datasets import Dataset
    >>> from neuronet.tasks import Classification
    >>> train = Dataset(torch.tensor([[0.0], [1.0], [2.0], [3.0]]), torch.tensor([0, 0, 1, 1]))
    >>> test = Dataset(torch.tensor([[0.5], [2.5], [3.0]]), torch.tensor([0, 1, 1]))
    >>> found = fit_baselines(Classification(), BaselineRows(train, test))
    >>> round(found.scores["majority"]["accuracy"], 3), found.scores["logistic"]["accuracy"]
    (0.333, 1.0)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from neuronet.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.datasets import Dataset
    from neuronet.tasks.base import InverseTarget, Task

__all__ = ["BASELINES", "Baseline", "BaselineRows", "Baselines", "BaselineSkipped", "fit_baselines", "MAX_ROWS"]

MAX_ROWS = 5000      # training rows a fitted baseline reads at most (a random sample beyond): it stays a few seconds
MAX_ITER = 300       # iterations of the linear solvers
MAX_FEATURES = 4096  # values per example a linear model on images, sounds or series reads (larger images are pooled)


class BaselineSkipped(Exception):
    """A baseline that does not apply to these rows; the message says why."""


@dataclass
class BaselineRows:
    """What a baseline reads: a run's prepared training and test splits and, where the network read
    raw texts or series, the raw rows of the same splits.

    Args:
        train, test: The prepared splits (what the network trained on and was scored on).
        raw_train, raw_test: The same rows before preparation (texts; windows in the data's units), if at hand.
        inverse_target: Undoes the target scaling (targets are scored in the data's own units).
        seed: Seeds the sample of rows a fitted baseline reads when there are more than MAX_ROWS.
    """

    train: Dataset
    test: Dataset
    raw_train: Dataset | None = None
    raw_test: Dataset | None = None
    inverse_target: InverseTarget | None = None
    seed: int = 0


@dataclass(frozen=True)
class Baseline:
    """A baseline: `fit_predict(task, rows)` returns (outputs on the test rows that `task.score` reads, a
    description such as "logistic regression on TF-IDF"), or raises BaselineSkipped.

    `trivial` baselines use no input (the majority class, the mean): a network that only ties one
    has learned nothing.
    """

    fit_predict: Callable[[Any, BaselineRows], tuple[torch.Tensor, str]]
    trivial: bool = False


BASELINES: Registry[Baseline] = Registry("baseline")


@dataclass
class Baselines:
    """The scores of a task's baselines on the test rows, what each one is, and the time they took.

    Attributes:
        scores: {name: {metric: value}}, keyed like the network's test metrics.
        notes: {name: description}, or "skipped: why" for one that was not fitted.
        trivial: The names of the baselines that use no input.
        seconds: Wall time of fitting and scoring them all.
    """

    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    trivial: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """metrics.json's "baselines", "baseline_notes", "baselines_trivial" and "baselines_time_s"."""
        return {"baselines": self.scores, "baseline_notes": self.notes, "baselines_trivial": self.trivial,
                "baselines_time_s": round(self.seconds, 3)}


def fit_baselines(task: Task, rows: BaselineRows) -> Baselines:
    """Fit `task.baselines` on the training rows and score them on the test rows with the task's report metrics.

    A baseline that cannot be fitted (one class only, inputs it cannot read, a solver error) is
    skipped with the reason in `notes`; this function raises nothing for that.
    """
    found, start = Baselines(), time.perf_counter()
    targets = _in_units(task, rows.test.y, rows.inverse_target)
    for name in task.baselines:
        baseline = BASELINES.get(name)
        try:
            with warnings.catch_warnings():  # a solver that stops at MAX_ITER still gives a fair baseline
                warnings.simplefilter("ignore")
                outputs, note = baseline.fit_predict(task, rows)
                found.scores[name] = task.score(outputs, targets)
        except BaselineSkipped as why:
            found.notes[name] = f"skipped: {why}"
            continue
        except Exception as err:  # noqa: BLE001 - a baseline never breaks a run; the reason is kept
            found.notes[name] = f"skipped: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
            continue
        found.notes[name] = note
        if baseline.trivial:
            found.trivial.append(name)
    found.seconds = time.perf_counter() - start
    return found


# --- helpers -------------------------------------------------------------------------------------
def _in_units(task: Task, y: torch.Tensor, inverse_target: InverseTarget | None) -> torch.Tensor:
    """Targets as the network's test metrics read them (class indices; values in the data's own units)."""
    return task.to_data_units(y, y, inverse_target)[1]


def _sample(n: int, seed: int) -> np.ndarray:
    """At most MAX_ROWS row indices of n, a seeded random sample when there are more."""
    if n <= MAX_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_ROWS, replace=False))


def _features(rows: BaselineRows) -> tuple[Any, Any, str, np.ndarray]:
    """Training and test features for a linear model, what they are, and the training rows used.

    Raw texts become TF-IDF vectors (fitted on the training texts); a table its prepared columns;
    images, sounds and series their values flattened and standardised (on the training rows).
    """
    train, test = rows.train, rows.test
    keep = _sample(len(train), rows.seed)
    raw_train, raw_test = rows.raw_train, rows.raw_test
    if raw_train is not None and raw_test is not None and raw_train.layout == "text":
        if len(raw_train) != len(train) or len(raw_test) != len(test):
            raise BaselineSkipped("the raw texts and the prepared rows differ in number")
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=True)
        texts = [str(raw_train.x[i]) for i in keep]
        return vectorizer.fit_transform(texts), vectorizer.transform([str(t) for t in raw_test.x]), "TF-IDF", keep
    if not train.prepared or train.layout == "tokens":
        raise BaselineSkipped(f"{train.layout} inputs are no features for a linear model, and the raw texts are not at hand")
    x_train, x_test, pooled = _pooled(train.x[keep]), _pooled(test.x), ""
    if x_train.shape[1:] != train.x.shape[1:]:  # large images: a linear model on every pixel would take minutes
        pooled = f", pooled to {x_train.shape[-2]}x{x_train.shape[-1]}"
    x_train = x_train.reshape(len(keep), -1).double().cpu().numpy()
    x_test = x_test.reshape(len(test), -1).double().cpu().numpy()
    if train.layout == "table":
        return x_train, x_test, "the prepared columns", keep
    if x_train.shape[1] > MAX_FEATURES:
        raise BaselineSkipped(f"{x_train.shape[1]:,} values per example are too many for a quick linear model")
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    what = "pixels" if train.layout == "image" else "values"
    return scaler.transform(x_train), scaler.transform(x_test), f"the standardised {what}{pooled}", keep


def _pooled(x: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) of more than MAX_FEATURES values averaged down to at most that many (others as they are)."""
    if x.ndim != 4 or x[0].numel() <= MAX_FEATURES:
        return x
    side = max(1, int((MAX_FEATURES / x.shape[1]) ** 0.5))
    return torch.nn.functional.adaptive_avg_pool2d(x.float(), (min(side, x.shape[2]), min(side, x.shape[3])))


def _rows_note(keep: np.ndarray, rows: BaselineRows) -> str:
    n = len(rows.train)
    return f" ({len(keep):,} of {n:,} training rows)" if len(keep) < n else ""


def _class_scores(proba: np.ndarray, classes: np.ndarray, k: int) -> torch.Tensor:
    """Log-probabilities (N, k) over all k classes from a model's over the classes it saw (task.labels reads them)."""
    full = np.full((len(proba), k), 1e-12)
    full[:, classes.astype(int)] = np.maximum(proba, 1e-12)
    return torch.from_numpy(np.log(full)).float()


# --- classification -------------------------------------------------------------------------------
def _majority(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    y = rows.train.y.reshape(-1).cpu().numpy()
    k = max(len(rows.train.class_names or []), int(y.max()) + 1)
    counts = np.bincount(y, minlength=k)  # the most frequent class; ties go to the lowest index, as in sklearn
    proba = np.tile(counts / counts.sum(), (len(rows.test), 1))
    name = (rows.train.class_names or [])[int(counts.argmax())] if rows.train.class_names else str(int(counts.argmax()))
    return torch.from_numpy(np.log(np.maximum(proba, 1e-12))).float(), f"the most frequent training class ({name!r})"


def _logistic(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    from sklearn.linear_model import LogisticRegression

    x_train, x_test, what, keep = _features(rows)
    y = rows.train.y.reshape(-1).cpu().numpy()[keep]
    if len(np.unique(y)) < 2:
        raise BaselineSkipped("the training rows hold a single class")
    model = LogisticRegression(max_iter=MAX_ITER).fit(x_train, y)
    k = max(len(rows.train.class_names or []), int(y.max()) + 1)
    return _class_scores(model.predict_proba(x_test), model.classes_, k), \
        f"logistic regression on {what}{_rows_note(keep, rows)}"


# --- regression -------------------------------------------------------------------------------------
def _mean(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    y = _in_units(task, rows.train.y, rows.inverse_target).double()
    return y.mean(dim=0, keepdim=True).expand(len(rows.test), -1).clone(), "the mean of the training targets"


def _linear(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    from sklearn.linear_model import Ridge

    x_train, x_test, what, keep = _features(rows)
    y = _in_units(task, rows.train.y, rows.inverse_target).double().cpu().numpy()[keep]
    model = Ridge(alpha=1.0).fit(x_train, y)
    out = np.asarray(model.predict(x_test), dtype=np.float64).reshape(len(rows.test), -1)
    return torch.from_numpy(out), f"ridge regression on {what}{_rows_note(keep, rows)}"


# --- forecasting ------------------------------------------------------------------------------------
def _windows(rows: BaselineRows) -> tuple[torch.Tensor, int]:
    """The raw test windows (N, input_len, F) in the data's own units, and the horizon."""
    raw = rows.raw_test
    if raw is None or not raw.prepared or raw.x.ndim != 3 or len(raw) != len(rows.test):
        raise BaselineSkipped("the raw windows of the test rows are not at hand")
    if rows.test.y.ndim != 2:
        raise BaselineSkipped("the targets are not the next values of the series")
    return raw.x.double(), rows.test.y.shape[1]


def _persistence(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    x, horizon = _windows(rows)
    return x[:, -1, :1].expand(-1, horizon).clone(), "the last value of each window, repeated (persistence)"


def _seasonal_naive(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    x, horizon = _windows(rows)
    season = (rows.test.inputs or {}).get("season")
    if not season:
        raise BaselineSkipped("the data names no season (a monthly series' is 12)")
    season = int(season)
    if season > x.shape[1]:
        raise BaselineSkipped(f"the season ({season}) is longer than the window (input_len {x.shape[1]})")
    steps = [x.shape[1] - season + (h % season) for h in range(horizon)]
    return x[:, steps, 0].clone(), f"the value one season ({season} steps) back (seasonal naive)"


# --- reconstruction ---------------------------------------------------------------------------------
def _mean_input(task: Task, rows: BaselineRows) -> tuple[torch.Tensor, str]:
    mean = rows.train.x.double().mean(dim=0, keepdim=True)
    return mean.expand(len(rows.test), *mean.shape[1:]).clone(), "the mean training input, for every input"


# --- language modelling ------------------------------------------------------------------------------
def _ngram(order: int) -> Callable[[Any, BaselineRows], tuple[Any, str]]:
    def fit_predict(task: Task, rows: BaselineRows) -> tuple[Any, str]:
        """Each test window's next tokens scored by an n-gram fitted on the training windows' token stream, with
        at most the window's own tokens as context (as the network reads them)."""
        from neuronet.nn.losses import TokenScores
        from neuronet.tasks.ngram import NGramLM

        vocab = int(rows.train.num_outputs)
        x, y = rows.train.x, rows.train.y
        stream = torch.cat([x.flatten(), y[-1, -1:]])
        model = NGramLM(order).fit([stream[stream != 0].numpy()], vocab)
        nll = torch.zeros(rows.test.y.shape, dtype=torch.float32)
        for i, (xi, yi) in enumerate(zip(rows.test.x, rows.test.y)):
            kept = yi != 0
            row = torch.cat([xi[:1], yi[kept]]).numpy()
            nll[i, kept] = torch.from_numpy(-model.log_probs(row)[1:]).float()
        predicted = torch.full(rows.test.y.shape, -1, dtype=torch.long)  # scores tokens, predicts none
        return TokenScores(nll, predicted), (f"an interpolated Kneser-Ney {order}-gram model of the training tokens"
                                             if order > 1 else "the training tokens' frequencies (a unigram model)")

    return fit_predict


for _name, _baseline, _help in (
        ("unigram", Baseline(_ngram(1), trivial=True), "Token frequencies of the training text (language modelling)."),
        ("ngram", Baseline(_ngram(5)), "An interpolated Kneser-Ney 5-gram model of the training text (language modelling)."),
        ("majority", Baseline(_majority, trivial=True), "The most frequent class of the training rows (classification)."),
        ("logistic", Baseline(_logistic), "Logistic regression on the prepared columns, TF-IDF of the texts, or the "
                                          "standardised pixels (classification)."),
        ("mean", Baseline(_mean, trivial=True), "The mean of the training targets (regression)."),
        ("linear", Baseline(_linear), "Ridge regression on the same features as 'logistic' (regression)."),
        ("persistence", Baseline(_persistence, trivial=True), "The last value of each window (forecasting)."),
        ("seasonal_naive", Baseline(_seasonal_naive, trivial=True), "The value one season back (forecasting)."),
        ("mean_input", Baseline(_mean_input, trivial=True), "The mean training input (reconstruction)."),
):
    BASELINES.add(_name, _baseline, _help)
