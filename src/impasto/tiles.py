"""Large pictures in tiles, with the loss and gradient of the whole picture.

Memory for one step grows with the picture (VGG's activations are kept for
the backward pass): a 4096 px picture would need tens of GiB. Here the
picture is cut into tiles, each seen by the network with a margin (halo)
as wide as the deepest layer's receptive-field radius, and only the
features of each tile's own core are used. Cores are aligned to VGG's
16 px pooling grid, so a core's features are *exactly* those of the whole
picture: no seams, and the Grams are the whole picture's statistics, not an
average of tiles' (tiling that styles each tile on its own shows seams and
repeats the style per tile).

The Gram loss is not a sum over tiles, so one step takes two passes:
1. tile by tile without a graph: sum each layer's Gram and the content
   error over all cores; this gives the loss and dL/dG for each layer;
2. tile by tile with a graph: backpropagate the surrogate
   ``<dL/dG, F_core^T F_core> + content error of the core``, whose gradient
   with respect to the tile's pixels is exactly that tile's share of the
   whole picture's gradient; the shares add up.
That costs about one extra forward pass per step plus the halos' work, in
exchange for memory bounded by the tile size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from . import losses
from .features import VGGFeatures
from .objective import Objective, Parts, autocast, precomputed

#: VGG-19 pools four times up to relu5_1: every layer's grid divides 16 px.
ALIGN = 16
#: Automatic tiling: scales above this many pixels, in tiles of AUTO_TILE px. Untiled,
#: a 2048x1536 step peaks at about 9 GiB on the CPU (bench/RESULTS.md); tiles keep
#: 4096 px within a laptop's memory.
AUTO_PIXELS = 2048 * 2048
AUTO_TILE = 1024


def tile_for(setting: int, height: int, width: int) -> int:
    """The tile size to use for a scale of ``height`` x ``width`` (0: no tiling)."""
    if setting == 0:
        return AUTO_TILE if height * width > AUTO_PIXELS else 0
    return setting if max(height, width) > setting else 0


@dataclass(frozen=True)
class Tile:
    core: tuple[int, int, int, int]  # y0, y1, x0, x1: pixels this tile answers for
    region: tuple[int, int, int, int]  # the core plus its halo, clipped to the picture


def geometry(net: VGGFeatures, layers: Iterable[str]) -> tuple[dict[str, int], int]:
    """(stride of each layer in px, receptive-field radius in px of the deepest of ``layers``)."""
    deepest = max(net.names.index(k) for k in layers)
    stride, radius, strides = 1, 0, {}
    for name in net.names[: deepest + 1]:
        if name.startswith(("conv", "pool")):
            radius += stride  # a 3x3 conv reaches one position further; a 2x2 pool half a window
        if name.startswith("pool"):
            stride *= 2
        strides[name] = stride
    return strides, radius


def grid(height: int, width: int, core: int, halo: int) -> list[Tile]:
    """Tiles covering the picture: cores of about ``core`` px on the 16 px grid, plus halos."""
    core = max(ALIGN, core // ALIGN * ALIGN)
    halo = -(-halo // ALIGN) * ALIGN

    def cuts(n: int) -> list[tuple[int, int]]:
        count = max(1, round(n / core))
        step = -(-n // count // ALIGN) * ALIGN  # equal parts, rounded up to the grid
        edges = [min(n, i * step) for i in range(count)] + [n]
        return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]

    return [
        Tile((y0, y1, x0, x1), (max(0, y0 - halo), min(height, y1 + halo),
                                max(0, x0 - halo), min(width, x1 + halo)))
        for y0, y1 in cuts(height) for x0, x1 in cuts(width)
    ]


def core_of(feature: torch.Tensor, tile: Tile, stride: int) -> torch.Tensor:
    """The part of a tile's feature map that belongs to its core."""
    y0, y1, x0, x1 = tile.core
    ry, rx = tile.region[0], tile.region[2]
    # Interior edges are multiples of 16; the picture's far edges floor like the network does.
    return feature[..., (y0 - ry) // stride:(y1 - ry) // stride, (x0 - rx) // stride:(x1 - rx) // stride]


def full_slice(tile: Tile, stride: int) -> tuple[slice, slice]:
    """Where a tile's core sits in a whole-picture map at ``stride``."""
    y0, y1, x0, x1 = tile.core
    return slice(y0 // stride, y1 // stride), slice(x0 // stride, x1 // stride)


class TiledObjective(Objective):
    """:class:`Objective` with the same loss and gradient, computed tile by tile."""

    def __init__(self, net: VGGFeatures, *args: Any, tile: int, **kwargs: Any) -> None:
        layers = tuple(kwargs["content_layers"]) + tuple(kwargs["style_layers"])
        self.strides, self.halo = geometry(net, layers)
        self.tile = tile
        super().__init__(net, *args, **kwargs)

    def _map_size(self, image: torch.Tensor, layer: str) -> tuple[int, int]:
        """(h, w) of ``layer``'s map for the whole picture (VGG's pooling floors)."""
        return image.shape[-2] // self.strides[layer], image.shape[-1] // self.strides[layer]

    def _tiles(self, image: torch.Tensor) -> list[Tile]:
        return grid(image.shape[-2], image.shape[-1], self.tile, self.halo)

    @staticmethod
    def _crop(image: torch.Tensor, tile: Tile) -> torch.Tensor:
        y0, y1, x0, x1 = tile.region
        return image[..., y0:y1, x0:x1]

    def _cores(self, part: torch.Tensor, tile: Tile, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Core features of one tile, from its region ``part`` of the picture."""
        with autocast(self.device, self.bf16):
            feats = self.net(part, layers)
        return {k: core_of(feats[k], tile, self.strides[k]) for k in layers}

    def _content_targets(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for tile in self._tiles(content):
            for k, f in self._cores(self._crop(content, tile), tile, self.content_layers).items():
                if k not in out:
                    out[k] = torch.zeros(f.shape[:2] + self._map_size(content, k), device=f.device)
                out[k][(...,) + full_slice(tile, self.strides[k])] = f.float()
        return out

    def _style_stats(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        sums: dict[str, torch.Tensor] = {}
        for tile in self._tiles(style):
            for k, f in self._cores(self._crop(style, tile), tile, self.style_layers).items():
                total, _ = losses.gram_sum(f)
                sums[k] = sums[k] + total if k in sums else total
        return {k: v / math.prod(self._map_size(style, k)) for k, v in sums.items()}

    def _masks_at(self, image: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Each mask at each style layer's whole-picture resolution, as the plain objective has it."""
        return [{k: F.adaptive_avg_pool2d(m, self._map_size(image, k)) for k in self.style_layers}
                for m in self.masks or []]

    def _positions(self, image: torch.Tensor, masks: list[dict[str, torch.Tensor]]) -> list[dict[str, float]]:
        """What each Gram is averaged over: positions, or the mask's weight at that layer."""
        count = {k: float(math.prod(self._map_size(image, k))) for k in self.style_layers}
        if not masks:
            return [count] * len(self.style_targets)
        return [{k: max(float(m[k].sum()), 1e-8) for k in self.style_layers} for m in masks]

    def _mask(self, masks: list[dict[str, torch.Tensor]], i: int, k: str, tile: Tile) -> torch.Tensor | None:
        return masks[i][k][(...,) + full_slice(tile, self.strides[k])] if masks else None

    def _content_error(self, cores: dict[str, torch.Tensor], tile: Tile) -> torch.Tensor:
        """This tile's part of the (weighted) content loss."""
        total = torch.zeros((), device=self.device)
        for k, target in self.content_targets.items():
            part = target[(...,) + full_slice(tile, self.strides[k])]
            total = total + self.content_w[k] * (cores[k].float() - part).pow(2).sum() / target.numel()
        return total

    def __call__(self, image: torch.Tensor) -> Parts:
        tiles = self._tiles(image)
        masks = self._masks_at(image)
        positions = self._positions(image, masks)
        groups = range(len(self.style_targets))
        with torch.no_grad():
            # Pass 1: the whole picture's Grams and content error, one tile at a time.
            sums: list[dict[str, Any]] = [dict.fromkeys(self.style_layers, 0.0) for _ in groups]
            content = torch.zeros((), device=self.device)
            for tile in tiles:
                cores = self._cores(self._crop(image, tile), tile, self.layers)
                content = content + self._content_error(cores, tile)
                for i in groups:
                    for k in self.style_layers:
                        sums[i][k] = sums[i][k] + losses.gram_sum(cores[k], self._mask(masks, i, k, tile))[0]
        # dL/dG per layer: the style loss is small (C x C), so autograd gives it directly.
        style = torch.zeros((), device=self.device)
        dgrams = []
        with torch.enable_grad():
            for i, targets, weights in zip(groups, self.style_targets, self.style_w):
                grams = {k: (sums[i][k] / positions[i][k]).requires_grad_(True) for k in self.style_layers}
                value = losses.style_loss(grams, targets, weights).to(self.device)
                dgrams.append(dict(zip(grams, torch.autograd.grad(value, list(grams.values())))))
                style = style + value.detach()
        value = content + style
        if torch.is_grad_enabled() and image.requires_grad:
            # Pass 2: each tile's share of the gradient, with a graph for that tile only:
            # d/dpixels of (content error of the core + <dL/dG, core's Gram sum> / positions).
            grad = torch.zeros_like(image)
            for tile in tiles:
                part = self._crop(image.detach(), tile).requires_grad_(True)
                cores = self._cores(part, tile, self.layers)
                share = self._content_error(cores, tile)
                for i in groups:
                    for k in self.style_layers:
                        gsum = losses.gram_sum(cores[k], self._mask(masks, i, k, tile))[0]
                        share = share + (dgrams[i][k] * gsum).sum() / positions[i][k]
                y0, y1, x0, x1 = tile.region
                grad[..., y0:y1, x0:x1] += torch.autograd.grad(share, part)[0]
            value = precomputed(image, value, grad)
        tv = self.tv_weight * losses.total_variation(image) if self.tv_weight else torch.zeros(())
        palette = self.palette(image)  # pixels only: the whole picture at once, like tv
        # (so are the histograms, among the late terms every objective has: Objective.late)
        return Parts(value + tv.to(self.device) + palette, float(content), float(style + palette.detach()),
                     float(tv.detach()))
