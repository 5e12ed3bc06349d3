from impasto import StyleConfig
from impasto.schedule import PRESETS, plan, sizes, split


def test_sizes_grow_to_the_requested_size():
    assert sizes(128, 512, 2.0) == [128, 256, 512]
    s = sizes(128, 512, 2 ** 0.5)
    assert s[0] == 128 and s[-1] == 512 and all(b > a for a, b in zip(s, s[1:]))
    assert sizes(512, 256, 2.0) == [256]


def test_split_keeps_the_total_and_favours_cheap_scales():
    steps = split(100, 3, 0.5)
    assert sum(steps) == 100 and steps[0] > steps[1] > steps[2] >= 1
    assert split(3, 3, 0.1) == [1, 1, 1]


def test_plan_uses_the_preset_and_explicit_steps():
    p = plan(StyleConfig(size=512))
    assert p[-1][0] == 512 and p[0][0] == PRESETS["standard"].start_size
    assert sum(n for _, n in p) == PRESETS["standard"].steps
    single = plan(StyleConfig(size=64, start_size=64, steps=7))
    assert single == [(64, 7)]
    assert sum(n for _, n in plan(StyleConfig(size=512, steps=2))) == 2
