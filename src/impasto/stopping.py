"""When a scale has converged: a pure rule on the recent loss history.

A fixed step count per scale suits one painting and stops short on others
(issue 14): how many steps a scale needs depends on the painting, the photo
and the size. The rule here stops a scale once its loss stops improving fast
enough, measured in a way that means the same for any painting and size:

* the *relative* decrease (a log ratio), so a loss that is small because the
  painting is smooth or the picture small is judged like any other;
* of the *best* loss so far (a running minimum), so a single bad step of
  L-BFGS (which has no line search) neither stops a scale nor hides progress;
* per step, averaged over the last ``window`` steps, so one lucky or unlucky
  step does not decide.

``rate = (log best[t - window] - log best[t]) / window``: about the fraction
by which the loss still falls per step. A scale stops when the rate drops below
its threshold; a cap (the caller's step count) bounds it whatever happens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Steps over which progress is averaged: L-BFGS's steps alternate between
#: good and poor ones, and five steps span a couple of those cycles.
WINDOW = 5


@dataclass(frozen=True)
class Plateau:
    """Stop a scale when its best loss falls by less than ``threshold`` per step.

    ``threshold`` is a relative decrease per step (0.002: 0.2% a step), averaged
    over the last ``window`` steps; ``min_steps`` steps always run first, so a
    new scale's first, unsettled steps are never judged.
    """

    threshold: float
    window: int = WINDOW
    min_steps: int = 2 * WINDOW

    def __post_init__(self) -> None:
        if not (self.threshold >= 0 and math.isfinite(self.threshold)):
            raise ValueError(f"threshold must be a finite number >= 0, not {self.threshold!r}")
        if self.window < 1 or self.min_steps < self.window:
            raise ValueError("window must be >= 1 and min_steps >= window")

    def done(self, losses: Sequence[float]) -> bool:
        """True when the scale whose step losses are ``losses`` (oldest first) should stop."""
        if len(losses) < max(self.min_steps, self.window + 1):
            return False
        r = rate(losses, self.window)
        return r is not None and r < self.threshold


def rate(losses: Sequence[float], window: int = WINDOW) -> float | None:
    """Relative decrease per step of the running-minimum loss over the last ``window`` steps.

    None when there are not ``window + 1`` losses or no finite positive best
    before the window (nothing to compare with). Non-finite losses are ignored.
    """
    if len(losses) <= window:
        return None
    before = _best(losses[:-window])
    now = min(before, _best(losses[-window:]))
    if not (0 < before < math.inf) or now <= 0:
        # A loss of exactly 0 is perfect; a non-positive best means nothing left to gain.
        return None if before == math.inf else 0.0
    return (math.log(before) - math.log(now)) / window


def _best(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return min(finite) if finite else math.inf
