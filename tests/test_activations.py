import math

import pytest
import torch

from neuronet.errors import ConfigError
from neuronet.nn import ACTIVATIONS, activation

X = torch.linspace(-3, 3, 13, dtype=torch.float64)

FORMULAS = {  # each activation against its textbook formula, in float64
    "step": lambda x: (x > 0).double(),
    "identity": lambda x: x,
    "sigmoid": lambda x: 1 / (1 + torch.exp(-x)),
    "tanh": lambda x: (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x)),
    "relu": lambda x: torch.where(x > 0, x, torch.zeros_like(x)),
    "leaky_relu": lambda x: torch.where(x > 0, x, 0.01 * x),
    "elu": lambda x: torch.where(x > 0, x, torch.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * torch.where(x > 0, x, 1.6732632423543772 * (torch.exp(x) - 1)),
    "gelu": lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))),
    "silu": lambda x: x / (1 + torch.exp(-x)),
    "softplus": lambda x: torch.log1p(torch.exp(x)),
    "softmax": lambda x: torch.exp(x) / torch.exp(x).sum(),
    "log_softmax": lambda x: x - torch.log(torch.exp(x).sum()),
}


def test_every_registered_activation_has_a_reference():
    assert set(ACTIVATIONS.names()) == set(FORMULAS)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_matches_its_formula(name):
    assert torch.allclose(activation(name)(X), FORMULAS[name](X), atol=1e-12)


@pytest.mark.parametrize("name", sorted(set(FORMULAS) - {"step"}))
def test_smooth_activations_pass_gradcheck(name):
    x = (X[X != 0] / 2).clone().requires_grad_()  # avoid the kinks of relu-like functions at 0
    assert torch.autograd.gradcheck(activation(name), (x,))


def test_step_passes_no_gradient_and_has_a_threshold():
    out = activation("step")(X.clone().requires_grad_())
    assert not out.requires_grad  # a hard threshold: nothing flows back (the perceptron rule trains it)
    assert activation("step", threshold=1.0)(torch.tensor([0.5, 1.5])).tolist() == [0.0, 1.0]


def test_activation_kwargs_and_unknown_name():
    assert activation("leaky_relu", negative_slope=0.2)(torch.tensor([-1.0])).item() == pytest.approx(-0.2)
    with pytest.raises(ConfigError, match="Did you mean 'relu'"):
        activation("rellu")
