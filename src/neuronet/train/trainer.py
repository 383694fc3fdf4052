"""`Trainer`: fit / evaluate / predict any `torch.nn.Module`, as a thin loop over named steps.

`fit` reads as what it does: set up, then per epoch `train_epoch` (each batch: `train_step`),
`validate`, `end_epoch` (schedule, record, callbacks). The callbacks, the frame of `fit` (RNG
fork, `before_fit` / `after_fit`), checkpoints and weights come from the shell shared with the
other trainers (`neuronet.train.loop.LoopShell`). A parity test checks that `fit` gives the same
weights as a hand-written PyTorch loop; a resume test that a run continued from a mid-epoch
checkpoint ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from neuronet.datasets import Dataset, build_augmentations, class_weights, iterate_batches, num_batches
from neuronet.datasets.augment import augment_layout, check_augmentations
from neuronet.errors import ConfigError, DataError, TrainingDivergedError
from neuronet.nn import loss_fn
from neuronet.optim import Schedule, build_optimizer
from neuronet.params import validate_params
from neuronet.tasks import Task, check_metrics, compute_metrics, get_task, infer_task
import neuronet.train.distributed as distributed
from neuronet.train.callbacks import Callback, EarlyStopping
from neuronet.train.epoch import EpochState
from neuronet.train.history import History
from neuronet.train.lr_find import LRFinderResult, lr_find
from neuronet.train.loop import LoopShell, NonFiniteLoss
from neuronet.train.options import TRAINER_PARAMS, plain, resolve_device
from neuronet.train.precision import Precision
from neuronet.train.unfreeze import GradualUnfreezing, fine_tune_setup, optimizer_params
from neuronet.transfer.freeze import frozen_batchnorm_eval

__all__ = ["Data", "Trainer", "resolve_device"]

Data = Dataset | DataLoader | torch.utils.data.Dataset  # what fit, evaluate and predict take


class Trainer(LoopShell):
    """Train, evaluate and predict with any `nn.Module`.

    Every argument but `model`, `task`, `seed`, `callbacks` and `progress` is also a key of a
    run config's `train:` section, with the same default (the config is derived from this
    signature; a test fails if they drift).

    Args:
        model: The network (moved to `device`).
        task: "classification", "regression", "forecasting", "reconstruction", "generation" or a
            Task (default: the model's own task, else inferred from the data; never from the loss).
        loss: Loss name (see `neuronet.nn.LOSSES`) or a callable `(outputs, targets) -> loss`
            (default: the task's).
        optimizer: Optimizer name (see `neuronet.optim.OPTIMIZERS`) or a built optimizer.
        lr: Learning rate (float > 0).
        batch_size: Examples per mini-batch.
        epochs: Passes over the training data.
        seed: Seeds the data order and the global RNG (dropout, augmentation) of each epoch.
        callbacks: Callback objects (see `neuronet.train.callbacks`), run before the standard ones.
        metrics: Metric names reported each epoch (default: the task's).
        weight_decay: The optimizer's weight decay.
        l1, l2: Penalties `l1 * sum|w|` and `l2 * sum w^2` on weight matrices (not biases).
        grad_clip: Clip the global gradient norm to this value.
        schedule: LR schedule: a name (see `neuronet.optim.SCHEDULES`) or {"type": name, **arguments}.
        optimizer_kwargs: Extra arguments for the optimizer (e.g. `betas`).
        loss_kwargs: Arguments of the loss, e.g. {"delta": 0.5} for huber.
        class_weights: "balanced" (inverse class frequency of the training data) or one weight per class.
        augment: Training-batch augmentations: [{"type": "hflip"}, ...] or a callable (x, y) -> (x, y).
        early_stopping: Stop when validation stops improving: True, or EarlyStopping's arguments
            ({"monitor": "val_loss", "patience": 5, ...}), or an EarlyStopping.
        checkpoint: Save the resumable training state: {"path": ..., "every_steps": ..., "every_seconds": ...}.
        lr_groups: Discriminative learning rates: {parameter-name pattern: lr}; the rest train at `lr`.
        unfreeze: Gradual unfreezing: {epoch: patterns}; matching parameters are frozen before that epoch
            (counted from 1).
        fine_tune: {"head_epochs": 1, "full_epochs": 3, "backbone_lr": lr / 10}: train the output layer
            alone, then every layer (the rest at `backbone_lr`); sets `epochs` to their sum.
        precision: "32", "bf16" (bfloat16 autocast: CPU or GPU) or "16" (float16 with loss scaling: GPU).
        doctor: Diagnose training problems as it runs (see `neuronet.doctor`): True, False, or
            {"every_steps": 50, "live": True}; the findings are in `trainer.doctor.findings`.
        device: "auto", "cpu", "cuda" or a torch.device.
        compile: Train through `torch.compile` (True, or its arguments {"mode", "backend", "fullgraph",
            "dynamic"}): the first steps compile, later ones run the fused code. Evaluation runs the plain model.
        channels_last: Keep 4-D weights and image batches channels-last (NHWC), the layout GPU convolutions are
            fastest in; None (default): on CUDA for a model with 2-D convolutions.
        in_memory: Batch a Dataset by slicing tensors on the device (False: a DataLoader).
        train_metrics: Also report the metrics on the training batches of each epoch.
        progress: Show a live progress bar.

    Example:
        >>> import neuronet as nt
        >>> train, val, test = nt.datasets.prepare(nt.datasets.load("iris"), seed=0)
        >>> trainer = nt.Trainer(nt.models.MLP(4, 3, seed=0), lr=0.01, epochs=2, progress=False)
        >>> len(trainer.fit(train, val=val)), trainer.task.name
        (2, 'classification')
    """

    params = TRAINER_PARAMS

    def __init__(self, model: nn.Module, task: str | Task | None = None, loss: str | Callable | None = None,
                 optimizer: str | torch.optim.Optimizer = "adam", lr: float = 1e-3, batch_size: int = 32,
                 epochs: int = 10, seed: int = 0, callbacks: Sequence[Callback] = (),
                 metrics: Sequence[str] | None = None, weight_decay: float = 0.0, l1: float = 0.0, l2: float = 0.0,
                 grad_clip: float | None = None, schedule: str | dict[str, Any] | None = None,
                 optimizer_kwargs: dict[str, Any] | None = None, loss_kwargs: dict[str, Any] | None = None,
                 class_weights: str | Sequence[float] | None = None,
                 augment: Sequence[dict[str, Any]] | Callable | None = None,
                 early_stopping: bool | dict[str, Any] | EarlyStopping | None = None,
                 checkpoint: dict[str, Any] | None = None, lr_groups: dict[str, float] | None = None,
                 unfreeze: dict[int, str | list[str]] | None = None, fine_tune: dict[str, Any] | None = None,
                 precision: str = "32", doctor: bool | dict[str, Any] = True, device: str | torch.device = "auto",
                 compile: bool | dict[str, Any] = False, channels_last: bool | None = None,
                 in_memory: bool = True, train_metrics: bool = True, progress: bool = True) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "model", "__class__")}
        validate_params(TRAINER_PARAMS, given, "Trainer")
        self.hparams = {k: plain(v) for k, v in given.items() if k != "callbacks"}
        self.device = resolve_device(device)
        self.ranks = distributed.join(self.device)  # torchrun's processes; one process: rank 0 of 1
        self.channels_last = channels_last if channels_last is not None else (
            self.device.type == "cuda" and any(isinstance(m, nn.Conv2d) for m in model.modules()))
        self.model = model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)  # 4-D weights only
        self.precision = Precision(precision, self.device)
        params = optimizer_params(model, lr, lr_groups)
        recipe: list[Callback] = [GradualUnfreezing(unfreeze)] if unfreeze else []
        if fine_tune:
            epochs, params, tuned = fine_tune_setup(model, fine_tune, lr)
            recipe += tuned
            self.hparams["epochs"] = epochs
        if unfreeze:
            recipe[0].check(model, epochs)  # a bad pattern or epoch is an error now, not when fit starts
        self.batch_size, self.epochs, self.seed = batch_size, epochs, seed
        self.l1, self.l2, self.grad_clip, self.in_memory = l1, l2, grad_clip, in_memory
        self.train_metrics, self.class_weights, self._augment_spec = train_metrics, class_weights, augment
        self._loss_spec, self.loss_kwargs = loss, dict(loss_kwargs or {})
        self._metrics_spec = None if metrics is None else list(metrics)
        self.task: Task | None = None
        self.loss_fn: Callable | None = None
        self.metrics: list[str] = []
        if task is not None or getattr(model, "task", None):
            self.bind_task(get_task(task) or infer_task(model=model))
        if isinstance(optimizer, torch.optim.Optimizer):
            self.optimizer = optimizer
        else:
            self.optimizer = build_optimizer(optimizer, params, lr, weight_decay=weight_decay,
                                             **(optimizer_kwargs or {}))
        spec = {"type": schedule} if isinstance(schedule, str) else dict(schedule or {})
        self.schedule = Schedule(spec.pop("type"), self.optimizer, epochs, **spec) if schedule else None
        if self.ranks.distributed and checkpoint:  # every rank resumes from one file: saved where all ranks agree
            checkpoint = {**checkpoint, "every_steps": None, "every_seconds": None}
        main = self.ranks.main  # the other ranks show nothing, diagnose nothing and save nothing
        super().__init__([*recipe, *callbacks], early_stopping, checkpoint if main else None, progress and main,
                         doctor if main else False)
        self.replica = distributed.replicate(self.model, self.ranks, self.device, compile)  # the module that trains
        self._penalized = [p for p in self.model.parameters() if p.ndim > 1]
        self.steps_per_epoch = 0
        self._epoch = EpochState()
        self.augment: Callable | None = None
        self._device_data: dict[int, tuple[Dataset, Dataset]] = {}  # training data kept on the device

    # --- the task ---------------------------------------------------------------------
    def bind_task(self, task: Task) -> None:
        """Use `task`: its default loss and metrics unless others were given."""
        self.task = task
        name = self._loss_spec if self._loss_spec is not None else task.loss_for(self.model)
        task.check_loss(name)
        self.loss_fn = loss_fn(name, **self.loss_kwargs)
        if isinstance(self.loss_fn, nn.Module):
            self.loss_fn.to(self.device)  # e.g. class weights
        self.metrics = list(task.metrics) if self._metrics_spec is None else self._metrics_spec
        check_metrics(self.metrics, task)
        self.hparams.update(task=task.name, loss=plain(name), metrics=list(self.metrics))

    def _ensure_task(self, data: Any) -> Task:
        if self.task is None:
            self.bind_task(infer_task(data, self.model))
        return self.task

    def setup(self, train: Data) -> None:
        """Bind what needs the training data: the task, class weights, augmentations, the batches per epoch.

        `fit` calls it, then binds the schedule to the batch count (`lr_find` does not: a schedule
        rewrites the optimizer's LRs).

        Raises:
            DataError: `train` holds raw inputs (prepare it first).
            ConfigError: class weights for a task that is not classification.
        """
        if isinstance(train, Dataset) and not train.prepared:
            raise DataError(f"The Trainer needs tensors, but '{train.name}' holds raw {train.layout} inputs; "
                            "prepare it first: nt.datasets.prepare(data).")
        task = self._ensure_task(train)
        if self.class_weights is not None:
            if task.name != "classification":
                raise ConfigError(f"class_weights apply to classification, not to a {task.name} task.")
            weights = class_weights(train) if self.class_weights == "balanced" else torch.as_tensor(self.class_weights)
            self.loss_kwargs["weight"] = weights.float()
            self.bind_task(task)
        if self._augment_spec is not None and self.augment is None:
            spec = self._augment_spec
            if isinstance(train, Dataset) and not callable(spec):
                check_augmentations(spec, augment_layout(train), "augment")
            classes = train.num_outputs if isinstance(train, Dataset) and task.name == "classification" else 0
            self.augment = spec if callable(spec) else build_augmentations(spec, num_classes=classes)
        if isinstance(train, DataLoader):
            self.steps_per_epoch = len(train)
        else:
            shard = -(-len(train) // self.ranks.world)  # each rank's examples (the order padded to a multiple)
            self.steps_per_epoch = num_batches(shard, self.batch_size)

    # --- building blocks ---------------------------------------------------------------
    def penalty(self) -> torch.Tensor | float:
        """The L1 + L2 penalty on weight matrices (0 when both are off)."""
        total: torch.Tensor | float = 0.0
        if self.l1:
            total = total + self.l1 * sum(p.abs().sum() for p in self._penalized)
        if self.l2:
            total = total + self.l2 * sum(p.pow(2).sum() for p in self._penalized)
        return total

    @staticmethod
    def checked(loss: torch.Tensor) -> float:
        """The loss as a float; raises NonFiniteLoss (before any weight changes) when it is NaN or infinite."""
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLoss(value)
        return value

    def auxiliary_loss(self, targets: Any) -> torch.Tensor | None:
        """This trainer's loss on the side outputs of the model's last forward pass, weighted (None: none): a model
        with side heads (Inception's auxiliary classifier) hands them over once, as [(weight, outputs), ...], from
        `auxiliary_outputs()`. They join the training objective only; the reported loss is the main output's."""
        hand_over = getattr(self.model, "auxiliary_outputs", None)
        found = hand_over() if callable(hand_over) else []
        return sum(weight * self.loss_fn(out, targets) for weight, out in found) if found else None

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, Any]:
        """One optimisation step on a batch; returns the data loss (float) and the (detached) outputs."""
        if self.channels_last and isinstance(x, torch.Tensor) and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)  # (B, C, H, W), stored NHWC
        with self.precision.autocast():
            out = self.task.forward(self.replica, x, y) if self.task else self.replica(x)
            targets = self.task.targets(x, y)
            loss = self.loss_fn(out, targets)
            side = self.auxiliary_loss(targets)
        value = self.checked(loss)
        objective = loss
        if side is not None:
            self.checked(side)  # a diverging side head, too, stops training before any weight changes
            objective = objective + side
        objective = objective + self.penalty() if (self.l1 or self.l2) else objective
        self.optimizer.zero_grad(set_to_none=True)
        self.precision.backward(objective)
        if self.grad_clip:
            self.precision.unscale(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip, foreach=True)
        self.precision.step(self.optimizer)
        out = tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()
        return value, self.precision.float32(out)

    # --- data ----------------------------------------------------------------------------
    def batches(self, data: Data, shuffle: bool = False, epoch: int = 0, batch_size: int | None = None,
                start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Mini-batches on the device, from batch `start` on; the order is a function of (seed, epoch) only."""
        ranks = self.ranks if shuffle else distributed.Ranks()  # training: this rank's shard; scoring: everything
        return iterate_batches(data, batch_size or self.batch_size, self.device, self.seed, epoch, shuffle, start,
                               self.in_memory, self._device_data, self.task.collate if self.task else None,
                               ranks.rank, ranks.world)

    # --- the loop --------------------------------------------------------------------------
    @property
    def batch(self) -> int:
        """Batches done in the current epoch."""
        return self._epoch.batch

    def fit(self, train: Data, val: Data | None = None) -> History:
        """Train for the remaining epochs (all of them, or those left after `load_checkpoint`).

        Returns:
            The History: per-epoch losses and metrics, per-iteration losses and LRs.

        Raises:
            TrainingDivergedError: the loss became NaN/inf; the weights are those before that step.
        """
        self.setup(train)
        if self.schedule is not None:
            self.schedule.bind(self.steps_per_epoch)
        with self.fitting():  # the RNGs forked (the user's own are left alone), before_fit ... after_fit
            while self.epoch < self.epochs and not self.stop_training:
                try:
                    logs = self.train_epoch(train)
                except RuntimeError as err:
                    lost = distributed.lost_peer(err, self.ranks, self.epoch) or _not_compiled(err)
                    if lost is None:
                        raise
                    raise lost from None
                if val is not None:
                    logs.update(self.validate(val))
                self.end_epoch(logs)
        return self.history

    def train_epoch(self, train: Data) -> dict[str, Any]:
        """One pass over the training data (or the rest of it, when resumed mid-epoch); the epoch's record."""
        state = self._epoch
        state.started = time.perf_counter()
        state.restore_or_seed_rng(self.seed * 1_000_003 + self.epoch + 7_919 * self.ranks.rank, self.device)
        self.model.train()
        frozen_batchnorm_eval(self.model)  # frozen (pretrained) batch norms keep their statistics
        self.emit("before_epoch")
        per_step = self.schedule is not None and self.schedule.interval == "step"
        keep = self.train_metrics and (self.task is None or self.task.train_metrics) and bool(self.metrics)
        before, after = self.callbacks_for("before_batch"), self.callbacks_for("after_batch")
        lr = self.optimizer.param_groups[0]["lr"]
        for x, y in self.batches(train, shuffle=True, epoch=self.epoch, start=state.batch):
            for cb in before:
                cb.before_batch(self)
            seen = y
            if self.augment is not None:
                x, y = self.augment(x, y)
                seen = y.argmax(dim=1) if y.is_floating_point() and self.task.name == "classification" else y
            if per_step:
                lr = self.optimizer.param_groups[0]["lr"]  # the LR this step uses
            try:
                loss, out = self.train_step(x, y)
            except NonFiniteLoss as bad:
                self._diverged(bad.value)
            if per_step:
                self.schedule.step()
            if keep:
                seen = self.task.targets(x, seen)
            state.add(loss, lr, self.task.compact(out, seen) if keep else None, seen if keep else None)
            for cb in after:
                cb.after_batch(self, loss)
        if self.ranks.distributed:  # each step's loss, and the outputs, of the whole global batch
            state.losses = distributed.all_mean(state.losses, self.ranks).tolist()
        logs: dict[str, Any] = {"epoch": self.epoch + 1, "train_loss": sum(state.losses) / max(1, len(state.losses))}
        if keep and state.outputs:
            out, targets = self.task.join(state.outputs), self.task.join(state.targets)
            out, targets = distributed.gather_rows(out, self.ranks), distributed.gather_rows(targets, self.ranks)
            logs.update(compute_metrics(self.metrics, out, targets, self.task, "train_"))
        logs.update(self.epoch_logs())
        return logs

    def validate(self, val: Data) -> dict[str, float]:
        """Loss and metrics on the validation data, as val_* entries."""
        return {f"val_{k}": v for k, v in self.evaluate(val).items()}

    def end_epoch(self, logs: dict[str, Any]) -> None:
        """Record the epoch, step an epoch-wise schedule, and let the callbacks see the record."""
        state = self._epoch
        logs["time"] = state.seconds()
        self.history.log_steps(self.epoch + 1, state.losses, state.lrs)
        self.epoch += 1
        self._epoch = EpochState()
        if self.schedule is not None and self.schedule.interval == "epoch":
            self.schedule.step(logs.get(self.schedule.monitor) if self.schedule.monitor else None)
        logs["lr"] = self.optimizer.param_groups[0]["lr"]
        self.history.log_epoch(logs)  # the same dict: callbacks may add keys
        self.emit("after_epoch", logs)

    def epoch_logs(self) -> dict[str, float]:
        """Extra entries for the epoch record; subclasses (e.g. GANTrainer) add their own."""
        return {}

    def _diverged(self, value: float) -> None:
        epoch, batch = self.epoch + 1, self._epoch.batch + 1
        lr = self.optimizer.param_groups[0]["lr"]
        self.diverged = {"epoch": epoch, "batch": batch, "value": value, "lr": lr}
        kept = (f"the weights from the end of epoch {self.epoch}" if self.epoch else "the initial weights") \
            if batch == 1 else f"the weights after batch {batch - 1} of epoch {epoch}"
        raise TrainingDivergedError(
            f"The training loss became {value} at epoch {epoch}, batch {batch}; training stopped before that step, "
            f"so {kept} are kept. The learning rate ({lr:g}) may be too high: try a smaller one or grad_clip.")

    def lr_find(self, train: Data, **options: Any) -> LRFinderResult:
        """The learning-rate range test on `train`: `neuronet.train.lr_find.lr_find(self, train, **options)`.

        The trainer is left as it was.

        Returns:
            An `LRFinderResult`: lrs, losses, the suggestion (or None, with the reason).
        """
        return lr_find(self, train, **options)

    # --- evaluation and prediction ---------------------------------------------------------
    @torch.no_grad()
    def outputs(self, data: Data) -> tuple[Any, torch.Tensor]:
        """Scoring outputs and targets over a whole data set, in eval mode, in order."""
        task = self._ensure_task(data)
        self.model.eval()
        outs, ys = [], []
        size = getattr(self.model, "eval_batch_size", None) or max(self.batch_size, 1024)  # big networks: smaller
        for x, y in self.batches(data, shuffle=False, batch_size=size):
            target = task.targets(x, y)
            outs.append(task.compact(task.forward(self.model, x, y), target))
            ys.append(target)
        return task.join(outs), task.join(ys)  # e.g. a VAE's (reconstruction, mu, logvar) part by part

    def evaluate(self, data: Data, metrics: Sequence[str] | None = None) -> dict[str, float]:
        """Loss and metrics on `data`: {"loss": ..., "accuracy": ...}."""
        out, y = self.outputs(data)
        with torch.no_grad():
            results = {"loss": float(self.loss_fn(out, y))}
        results.update(compute_metrics(self.metrics if metrics is None else metrics, out, y, self.task))
        return results

    def predict(self, data: Data | torch.Tensor) -> torch.Tensor:
        """Class indices (classification) or values (regression) for every example."""
        return self.task.predictions(self._forward_all(data)) if self.task else self._forward_all(data)

    def predict_proba(self, data: Data | torch.Tensor) -> torch.Tensor:
        """Class probabilities (N, classes); for a one-logit binary model, [1 - p, p]."""
        out = self._forward_all(data)
        return self.task.probabilities(out)

    def _forward_all(self, data: Data | torch.Tensor) -> Any:
        if isinstance(data, torch.Tensor):
            data = torch.utils.data.TensorDataset(data, torch.zeros(len(data)))
        if self.task is None:
            raise ConfigError("This Trainer does not know its task yet; fit it first or pass task=.")
        return self.outputs(data)[0]

    # --- persistence (the shell writes the shared part and the files) ------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, mid-epoch too: weights, optimizer, schedule, position, RNG, history, callbacks."""
        return {"model": dict(self.model.state_dict()), "optimizer": self.optimizer.state_dict(),
                "optimizer_class": type(self.optimizer).__name__,
                "schedule": self.schedule.state_dict() if self.schedule else None, "epoch_state": self._epoch.to_dict(),
                "precision": self.precision.state_dict(), **super().state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; `fit` then continues where it was."""
        self.model.load_state_dict(state["model"])
        saved = state.get("optimizer_class")  # (checkpoints before it was recorded: not checked)
        if saved is not None and saved != type(self.optimizer).__name__:  # torch would load it, then fail to step
            raise ConfigError(f"The checkpoint holds {saved}'s state, but this trainer optimizes with "
                              f"{type(self.optimizer).__name__}; resume with the optimizer it was trained with.")
        self.optimizer.load_state_dict(state["optimizer"])
        for param, kept in self.optimizer.state.items():  # saved contiguous: back to channels-last weights' strides
            for key, value in kept.items():  # (fused optimizers need a moment's strides to equal its weight's)
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    kept[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)
        if self.schedule is not None:
            self.schedule.load_state_dict(state["schedule"])
        self._epoch = EpochState.from_dict(state.get("epoch_state"))
        self.precision.load_state_dict(state.get("precision"))
        super().load_state_dict(state)


def _not_compiled(error: RuntimeError) -> ConfigError | None:
    """torch.compile's failure (no C compiler for inductor on a CPU, an operation it cannot trace) as one sentence."""
    if not type(error).__module__.startswith("torch._dynamo"):
        return None
    first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
    return ConfigError(f"torch.compile could not compile the model ({first}); set train.compile: false, or give "
                       "it what it needs (on a CPU, inductor needs a C++ compiler: apt-get install g++).")
