"""The Trainer against hand-written PyTorch loops, plus its callbacks, checkpoints and errors."""

import copy
import math

import pytest
import torch
from sklearn import metrics as skm

import neuronet as nt
from neuronet.datasets import Scaler
from neuronet.errors import ConfigError, TrainingDivergedError
from neuronet.tasks import TASKS, compute_metrics


@pytest.fixture(scope="module")
def wine():
    data = nt.datasets.load("wine")
    train, val, test = data.split(val=0.2, test=0.2, seed=0)
    scaler = Scaler().fit(train)
    return scaler.transform(train), scaler.transform(val), scaler.transform(test)


def hand_written_loop(model, train, epochs, batch_size, lr, seed, l2=0.0, grad_clip=None):
    """What a careful user writes: same seed-derived order, PyTorch's fused Adam, same loss."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        x, y = train.x[order], train.y[order]
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            loss = loss_fn(model(xb), yb)
            if l2:
                loss = loss + l2 * sum((p ** 2).sum() for p in model.parameters() if p.ndim > 1)
            opt.zero_grad()
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
    return model


@pytest.mark.parametrize("options", [{}, {"l2": 1e-3}, {"grad_clip": 0.5}])
def test_parity_with_a_hand_written_loop(wine, options):
    train = wine[0]
    model = nt.models.MLP(13, 3, hidden=[16], seed=0)
    reference = hand_written_loop(copy.deepcopy(model), train, epochs=3, batch_size=16, lr=0.01, seed=7, **options)
    trainer = nt.Trainer(model, lr=0.01, batch_size=16, epochs=3, seed=7, progress=False, **options)
    trainer.fit(train)
    for (name, ours), theirs in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(ours, theirs), name
    assert len(trainer.history.steps) == 3 * math.ceil(len(train) / 16)


def test_l1_penalty_is_the_sum_of_absolute_weights():
    model = nt.models.MLP(3, 2, hidden=[4], seed=0)
    trainer = nt.Trainer(model, l1=0.1, l2=0.01, progress=False)
    weights = [model.net[1].weight, model.net[3].weight]
    expected = 0.1 * sum(w.abs().sum() for w in weights) + 0.01 * sum((w ** 2).sum() for w in weights)
    assert float(trainer.penalty().detach()) == pytest.approx(float(expected.detach()), rel=1e-6)


class _SideHead(torch.nn.Module):
    """A network with a side head on its hidden layer (as Inception's auxiliary classifier), whose outputs it hands
    to the Trainer once through `auxiliary_outputs`."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.body, self.head, self.side = torch.nn.Linear(13, 8), torch.nn.Linear(8, 3), torch.nn.Linear(8, 3)
        self.scale, self.kept = scale, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.body(x))
        self.kept = [self.side(hidden) * self.scale] if self.training else []
        return self.head(hidden)

    def auxiliary_outputs(self) -> list:
        found, self.kept = self.kept, []
        return [(0.5, out) for out in found]


def test_auxiliary_outputs_join_the_objective_but_not_the_reported_loss(wine):
    x, y = wine[0].x, wine[0].y
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = _SideHead()
    hand = copy.deepcopy(model)
    loss_fn = torch.nn.CrossEntropyLoss()
    main = loss_fn(hand(x), y)
    (main + 0.5 * loss_fn(hand.auxiliary_outputs()[0][1], y)).backward()
    trainer = nt.Trainer(model, task="classification", optimizer="sgd", lr=0.1, progress=False, doctor=False)
    assert trainer.train_step(x, y)[0] == pytest.approx(main.item(), rel=1e-6)
    for name, ours in model.named_parameters():
        theirs = dict(hand.named_parameters())[name]
        assert torch.allclose(ours, (theirs - 0.1 * theirs.grad).detach(), atol=1e-6), name
    assert model.kept == [] and trainer.auxiliary_loss(y) is None  # handed over once
    model.scale = math.inf  # a diverging side head stops training before the weights change
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDivergedError, match="became"):
        trainer.fit(wine[0])
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_training_learns_and_history_has_every_record(wine):
    train, val, test = wine
    trainer = nt.Trainer(nt.models.MLP(13, 3, seed=0), lr=0.01, batch_size=16, epochs=5, progress=False,
                         metrics=["accuracy", "f1"], schedule={"type": "exponential", "gamma": 0.5})
    history = trainer.fit(train, val=val)
    assert history["epoch"] == [1, 2, 3, 4, 5]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert {"train_accuracy", "train_f1", "val_loss", "val_accuracy", "val_f1", "time"} <= set(history.keys())
    assert trainer.evaluate(test)["accuracy"] > 0.9
    lrs = [s["lr"] for s in history.steps]
    assert lrs[0] == 0.01 and lrs[-1] == pytest.approx(0.01 * 0.5 ** 4)


def test_evaluate_metrics_match_scikit_learn(wine):
    train, _, test = wine
    trainer = nt.Trainer(nt.models.MLP(13, 3, seed=0), lr=0.01, epochs=2, progress=False)
    trainer.fit(train)
    pred = trainer.predict(test)
    result = trainer.evaluate(test, metrics=["accuracy", "precision", "recall", "f1"])
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(test.y, pred))
    assert result["f1"] == pytest.approx(skm.f1_score(test.y, pred, average="macro"))
    assert result["precision"] == pytest.approx(skm.precision_score(test.y, pred, average="macro", zero_division=0))
    proba = trainer.predict_proba(test)
    assert torch.allclose(proba.sum(1), torch.ones(len(test))) and torch.equal(proba.argmax(1), pred)
    loss = torch.nn.functional.cross_entropy(torch.log(proba), test.y)
    assert result["loss"] == pytest.approx(float(loss), rel=1e-4)


def test_regression_metrics_match_scikit_learn():
    out = torch.tensor([[1.0], [2.5], [2.0], [8.0]])
    y = torch.tensor([[1.5], [2.0], [3.0], [7.0]])
    got = compute_metrics(["mae", "rmse", "r2", "mse"], out, y, TASKS.get("regression")())
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, out))
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y, out))
    assert got["r2"] == pytest.approx(skm.r2_score(y, out))
    with pytest.raises(ConfigError, match="does not apply to a regression task"):
        compute_metrics(["accuracy"], out, y, TASKS.get("regression")())


def test_regression_and_binary_training():
    train, _, test = nt.datasets.prepare(nt.datasets.load("diabetes"), val=0, test=0.2, seed=0)
    trainer = nt.Trainer(nt.models.MLP(10, 1, hidden=[32], seed=0), loss="mse", lr=0.01, epochs=10, progress=False)
    trainer.fit(train)
    assert trainer.evaluate(test, metrics=["r2"])["r2"] > 0.3  # linear regression: 0.33 here
    cancer = nt.datasets.load("breast_cancer")
    train, _, test = cancer.split(val=0, test=0.2, seed=0)
    scaler = Scaler().fit(train)
    binary = nt.Trainer(nt.models.MLP(30, 1, seed=0), loss="binary_cross_entropy", lr=0.01, epochs=10, progress=False)
    binary.fit(scaler.transform(train))
    assert binary.evaluate(scaler.transform(test))["accuracy"] > 0.93
    assert binary.predict_proba(scaler.transform(test)).shape == (len(test), 2)


def test_early_stopping_stops_and_restores_the_best_weights(wine):
    train, val, _ = wine
    stopper = nt.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    trainer = nt.Trainer(nt.models.MLP(13, 3, seed=0), lr=0.3, optimizer="sgd", epochs=200, progress=False,
                         callbacks=[stopper])
    history = trainer.fit(train, val=val)
    assert len(history) < 200 and stopper.stopped_epoch == len(history)
    best = min(history["val_loss"])
    assert stopper.best == best and history["val_loss"][stopper.best_epoch - 1] == best
    assert trainer.evaluate(val)["loss"] == pytest.approx(best, rel=1e-5)


def test_model_checkpoint_writes_safetensors(wine, tmp_path):
    train, val, _ = wine
    path = tmp_path / "best.safetensors"
    trainer = nt.Trainer(nt.models.MLP(13, 3, seed=0), epochs=2, progress=False,
                         callbacks=[nt.callbacks.ModelCheckpoint(path)])
    history = trainer.fit(train, val=val)
    assert path.is_file() and history["lr"] == [1e-3, 1e-3]  # every epoch record holds its learning rate


def test_checkpoint_resume_gives_the_same_weights_as_one_run(wine, tmp_path):
    train, val, _ = wine

    class StopAfter(nt.callbacks.Callback):  # stands in for an interruption
        def after_epoch(self, trainer, logs):
            trainer.stop_training = logs["epoch"] == 2

    def trainer_for(*extra):
        model = nt.models.MLP(13, 3, hidden=[16], dropout=0.2, seed=0)
        return nt.Trainer(model, lr=0.01, epochs=4, progress=False, schedule="cosine",
                          early_stopping={"patience": 50}, callbacks=list(extra))

    whole = trainer_for()
    whole.fit(train, val=val)
    first = trainer_for(StopAfter())
    first.fit(train, val=val)
    first.save_checkpoint(tmp_path / "ckpt.safetensors")
    second = trainer_for()
    second.load_checkpoint(tmp_path / "ckpt.safetensors")
    assert second.epoch == 2 and len(second.history) == 2
    second.fit(train, val=val)
    for (name, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert whole.history["val_loss"] == second.history["val_loss"]


def test_nan_loss_stops_before_the_bad_step_and_keeps_the_last_good_weights(wine):
    train = wine[0]
    model = nt.models.MLP(13, 3, seed=0)
    trainer = nt.Trainer(model, lr=1.0, epochs=3, optimizer="sgd", progress=False)
    trainer.fit(train)  # three epochs of good weights
    good = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.epochs = 4
    poisoned = train.with_tensors(train.x * math.inf)  # the very first batch of epoch 4 is bad
    with pytest.raises(TrainingDivergedError, match=r"became nan at epoch 4, batch 1.*weights from the end of epoch 3 "
                                                    r"are kept.*learning rate \(1\) may be too high"):
        trainer.fit(poisoned)
    assert all(torch.equal(v, good[k]) for k, v in model.state_dict().items())
    # One bad row, 70th in epoch 4's order (batch 3 of 32): training stops there, and no weight has become NaN.
    bad_row = int(nt.datasets.epoch_permutation(len(train), 0, 3)[70])
    one_bad = train.with_tensors(train.x * torch.where(torch.arange(len(train)) == bad_row, math.inf, 1.0).unsqueeze(1))
    with pytest.raises(TrainingDivergedError, match=r"at epoch 4, batch 3;.*weights after batch 2 of epoch 4 are kept"):
        trainer.fit(one_bad)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    assert trainer.batch == 2 and len(trainer._epoch.losses) == 2  # the two good steps of epoch 4 happened


def test_dataloader_path_and_tensor_prediction(wine):
    train, _, test = wine
    trainer = nt.Trainer(nt.models.MLP(13, 3, seed=0), lr=0.01, epochs=3, progress=False, in_memory=False)
    trainer.fit(train)
    loader = torch.utils.data.DataLoader(train, batch_size=32)
    trainer.fit(loader)  # already at epoch 3 of 3: nothing more to do
    assert len(trainer.history) == 3
    assert torch.equal(trainer.predict(test.x), trainer.predict(test))


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "'batch_size' parameter of Trainer must be an int > 0"),
    ({"epochs": -1}, "'epochs' parameter of Trainer must be an int > 0"),
    ({"l2": -0.1}, "'l2' parameter of Trainer must be a float >= 0"),
    ({"lr": -1}, "'lr' parameter of Trainer must be a float > 0"),
    ({"optimizer": "adamm"}, "Unknown optimizer 'adamm'"),
    ({"loss": "crossentropy"}, "Unknown loss 'crossentropy'"),
    ({"metrics": ["rmse"], "task": "classification"}, "Metric 'rmse' does not apply to a classification task"),
    ({"metrics": ["acc"]}, "Unknown metric 'acc'. Did you mean 'accuracy'"),
    ({"task": "classification", "loss": "mse"}, "loss 'mse' does not fit a classification task"),
    ({"schedule": {"type": "cosin"}}, "Unknown schedule 'cosin'"),
    ({"early_stopping": {"patiense": 3}}, "has no parameter 'patiense'. Did you mean 'patience'"),
    ({"lrr": 0.1}, "unexpected keyword|lrr"),
    ({"device": "cuda"} if not torch.cuda.is_available() else {"device": "tpu"}, "cuda|device"),
])
def test_bad_trainer_arguments(kwargs, message):
    with pytest.raises((ConfigError, RuntimeError, TypeError), match=message):
        nt.Trainer(nt.models.MLP(4, 3), progress=False, **kwargs)


def test_progress_bar_prints_an_epoch_line(capsys, wine):
    trainer = nt.Trainer(nt.models.MLP(13, 3, seed=0), epochs=1, progress=True)
    trainer.fit(wine[0], val=wine[1])
    assert "epoch 1/1" in capsys.readouterr().err


def test_user_rng_is_left_alone(wine):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    nt.Trainer(nt.models.MLP(13, 3, dropout=0.5, seed=0), epochs=1, progress=False).fit(wine[0])
    assert torch.equal(torch.rand(3), expected)


def test_any_module_with_its_own_loss_is_a_classifier_when_the_data_says_so(wine):
    """The task comes from the data, never from the loss: a user's own loss function keeps a classifier a classifier."""
    train, _, test = wine
    module = torch.nn.Sequential(torch.nn.Linear(13, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    trainer = nt.Trainer(module, loss=lambda out, y: torch.nn.functional.cross_entropy(out, y), lr=0.01, epochs=20,
                         progress=False)
    history = trainer.fit(train)
    assert trainer.task.name == "classification" and "train_accuracy" in history.keys()
    pred = trainer.predict(test)
    assert pred.dtype == torch.long and pred.shape == (len(test),)  # class indices, not logits
    assert trainer.evaluate(test)["accuracy"] > 0.9


def test_default_loss_on_a_regression_data_set_is_mean_squared_error():
    train, _, test = nt.datasets.prepare(nt.datasets.load("diabetes"), val=0, test=0.2, seed=0)
    trainer = nt.Trainer(nt.models.MLP(10, 1, hidden=[32], seed=0), lr=0.01, epochs=10, progress=False)
    history = trainer.fit(train)
    assert trainer.task.name == "regression" and isinstance(trainer.loss_fn, torch.nn.MSELoss)
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]  # it learns (was: loss 0.0, class 0 everywhere)
    pred = trainer.predict(test)
    assert pred.is_floating_point() and len(set(pred.flatten().tolist())) > 50
    assert trainer.evaluate(test, metrics=["r2"])["r2"] > 0.3


def test_raw_data_is_refused_with_the_fix():
    data = nt.datasets.load("tweets", limit=100)
    with pytest.raises(nt.DataError, match="holds raw text inputs; prepare it first"):
        nt.Trainer(nt.models.MLP(4, 3), progress=False).fit(data)


def test_a_schedule_state_survives_load_then_save_without_fit(wine, tmp_path):
    train = wine[0]
    first = nt.Trainer(nt.models.MLP(13, 3, seed=0), epochs=4, schedule="cosine", progress=False)
    first.epochs = 2
    first.fit(train)
    first.epochs = 4
    first.save_checkpoint(tmp_path / "a.safetensors")
    second = nt.Trainer(nt.models.MLP(13, 3, seed=0), epochs=4, schedule="cosine", progress=False)
    second.load_checkpoint(tmp_path / "a.safetensors")
    second.save_checkpoint(tmp_path / "b.safetensors")  # no fit in between
    saved = nt.train.load_state(tmp_path / "b.safetensors")["schedule"]
    assert saved is not None and saved["last_epoch"] == first.schedule.state_dict()["last_epoch"] > 0
