"""The temporal loss (Ruder et al. 2016) and an objective that adds it to the still one.

The loss is a mean over all pixels and channels of ``c * (x - w)^2`` for each
earlier frame's warped picture ``w`` and its reliability ``c``, in [0, 1]
pixel units. Being a mean (Ruder's 1/D), one weight means the same pull per
pixel whatever the clip's size; a pixel nobody can track (c = 0) is free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..objective import Objective, Parts


@dataclass(frozen=True)
class Target:
    """An earlier painted frame warped into this one, and how far to trust each pixel."""

    warped: torch.Tensor  # 1xCxHxW, network space
    weight: torch.Tensor  # 1x1xHxW in [0, 1]


def temporal_loss(image: torch.Tensor, targets: Sequence[Target]) -> torch.Tensor:
    """Sum over targets of the mask-weighted mean squared difference (a pure function)."""
    total = torch.zeros((), device=image.device)
    for t in targets:
        total = total + (t.weight * (image.float() - t.warped.float()) ** 2).mean()
    return total


def long_term_weights(masks: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Ruder's long-term weights, nearest frame first: each pixel is tied only to its
    closest earlier frame that saw it reliably, c_j - sum of the nearer c_i, floored at 0."""
    out: list[torch.Tensor] = []
    if not masks:
        return out
    seen = torch.zeros_like(masks[0])
    for m in masks:
        out.append((m - seen).clamp_min(0))
        seen = seen + m
    return out


@dataclass(frozen=True)
class TemporalParts(Parts):
    temporal: float = 0.0


class TemporalObjective:
    """A still :class:`Objective` plus ``weight`` x the temporal loss."""

    def __init__(self, base: Objective, targets: Sequence[Target], weight: float) -> None:
        self.base, self.targets, self.weight = base, list(targets), weight

    def late(self, image: torch.Tensor) -> torch.Tensor:
        """The still objective's late terms (see :meth:`Objective.late`)."""
        return self.base.late(image)

    def __call__(self, image: torch.Tensor) -> Parts:
        parts = self.base(image)
        if not self.targets or not self.weight:
            return parts
        temporal = self.weight * temporal_loss(image, self.targets)
        return TemporalParts(parts.total + temporal, parts.content, parts.style, parts.tv,
                             temporal=float(temporal.detach()))


def flicker(painted: Sequence[torch.Tensor], inputs: Sequence[np.ndarray]) -> float:
    """Ruder et al.'s consistency measure, in 0-255 units: the mean over frame pairs of the
    squared difference between painted frame t and painted frame t-1 warped by the *input's*
    flow, over the pixels that pass the forward-backward test. 0 is perfectly steady."""
    from . import flow as flows

    greys = [flows.grey(f) for f in inputs]
    values = []
    for t in range(1, len(painted)):
        d, c = flows.pair(greys, t, t - 1)
        keep = torch.from_numpy(c >= 0.5)[None, None].expand_as(painted[t])
        diff = (painted[t].float() - flows.warp(painted[t - 1].float(), d)) * 255
        values.append(float(diff[keep].pow(2).mean()) if keep.any() else 0.0)
    return sum(values) / max(len(values), 1)
