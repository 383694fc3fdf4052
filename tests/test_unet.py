"""U-Net beyond the shared contract (tests/test_models.py): any image size, its stages, its errors."""

import pytest
import torch

import neuronet as nt
from neuronet.errors import ConfigError
from neuronet.models import UNet, build_model


@pytest.mark.parametrize("size", [(28, 28), (30, 30), (8, 8), (1, 1), (5, 7), (15, 33)])
def test_logits_have_the_input_size_whatever_it_is(size):
    model = UNet((1, 28, 28), 3, seed=0).eval()  # (16, 32, 64): the image halves twice, 30 -> 15 -> 8 and back
    with torch.no_grad():
        assert model(torch.randn(2, 1, *size)).shape == (2, 3, *size)


def test_stages_pool_upsample_and_concatenate_the_skips():
    model = UNet((3, 32, 32), 5, channels=(8, 16, 32), seed=0)
    pools = [type(stage[0]).__name__ for stage in model.encoder]
    assert pools == ["Sequential", "MaxPool2d", "MaxPool2d"]  # the first stage reads the image at its size
    ups = [(m.upsample.in_channels, m.upsample.out_channels, m.upsample.kernel_size, m.upsample.stride)
           for m in model.decoder]
    assert ups == [(32, 16, (2, 2), (2, 2)), (16, 8, (2, 2), (2, 2))]
    assert [stage.convs[0][0].in_channels for stage in model.decoder] == [32, 16]  # skip + upsampled, concatenated
    assert all(isinstance(stage.concat, nt.models.layers.Concat) for stage in model.decoder)
    assert model.head.out_channels == 5 and model.head.kernel_size == (1, 1)
    assert UNet.output == "mask" and not hasattr(UNet, "task")  # the task is the data's, not the model's
    assert build_model("unet", (1, 8, 8), 2, channels=[4], seed=0)(torch.zeros(1, 1, 8, 8)).shape == (1, 2, 8, 8)


def test_an_extra_row_or_column_changes_nothing_far_from_it():
    """Pooling rounds up and the upsampled maps are cropped at the bottom / right: the top-left of a 41x41
    image is segmented as in its 40x40 crop (the receptive field, ~20 pixels, stays inside both)."""
    model = UNet((1, 40, 40), 3, channels=(4, 8), seed=0).eval()
    x = torch.randn(1, 1, 41, 41, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole, crop = model(x), model(x[..., :40, :40])
    torch.testing.assert_close(whole[..., :20, :20], crop[..., :20, :20], rtol=1e-5, atol=1e-5)


def test_dropout_is_channel_dropout_at_the_bottleneck():
    model = UNet((1, 8, 8), 2, channels=(4, 8), dropout=0.5, seed=0)
    assert isinstance(model.dropout, torch.nn.Dropout2d) and model.dropout.p == 0.5
    x = torch.randn(2, 1, 8, 8)
    torch.manual_seed(0)
    assert not torch.equal(model.train()(x), model(x))  # a new draw each call
    with torch.no_grad():
        assert torch.equal(model.eval()(x), model(x))


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (64,)}, "images shaped"),
    ({"channels": []}, "at least one encoder stage"),
    ({"dropout": 1.5}, r"'dropout' parameter of UNet must be a float in \[0, 1\)"),
])
def test_errors_name_the_problem(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_model("unet", kwargs.pop("input_shape", (1, 8, 8)), 3, **kwargs)


def test_it_is_in_the_model_zoo():
    assert "unet" in nt.models.MODELS.names() and nt.models.MODELS.get("unet") is UNet
