"""A whole run: scales, targets per scale, the loop at each, colour handling.

Works on tensors only (package convention: float32 NCHW RGB in [0, 1]).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from . import color, device as devices, features, image as im, schedule, tiles
from .config import INIT_NOISE, StyleConfig
from .events import Cancel, Progress, RunClock
from .loop import optimise
from .objective import Objective, style_layer_weights
from .optim import Pair, carry_history

if TYPE_CHECKING:
    from PIL import Image


@dataclass
class PaintResult:
    image: torch.Tensor  # 1x3xHxW in [0, 1], on the CPU
    loss: float  # best loss at the final scale reached
    steps: int  # steps actually run
    stopped: str | None  # None, "cancelled" or "nonfinite"
    device: str
    bf16: bool
    plan: list[tuple[int, int]] = field(default_factory=list)  # (long side, most steps) per scale
    #: (steps run, why the scale ended) per scale reached; see :class:`~impasto.loop.ScaleResult`.
    scales: list[tuple[int, str]] = field(default_factory=list)
    alpha: Image.Image | None = None  # the photo's alpha channel (PIL "L"), re-applied on output


#: VGG-19 pools four times before relu5_1, so each side needs at least 16 px.
MIN_NETWORK_SIDE = 16


def fit_for_network(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the given long side, enlarged if needed so the short side is >= 16 px."""
    h, w = im.fit_size(width, height, long_side)
    if min(h, w) < MIN_NETWORK_SIDE:
        h, w = im.fit_size(width, height, round(long_side * MIN_NETWORK_SIDE / min(h, w)))
    return h, w


def fit_picture(picture: torch.Tensor, long_side: int) -> torch.Tensor:
    """``picture`` (NCHW) resized to :func:`fit_for_network`'s size for ``long_side``."""
    return im.resize(picture, fit_for_network(picture.shape[-1], picture.shape[-2], long_side))


def build_network(config: StyleConfig, device: torch.device) -> features.VGGFeatures:
    layers = tuple(config.content_layers) + tuple(config.style_layers)
    net = features.build(config.weights, layers, config.pooling)
    return net.to(device=device, memory_format=torch.channels_last)  # type: ignore[call-overload]


def build_objective(net: features.VGGFeatures, config: StyleConfig, content: torch.Tensor,
                    styles: Sequence[torch.Tensor], *, bf16: bool, masks: Sequence[torch.Tensor] | None = None,
                    tile: int = 0) -> Objective:
    """The loss of one scale with every weight the options set: the one place that reads them,
    so the still pipeline and a clip's frames cannot drift apart (a new term is added here)."""
    kind = functools.partial(tiles.TiledObjective, tile=tile) if tile else Objective
    return kind(
        net, content, styles,
        content_layers=config.content_layers, style_layers=config.style_layers,
        layer_weights=style_layer_weights(config.layer_weights, config.style_layers),
        blend=list(config.style_weights) or [1.0] * len(styles), content_weight=config.content_weight,
        style_weight=config.style_weight, tv_weight=config.tv_weight, bf16=bf16, masks=masks,
        palette_weight=config.palette_weight, histogram_weight=config.histogram_weight,
    )


def _initial(config: StyleConfig, content: torch.Tensor, init_image: torch.Tensor | None,
             gen: torch.Generator) -> torch.Tensor:
    if init_image is not None:
        return im.resize(init_image, (content.shape[-2], content.shape[-1])).to(content.device)
    if config.init == INIT_NOISE:
        # Mid-grey plus small noise: a neutral start that lets the style choose the colours.
        noise = torch.randn(content.shape, generator=gen, dtype=torch.float32)
        return (0.5 + 0.1 * noise).clamp(0, 1).to(content.device)
    return content.clone()


def enlarge(x: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """The previous scale's picture brought to ``photo``'s size, with the photo's fine detail.

    Plain upsampling blurs, and blur is what the shallow layers' Grams punish
    most, so the first steps of a finer scale would only undo it. Adding the
    band the coarse scale could not hold (photo minus photo-through-the-coarse-
    size; a Laplacian-pyramid step) starts the scale sharp: on the 512 px
    benchmark this lowers the finished picture's score (bench/RESULTS.md).
    """
    size = tuple(photo.shape[-2:])
    if tuple(x.shape[-2:]) == size:  # the last scale already at the output size: nothing to add
        return x
    coarse_photo = im.resize(im.resize(photo, tuple(x.shape[-2:])), size)
    return (im.resize(x, size) + photo - coarse_photo).clamp(0, 1)


def upsample(x: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """Plain upsampling to ``photo``'s size: the ablation of :func:`enlarge` (bench/multiscale.py)."""
    return im.resize(x, (photo.shape[-2], photo.shape[-1]))


def _keep_photo_outside(out: torch.Tensor, content: torch.Tensor,
                        masks: Sequence[torch.Tensor]) -> torch.Tensor:
    """Where every mask is black the photo shows through, blended over a soft edge.

    The guided Grams already keep style out of black regions; compositing makes
    the promise exact there, and the blur (about 1/50 of the image) hides the seam.
    """
    size = tuple(out.shape[-2:])
    union = torch.stack([im.resize(m.float(), size)[:, :1] for m in masks]).amax(0)
    radius = max(1, round(max(size) / 100))
    soft = F.avg_pool2d(F.pad(union, [radius] * 4, mode="replicate"), 2 * radius + 1, stride=1)
    photo = im.resize(content, size)
    return soft * out + (1 - soft) * photo


def _finishing(callback: Callable[[Progress], None],
               finish: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Progress], None]:
    """``callback`` with each event's image finished (computed only if asked for)."""
    def report(event: Progress) -> None:
        raw = event.image
        callback(dataclasses.replace(event, image=lambda: finish(raw())))
    return report


def paint(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: StyleConfig,
    *,
    init_image: torch.Tensor | None = None,
    masks: Sequence[torch.Tensor] | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
    net: features.VGGFeatures | None = None,
    add_detail: bool = True,
) -> PaintResult:
    """Paint ``content`` in the style of ``styles`` (blended), coarse to fine.

    ``add_detail=False`` brings each scale to the next by plain upsampling instead of
    :func:`enlarge` (an ablation for the benchmark, not a user option).
    """
    dev = devices.pick(config.device)
    bf16 = devices.use_bf16(config.precision, dev)
    net = net if net is not None else build_network(config, dev)
    # The run's only randomness (the noise start) draws from its own generator, never the global one.
    gen = torch.Generator().manual_seed(config.seed)
    config.check_counts(len(styles))
    grow = enlarge if add_detail else upsample

    # Colour preservation changes what the network sees, not the loop.
    net_content, net_styles = color.prepare(config.preserve_colors, content, styles)
    # A start picture is used at its own size: resuming from a --save-every snapshot (written
    # at the output size) continues there instead of shrinking it to the first scale and
    # painting the whole schedule again.
    steps_plan = schedule.plan(config, start_at=max(init_image.shape[-2:]) if init_image is not None else 0)
    clock = RunClock.for_plan(steps_plan)
    rule = schedule.until(config)
    levels = schedule.smoothing(config)  # the preconditioner's, the same at every scale
    ended: list[tuple[int, str]] = []
    h0, w0 = content.shape[-2:]
    final_photo = im.resize(net_content, im.fit_size(w0, h0, config.size))  # once, not per snapshot

    def finish(x: torch.Tensor) -> torch.Tensor:
        """The picture a run stopping now delivers: output size, colours, mask composite.

        Used for the result and for every Progress event's image (snapshots, previews), so a
        snapshot is exactly what stopping at that step would give.
        """
        # The draft preset stops below the output size: enlarge it the same way as between scales.
        out = grow(x.float().cpu(), final_photo)
        out = color.finish(config.preserve_colors, out, content)
        return _keep_photo_outside(out, content, masks) if masks else out

    report = None if callback is None else _finishing(callback, finish)
    x: torch.Tensor | None = None
    result = None
    warm: list[Pair] | None = None
    for index, (long_side, steps) in enumerate(steps_plan, start=1):
        size = fit_for_network(w0, h0, long_side)
        c = im.resize(net_content, size).to(dev)
        style_long = round(long_side * config.style_scale)
        s = [fit_picture(p, style_long).to(dev) for p in net_styles]
        m = [im.resize(mask, size).to(dev)[:, :1] for mask in masks] if masks else None
        objective = build_objective(net, config, c, s, bf16=bf16, masks=m,
                                    tile=tiles.tile_for(config.tile_size, *size))
        start = _initial(config, c, init_image, gen) if x is None else grow(x.to(dev), c)
        if result is not None and x is not None:
            warm = carry_history(result.history, (x.shape[-2], x.shape[-1]), size)
        result = optimise(objective, start, steps, optimizer=config.optimizer,
                          lr=config.learning_rate, clock=clock, scale=index,
                          callback=report, cancel=cancel, warm=warm, until=rule,
                          smooth=levels)
        x = result.image
        ended.append((result.steps, result.ended))
        if result.stopped:
            break
    assert result is not None and x is not None
    return PaintResult(finish(x), result.loss, clock.done, result.stopped, str(dev), bf16, steps_plan,
                       scales=ended)
