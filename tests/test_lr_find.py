"""The learning-rate range test: its suggestion on real data, the trainer left untouched, divergence, broken setups."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import neuronet as nt
from neuronet.datasets import Dataset
from neuronet.errors import ConfigError
from neuronet.train import LRFinderResult, lr_find
from neuronet.train.lr_find import smooth, suggestion_from

DIGITS = (1, 8, 8)


@pytest.fixture(scope="module")
def digits_parts() -> tuple[Dataset, Dataset]:
    prepared = nt.datasets.prepare(nt.datasets.load("digits"), seed=0)
    return prepared.train, prepared.val


@pytest.fixture(scope="module")
def diabetes_parts() -> tuple[Dataset, Dataset]:
    prepared = nt.datasets.prepare(nt.datasets.load("diabetes"), seed=0)
    return prepared.train, prepared.val


def trainer(model: nn.Module, **options) -> nt.Trainer:
    return nt.Trainer(model, progress=False, doctor=False, **options)


def digits_mlp(**options) -> nn.Module:
    return nt.models.MLP(DIGITS, 10, hidden=[64], seed=0, **options)


def assert_same_state(ours, theirs, where: str = "state") -> None:
    """Tensors bit-equal, everything else equal, recursively (an epoch's elapsed time aside)."""
    if isinstance(ours, torch.Tensor):
        assert torch.equal(ours, theirs), where
    elif isinstance(ours, dict):
        assert set(ours) == set(theirs), where
        for key in ours:
            if key != "elapsed":
                assert_same_state(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_state(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


# --- on real data -------------------------------------------------------------------------------------------


def test_digits_suggestion_is_sane_and_trains_well(digits_parts):
    train, val = digits_parts
    result = lr_find(trainer(digits_mlp()), train)
    assert 1e-4 < result.suggestion < 1e-1
    assert result.suggestion not in (result.lrs[0], result.lrs[-1]) and math.isfinite(result.suggestion)
    assert result.lrs[0] < result.steepest < result.lrs[-1]
    assert result.suggestion <= result.min_div_10 and result.reason.startswith(f"lr {result.suggestion:.2g}")
    fresh = trainer(digits_mlp(), lr=result.suggestion, epochs=4)
    fresh.fit(train)
    assert fresh.evaluate(val)["accuracy"] > 0.9


def test_diabetes_regression_suggestion_is_sane(diabetes_parts):
    train, val = diabetes_parts
    result = lr_find(trainer(nt.models.MLP((10,), 1, hidden=[64], seed=0)), train)
    assert 1e-4 < result.suggestion < 1e-1
    fresh = trainer(nt.models.MLP((10,), 1, hidden=[64], seed=0), lr=result.suggestion, epochs=5)
    fresh.fit(train)
    assert fresh.evaluate(val)["loss"] < 0.7  # standardised targets: predicting the mean scores about 1


def test_the_plot_is_written_and_the_result_is_json(digits_parts, tmp_path):
    result = lr_find(trainer(digits_mlp()), digits_parts[0], steps=40, path=tmp_path / "plots" / "lr_find.png")
    assert result.path == tmp_path / "plots" / "lr_find.png"
    assert result.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in result.path.parent.iterdir()] == ["lr_find.png"]  # no temporary file left
    record = json.loads(json.dumps(result.to_dict()))
    assert record["path"] == str(result.path)
    assert record["lrs"] == result.lrs and len(record["losses"]) == len(record["smoothed"]) == len(result.lrs)


# --- the trainer is left as it was ----------------------------------------------------------------------------


def test_the_trainer_is_left_exactly_as_it_was(digits_parts):
    train, val = digits_parts
    make = lambda: trainer(digits_mlp(dropout=0.2), lr=3e-3, epochs=2, schedule="one_cycle")  # noqa: E731
    tried, untouched = make(), make()
    tried.model.eval()
    before, rng = copy.deepcopy(tried.state_dict()), torch.get_rng_state()
    lr_find(tried, train, steps=30)
    assert_same_state(tried.state_dict(), before)
    assert torch.equal(torch.get_rng_state(), rng) and not tried.model.training
    tried.fit(train, val=val)
    untouched.fit(train, val=val)
    for (name, ours), theirs in zip(tried.model.state_dict().items(), untouched.model.state_dict().values()):
        assert torch.equal(ours, theirs), name
    assert tried.history.steps == untouched.history.steps


def test_a_trained_trainers_optimizer_state_is_restored(digits_parts):
    train = digits_parts[0]
    trained = trainer(nt.models.MLP(DIGITS, 10, hidden=[32], batch_norm=True, seed=0), lr=1e-2, epochs=1)
    trained.fit(train)
    before = copy.deepcopy(trained.state_dict())
    assert before["optimizer"]["state"]  # Adam's moments are there to be kept
    lr_find(trained, train, steps=20)
    assert_same_state(trained.state_dict(), before)


def test_discriminative_lrs_keep_their_ratio(digits_parts):
    class Recording(torch.optim.SGD):
        def step(self, closure=None):
            self.seen.append([group["lr"] for group in self.param_groups])
            return super().step(closure)

    model = digits_mlp()
    optimizer = Recording([{"params": model.net[1].parameters(), "lr": 0.1},
                           {"params": model.net[3].parameters(), "lr": 0.01}])
    optimizer.seen = []
    result = lr_find(trainer(model, optimizer=optimizer), digits_parts[0], steps=20)
    assert [first for first, _ in optimizer.seen] == result.lrs
    assert np.allclose([second / first for first, second in optimizer.seen], 0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.01]


# --- divergence and broken setups ------------------------------------------------------------------------------


def test_the_curve_stops_early_when_the_loss_diverges(digits_parts):
    result = lr_find(trainer(digits_mlp(), optimizer="sgd"), digits_parts[0], end_lr=100.0)
    assert len(result.lrs) < 100 and result.stopped == "diverged"
    assert all(math.isfinite(v) for v in result.losses)
    assert result.smoothed[-1] > 4 * min(result.smoothed)


def test_a_nan_loss_ends_the_curve_and_is_not_recorded(diabetes_parts):
    model = nt.models.MLP((10,), 1, hidden=[64], seed=0)
    before = copy.deepcopy(model.state_dict())
    result = lr_find(trainer(model, optimizer="sgd"), diabetes_parts[0], end_lr=1e3, diverge=1e300)
    assert result.stopped == "non-finite" and len(result.lrs) < 100
    assert all(math.isfinite(v) for v in result.losses + result.smoothed)
    assert_same_state(model.state_dict(), before)


def test_shuffled_labels_give_no_suggestion(digits_parts):
    train = digits_parts[0]
    labels = train.y[torch.randperm(len(train.y), generator=torch.Generator().manual_seed(0))]
    shuffled = Dataset(train.x, labels, "classification", "digits", train.feature_names, train.class_names)
    result = lr_find(trainer(digits_mlp()), shuffled)
    assert result.suggestion is None and result.steepest is None and result.min_div_10 is None
    assert "never fell" in result.reason and "broken" in result.reason


def test_a_model_that_ignores_its_input_gives_no_suggestion(digits_parts, tmp_path):
    class Blind(nn.Module):
        task = "classification"

        def __init__(self) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bias.expand(len(x), 10)

    result = lr_find(trainer(Blind()), digits_parts[0], path=tmp_path / "blind.png")
    assert result.suggestion is None and "never fell" in result.reason and result.path.exists()


# --- the suggestion rule and the smoothing, on known curves ------------------------------------------------------


def test_smoothing_is_fastais_bias_corrected_average():
    losses, beta, avg, expected = [2.0, 1.0, 3.0, 0.5, 0.25], 0.9, 0.0, []
    for i, loss in enumerate(losses):  # fastai's AvgSmoothLoss, written out
        avg = torch.lerp(torch.tensor(loss, dtype=torch.float64), torch.tensor(avg, dtype=torch.float64), beta).item()
        expected.append(avg / (1 - beta ** (i + 1)))
    assert np.allclose(smooth(losses, 0.1), expected, rtol=1e-12)
    assert smooth(losses, 1.0) == losses


def valley(lrs: np.ndarray, drop_at: float, rise_at: float) -> list[float]:
    return list(2 / (1 + (lrs / drop_at) ** 2) + (lrs / rise_at) ** 2)


def test_the_suggestion_is_the_steepest_descent_kept_within_a_decade_below_a_tenth_of_the_minimum():
    lrs = np.logspace(-6, 1, 80)
    suggestion, steepest, min_div_10, reason = suggestion_from(list(lrs), valley(lrs, 1e-3, 0.1))
    assert suggestion == steepest and 8e-4 < steepest < 1.3e-3  # 2 / (1 + (lr/a)^2) falls fastest at lr = a
    assert min_div_10 / 10 <= suggestion <= min_div_10 and "the steepest descent" in reason
    suggestion, steepest, min_div_10, reason = suggestion_from(list(lrs), valley(lrs, 1e-2, 0.05))
    assert steepest > min_div_10 and suggestion == min_div_10 and "closer to the minimum" in reason
    suggestion, steepest, min_div_10, reason = suggestion_from(list(lrs), valley(lrs, 1e-4, 10.0))
    assert suggestion == pytest.approx(min_div_10 / 10) and steepest < suggestion and "further below" in reason
    for drop, rise in [(1e-3, 0.1), (1e-2, 0.05), (1e-4, 10.0), (1e-5, 1.0)]:
        suggestion = suggestion_from(list(lrs), valley(lrs, drop, rise))[0]
        assert lrs[0] < suggestion < lrs[-1] and math.isfinite(suggestion)


def test_no_suggestion_from_a_short_curve_or_a_descent_at_the_very_start():
    lrs = np.logspace(-6, 1, 80)
    suggestion, *_, reason = suggestion_from(list(lrs[:9]), valley(lrs[:9], 1e-6, 1e-5))
    assert suggestion is None and "only 9 losses" in reason
    early = [1.0 + 2.0 * max(0.0, 1 - i / 4) + (0.01 * (i - 60) ** 2 if i > 60 else 0.0) for i in range(80)]
    suggestion, *_, reason = suggestion_from(list(lrs), early)  # fell within the first 5 points, then flat
    assert suggestion is None and "start_lr" in reason


@pytest.mark.parametrize(("options", "match"), [
    ({"start_lr": 0.0}, "'start_lr' parameter of lr_find must be a float > 0"),
    ({"start_lr": 1.0, "end_lr": 0.1}, "'end_lr' parameter of lr_find must be above start_lr"),
    ({"steps": 5}, "'steps' parameter of lr_find must be an int >= 10"),
    ({"smoothing": 0.0}, "'smoothing' parameter of lr_find"),
    ({"diverge": 1.0}, "'diverge' parameter of lr_find"),
])
def test_bad_arguments_are_one_clear_sentence(options, match):
    with pytest.raises(ConfigError, match=match):
        lr_find(trainer(digits_mlp()), None, **options)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
@pytest.mark.parametrize("precision", ["32", "16", "bf16"])
def test_on_the_gpu_with_each_precision(digits_parts, precision):
    tried = trainer(digits_mlp(), device="cuda", precision=precision)
    before = copy.deepcopy(tried.state_dict())
    result = lr_find(tried, digits_parts[0])
    assert isinstance(result, LRFinderResult) and 1e-4 < result.suggestion < 1e-1
    assert_same_state(tried.state_dict(), before)
