"""Diagnoses of training from its curves and per-layer statistics: each rule is one small function.

Every rule reads the epoch records (`History.epochs`), the per-step losses (`History.steps`),
the monitor's sampled records (`TrainingMonitor.records`) and, when the loss became NaN,
where it did. A rule returns a `Finding`, or None when the run looks healthy in that respect.
The thresholds are deliberately conservative: healthy runs on digits, iris and
Fashion-MNIST raise no finding (a test checks it), and each rule is tested on a run that has
its problem on purpose.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from neuronet.doctor.findings import Finding, sort_findings

__all__ = ["TrainingEvidence", "diagnose_training", "smoothing_floor", "RULES"]

VANISHING_RATIO = 1e-3  # first / last layer gradient RMS: three orders of magnitude
EXPLODING_RATIO = 1e3
EXPLODING_NORM = 1e4    # a global gradient norm this large: far beyond any well-scaled network's
DEAD_SHARE = 0.5        # a ReLU layer with more than half its units silent on a whole batch
OVERFIT_RISE = 0.25     # validation loss this far above its minimum...
OVERFIT_AFTER = 3       # ...at least this many epochs after it


@dataclass
class TrainingEvidence:
    """What the rules read: the run's history and the monitor's records."""

    epochs: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    records: list[dict[str, Any]] = field(default_factory=list)
    diverged: dict[str, Any] | None = None   # {"epoch", "batch", "value", "lr"} when the loss became NaN / inf
    curves: bool = True                      # losses that should fall (not a GAN's adversarial pair)
    lr: float | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the Trainer's arguments (optimizer, early_stopping...)
    model: dict[str, Any] = field(default_factory=dict)    # the model's hyperparameters (hidden, channels...)
    floor: float = 0.0  # the least loss there is: label smoothing's entropy (`smoothing_floor`), else 0

    def __post_init__(self) -> None:
        self.step_losses = [s["loss"] for s in self.steps if math.isfinite(s["loss"])]  # read by several rules
        n = len(self.step_losses)
        # the loss at the start and at the end of training: medians of the first 5% and the last 10% of steps
        self.start_loss = _median(self.step_losses[: max(3, n // 20)]) if n else math.nan
        self.end_loss = _median(self.step_losses[-max(3, n // 10):]) if n else math.nan

    def losses(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.epochs if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]


def smoothing_floor(smoothing: float, classes: int | None) -> float:
    """The least cross-entropy reachable with label smoothing `smoothing` over `classes` classes: the entropy of
    the smoothed target (1 - ε + ε/K on the class, ε/K on each other). 0 without smoothing.

    Example:
        >>> round(smoothing_floor(0.1, 10), 4)  # a perfect model's loss on Fashion-MNIST with smoothing 0.1
        0.5003
    """
    if not smoothing or not classes or classes < 2:
        return 0.0
    on, off = 1 - smoothing + smoothing / classes, smoothing / classes
    return float(-(on * math.log(on) + (classes - 1) * off * math.log(off)))


def _median(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v)]
    return statistics.median(values) if values else math.nan


def _lr_text(e: TrainingEvidence, factor: float) -> str:
    return f"train.lr: {e.lr * factor:.3g}" if e.lr else ("a smaller train.lr" if factor < 1 else "a larger train.lr")


def _faster(e: TrainingEvidence) -> str:
    """A learning rate in the usual range for the optimizer (Adam-like: 1e-3, others 1e-2), at least 10x."""
    adaptive = str(e.options.get("optimizer", "adam")) in ("adam", "adamw", "rmsprop", "adagrad")
    usual = 1e-3 if adaptive else 1e-2
    lr = max(usual, (e.lr or usual) * 10)
    return f"train.lr: {lr:.3g} (usual for {'adaptive optimizers' if adaptive else 'SGD'}; or measure one: " \
           "`neuronet lr-find CONFIG`)" + ("" if adaptive else ", or train.optimizer: adam")


def _bigger(e: TrainingEvidence) -> str:
    """A bigger version of this model, in its own keys."""
    hidden, channels = e.model.get("hidden"), e.model.get("channels")
    parts = []
    if isinstance(hidden, list) and hidden:
        parts.append(f"model.hidden: {[2 * h for h in hidden] + [hidden[-1]]}")
    elif isinstance(hidden, int) and hidden:
        parts.append(f"model.hidden: {2 * hidden}")
    if isinstance(channels, list) and channels:
        parts.append(f"model.channels: {[2 * c for c in channels]}")
    if isinstance(e.model.get("dim"), int):
        parts.append(f"model.dim: {2 * e.model['dim']}")
    return " or ".join(parts)


def diverged(e: TrainingEvidence) -> Finding | None:
    """The loss became NaN or infinite: almost always a learning rate too high."""
    d = e.diverged
    if not d:
        return None
    first = e.records[0] if e.records else None
    if first and first["step"] == 0 and not first["grad_norm"] < EXPLODING_NORM:
        return None  # the gradients were out of bounds before any step: the initialisation, not the rate

    return Finding(
        "lr_too_high", "error", "Learning rate too high (the loss diverged)",
        f"the training loss became {d['value']} at epoch {d['epoch']}, batch {d['batch']} (lr {d['lr']:g}).",
        "Each step overshot the minimum by more than the last, until the numbers overflowed; the run stopped "
        "before that step.", f"{_lr_text(e, 0.01)} (or measure one: `neuronet lr-find CONFIG`), or model.batch_norm: "
        "true.",
        epoch=d["epoch"], values=dict(d))


def _updates(records: list[dict[str, Any]]) -> list[float]:
    return [v["update"] for r in records for v in r["layers"].values() if math.isfinite(v.get("update", math.nan))]


def oscillating(e: TrainingEvidence) -> Finding | None:
    """Steps that move the weights by a large part of their size, or a training loss that ends above its start."""
    losses = e.losses("train_loss")
    steps = e.step_losses
    if not e.curves or e.diverged or len(steps) < 20:
        return None
    first, last = e.start_loss, e.end_loss
    per_step = [_median(_updates([r])) for r in e.records]
    update = max((u for u in per_step if math.isfinite(u)), default=math.nan)
    if last >= 1.05 * first and len(losses) >= 2:
        evidence = (f"the training loss ended at {last:.4g} (median of the last steps), above {first:.4g} at the "
                    f"start; its best epoch was {losses.index(min(losses)) + 1} of {len(losses)}.")
    elif update > 1:
        evidence = (f"a step changed the weights by {update:.2g} times their size (median over layers, largest of "
                    f"the sampled steps; about 1e-3 is typical), and the training loss went from {first:.4g} to "
                    f"{last:.4g}.")
    else:
        return None
    return Finding(
        "lr_too_high", "warning", "Learning rate too high", evidence,
        "Steps too large jump across the valley of the loss instead of descending into it, so the loss bounces, "
        "climbs, or the units die.",
        f"{_lr_text(e, 0.01 if update > 1 else 0.1)} (or measure one: `neuronet lr-find CONFIG`), or a schedule "
        "(train.schedule: cosine).", values={"start_loss": first, "end_loss": last, "update_ratio": update})


def no_progress(e: TrainingEvidence) -> Finding | None:
    """The loss barely moved, and the weights barely moved: a learning rate too low."""
    steps = e.step_losses
    if not e.curves or e.diverged or len(steps) < 20:
        return None
    first, last = e.start_loss, e.end_loss
    updates = _updates(e.records)
    update = _median(updates)
    if not (first > 0 and last > 0.95 * first) or not (updates and update < 1e-4):
        return None
    return Finding(
        "lr_too_low", "warning", "Learning rate too low (no progress)",
        f"the training loss went from {first:.4g} to {last:.4g}, and each step moved the weights by "
        f"{update:.1e} of their size (median; 1e-3 is typical).",
        "The steps are so small that the network hardly changes: training would need far more epochs.",
        _faster(e), values={"start_loss": first, "end_loss": last, "update_ratio": update})


def underfitting(e: TrainingEvidence) -> Finding | None:
    """Both losses stay high and flat: the model is too small, or trained too briefly."""
    train = e.losses("train_loss")
    steps = e.step_losses
    if not e.curves or e.diverged or len(train) < 4 or len(steps) < 20:
        return None
    start, floor = e.start_loss, e.floor  # losses are read above the floor label smoothing sets
    third = max(1, len(train) // 3)
    flat = train[-third - 1] - train[-1] < 0.05 * (train[-third - 1] - floor)
    val = e.losses("val_loss")
    high = train[-1] - floor > 0.5 * (start - floor) and (not val or val[-1] - floor > 0.5 * (start - floor))
    if not (flat and high and train[-1] < 1.05 * start):
        return None
    return Finding(
        "underfitting", "warning", "Underfitting",
        f"the training loss is still {train[-1]:.4g} after {len(train)} epochs, {train[-1] / start:.0%} of the "
        f"{start:.4g} it started at, and improved under 5% over the last {third} epoch(s)"
        + (f"; validation loss {val[-1]:.4g}." if val else "."),
        "The model cannot fit even the training data: it is too small or too constrained, or it needs longer.",
        f"a bigger model{f' ({_bigger(e)})' if _bigger(e) else ''}, more train.epochs, a higher train.lr, less "
        "regularisation (model.dropout, "
        "train.l2).",
        epoch=len(train), values={"start_loss": start, "train_loss": train[-1]})


def overfitting(e: TrainingEvidence) -> Finding | None:
    """Validation loss rising while training loss falls, or a validation loss far above the training loss."""
    val, train = e.losses("val_loss"), e.losses("train_loss")
    if not e.curves or len(val) < OVERFIT_AFTER + 2 or len(train) != len(val):
        return None
    best = val.index(min(val))
    rise = val[-1] / val[best] - 1 if val[best] > 0 else 0.0
    gap = val[-1] - train[-1]
    rising = rise >= OVERFIT_RISE and len(val) - 1 - best >= OVERFIT_AFTER and train[-1] < train[best] < val[-1]
    accuracy = e.epochs[-1].get("train_accuracy"), e.epochs[-1].get("val_accuracy")
    accuracy_gap = accuracy[0] - accuracy[1] if None not in accuracy else None
    wide = val[-1] >= 3 * train[-1] and gap >= 0.1 * e.start_loss and (accuracy_gap is None or accuracy_gap >= 0.05)
    if not (rising or wide):
        return None
    evidence = (f"the validation loss rose {rise:.0%} above its minimum ({val[best]:.4g} at epoch {best + 1}) to "
                f"{val[-1]:.4g} at epoch {len(val)}, while the training loss fell to {train[-1]:.4g}" if rising else
                f"the validation loss ({val[-1]:.4g}) is {val[-1] / max(train[-1], 1e-12):.0f} times the training "
                f"loss ({train[-1]:.4g}) at epoch {len(val)}")
    if accuracy_gap is not None:
        evidence += f"; accuracy {accuracy[0]:.3f} on training, {accuracy[1]:.3f} on validation"
    stopping = bool(e.options.get("early_stopping"))
    dropout = e.model.get("dropout")
    more_dropout = f"model.dropout: {min(0.5, (dropout or 0) + 0.2):.2g}" if isinstance(dropout, (int, float)) else \
        "model.dropout: 0.3"
    return Finding(
        "overfitting", "warning", "Overfitting", evidence + "."
        + (" Early stopping kept the best epoch's weights." if stopping else ""),
        "The network is memorising the training examples instead of learning what generalises to new ones.",
        ("" if stopping else "train.early_stopping: {patience: 5}, ") + f"{more_dropout}, train.l2: 1e-4, "
        "train.augment (images), a smaller model, or more training data.", epoch=best + 1, values={"best_val_loss": val[best], "final_val_loss": val[-1],
                                                          "final_train_loss": train[-1], "best_epoch": best + 1})


def _layer_gradients(e: TrainingEvidence) -> dict[str, float]:
    names: dict[str, list[float]] = {}
    for record in e.records:
        for name, v in record["layers"].items():
            names.setdefault(name, []).append(v["grad"])
    return {name: _median(values) for name, values in names.items()}


def vanishing(e: TrainingEvidence) -> Finding | None:
    """The first layers' gradients are orders of magnitude smaller than the last ones'."""
    grads = _layer_gradients(e)
    if len(grads) < 3:
        return None
    (first, g0), (last, g1) = next(iter(grads.items())), list(grads.items())[-1]
    if not (g1 > 0 and g0 / g1 < VANISHING_RATIO):
        return None
    return Finding(
        "vanishing_gradients", "error" if g0 / g1 < 1e-6 else "warning", "Vanishing gradients",
        f"the first layer's gradients ({first}: {g0:.1e}, median RMS) are {g1 / g0:.1e} times smaller than the "
        f"last layer's ({last}: {g1:.1e}), over {len(grads)} layers.",
        "Each layer multiplies the gradient by its activation's slope; with saturating activations (sigmoid, tanh) "
        "over many layers it shrinks to almost nothing, so the early layers stop learning.",
        "model.batch_norm: true (normalises each layer's input, so the slopes stay useful), or model.activation: relu "
        "with fewer layers, or residual connections (model.type: resnet, for images).",
        layer=first, values={"first_layer": first, "first_grad": g0, "last_layer": last, "last_grad": g1})


def exploding(e: TrainingEvidence) -> Finding | None:
    """Gradients that are infinite, growing by orders of magnitude, or far larger in the first layers."""
    norms = [r["grad_norm"] for r in e.records]
    if not norms:
        return None
    bad = next((r for r in e.records if not math.isfinite(r["grad_norm"])), None)
    grads = _layer_gradients(e)
    ratio = (next(iter(grads.values())) / list(grads.values())[-1]) if len(grads) >= 3 and \
        list(grads.values())[-1] > 0 else 0.0
    quarter = max(1, len(norms) // 4)
    growth = _median(norms[-quarter:]) / _median(norms[:quarter]) if len(norms) >= 8 and _median(norms[:quarter]) > 0 \
        else 0.0
    if bad is not None:
        evidence = f"the gradient norm was {bad['grad_norm']} at step {bad['step']} (epoch {bad['epoch']})."
    elif growth > 1e3:
        evidence = f"the gradient norm grew {growth:.1e} times, from {_median(norms[:quarter]):.3g} to " \
                   f"{_median(norms[-quarter:]):.3g} (medians of the first and last quarter of the sampled steps)."
    elif ratio > EXPLODING_RATIO:
        evidence = f"the first layer's gradients are {ratio:.1e} times larger than the last layer's."
    elif max(norms) > EXPLODING_NORM:
        step = e.records[norms.index(max(norms))]
        evidence = (f"the gradient norm reached {max(norms):.3g} at step {step['step']} (epoch {step['epoch']}); "
                    f"with scaled inputs and targets it usually stays below 10.")
    else:
        return None
    return Finding(
        "exploding_gradients", "error" if bad is not None else "warning", "Exploding gradients", evidence,
        "Gradients multiplied layer after layer by factors above 1 grow out of bounds; the steps they give throw "
        "the weights far away.", f"train.grad_clip: 1.0, {_lr_text(e, 0.1)}, model.batch_norm: true, or a smaller "
        "initialisation.", epoch=bad["epoch"] if bad else None,
        values={"growth": growth, "first_last_ratio": ratio, "max_grad_norm": max(norms)})


def dying_relu(e: TrainingEvidence) -> Finding | None:
    """ReLU units that output 0 for every example of a batch: they no longer learn."""
    last = e.records[-3:]
    dead: dict[str, list[float]] = {}
    for record in last:
        for name, v in record["activations"].items():
            if "dead" in v:
                dead.setdefault(name, []).append(v["dead"])
    shares = {name: sum(v) / len(v) for name, v in dead.items()}
    worst = max(shares, key=shares.get, default=None)
    if worst is None or shares[worst] <= DEAD_SHARE:
        return None
    many = [n for n, s in shares.items() if s > DEAD_SHARE]
    return Finding(
        "dying_relu", "error" if shares[worst] >= 0.9 else "warning", "Dying ReLU",
        f"{shares[worst]:.0%} of the units of {worst} output 0 on every example of a batch (last sampled steps)"
        + (f"; {len(many)} ReLU layers are over {DEAD_SHARE:.0%} dead." if len(many) > 1 else "."),
        "A ReLU unit whose input is negative for every example has zero gradient, so it never recovers: that part "
        "of the network is wasted. Large negative biases or a too-high learning rate push units there.",
        "model.activation: leaky_relu, model.batch_norm: true, a lower train.lr, or a better initialisation.",
        layer=worst, values={"dead_share": shares[worst], "layers": shares})


RULES = (diverged, vanishing, exploding, dying_relu, oscillating, no_progress, underfitting, overfitting)
# A finding left out when one of these was made first: it is their symptom, not a second problem.
EXPLAINED = {"lr_too_low": {"vanishing_gradients", "exploding_gradients", "dying_relu"},
             "underfitting": {"lr_too_high", "lr_too_low", "vanishing_gradients", "exploding_gradients", "dying_relu"},
             "overfitting": {"lr_too_high", "exploding_gradients"}}


def diagnose_training(evidence: TrainingEvidence) -> list[Finding]:
    """Every rule's finding, most severe first (one per kind of problem)."""
    found, codes = [], set()
    for rule in RULES:
        finding = rule(evidence)
        if finding is not None and finding.code in EXPLAINED and codes & EXPLAINED[finding.code]:
            continue  # a finding already made explains this one
        if finding is not None and finding.code not in codes:
            found.append(finding)
            codes.add(finding.code)
    return sort_findings(found)
