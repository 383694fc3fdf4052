"""Diagnoses of the data before training: a rare class, rows shared between splits, constant
features, a feature that gives the target away.

They read prepared splits (tensors, as the model sees them), so a duplicate is a row that the
model cannot tell from a training row, whatever its raw spelling was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuronet.datasets import Dataset
from neuronet.doctor.findings import Finding, sort_findings

__all__ = ["diagnose_data"]

RARE_SHARE = 0.1      # the rarest class has under a tenth of the commonest one's examples
LEAK_SHARE = 0.01     # over 1% of a held-out split also in training (5% for texts: short ones recur)...
LEAK_ROWS = 3         # ...and at least this many rows
PERFECT = 0.999       # a single feature's held-out accuracy (classification) or |correlation| (regression)
MAX_FEATURES = 300    # tables wider than this: the single-column check reads the first columns


def column_of(feature: str, columns: list[str] | None) -> str:
    """The table column a prepared feature comes from ('daytype=WEEKDAY' -> 'daytype', 'visit_month' -> 'visit')."""
    matches = [c for c in columns or [] if feature == c or feature.startswith((f"{c}=", f"{c}_", f"{c}."))]
    return max(matches, key=len) if matches else feature


def _rows(data: Dataset) -> np.ndarray:
    return np.ascontiguousarray(data.x.detach().cpu().numpy().reshape(len(data), -1))


def imbalance(train: Dataset, balanced: bool = False) -> Finding | None:
    """A class with far fewer training examples than the commonest one."""
    counts = train.class_counts()
    if not counts or len(counts) < 2 or balanced:
        return None
    rare, common = min(counts, key=counts.get), max(counts, key=counts.get)
    if counts[rare] >= RARE_SHARE * counts[common]:
        return None
    return Finding(
        "class_imbalance", "warning", "A class far rarer than the others",
        f"class '{rare}' has {counts[rare]} training examples against {counts[common]} of '{common}' "
        f"({counts[rare] / counts[common]:.1%}).",
        "A network trained on such data can score well by mostly ignoring the rare class; accuracy then hides it "
        "(look at its recall, and at macro-F1).",
        "train.class_weights: balanced, or data.resample: oversample, and judge by macro_f1.",
        values={"counts": counts})


def leakage(train: Dataset, held_out: Dataset | None, split: str) -> Finding | None:
    """Held-out rows identical to training rows: the score on them measures memory, not generalisation."""
    if held_out is None or not len(held_out) or train.layout == "sequence":
        return None  # forecasting windows overlap by construction and are held out with a gap
    seen = {row.tobytes() for row in _rows(train)}
    shared = sum(row.tobytes() in seen for row in _rows(held_out))
    share = shared / len(held_out)
    if shared < LEAK_ROWS or share < (5 * LEAK_SHARE if train.layout == "tokens" else LEAK_SHARE):
        return None
    return Finding(
        "leakage", "error" if share >= 0.1 else "warning", f"Rows shared between training and {split}",
        f"{shared} of the {len(held_out)} {split} examples ({share:.1%}) are identical to training examples "
        "as the model sees them (after preprocessing).",
        f"The {split} score then rewards memorising: it overstates how the model does on new data.",
        "remove duplicate rows before splitting (or split by group: data.group and `neuronet cv --split group`).",
        values={"shared": shared, "rows": len(held_out), "split": split})


def constant_features(train: Dataset, columns: list[str] | None = None) -> Finding | None:
    """Table columns with one value in every training row: they carry no information."""
    if train.layout != "table" or len(train) < 2:
        return None
    rows = _rows(train)
    constant = np.flatnonzero(rows.std(axis=0) == 0)
    if not len(constant):
        return None
    names = train.feature_names or [f"feature {i}" for i in range(rows.shape[1])]
    shown = ", ".join(f"'{names[i]}'" for i in constant[:5]) + (" …" if len(constant) > 5 else "")
    of = [column_of(name, columns) for name in names]
    still = {of[i] for i in range(len(names)) if i not in set(constant)}
    whole = list(dict.fromkeys(of[i] for i in constant if of[i] not in still))  # every feature of it is constant
    fix = (f"leave them out: data.preprocess.ignore: [{', '.join(whole)}]." if whole else
           "nothing to change: they are parts of columns that do vary (a date part, a category), which ignoring would "
           "lose; the model learns to give them no weight.")
    return Finding(
        "constant_feature", "info", "Constant features",
        f"{len(constant)} of {rows.shape[1]} features have the same value in every training row: {shown}.",
        "A column that never changes cannot help predict anything; it only adds weights.", fix,
        values={"features": [names[i] for i in constant]})


def _column_score(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, task: str) -> float:
    """How well one column alone predicts (its features together: a one-hot column has several): the worse of
    its training and held-out scores (a leak is perfect on both; a good column on a small held-out split can be
    perfect there by chance)."""
    if task == "classification":
        from sklearn.tree import DecisionTreeClassifier

        tree = DecisionTreeClassifier(max_leaf_nodes=2 * (int(y.max()) + 1), random_state=0).fit(x, y)
        return min(float((tree.predict(x) == y).mean()), float((tree.predict(xv) == yv).mean()))
    scores = []
    for j in range(x.shape[1]):
        if min(x[:, j].std(), xv[:, j].std(), y.std(), yv.std()) == 0:
            continue
        scores.append(min(abs(float(np.corrcoef(x[:, j], y)[0, 1])), abs(float(np.corrcoef(xv[:, j], yv)[0, 1]))))
    return max(scores, default=0.0)


def target_leak(train: Dataset, held_out: Dataset | None, columns: list[str] | None = None) -> Finding | None:
    """One table column that predicts the target (almost) perfectly: usually the answer leaked into the inputs."""
    if train.layout != "table" or train.task not in ("classification", "regression") or train.y is None:
        return None
    x, y = _rows(train), train.y.cpu().numpy()
    check = held_out if held_out is not None and held_out.y is not None and len(held_out) >= 20 else train
    xv, yv = _rows(check), check.y.cpu().numpy()
    if train.task == "regression":
        y, yv = y[:, 0], yv[:, 0]
        if y.std() == 0:
            return None
    elif np.bincount(yv).max() / len(yv) >= PERFECT:
        return None  # one class only: anything "predicts" it
    names = train.feature_names or [f"feature {i}" for i in range(x.shape[1])]
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(names[:x.shape[1]]):
        groups.setdefault(column_of(name, columns), []).append(j)
    for column, idx in list(groups.items())[:MAX_FEATURES]:
        score = _column_score(x[:, idx], y, xv[:, idx], yv, train.task)
        if score >= PERFECT:
            measure = "accuracy" if train.task == "classification" else "|correlation|"
            return Finding(
                "target_leak", "error", "A single column predicts the target",
                f"'{column}' alone predicts the target with {measure} {score:.4f} on the training rows"
                f"{' and on the held-out rows' if check is not train else ''}.",
                "A column that gives the answer away is usually the target under another name, or something "
                "recorded after the outcome; a model trained with it fails where that column is not known.",
                f"check where '{column}' comes from; leave it out with data.preprocess.ignore: [{column}].",
                values={"feature": column, "score": score})
    return None


def diagnose_data(train: Dataset, val: Dataset | None = None, test: Dataset | None = None,
                  balanced: bool = False, columns: list[str] | None = None) -> list[Finding]:
    """The data findings for prepared splits, most severe first.

    Args:
        train, val, test: Prepared splits (tensors); val and test may be None.
        balanced: Class weights or resampling already handle imbalance (no imbalance finding).
        columns: The raw table's column names, so that a fix names a column, not a prepared feature.

    Example:
        >>> import neuronet as nt
        >>> train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
        >>> diagnose_data(train, val, test)
        []
    """
    found: list[Any] = [imbalance(train, balanced) if train.task == "classification" else None,
                        leakage(train, test, "test"), leakage(train, val, "validation"),
                        constant_features(train, columns), target_leak(train, val if val is not None else test, columns)]
    return sort_findings([f for f in found if f is not None])
