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


def test_option_specs_read_types_from_the_annotations():
    from impasto.config import MAX_SIZE, MIN_SIZE, StyleConfig
    from impasto.options import option_specs

    specs = {s.name: s for s in option_specs(StyleConfig)}
    assert list(specs) == [f.name for f in __import__("dataclasses").fields(StyleConfig)]
    assert (specs["size"].type, specs["size"].many, specs["size"].bounds) == (int, False, (MIN_SIZE, MAX_SIZE))
    assert (specs["steps"].type, specs["steps"].optional, specs["steps"].default) == (int, True, None)
    assert (specs["style_weights"].type, specs["style_weights"].many) == (float, True)
    assert (specs["style_layers"].type, specs["style_layers"].many) == (str, True)
    assert specs["style_layers"].choices and specs["pooling"].choices == ("max", "avg")
    assert specs["learning_rate"].type is float and specs["weights"].type is str


def test_counts_of_masks_and_style_weights_are_checked_in_one_place():
    from impasto.errors import InputError

    StyleConfig(style_weights=(1, 2)).check_counts(2, 2)
    with pytest.raises(InputError, match="1 --mask for 2 style"):
        StyleConfig().check_counts(2, 1, "--mask")
    with pytest.raises(InputError, match="style_weights has 2 weight.s. for 3 painting"):
        StyleConfig(style_weights=(1, 2)).check_counts(3)


def test_init_path_is_none_for_the_keywords():
    from impasto.config import INIT_KEYWORDS

    assert all(StyleConfig(init=k).init_path is None for k in INIT_KEYWORDS)
    assert StyleConfig(init="start.png").init_path == "start.png"
