import math

import pytest

from impasto.stopping import WINDOW, Plateau, rate


def test_rate_is_the_relative_decrease_per_step():
    losses = [100 * 0.99 ** k for k in range(20)]
    assert rate(losses, 5) == pytest.approx(-math.log(0.99))
    # Scale-free: the same curve at any loss level gives the same rate.
    assert rate([1e-6 * v for v in losses], 5) == pytest.approx(rate(losses, 5))
    assert rate(losses[:5], 5) is None


def test_a_plateau_stops_and_steady_progress_does_not():
    rule = Plateau(0.002)
    falling = [100 * 0.98 ** k for k in range(40)]
    assert not any(rule.done(falling[:n]) for n in range(1, 41))
    flat = falling[:20] + [falling[19] * (1 - 1e-4 * k) for k in range(1, 20)]
    stops = [n for n in range(1, len(flat) + 1) if rule.done(flat[:n])]
    assert stops and 20 < stops[0] <= 20 + WINDOW + 1


def test_noise_does_not_stop_a_falling_loss():
    # L-BFGS without line search: every third step is a bad one, far above the trend.
    noisy = [100 * 0.98 ** k * (1.5 if k % 3 == 2 else 1.0) for k in range(60)]
    rule = Plateau(0.005)
    assert not any(rule.done(noisy[:n]) for n in range(1, 61))


def test_nothing_is_judged_before_min_steps_and_nonfinite_losses_are_ignored():
    rule = Plateau(0.01, window=3, min_steps=8)
    flat = [1.0] * 20
    assert [n for n in range(1, 21) if rule.done(flat[:n])][0] == 8
    assert rate([math.nan, 2.0, 1.0, math.inf, 1.0], 3) == pytest.approx(math.log(2) / 3)
    assert rate([math.nan] * 6, 3) is None
    with pytest.raises(ValueError):
        Plateau(-1.0)
    with pytest.raises(ValueError):
        Plateau(0.1, window=5, min_steps=2)
