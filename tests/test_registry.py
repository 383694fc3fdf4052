import pytest

from neuronet.errors import ConfigError
from neuronet.registry import Registry


def test_register_get_and_names():
    reg = Registry("widget")
    reg.add("alpha", 1, "first")
    reg.register("beta")(2)
    assert reg.get("alpha") == 1 and reg.get("beta") == 2
    assert reg.names() == ["alpha", "beta"] and "alpha" in reg and len(reg) == 2
    assert reg.help("alpha") == "first"


def test_unknown_name_lists_valid_ones_and_suggests():
    reg = Registry("optimizer")
    reg.add("adam", object())
    reg.add("sgd", object())
    with pytest.raises(ConfigError, match=r"Unknown optimizer 'adm'. Did you mean 'adam'\? Valid optimizer names: adam, sgd"):
        reg.get("adm")


def test_duplicate_name_is_an_error():
    reg = Registry("loss")
    reg.add("mse", 1)
    with pytest.raises(ConfigError, match="registered twice"):
        reg.add("mse", 2)
