"""The function being minimised: features of an image -> weighted losses.

Targets (the photo's features, the paintings' Grams) are computed once per
scale under ``torch.inference_mode`` and then only read.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from . import losses
from .features import VGGFeatures


@dataclass(frozen=True)
class Parts:
    """One evaluation's loss terms, already weighted (``total`` is their sum)."""

    total: torch.Tensor
    content: float
    style: float
    tv: float


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast for the network where asked; a no-op context otherwise."""
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


#: The palette term compares colour distributions at about this many pixels (the picture
#: average-pooled down to it): the distribution of colours hardly depends on fine detail,
#: which the shallow Grams carry, and sorting a 512 px picture's pixels every step costs.
PALETTE_PIXELS = 128 * 128
#: Directions of the sliced Wasserstein distance: enough to pin down a 3-D distribution.
PALETTE_DIRECTIONS = 32
#: The histogram term (Risser et al. 2017) matches the distribution of each relu1_1 channel,
#: the painting's brushwork at the finest scale: on the four Gatys paintings (512 px, standard,
#: AVX2) relu1_1 alone brought the texture measure (bench/measures.py) furthest at the least
#: cost to the score; relu4_1 (the paper's other layer) and relu2_1 + relu3_1 less, for more time.
#: It is taken on an even grid, every s-th row and column, computed straight from the pixels
#: (features.relu1_1_grid). Sorting (the term's first ranking) the whole relu1_1 of a 512x384
#: picture cost 0.74 s a step on 2 AVX2 cores, a quarter of the step; every second row and column 0.16 s, with the same
#: texture (0.92 both, The Scream). Every third (conv1_1's windows then cover each pixel once)
#: carried less texture: The Scream 1.02, Shipwreck 0.98 against 0.92, 0.88. Above about
#: HISTOGRAM_POSITIONS positions the grid thins further, so that its memory and time stay
#: bounded on large (tiled) pictures.
HISTOGRAM_STRIDE = 2
HISTOGRAM_POSITIONS = 512 * 384 // 4
#: Quantiles kept of each channel of the painting (then interpolated to the picture's positions).
HISTOGRAM_QUANTILES = 8192


def palette_pool(image: torch.Tensor) -> torch.Tensor:
    """``image`` average-pooled by the integer factor that brings it to about PALETTE_PIXELS."""
    factor = max(1, math.ceil(math.sqrt(image.shape[-2] * image.shape[-1] / PALETTE_PIXELS)))
    return F.avg_pool2d(image, factor, ceil_mode=True) if factor > 1 else image


#: A network's paintings' Grams, by (picture digest, shape, layers, precision): a worker that
#: paints many photos in one painting's style (``impasto batch``) computes each scale's Grams
#: once, not once a job (measured on an AVX2 CPU, 2 cores: 1.2 s of a default 512 px job's ~48 s,
#: the three scales' Grams of The Starry Night). Held per network, so another network (other weights,
#: pooling) never sees them, and they go with it.
_GRAMS: weakref.WeakKeyDictionary[VGGFeatures, OrderedDict[tuple[Any, ...], dict[str, torch.Tensor]]] = (
    weakref.WeakKeyDictionary())
#: Entries kept per network (each at most a few MB: the Grams of five layers).
GRAM_CACHE_SIZE = 16


class _Precomputed(torch.autograd.Function):
    """A loss value whose gradient was already computed (tile by tile, or by its own pass)."""

    @staticmethod
    def forward(ctx: Any, image: torch.Tensor, value: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(grad)
        return value.clone()

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (grad,) = ctx.saved_tensors
        return upstream * grad, None, None


def precomputed(image: torch.Tensor, value: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``value`` (detached), whose gradient with respect to ``image`` is ``grad``."""
    out = _Precomputed.apply(image, value.detach(), grad)
    assert isinstance(out, torch.Tensor)
    return out


def histogram_stride(height: int, width: int) -> int:
    """HISTOGRAM_STRIDE, or the smallest s above it keeping at most HISTOGRAM_POSITIONS positions."""
    return max(HISTOGRAM_STRIDE, math.ceil(math.sqrt(height * width / HISTOGRAM_POSITIONS)))


def downsample_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A 1x1xHxW mask brought to a feature map's resolution (area average keeps soft edges)."""
    return F.adaptive_avg_pool2d(mask, (like.shape[-2], like.shape[-1]))


class Objective:
    """Content + style + TV loss of an image, for one scale."""

    def __init__(
        self,
        net: VGGFeatures,
        content: torch.Tensor | None,
        styles: Sequence[torch.Tensor],
        *,
        content_layers: Sequence[str],
        style_layers: Sequence[str],
        layer_weights: Sequence[float],
        blend: Sequence[float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        bf16: bool = False,
        masks: Sequence[torch.Tensor] | None = None,
        palette_weight: float = 0.0,
        histogram_weight: float = 0.0,
    ) -> None:
        self.net = net
        self.content_layers = tuple(content_layers)
        self.style_layers = tuple(style_layers)
        self.layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))
        self.tv_weight = tv_weight
        self.bf16 = bf16
        self.masks = list(masks) if masks else None
        device = next(net.parameters()).device
        self.device = device
        with torch.inference_mode():
            if content is not None and content_weight > 0:
                self.content_targets = self._content_targets(content)
                unit = {k: content_weight / len(self.content_layers) for k in self.content_layers}
                self.content_w = losses.normalizers(self.content_targets, unit)
            else:
                self.content_targets, self.content_w = {}, {}
            per_style = [self._cached_style_stats(s) for s in styles]
            if self.masks:
                # Guided Grams: each painting is matched only inside its own region, so the
                # targets stay separate and each gets its own weight (Gatys et al. 2017).
                self.style_targets = per_style
                shares = [b / sum(blend) for b in blend]
            else:
                self.style_targets = [losses.blend(per_style, blend)] if per_style else []
                shares = [1.0] if per_style else []
            total = sum(layer_weights)
            unit = {k: style_weight * w / total for k, w in zip(self.style_layers, layer_weights)}
            self.style_w = [
                {k: v * share for k, v in losses.normalizers(t, unit).items()}
                for t, share in zip(self.style_targets, shares)
            ]
            # Masks give each painting its own region; one palette for the whole picture
            # would mix them, so guided runs match Grams only.
            self.palette_weight = palette_weight if styles and not self.masks and content is not None else 0.0
            self.histogram_weight = histogram_weight if styles and not self.masks else 0.0
        if self.palette_weight:
            self._palette_targets(content, styles, blend)
        if self.histogram_weight:
            self._histogram_targets(styles, blend)

    def _histogram_targets(self, styles: Sequence[torch.Tensor], blend: Sequence[float]) -> None:
        """The paintings' relu1_1 channels, sorted (several: the average of their quantiles)."""
        total = float(sum(blend))
        with torch.no_grad():
            target = sum(w / total * losses.sorted_channels(self._relu1_1(s.float()), HISTOGRAM_QUANTILES)
                         for s, w in zip(styles, blend))
        assert isinstance(target, torch.Tensor)
        self.histogram_target = target.clone()
        # Relative, like every term: 1 = as far off as an all-zero map.
        self.histogram_w = self.histogram_weight / max(float(target.pow(2).mean()), 1e-12)

    def _relu1_1(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.relu1_1_grid(image, histogram_stride(image.shape[-2], image.shape[-1]))

    def histogram(self, image: torch.Tensor) -> torch.Tensor:
        """The weighted histogram term of ``image`` (0 when there is none).

        Its gradient is taken at once, in a pass of its own, and kept as one picture-sized
        tensor: see :meth:`late`.
        """
        if not self.histogram_weight:
            return torch.zeros((), device=image.device)
        wants_grad = torch.is_grad_enabled() and image.requires_grad
        with torch.enable_grad() if wants_grad else torch.no_grad():
            pixels = image.detach().requires_grad_(wants_grad)
            grid = self._relu1_1(pixels)
            value, dgrid = losses.histogram_gradient(grid, self.histogram_target)
            if not wants_grad:
                return self.histogram_w * value
            (grad,) = torch.autograd.grad(grid, pixels, dgrid.mul_(self.histogram_w))
        value = self.histogram_w * value
        return precomputed(image, value, grad)

    def late(self, image: torch.Tensor) -> torch.Tensor:
        """The terms the loop evaluates after the network's backward pass (part of the style).

        The histogram term's pass (a convolution, the ranking, their gradients) allocates
        ~50 MB of scratch at 512 px. Before the network's forward pass, those blocks
        stayed in the C allocator's heap under the activations and lifted a default run's
        peak by 40-90 MiB; after its backward pass, when the activations are freed, they
        cost nothing (bench/RESULTS.md). The result carries its gradient: the loop adds
        it with ``backward()``.
        """
        return self.histogram(image)

    def _palette_targets(self, content: torch.Tensor | None, styles: Sequence[torch.Tensor],
                         blend: Sequence[float]) -> None:
        """The paintings' sorted colour projections at this scale's pooled pixel count.

        Several paintings blend as the weighted average of their quantiles (the
        1-D Wasserstein barycentre). The weight is divided by the paintings'
        colour variance along the directions, so palette_weight means the same
        for a muted painting as for a bright one: 1 = off by the painting's spread.
        """
        assert content is not None
        # Outside inference mode: the directions are saved for the backward pass of every step.
        self.palette_dirs = losses.directions(PALETTE_DIRECTIONS).to(self.device)
        pooled = palette_pool(content)
        n = pooled.shape[-2] * pooled.shape[-1]
        total = float(sum(blend))
        with torch.no_grad():
            target = sum(w / total * losses.sorted_projections(palette_pool(s.float()), self.palette_dirs, n)
                         for s, w in zip(styles, blend))
        assert isinstance(target, torch.Tensor)
        self.palette_target = target.clone()
        spread = float(target.var(dim=1).mean())
        self.palette_w = self.palette_weight / max(spread, 1e-6)

    def palette(self, image: torch.Tensor) -> torch.Tensor:
        """The weighted palette term of ``image`` (0 when there is none)."""
        if not self.palette_weight:
            return torch.zeros((), device=image.device)
        return self.palette_w * losses.sliced_wasserstein(palette_pool(image), self.palette_target,
                                                          self.palette_dirs)

    def for_content(self, content: torch.Tensor, content_weight: float) -> Objective:
        """A copy aimed at another photo of the same size, sharing the paintings' targets.

        A clip's frames change only the content term; recomputing the paintings'
        Grams for every frame would cost a forward pass on each painting.
        """
        other = copy.copy(self)
        if content_weight <= 0:
            return other
        with torch.inference_mode():
            other.content_targets = self._content_targets(content)
            unit = {k: content_weight / len(self.content_layers) for k in self.content_layers}
            other.content_w = losses.normalizers(other.content_targets, unit)
        return other

    def _features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        with autocast(self.device, self.bf16):
            return self.net(image, self.layers)

    def _content_targets(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self._features(content)
        return {k: feats[k].float().clone() for k in self.content_layers}

    def _cached_style_stats(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        """:meth:`_style_stats`, from this network's cache when the same picture came before."""
        cache = _GRAMS.setdefault(self.net, OrderedDict())
        digest = hashlib.blake2b(style.detach().float().cpu().contiguous().numpy().tobytes(), digest_size=16)
        key = (type(self).__qualname__, getattr(self, "tile", 0), digest.hexdigest(), tuple(style.shape),
               self.style_layers, self.bf16, str(self.device))
        if key in cache:
            cache.move_to_end(key)
            return cache[key]  # read only, like every target
        cache[key] = grams = self._style_stats(style)
        while len(cache) > GRAM_CACHE_SIZE:
            cache.popitem(last=False)
        return grams

    def _style_stats(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        with autocast(self.device, self.bf16):
            feats = self.net(style, self.style_layers)
        return {k: losses.gram(feats[k]).clone() for k in self.style_layers}

    def __call__(self, image: torch.Tensor) -> Parts:
        feats = self._features(image)
        content = losses.content_loss(feats, self.content_targets, self.content_w)
        style = torch.zeros((), device=image.device)
        for i, (targets, weights) in enumerate(zip(self.style_targets, self.style_w)):
            if self.masks:
                grams = {k: losses.gram(feats[k], downsample_mask(self.masks[i], feats[k]))
                         for k in self.style_layers}
            else:
                grams = {k: losses.gram(feats[k]) for k in self.style_layers}
            style = style + losses.style_loss(grams, targets, weights)
        tv = self.tv_weight * losses.total_variation(image) if self.tv_weight else torch.zeros(())
        # The palette is part of the style: reported with it (so are the late terms, by the loop).
        style = style + self.palette(image)
        total = content.to(image.device) + style + tv.to(image.device)
        return Parts(total, float(content.detach()), float(style.detach()), float(tv.detach()))


def style_layer_weights(config_weights: Sequence[float], layers: Sequence[str]) -> list[float]:
    """The configured per-layer style weights, or equal ones."""
    return list(config_weights) if config_weights else [1.0] * len(layers)

