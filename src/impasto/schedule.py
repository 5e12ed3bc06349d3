"""Coarse-to-fine schedule: which sizes to optimise at, and for how many steps.

Starting small and upsampling gives the painting's large-scale structure
(a 128 px image "sees" the whole composition through VGG's receptive
fields) and is cheap: a step at 128 px costs 1/16 of one at 512 px. The
finer scales then only need to add detail, so they get fewer steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import StyleConfig


@dataclass(frozen=True)
class Preset:
    start_size: int  # long side of the first scale
    steps: int  # total steps over all scales
    ratio: float  # size ratio between scales
    decay: float  # each scale gets this fraction of the previous scale's steps
    top: int = 0  # optimise at most at this long side, then upsample (0: up to the output size)
    floor: int = 1  # fewest steps at any scale (large outputs get more scales, not thinner ones)


# Chosen from measured time-to-quality on a 2-core CPU (bench/RESULTS.md): most steps
# at the cheap coarse scales, where the composition forms, a few at each finer one.
PRESETS: dict[str, Preset] = {
    "draft": Preset(start_size=128, steps=45, ratio=2.0, decay=0.2, top=256),
    "standard": Preset(start_size=128, steps=150, ratio=2.0, decay=0.3, floor=8),
    "high": Preset(start_size=128, steps=500, ratio=2 ** 0.5, decay=0.6, floor=20),
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


def split(total: int, n: int, decay: float) -> list[int]:
    """Split ``total`` steps over ``n`` scales geometrically, each scale >= 1 step."""
    if n == 1:
        return [total]
    shares = [decay**i for i in range(n)]
    raw = [total * s / sum(shares) for s in shares]
    steps = [max(1, int(r)) for r in raw]
    steps[0] += total - sum(steps)  # rounding leftovers go to the cheapest scale
    while steps[0] < 1:  # fewer steps than scales: drop the coarsest scales' share
        i = next(i for i in range(1, n) if steps[i] > 1)
        steps[i] -= 1
        steps[0] += 1
    return steps


def plan(config: StyleConfig) -> list[tuple[int, int]]:
    """[(long side, steps)] for a run, coarse to fine."""
    preset = PRESETS[config.quality]
    start = config.start_size or min(preset.start_size, config.size)
    end = min(config.size, preset.top) if preset.top else config.size
    scale_sizes = sizes(min(start, end), end, preset.ratio)
    total = config.steps or preset.steps
    if len(scale_sizes) > total:  # fewer steps than scales: keep only the finest scales
        scale_sizes = scale_sizes[-total:]
    steps = split(total, len(scale_sizes), preset.decay)
    if config.steps is None:  # an explicit step count is kept exactly; presets keep a floor
        steps = [max(preset.floor, n) for n in steps]
    return list(zip(scale_sizes, steps))
