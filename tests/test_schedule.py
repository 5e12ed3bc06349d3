from impasto import StyleConfig
from impasto.schedule import PRESETS, plan, rescale, sizes


def test_sizes_grow_to_the_requested_size():
    assert sizes(128, 512, 2.0) == [128, 256, 512]
    s = sizes(128, 512, 2 ** 0.5)
    assert s[0] == 128 and s[-1] == 512 and all(b > a for a, b in zip(s, s[1:]))
    assert sizes(512, 256, 2.0) == [256]


def test_rescale_keeps_the_total_and_the_proportions():
    assert rescale([20, 8, 16], 88) == [40, 16, 32]
    for total in range(3, 60):
        out = rescale([20, 8, 16], total)
        assert sum(out) == total and min(out) >= 1
        assert out[0] >= out[2] >= out[1]
    assert rescale([60, 1, 1], 3) == [1, 1, 1]


def test_plan_uses_the_preset():
    preset = PRESETS["standard"]
    assert plan(StyleConfig(size=512)) == [(128, preset.first), (256, preset.middle), (512, preset.last)]
    big = plan(StyleConfig(size=1024))
    assert [s for s, _ in big] == [128, 256, 512, 1024] and big[-1][1] == preset.last
    # A small output is one scale with the whole budget.
    assert plan(StyleConfig(size=96)) == [(96, preset.first + preset.last)]
    # The draft preset stops optimising at its top size; the pipeline enlarges the result.
    assert plan(StyleConfig(size=512, quality="draft"))[-1][0] == PRESETS["draft"].top


def test_plan_keeps_explicit_steps_exactly():
    assert plan(StyleConfig(size=64, start_size=64, steps=7)) == [(64, 7)]
    assert sum(n for _, n in plan(StyleConfig(size=512, steps=100))) == 100
    assert plan(StyleConfig(size=512, steps=2)) == [(256, 1), (512, 1)]


def test_a_preset_with_a_threshold_stops_on_a_plateau_but_explicit_steps_are_exact(monkeypatch):
    import dataclasses

    from impasto import schedule
    from impasto.schedule import until

    # Every preset stops each scale on a plateau (issue 14: presets are thresholds, their step
    # counts only caps): the preview soonest, the print latest.
    rules = {q: until(StyleConfig(quality=q)) for q in ("draft", "standard", "high")}
    thresholds = {q: rule.threshold if rule is not None else 0.0 for q, rule in rules.items()}
    assert thresholds == {q: PRESETS[q].threshold for q in rules}
    assert thresholds["draft"] > thresholds["standard"] > thresholds["high"] > 0
    default = until(StyleConfig())
    assert default is not None and default.threshold == PRESETS["standard"].threshold
    tuned = dataclasses.replace(PRESETS["standard"], threshold=0.004)
    monkeypatch.setitem(schedule.PRESETS, "standard", tuned)
    rule = until(StyleConfig())
    assert rule is not None and rule.threshold == 0.004
    for quality in rules:  # --steps stays exact, whatever the preset
        assert until(StyleConfig(quality=quality, steps=40)) is None


def test_a_start_picture_skips_the_scales_below_its_size():
    standard, p = StyleConfig(), PRESETS["standard"]
    assert plan(standard) == [(128, p.first), (256, p.middle), (512, p.last)]
    assert plan(standard, start_at=512) == [(512, p.last)]  # a snapshot at the output size: its last scale
    assert plan(standard, start_at=300) == [(512, p.last)]
    assert plan(standard, start_at=256) == [(256, p.middle), (512, p.last)]
    assert plan(standard, start_at=2000) == [(512, p.last)]  # larger than the output: the output size
    assert plan(standard, start_at=64) == plan(standard)
    assert plan(StyleConfig(steps=10), start_at=512) == [(512, 10)]  # --steps stays exact


def test_draft_keeps_plain_lbfgs_while_standard_and_high_precondition():
    from impasto import schedule
    from impasto.schedule import smoothing

    assert smoothing(StyleConfig(quality="draft")) == 0
    assert smoothing(StyleConfig()) == smoothing(StyleConfig(quality="high")) == schedule.SMOOTH_LEVELS > 0
