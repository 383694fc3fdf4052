"""Recurrent networks: state shapes, directions, packing of padded token sequences."""

import pytest
import torch

import neuronet as nt


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_hidden_state_shapes_and_many_to_many(name, bidirectional):
    model = nt.models.build_model(name, (12, 3), 4, hidden=8, layers=2, bidirectional=bidirectional, seed=0)
    x = torch.randn(5, 12, 3)
    steps, state = model.rnn(x)
    h = state[0] if name == "lstm" else state
    dirs = 2 if bidirectional else 1
    assert steps.shape == (5, 12, 8 * dirs) and h.shape == (2 * dirs, 5, 8)
    if name == "lstm":
        assert state[1].shape == h.shape  # the cell state
    assert model(x).shape == (5, 4)
    seq = nt.models.build_model(name, (12, 3), 4, hidden=8, bidirectional=bidirectional, many_to_many=True, seed=0)
    assert seq(x).shape == (5, 12, 4)


def test_last_hidden_state_is_the_head_input():
    model = nt.models.LSTM((6, 2), 1, hidden=4, seed=0).eval()
    x = torch.randn(3, 6, 2)
    with torch.no_grad():
        steps, (h, _) = model.rnn(x)
        assert torch.allclose(h[-1], steps[:, -1])  # unidirectional: the last step's output
        assert torch.allclose(model(x), model.head(h[-1]))


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_the_output(name, bidirectional):
    model = nt.models.build_model(name, (8,), 3, hidden=8, vocab_size=20, pad_index=0, bidirectional=bidirectional,
                                  seed=0).eval()
    short = torch.tensor([[4, 9, 2, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        padded = model(short)
        alone = nt.models.build_model(name, (3,), 3, hidden=8, vocab_size=20, pad_index=0,
                                      bidirectional=bidirectional, seed=0).eval()(short[:, :3])
        batch = model(torch.tensor([[4, 9, 2, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]]))
    assert torch.allclose(padded, alone, atol=1e-6)
    assert torch.allclose(batch[0], padded[0], atol=1e-6)  # batch-mates of other lengths change nothing


@pytest.mark.parametrize("name", ["gru", "transformer"])
def test_residual_forecast_works_on_changes_from_the_last_value(name):
    kwargs = {"hidden": 4} if name == "gru" else {"dim": 8, "heads": 2, "layers": 1, "dropout": 0.0}
    model = nt.models.build_model(name, (5, 1), 2, residual=True, seed=0, **kwargs).eval()
    plain = nt.models.build_model(name, (5, 1), 2, seed=0, **kwargs).eval()
    x = torch.randn(3, 5, 1)
    with torch.no_grad():
        assert torch.allclose(model(x), plain(x - x[:, -1:]) + x[:, -1, :1], atol=1e-6)
        assert torch.allclose(model(x + 100.0), model(x) + 100.0, atol=1e-4)  # a level shift moves the forecast along
