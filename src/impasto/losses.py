"""The losses of Gatys et al., as pure functions of tensors.

Departures from the paper, and why:

* The Gram matrix is averaged over positions (divided by H*W) instead of
  summed. The paper's 1/(4 N^2 M^2) factor does the same job inside the
  loss; putting it in the Gram makes the style *statistic* independent of the
  image size, so a painting's targets can be computed at one size and used
  at another, and several paintings can be blended.
* The optimisation loop scales each layer's loss by the mean square of its
  target (see :func:`normalizers`). A raw MSE differs by orders of magnitude
  between layers and between paintings (a dark, smooth painting has tiny
  Grams), which is why the classic tools' weights must be re-tuned per
  painting and size. Relative errors make one ``style_weight`` mean the same
  strength everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch


def gram_sum(
    features: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | float]:
    """``(sum over positions of f f^T, total weight)`` of NCHW features: a Gram before averaging.

    Sums, unlike averages, add up over the tiles of a picture (see tiles.py).
    ``mask`` (N x 1 x H x W, weights in [0, 1]) weights the positions.
    """
    n, c, h, w = features.shape
    features = features.float()  # accumulate in fp32 even under autocast
    if features.is_contiguous(memory_format=torch.channels_last):
        # Positions x channels is a free view of channels_last maps, and X^T X on it
        # runs about twice as fast as the NCHW product at the first layers.
        flat = features.permute(0, 2, 3, 1).reshape(n, h * w, c)
    else:
        flat = features.reshape(n, c, h * w).transpose(1, 2)
    if mask is None:
        return torch.bmm(flat.transpose(1, 2), flat), float(h * w)
    m = mask.reshape(n, h * w, 1).float()
    return torch.bmm((flat * m).transpose(1, 2), flat), m.sum()


def gram(features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Channel correlations ``F F^T / (H W)`` of NCHW features, shape N x C x C.

    With a ``mask`` (N x 1 x H x W, weights in [0, 1] at this layer's
    resolution) positions are weighted by it and the average is over the
    mask's total weight: the statistic of just the masked region.
    """
    total, weight = gram_sum(features, mask)
    return total / (weight if isinstance(weight, float) else weight.clamp_min(1e-8))


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error, computed in fp32."""
    return torch.mean((a.float() - b.float()) ** 2)


def _weighted_mse(
    a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], weights: Mapping[str, float]
) -> torch.Tensor:
    return sum((weights[k] * mse(a[k], b[k]) for k in b), torch.zeros(()))


def content_loss(
    features: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    weights: Mapping[str, float],
) -> torch.Tensor:
    """Weighted sum over layers of the MSE between feature maps."""
    return _weighted_mse(features, targets, weights)


def style_loss(
    grams: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    weights: Mapping[str, float],
) -> torch.Tensor:
    """Weighted sum over layers of the MSE between Gram matrices."""
    return _weighted_mse(grams, targets, weights)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels (an L2 smoothness prior).

    Averaged rather than summed so the value does not grow with image size.
    """
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def normalizers(
    targets: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float]
) -> dict[str, float]:
    """Per-layer weights divided by the mean square of the layer's target.

    The loss then measures a *relative* error (0 = perfect, 1 = as far off as
    an all-zero output), whatever the painting, the photo or the size.
    """
    return {
        k: float(layer_weights[k]) / max(float(targets[k].float().pow(2).mean()), 1e-12)
        for k in targets
    }


def blend(stats: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Weighted average of several paintings' per-layer statistics (weights sum to 1)."""
    total = float(sum(weights))
    return {k: cast(torch.Tensor, sum(w / total * s[k] for s, w in zip(stats, weights))) for k in stats[0]}
