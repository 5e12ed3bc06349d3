import math

import pytest
import torch

from impasto import image as im
from impasto.events import Cancel, Progress, RunClock
from impasto.loop import optimise
from impasto.objective import Objective, Parts


def _objective(net, photo, painting, **kw):
    c = im.to_tensor(photo)
    s = im.to_tensor(painting)
    args = dict(content_layers=["relu4_2"], style_layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
                layer_weights=[1] * 5, blend=[1], content_weight=1.0, style_weight=10.0, tv_weight=1.0)
    args.update(kw)
    return Objective(net, c, [s], **args), c


def test_loss_goes_down_and_best_image_is_returned(net, photo, painting):
    obj, c = _objective(net, photo, painting)
    events: list[Progress] = []
    start = float(obj(c).total)
    result = optimise(obj, c, 8, callback=events.append)
    assert result.steps == 8 and result.stopped is None
    assert len(events) == 8 and events[-1].step == 8 and events[-1].total == 8
    assert result.loss < 0.8 * start
    # The returned image is the lowest-loss one seen: none of the reported losses is lower.
    assert result.loss <= min(e.loss for e in events) + 1e-6
    assert math.isclose(float(obj(result.image).total), result.loss, rel_tol=1e-3)
    assert result.image.shape == c.shape and 0 <= result.image.min() and result.image.max() <= 1


def test_adam_also_lowers_the_loss(net, photo, painting):
    obj, c = _objective(net, photo, painting)
    start = float(obj(c).total)
    result = optimise(obj, c, 8, optimizer="adam")
    assert result.loss < start


def test_events_carry_the_losses_and_an_image(net, photo, painting):
    obj, c = _objective(net, photo, painting)
    events = []
    optimise(obj, c, 2, callback=events.append)
    e = events[-1]
    assert math.isclose(e.loss, e.content + e.style + e.tv, rel_tol=1e-4)
    assert e.image().shape == c.shape and e.elapsed > 0 and e.size == tuple(c.shape[-2:])


def test_cancel_stops_and_keeps_the_best_so_far(net, photo, painting):
    obj, c = _objective(net, photo, painting)
    cancel = Cancel()
    seen = []

    def cb(event):
        seen.append(event)
        if event.step == 3:
            cancel.set()

    result = optimise(obj, c, 20, callback=cb, cancel=cancel)
    assert result.stopped == "cancelled" and result.steps == 3 and len(seen) == 3
    assert result.loss <= min(e.loss for e in seen)


def test_clock_counts_over_scales(net, photo, painting):
    obj, c = _objective(net, photo, painting)
    clock = RunClock(total=5, scales=2)
    events = []
    optimise(obj, c, 2, clock=clock, scale=1, callback=events.append)
    optimise(obj, c, 3, clock=clock, scale=2, callback=events.append)
    assert [e.step for e in events] == [1, 2, 3, 4, 5] and events[-1].scale == 2


def test_nonfinite_loss_stops_with_the_last_good_image(net, photo, painting):
    obj, c = _objective(net, photo, painting)
    calls = {"n": 0}
    real = obj.__call__

    class Broken:
        def __call__(self, x):
            calls["n"] += 1
            parts = real(x)
            if calls["n"] > 3:
                return type(parts)(parts.total * float("nan"), parts.content, parts.style, parts.tv)
            return parts

    result = optimise(Broken(), c, 10)
    assert result.stopped == "nonfinite" and math.isfinite(result.loss)
    assert torch.isfinite(result.image).all()


def test_a_plateau_rule_ends_the_scale_early_and_the_clock_follows(net, photo, painting):
    from impasto.stopping import Plateau

    obj, c = _objective(net, photo, painting)
    clock = RunClock.for_plan([(64, 30), (64, 5)])
    events: list[Progress] = []
    # A threshold no L-BFGS run meets: the scale stops as soon as it may be judged.
    result = optimise(obj, c, 30, clock=clock, callback=events.append, until=Plateau(1.0, window=2, min_steps=4))
    assert result.steps == 4 and result.ended == "plateau" and result.stopped is None
    assert [e.ended for e in events] == [None, None, None, "plateau"]
    assert events[0].total == 35 and events[-1].total == 9 and clock.total == 9
    # A threshold of 0 never fires: the cap ends the scale, and says so.
    capped = optimise(obj, c, 6, until=Plateau(0.0, window=2, min_steps=2))
    assert capped.steps == 6 and capped.ended == "cap"
    assert optimise(obj, c, 3).ended == "steps"


def test_late_terms_are_minimised_and_counted_with_the_rest():
    """An objective's late terms (taken after the network's backward pass) add their gradient
    and their value: the optimum is that of the sum, and the best loss reported includes them."""
    from impasto.objective import Parts

    class Split:
        def __call__(self, x):
            main = (x ** 2).sum()
            return Parts(main, 0.0, float(main.detach()), 0.0)

        def late(self, x):
            return ((x - 1.0) ** 2).sum()  # alone it would pull every pixel to 1

    init = torch.full((1, 3, 4, 4), 0.9)
    result = optimise(Split(), init, 10)
    assert torch.allclose(result.image, torch.full_like(init, 0.5), atol=1e-3)  # argmin of x^2 + (x-1)^2
    assert result.loss == pytest.approx(init.numel() * 0.5, rel=1e-3)  # 0.25 + 0.25 per pixel


def test_the_loop_hands_its_smooth_levels_to_lbfgs_plain_by_default(monkeypatch):
    from impasto import loop
    from impasto.optim import LBFGS

    made = []

    class Spy(LBFGS):
        def __init__(self, *args, **kw):
            made.append(kw["smooth"])
            super().__init__(*args, **kw)

    monkeypatch.setattr(loop, "LBFGS", Spy)
    x = torch.rand(1, 3, 8, 8)
    loop.optimise(lambda image: Parts((image - 0.5).pow(2).sum(), 0.0, 0.0, 0.0), x, 2)
    loop.optimise(lambda image: Parts((image - 0.5).pow(2).sum(), 0.0, 0.0, 0.0), x, 2, smooth=3)
    assert made == [0, 3]  # callers pass their preset's levels (schedule.smoothing)
