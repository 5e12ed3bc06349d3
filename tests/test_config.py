import pytest

from impasto import StyleConfig


def test_defaults_are_documented_and_valid():
    from dataclasses import fields

    cfg = StyleConfig()
    assert cfg.size == 512 and cfg.optimizer == "lbfgs" and cfg.init == "content"
    assert all(f.metadata.get("help") for f in fields(StyleConfig))


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="unknown option.*stile_weight"):
        StyleConfig().with_options(stile_weight=3)


@pytest.mark.parametrize("option, value, allowed", [
    ("optimizer", "sgd", "lbfgs, adam"),
    ("device", "tpu", "auto, cpu, cuda, mps"),
    ("size", 5, "between 16 and 8192"),
    ("style_weight", float("nan"), "finite"),
    ("content_weight", -1.0, ">= 0"),
    ("steps", -3, "at least 1"),
    ("style_layers", ("relu9_1",), "VGG-19 layers"),
    ("preserve_colors", "sepia", "luminance"),
    ("style_scale", 0.0, "between"),
])
def test_bad_values_name_what_is_allowed(option, value, allowed):
    with pytest.raises(ValueError) as err:
        StyleConfig(**{option: value})
    assert option in str(err.value) and allowed in str(err.value)


def test_lists_become_tuples_and_config_is_hashable():
    cfg = StyleConfig(style_layers=["relu1_1", "relu2_1"])
    assert cfg.style_layers == ("relu1_1", "relu2_1")
    hash(cfg)
    assert StyleConfig(**{**cfg.to_dict()}) == cfg
