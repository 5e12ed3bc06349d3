import numpy as np
import pytest
import torch
from PIL import Image

import impasto
from impasto import StyleConfig, image as im
from impasto.pipeline import build_network, enlarge, paint
from impasto.schedule import SMOOTH_LEVELS

FAST = dict(size=48, steps=6, start_size=48)


def test_mask_keeps_the_photo_where_black(photo, painting):
    w, h = photo.size
    mask = Image.new("L", (w, h), 0)
    mask.paste(255, (0, 0, w // 2, h))  # style on the left half only
    plain = np.asarray(impasto.stylize(photo, painting, **FAST), dtype=float)
    masked = np.asarray(impasto.run(photo, painting, masks=[mask], **FAST).image[0].permute(1, 2, 0) * 255)
    ref = np.asarray(photo.resize((48, 36)), dtype=float)
    right = slice(30, None)  # well inside the black half, past the soft edge
    left = slice(0, 18)
    assert np.abs(masked[:, right] - ref[:, right]).mean() < 0.3 * np.abs(plain[:, right] - ref[:, right]).mean()
    assert np.abs(masked[:, left] - ref[:, left]).mean() > 0.5 * np.abs(plain[:, left] - ref[:, left]).mean()


def test_blend_weights_choose_between_paintings(photo, painting):
    scream = Image.open(impasto.__path__[0] + "/examples/the_scream.jpg").convert("RGB").resize((48, 60))
    only_a = np.asarray(impasto.stylize(photo, painting, **FAST))
    a_via_blend = np.asarray(impasto.stylize(photo, [painting, scream], style_weights=(1.0, 0.0), **FAST))
    half = np.asarray(impasto.stylize(photo, [painting, scream], style_weights=(0.5, 0.5), **FAST))
    assert np.array_equal(only_a, a_via_blend)
    assert np.abs(half.astype(float) - only_a).mean() > 2.0


def test_draft_preset_upsamples_to_the_requested_size(photo, painting):
    cfg = StyleConfig(size=96, quality="draft", steps=4)
    result = paint(im.to_tensor(photo), [im.to_tensor(painting)], cfg)
    assert tuple(result.image.shape[-2:]) == (72, 96)
    assert [s for s, _ in result.plan][-1] <= 96


def test_enlarge_keeps_the_photos_fine_detail(photo):
    fine = im.to_tensor(photo)
    coarse = im.resize(fine, (fine.shape[-2] // 4, fine.shape[-1] // 4))
    # The photo seen at the coarse size comes back as the photo itself, not as a blur...
    assert torch.allclose(enlarge(coarse, fine), fine, atol=1e-5)
    blur = im.resize(coarse, tuple(fine.shape[-2:]))
    assert (blur - fine).abs().mean() > 0.02
    # ...and a coarse picture that differs from the photo keeps its own coarse content
    # while getting exactly the photo's missing band on top.
    other = 0.9 - coarse * 0.8  # a negative of the photo, kept away from 0 and 1
    out = enlarge(other, fine)
    up = im.resize(other, tuple(fine.shape[-2:]))
    assert (out - up - (fine - blur)).abs().mean() < 0.01
    assert torch.corrcoef(torch.stack([im.resize(out, coarse.shape[-2:]).flatten(), coarse.flatten()]))[0, 1] < -0.5


def test_coarse_to_fine_visits_each_scale(photo, painting):
    events = []
    cfg = StyleConfig(size=64, start_size=32, steps=6)
    result = paint(im.to_tensor(photo), [im.to_tensor(painting)], cfg, callback=events.append)
    assert [s for s, _ in result.plan] == [32, 64]
    assert {e.size for e in events} == {(24, 32), (48, 64)}
    assert tuple(result.image.shape[-2:]) == (48, 64) and result.steps == 6


def test_style_scale_changes_the_painting_size_seen(photo, painting, monkeypatch):
    from impasto import pipeline

    seen = []
    real = pipeline.Objective

    def spy(net, content, styles, **kw):
        seen.append(tuple(styles[0].shape[-2:]))
        return real(net, content, styles, **kw)

    monkeypatch.setattr(pipeline, "Objective", spy)
    kw = dict(size=96, steps=1, start_size=96)
    paint(im.to_tensor(photo), [im.to_tensor(painting)], StyleConfig(style_scale=0.5, **kw))
    paint(im.to_tensor(photo), [im.to_tensor(painting)], StyleConfig(style_scale=1.0, **kw))
    assert max(seen[0]) == 48 and max(seen[1]) == 96


def test_tiny_and_thin_sizes_still_reach_the_deepest_layer(photo, painting):
    thin = photo.resize((64, 16))
    result = paint(im.to_tensor(thin), [im.to_tensor(painting)], StyleConfig(size=16, steps=1, start_size=16))
    assert tuple(result.image.shape[-2:]) == (4, 16)


def test_noise_start_uses_its_own_generator_not_the_global_one(photo, painting):
    c, s = im.to_tensor(photo), im.to_tensor(painting)
    config = StyleConfig(init="noise", seed=5, size=32, steps=2, start_size=32)
    net = build_network(config, torch.device("cpu"))  # building layers draws (then discards) random weights
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = paint(c, [s], config, net=net).image
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's random state is left alone
    torch.manual_seed(7)
    assert torch.equal(paint(c, [s], config, net=net).image, a)  # the seed alone decides the picture


def test_add_detail_off_is_plain_upsampling(photo, painting):
    from impasto.pipeline import upsample

    small = torch.rand(1, 3, 12, 16)
    photo_t = im.resize(im.to_tensor(photo), (24, 32))
    assert torch.equal(upsample(small, photo_t), im.resize(small, (24, 32)))
    assert not torch.equal(enlarge(small, photo_t), upsample(small, photo_t))
    c, s = im.to_tensor(photo), im.to_tensor(painting)
    config = StyleConfig(size=48, start_size=24, steps=2)
    assert not torch.equal(paint(c, [s], config).image, paint(c, [s], config, add_detail=False).image)


def test_a_bf16_picture_scores_like_the_fp32_one(net, photo, painting):
    """bf16 is what GPUs and bf16 CPUs use by default: it must paint the same picture, to
    within its rounding. Both pictures are scored by the same fp32 objective. (Tiny: bf16 is
    emulated, and slow, on AVX2 CPUs.)"""
    from impasto.objective import Objective

    opts = dict(size=48, start_size=48, steps=4, seed=1)
    fp32 = impasto.run(photo, painting, precision="fp32", **opts)
    bf16 = impasto.run(photo, painting, precision="bf16", **opts)
    assert (fp32.bf16, bf16.bf16) == (False, True)
    c = im.resize(im.to_tensor(photo), tuple(fp32.image.shape[-2:]))
    score = Objective(net, c, [im.to_tensor(painting)], content_layers=["relu4_2"],
                      style_layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
                      layer_weights=[0.2] * 5, blend=[1.0], content_weight=1.0, style_weight=10.0,
                      tv_weight=10.0)
    with torch.no_grad():
        a, b = score(fp32.image).total.item(), score(bf16.image).total.item()
        start = score(c).total.item()
    assert b == pytest.approx(a, rel=0.02) and b < 0.9 * start  # painted, and as well
    assert (bf16.image - fp32.image).abs().mean() < 3 / 255


def test_a_start_picture_goes_where_the_run_computes():
    """--init on a GPU: the start picture must follow the photo's device (meta stands in for one)."""
    from impasto.pipeline import _initial

    content = torch.empty(1, 3, 12, 16, device="meta")
    init = torch.rand(1, 3, 24, 32)
    gen = torch.Generator().manual_seed(0)
    for config, start in ((StyleConfig(init="x.png"), init), (StyleConfig(init="noise"), None)):
        out = _initial(config, content, start, gen)
        assert out.device.type == "meta" and out.shape == (1, 3, 12, 16)


def test_each_scale_starts_from_the_last_ones_curvature_and_lets_it_go(photo, painting, monkeypatch):
    """Warm start at a new size: the pairs arrive resampled to the new scale, and the previous
    scale's history is freed before the new one runs (two histories never coexist)."""
    import weakref

    from impasto import optim

    seen = []
    old_refs: list = []
    real_warm, real_history = optim.LBFGS.warm, optim.LBFGS.history

    def history(self):
        pairs = real_history(self)
        old_refs.extend(weakref.ref(t) for pair in pairs for t in pair)
        return pairs

    def warm(self, pairs):
        seen.append((len(pairs), {s.numel() for s, _ in pairs}, self.x.numel()))
        real_warm(self, pairs)
        assert pairs == []
        assert all(r() is None for r in old_refs)  # the 24 px scale's pairs are gone by now

    monkeypatch.setattr(optim.LBFGS, "warm", warm)
    monkeypatch.setattr(optim.LBFGS, "history", history)
    impasto.run(photo, painting, size=48, start_size=24, steps=12)
    assert len(seen) == 1
    count, sizes, numel = seen[0]
    assert count > 0 and sizes == {numel}


@pytest.mark.parametrize("quality", ["draft", "standard", "high"])
def test_each_preset_ends_its_scales_on_a_plateau_and_steps_stay_exact(photo, painting, quality):
    # A preset's counts are caps: a small picture (one scale, capped at first + last steps)
    # stops once its loss falls by less than the preset's threshold a step; --steps N runs N.
    from impasto.schedule import PRESETS

    cap = PRESETS[quality].first + PRESETS[quality].last
    photo, painting = im.to_tensor(photo), im.to_tensor(painting)
    run = paint(photo, [painting], StyleConfig(size=64, quality=quality))
    assert run.plan == [(64, cap)] and len(run.scales) == 1
    steps, ended = run.scales[0]
    assert ended == "plateau" and 10 <= steps < cap
    exact = paint(photo, [painting], StyleConfig(size=64, quality=quality, steps=steps + 3))
    assert exact.scales == [(steps + 3, "steps")]


def test_each_scale_gets_the_presets_preconditioner(photo, painting, monkeypatch):
    from impasto import pipeline

    seen = []
    real = pipeline.optimise

    def spy(*args, **kw):
        seen.append(kw["smooth"])
        return real(*args, **kw)

    monkeypatch.setattr(pipeline, "optimise", spy)
    for quality in ("draft", "standard"):
        config = StyleConfig(size=64, start_size=32, steps=2, quality=quality)
        paint(im.to_tensor(photo), [im.to_tensor(painting)], config)
    assert seen == [0, 0, SMOOTH_LEVELS, SMOOTH_LEVELS]
