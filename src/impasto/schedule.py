"""Coarse-to-fine schedule: which sizes to optimise at, and for how many steps.

Every preset is a convergence threshold plus caps: each scale runs until its
loss stops improving by ``threshold`` per step (:mod:`impasto.stopping`) or
reaches its cap; draft, standard and high differ in how flat "done" is. An
explicit step count (``--steps N``) instead runs exactly N steps, shared
between the scales in the caps' proportions, with no threshold.

Starting small and upsampling gives the painting's large-scale structure
(a 128 px image "sees" the whole composition through VGG's receptive
fields) and is cheap: a step at 128 px costs about 1/16 of one at 512 px.
Measured on a 2-core CPU (bench/multiscale.py, bench/RESULTS.md): the
composition forms in a couple of dozen coarse steps; the output size then
needs about a dozen steps to bring back fine texture, which upsampling
blurs, and the scales between need only a few each.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import StyleConfig
from .stopping import Plateau

#: Block sizes (2x2 ... 16x16 px) whose means L-BFGS's preconditioner adds
#: (:func:`impasto.optim.smooth`). Measured at 512 px on the four Gatys paintings (AVX2 CPU,
#: bench/RESULTS.md, issue 14): 4-5% better score at equal steps on three, the same on
#: Starry Night; 3 or 4 levels did as well, 5 levels at weight 4 started slower.
SMOOTH_LEVELS = 4


@dataclass(frozen=True)
class Preset:
    start_size: int  # long side of the first scale
    ratio: float  # size ratio between scales
    first: int  # most steps at the first (coarsest) scale, where the composition forms
    middle: int  # most steps at each scale between the first and the last
    last: int  # most steps at the last scale (the output size, or ``top``)
    top: int = 0  # optimise at most at this long side, then upsample (0: up to the output size)
    #: A scale stops once its best loss falls by less than this fraction per step (0: run the caps).
    threshold: float = 0.0
    #: Block levels of L-BFGS's preconditioner toward smooth changes (:func:`impasto.optim.smooth`; 0: plain).
    smooth: int = SMOOTH_LEVELS

    def steps(self, scales: int) -> list[int]:
        """Steps per scale for a run over ``scales`` scales."""
        if scales == 1:  # a small output: one cheap scale gets the whole budget
            return [self.first + self.last]
        return [self.first] + [self.middle] * (scales - 2) + [self.last]


#: Caps per scale, and the plateau threshold that ends a scale before its cap. standard's
#: threshold (1.25% a step) comes from score-vs-time curves of the four Gatys paintings at
#: 512 px (bench/curves.py, bench/RESULTS.md, AVX2 CPU, 2026-11-30): at the output size a
#: painting's loss falls by ~2% a step after 20 steps and by ~1% after 30; the fixed 16
#: steps of before stopped where the Scream and the Shipwreck still gained 3% a step.
#: The coarse scales keep their counts as caps (their steps are cheap and more of them did
#: not show in the finished picture: 60 steps at 128 px scored no better than 20).
#: high (prints) stops a scale once it gains less than 0.3% a step: on the four paintings
#: its 128 px scale flattens there after ~50 steps and its 512 px scale after ~50 (rates
#: read from per-step losses, bench/RESULTS.md); the cap of 60 lets a painting that still
#: gains go on. draft (a preview) stops at 3% a step; at 512 px its scales still fall by
#: 3-16% a step at their caps, so there it runs its counts, and a small picture stops
#: sooner. draft keeps plain L-BFGS: over its 22 steps the preconditioner scored 3-4% better
#: on the Scream and the Shipwreck and 2-4% worse on Starry Night and Composition VII (AVX2
#: CPU, bench/RESULTS.md); standard and high gained 2-5% on three paintings each and were
#: level on the fourth.
PRESETS: dict[str, Preset] = {
    # A recognisable preview in seconds: optimised up to 256 px, then enlarged.
    "draft": Preset(start_size=128, ratio=2.0, first=16, middle=4, last=6, top=256, threshold=0.03,
                    smooth=0),
    "standard": Preset(start_size=128, ratio=2.0, first=20, middle=8, last=40, threshold=0.0125),
    # Gentler size steps and many more steps at the output size, for prints.
    "high": Preset(start_size=128, ratio=2 ** 0.5, first=60, middle=15, last=60, threshold=0.003),
}


def sizes(start: int, end: int, ratio: float) -> list[int]:
    """Long sides from ``start`` to ``end`` (inclusive), each ``ratio`` times the last."""
    if start >= end:
        return [end]
    out = [start]
    while out[-1] * ratio < end * 0.97:  # skip a last step of only a few percent
        out.append(round(out[-1] * ratio))
    out.append(end)
    return out


def rescale(steps: list[int], total: int) -> list[int]:
    """``steps`` scaled to add up to exactly ``total``, keeping proportions, each >= 1.

    Needs ``total >= len(steps)``; leftovers from rounding go to the largest remainders.
    """
    weight = sum(steps)
    raw = [max(1.0, total * n / weight) for n in steps]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)
    i = 0
    while sum(out) < total:
        out[order[i % len(out)]] += 1
        i += 1
    while sum(out) > total:  # the >= 1 floors overshot: take from the largest shares
        out[max(range(len(out)), key=lambda j: out[j])] -= 1
    return out


def plan(config: StyleConfig, start_at: int = 0) -> list[tuple[int, int]]:
    """[(long side, steps)] for a run, coarse to fine.

    ``start_at`` (the long side of a start picture) drops the scales smaller than it:
    a picture given to start from is worked on at its own size or larger.
    """
    preset = PRESETS[config.quality]
    start = config.start_size or min(preset.start_size, config.size)
    end = min(config.size, preset.top) if preset.top else config.size
    scale_sizes = sizes(min(start, end), end, preset.ratio)
    steps = preset.steps(len(scale_sizes))
    if start_at:
        kept = [i for i, size in enumerate(scale_sizes) if size >= min(start_at, end)] or [len(scale_sizes) - 1]
        scale_sizes, steps = [scale_sizes[i] for i in kept], [steps[i] for i in kept]
    if config.steps is not None:  # an explicit step count is kept exactly
        if len(scale_sizes) > config.steps:  # fewer steps than scales: keep the finest
            scale_sizes, steps = scale_sizes[-config.steps:], steps[-config.steps:]
        steps = rescale(steps, config.steps)
    return list(zip(scale_sizes, steps))


def smoothing(config: StyleConfig) -> int:
    """Block levels of the L-BFGS preconditioner for this run's preset (0: plain L-BFGS)."""
    return PRESETS[config.quality].smooth


def until(config: StyleConfig) -> Plateau | None:
    """The rule that ends each scale early, or None when the plan's counts are exact (``--steps``)."""
    threshold = PRESETS[config.quality].threshold
    if config.steps is not None or threshold <= 0:
        return None
    return Plateau(threshold)
