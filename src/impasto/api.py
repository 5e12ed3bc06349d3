"""The public Python API: ``impasto.stylize``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, Union

from PIL import Image

from . import device as devices, image as im
from .config import StyleConfig
from .errors import NonFiniteLoss
from .events import Cancel, Notice, Progress
from .pipeline import PaintResult, paint

Source = Union[str, "os.PathLike[str]", Image.Image]


def _as_list(style: Source | Sequence[Source]) -> list[Source]:
    if isinstance(style, (str, os.PathLike, Image.Image)):
        return [style]
    return list(style)


def run(
    content: Source,
    style: Source | Sequence[Source],
    *,
    config: StyleConfig | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
    masks: Sequence[Source] | None = None,
    max_pixels: int = 0,
    add_detail: bool = True,
    **overrides: Any,
) -> PaintResult:
    """Like :func:`stylize`, but returns the full :class:`PaintResult` (tensor, steps, status).

    ``masks`` (one per style) paint each painting only where its mask is
    white; ``max_pixels`` bounds the inputs' declared size (0: the default).
    The callback also receives :class:`Notice` events. ``add_detail=False`` is
    the benchmark's ablation of :func:`impasto.pipeline.enlarge` (plain upsampling).
    """
    config = (config or StyleConfig()).with_options(**overrides)
    styles = _as_list(style)
    if not styles:
        raise ValueError("at least one style image is needed")
    config.check_counts(len(styles), len(masks or ()))
    max_pixels = max_pixels or im.DEFAULT_MAX_PIXELS

    def load(source: Source, label: str) -> im.Loaded:
        loaded = im.load(source, max_pixels=max_pixels, label=label)
        for message in loaded.notices:
            _tell(callback, message)
        return loaded

    loaded = load(content, "content")
    photo = im.to_tensor(loaded.rgb)
    if config.size > max(loaded.rgb.size):
        _tell(callback, f"the photo is {loaded.rgb.size[0]}x{loaded.rgb.size[1]} px: upsampling it "
              f"to {config.size} px on the long side")
    warning = devices.bf16_warning(config.precision, devices.pick(config.device))
    if warning:
        _tell(callback, warning)
    paintings = [im.to_tensor(load(s, "style").rgb) for s in styles]
    init = config.init_path
    init_tensor = im.to_tensor(load(init, "init image").rgb) if init is not None else None
    mask_tensors = None
    if masks:
        mask_tensors = [im.to_tensor(load(m, "mask").rgb).mean(1, keepdim=True) for m in masks]
    result = paint(photo, paintings, config, init_image=init_tensor, masks=mask_tensors,
                   callback=callback, cancel=cancel, add_detail=add_detail)
    # The photo's alpha never enters the tensors: it joins the result here, for the writer.
    return dataclasses.replace(result, alpha=loaded.alpha)


def _tell(callback: Callable[[Any], None] | None, message: str) -> None:
    if callback is not None:
        callback(Notice(message))


def stylize(
    content: Source,
    style: Source | Sequence[Source],
    *,
    config: StyleConfig | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
    **overrides: Any,
) -> Image.Image:
    """Paint ``content`` in the style of ``style`` and return the picture.

    ``content`` and ``style`` are paths or PIL images (``style`` may be a list
    to blend several paintings). Options come from ``config`` (a
    :class:`StyleConfig`) with ``overrides`` applied on top, e.g.
    ``stylize("photo.jpg", "starry.jpg", size=256, steps=100)``. An unknown
    option raises ``TypeError``; a bad value raises ``ValueError``.
    ``callback`` receives a :class:`Progress` event each step; setting
    ``cancel`` stops the run and returns the best picture so far. If the loss
    becomes NaN or infinite, :class:`NonFiniteLoss` is raised, carrying the last
    good picture in ``.picture``.
    """
    result = run(content, style, config=config, callback=callback, cancel=cancel, **overrides)
    picture = im.to_pil(result.image)
    if result.stopped == "nonfinite":
        raise NonFiniteLoss(f"the loss became NaN or infinite after {result.steps} steps", picture)
    return picture
