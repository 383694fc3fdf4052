"""The perceptron converges on linearly separable data and cannot learn XOR; an MLP can."""

import torch

import neuronet as nt
from neuronet.datasets import Dataset
from neuronet.models import Perceptron, perceptron_rule

XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = torch.tensor([0, 1, 1, 0])


def setosa_vs_versicolor():
    iris = nt.datasets.load("iris")
    keep = torch.nonzero(iris.y < 2).squeeze(1)  # the two linearly separable classes
    return iris.x[keep], iris.y[keep]


def test_perceptron_rule_converges_on_separable_iris():
    x, y = setosa_vs_versicolor()
    model = Perceptron(4, seed=0)
    mistakes = perceptron_rule(model, x, y, epochs=100)
    assert mistakes[-1] == 0 and len(mistakes) < 100
    assert torch.equal(model.predict(x), y)


def test_perceptron_rule_never_converges_on_xor():
    model = Perceptron(2, seed=0)
    mistakes = perceptron_rule(model, XOR_X, XOR_Y, epochs=200)
    assert len(mistakes) == 200 and min(mistakes) > 0
    assert (model.predict(XOR_X) != XOR_Y).any()


def test_perceptron_by_gradient_descent_with_a_sigmoid():
    x, y = setosa_vs_versicolor()
    data = Dataset(x, y, "classification", "iris-2")
    trainer = nt.Trainer(Perceptron(4, seed=0), loss="binary_cross_entropy", lr=0.05, batch_size=16, epochs=30,
                         progress=False)
    trainer.fit(data)
    assert trainer.evaluate(data)["accuracy"] == 1.0


def test_gradient_descent_perceptron_fails_on_xor_and_an_mlp_succeeds():
    data = Dataset(XOR_X, XOR_Y, "classification", "xor")
    single = nt.Trainer(Perceptron(2, seed=0), loss="binary_cross_entropy", lr=0.1, batch_size=4, epochs=500,
                        progress=False)
    single.fit(data)
    assert single.evaluate(data)["accuracy"] <= 0.75  # a line cannot split XOR
    mlp = nt.Trainer(nt.models.MLP(2, 2, hidden=[8], activation="tanh", seed=0), lr=0.05, batch_size=4, epochs=500,
                     progress=False)
    mlp.fit(data)
    assert mlp.evaluate(data)["accuracy"] == 1.0
