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
from typing import Any, cast

import torch
import torch.nn.functional as F


class _SelfProduct(torch.autograd.Function):
    """``X^T diag(m) X`` for a batch of positions x channels matrices ``X`` and position weights
    ``m`` (None: all ones), with a one-product backward.

    Why not ``torch.bmm((m X)^T, X)``: autograd sees two inputs and computes two
    gradients the size of the feature map, then adds them, while ``d(X^T M X) = M X (G + G^T)``
    is one product. At relu1_1 of a 512x384 picture that is 100 MB less at the start of
    the backward pass, when every saved activation is still held (the moment a run's
    memory peaks), and one product fewer per step.

    The product is accumulated in fp32 whatever ``flat``'s precision, but a bf16 map is
    kept for the backward as it is: casting before the product made autograd keep an
    fp32 copy of every style layer's map beside the network's own bf16 one (a bf16 pass
    at 512x384 saved 234 MiB for its backward, now 143: issue 14, bench/RESULTS.md). Nor
    is a whole fp32 copy made on the way: a bf16 map is widened a block of positions at
    a time (:func:`_wide_product`), each block still in cache when it is multiplied; the
    whole copy of relu1_1 at 512x384 is 50 MB written, read back, and faulted in fresh
    each step (on a GPU, where memory is fast and each block a kernel launch, the map is
    widened whole). Its gradient ``M X (G + G^T)`` is computed in the map's precision:
    it is rounded to it anyway as it enters the network's bf16 backward, and the product
    (accumulated in fp32 by oneDNN on CPUs and by cuBLAS) adds the rounding of the small
    C x C factor to bf16, a relative 2^-9 per entry, and with a mask that of ``M X``.
    The weights get no gradient: a mask is an input, not something a run optimises.
    """

    @staticmethod
    def forward(ctx: Any, flat: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(flat, weights)
        low = flat.dtype in (torch.bfloat16, torch.float16)
        if low and flat.device.type == "cpu":
            return _wide_product(flat, weights)
        wide = flat.float() if low else flat
        return torch.bmm((wide if weights is None else wide * weights).transpose(1, 2), wide)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        flat, weights = ctx.saved_tensors
        if weights is not None:
            flat = flat * weights.to(flat.dtype)
        return torch.bmm(flat, (grad + grad.transpose(1, 2)).to(flat.dtype)), None


#: Positions x channels elements widened to fp32 at a time for a bf16 map's Gram (4 MB): the
#: threads' shares of a block stay in their cores' L2 or the shared L3 until multiplied. 0.5 to
#: 8 MB blocks timed alike within noise in isolation (relu1_1 at 512x384, Intel Xeon, 2 cores:
#: 14-34 ms against the whole copy's 30-32); in a step the whole copy alone took 43 ms, its
#: fresh 50 MB being faulted in, and the twelve blocks' widening ~1 ms each (bench/RESULTS.md,
#: "Two bf16 CPUs").
WIDEN_BLOCK = 1 << 20


def _wide_product(flat: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """``X^T diag(m) X`` accumulated in fp32 from a lower-precision ``X``, block by block."""
    n, positions, c = flat.shape
    out = torch.zeros(n, c, c, dtype=torch.float32, device=flat.device)
    rows = max(1, WIDEN_BLOCK // (n * c))
    for start in range(0, positions, rows):
        block = flat[:, start:start + rows].float()
        left = block if weights is None else block * weights[:, start:start + rows]
        out.baddbmm_(left.transpose(1, 2), block)
    return out


def gram_sum(
    features: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | float]:
    """``(sum over positions of f f^T, total weight)`` of NCHW features: a Gram before averaging.

    Sums, unlike averages, add up over the tiles of a picture (see tiles.py).
    ``mask`` (N x 1 x H x W, weights in [0, 1]) weights the positions; the total weight is
    then each picture's own (N x 1 x 1), otherwise the position count.
    """
    n, c, h, w = features.shape
    # A bf16 map's Gram is accumulated in fp32 (_SelfProduct widens the map itself). Callers
    # take Grams outside autocast (objective.py, tiles.py), which would narrow fp32 products.
    if features.is_contiguous(memory_format=torch.channels_last):
        # Positions x channels is a free view of channels_last maps, and X^T X on it
        # runs about twice as fast as the NCHW product at the first layers.
        flat = features.permute(0, 2, 3, 1).reshape(n, h * w, c)
    else:
        flat = features.reshape(n, c, h * w).transpose(1, 2)
    if mask is None:
        return _SelfProduct.apply(flat, None), float(h * w)
    m = mask.detach().reshape(n, h * w, 1).float()
    return _SelfProduct.apply(flat, m), m.sum(dim=1, keepdim=True)  # each picture's own weight


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


def directions(count: int, dim: int = 3, seed: int = 0) -> torch.Tensor:
    """``count`` fixed unit vectors in ``dim`` dimensions (columns), the same on every call.

    Fixed rather than redrawn each step: L-BFGS needs the same function at every step.
    """
    gen = torch.Generator().manual_seed(seed)
    d = torch.randn(dim, count, generator=gen, dtype=torch.float64)
    return (d / d.norm(dim=0, keepdim=True)).float()


def quantiles(sorted_rows: torch.Tensor, positions: int) -> torch.Tensor:
    """Rows of sorted values (K x P) resampled to ``positions`` evenly spaced quantiles.

    So a painting's distribution can be compared with a picture of another size.
    """
    if positions == sorted_rows.shape[1]:
        return sorted_rows
    # Quantiles at the centres of ``positions`` equal bins, by linear interpolation between the
    # rows' own bin centres (clamped at the ends): what align_corners=False computes.
    return F.interpolate(sorted_rows[None], size=positions, mode="linear", align_corners=False)[0]


def sorted_projections(image: torch.Tensor, dirs: torch.Tensor, positions: int | None = None) -> torch.Tensor:
    """The pixels of a 1xCxHxW image projected on each direction and sorted: K x positions.

    ``positions`` (default H*W) resamples the sorted values to that many :func:`quantiles`.
    """
    pixels = image.float().reshape(image.shape[1], -1)  # C x P
    proj = torch.sort(dirs.to(pixels).T @ pixels, dim=1).values  # K x P
    return proj if positions is None else quantiles(proj, positions)


def sorted_channels(features: torch.Tensor, positions: int | None = None) -> torch.Tensor:
    """Each channel of 1xCxHxW features sorted over positions: C x positions (see :func:`quantiles`)."""
    flat = torch.sort(features.detach().float().reshape(features.shape[1], -1), dim=1).values
    return flat if positions is None else quantiles(flat, positions)


#: Channels matched at a time by :func:`histogram_gradient`: its scratch memory (keys, the
#: resampled target's running sums) is that of 16 channels, not of the whole map.
HISTOGRAM_CHUNK = 16


def rank_keys(values: torch.Tensor) -> torch.Tensor:
    """int16 keys in the order of ``values``' (float) order, at bfloat16 resolution.

    Values that round to the same bfloat16 (within 1/256 of each other) share a key.
    The bfloat16 bit pattern read as a signed integer is in value order for
    non-negative values and reversed for negative ones, whose magnitude bits the xor flips.
    """
    bits = values.to(torch.bfloat16).view(torch.int16)
    return bits ^ ((bits >> 15) & 0x7FFF)


def running_sum_device(device: torch.device) -> torch.device:
    """Where :func:`histogram_gradient` takes its float64 running sums: on ``device`` itself,
    except Apple's MPS, which has no float64 tensors, so there the CPU."""
    return torch.device("cpu") if device.type == "mps" else device


def histogram_gradient(features: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Risser et al.'s (2017) histogram loss of 1xCxHxW features, and its gradient: (loss, d loss/d features).

    ``target`` is the painting's :func:`sorted_channels` (C x any number of
    quantiles; resampled here to this map's positions). Each channel's value of
    rank r is matched to the target's value of rank r; the loss is the mean squared
    difference to that matched map, held fixed, so the gradient moves every
    activation towards its matched value: the channel's whole distribution, not
    only the second moments a Gram sees. Given directly rather than through
    autograd, a few channels at a time, so the scratch memory stays small.

    Ranked by counting rather than by sorting (a departure from Risser et al., for
    speed): values are grouped by their bfloat16 :func:`rank_keys` and each group is
    matched to the mean of the target's values over the group's ranks. A group of one
    gets exactly the target of its rank; ties (a ReLU map's many zeros, values within
    1/256 of each other) share their ranks' mean instead of an arbitrary order of them.
    At 512x384 on a 2-core AVX2 CPU sorting took 0.17-0.23 s of a ~2.8 s step, counting
    takes ~0.06 s (bench/RESULTS.md, issue 14); on a bf16 CPU, whose convolutions are
    faster and whose sort is not, the share saved is larger.
    """
    flat = features.detach().float().reshape(features.shape[1], -1)
    positions = flat.shape[1]
    grad = torch.empty_like(flat)
    total = torch.zeros((), device=flat.device)
    exact = running_sum_device(flat.device)
    for lo in range(0, flat.shape[0], HISTOGRAM_CHUNK):
        rows = slice(lo, lo + HISTOGRAM_CHUNK)
        part = flat[rows].contiguous()  # a channels_last map's channels are strided
        count = part.shape[0]
        keys = rank_keys(part)
        low = int(keys.min())
        span = int(keys.max()) - low + 1
        # One bin per key and channel, channels side by side: bin = channel * span + key - low.
        offsets = torch.arange(count, device=flat.device, dtype=torch.int32).view(-1, 1) * span - low
        bins = keys.to(torch.int32).add_(offsets)
        sizes = torch.bincount(bins.view(-1), minlength=count * span).view(count, span)
        ends = torch.cumsum(sizes, dim=1)  # rank one past each bin's last member
        wanted = quantiles(target[rows].to(part), positions).to(exact)
        # float64: a group's mean is a difference of two running sums over ~50k ranks, which
        # a float32 running sum (a GPU's float cumsum; the CPU's accumulates in double anyway)
        # would blur where groups are small.
        sums = torch.zeros(count, positions + 1, dtype=torch.float64, device=exact)
        torch.cumsum(wanted, dim=1, dtype=torch.float64, out=sums[:, 1:])
        ends, sizes = ends.to(exact), sizes.to(exact)
        means = (sums.gather(1, ends) - sums.gather(1, ends - sizes)) / sizes.clamp_min(1)
        matched = means.float().to(flat.device).view(-1)[bins]
        diff = torch.sub(part, matched, out=grad[rows])
        total += diff.square().sum()  # torch sums in blocks: fp32 is exact enough here
    grad.mul_(2.0 / flat.numel())
    return total / flat.numel(), grad.reshape(features.shape)


def sliced_wasserstein(image: torch.Tensor, target: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Squared sliced Wasserstein-2 distance between an image's pixel colours and a target's.

    ``target`` is :func:`sorted_projections` of the target at the image's pixel count.
    The mean over directions and ranks of the squared differences of sorted
    projections: 0 when the two colour distributions agree along every direction.
    Its gradient moves each pixel towards the target colour of the same rank.
    """
    return mse(sorted_projections(image, dirs), target)
