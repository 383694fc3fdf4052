import pytest
import torch

from neuronet.errors import ConfigError
from neuronet.optim import OPTIMIZERS, SCHEDULES, Schedule, build_optimizer, build_schedule

# Our name -> the PyTorch optimizer it must reproduce, built by hand with default kernels.
REFERENCE = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "nesterov": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr),
}


def _run(make, steps=20):
    """Minimise a fixed float64 least-squares problem; return the trajectory of the weights."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 4, generator=gen, dtype=torch.float64), torch.randn(16, generator=gen, dtype=torch.float64)
    w = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    opt = make([w])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        ((a @ w - b) ** 2).mean().backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path)


def test_every_optimizer_has_a_reference():
    assert set(OPTIMIZERS.names()) == set(REFERENCE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_optimizer_matches_pytorch(name):
    ours = _run(lambda p: build_optimizer(name, p, lr=0.05))
    theirs = _run(lambda p: REFERENCE[name](p, 0.05))
    assert torch.allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    assert not torch.equal(ours[0], ours[-1])  # it moved


def test_fast_kernels_are_used_where_pytorch_has_them():
    w = [torch.nn.Parameter(torch.zeros(3))]
    assert build_optimizer("adam", w).defaults["fused"] is True
    assert build_optimizer("rmsprop", w).defaults["foreach"] is True


@pytest.mark.parametrize("lr", [-1, 0, "fast", True])
def test_bad_learning_rate_is_a_clear_error(lr):
    with pytest.raises(ConfigError, match=r"The 'lr' parameter of adam must be a float > 0. Got .* instead."):
        build_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_unknown_optimizer_and_argument():
    w = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ConfigError, match="Did you mean 'adam'"):
        build_optimizer("adm", w)
    with pytest.raises(ConfigError, match="no parameter 'beta'.*Did you mean 'betas'"):
        build_optimizer("adam", w, beta=(0.9, 0.99))


EPOCHS, STEPS = 6, 5
SCHEDULE_REFERENCE = {  # name: (our kwargs, PyTorch scheduler, interval)
    "step": ({"step_size": 2, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5), "epoch"),
    "exponential": ({"gamma": 0.9}, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), "epoch"),
    "cosine": ({}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, EPOCHS * STEPS), "step"),
    "one_cycle": ({}, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 0.1, epochs=EPOCHS, steps_per_epoch=STEPS), "step"),
    "reduce_on_plateau": ({"patience": 1, "factor": 0.5},
                          lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5), "epoch"),
    "warmup": ({"warmup_steps": 10, "then": "cosine"}, lambda o: torch.optim.lr_scheduler.SequentialLR(
        o, [torch.optim.lr_scheduler.LinearLR(o, 0.01, 1.0, 10),
            torch.optim.lr_scheduler.CosineAnnealingLR(o, EPOCHS * STEPS - 10)], [10]), "step"),
}
PLATEAU_METRIC = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85]


def _lrs(make_schedule, interval):
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    schedule = make_schedule(opt)
    lrs = []
    for epoch in range(EPOCHS):
        for _ in range(STEPS):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if interval == "step":
                schedule.step()
        if interval == "epoch":
            takes_metric = isinstance(schedule, (Schedule, torch.optim.lr_scheduler.ReduceLROnPlateau))
            schedule.step(PLATEAU_METRIC[epoch]) if takes_metric else schedule.step()
    return lrs


def test_every_schedule_has_a_reference():
    assert set(SCHEDULES.names()) == set(SCHEDULE_REFERENCE)


@pytest.mark.parametrize("name", sorted(SCHEDULE_REFERENCE))
def test_schedule_matches_pytorch(name):
    kwargs, reference, interval = SCHEDULE_REFERENCE[name]
    ours = build_schedule(name, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), EPOCHS, STEPS, **kwargs)
    assert ours.interval == interval
    mine = _lrs(lambda o: build_schedule(name, o, EPOCHS, STEPS, **kwargs), interval)
    theirs = _lrs(reference, interval)
    assert mine == pytest.approx(theirs, rel=1e-12)
    assert len(set(mine)) > 1  # the LR really changes


def test_schedule_errors():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="Unknown schedule 'cosin'"):
        build_schedule("cosin", opt, 1, 1)
    with pytest.raises(ConfigError, match="Bad arguments for schedule 'step'"):
        build_schedule("step", opt, 1, 1, gama=0.1)
