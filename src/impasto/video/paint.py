"""Painting a clip frame by frame, each frame tied to the ones before it.

* The first frame gets the still pipeline's whole coarse-to-fine schedule.
* Each later frame starts from the previous painted frame warped by the
  motion; pixels the motion cannot explain (newly revealed, motion
  boundaries, from outside the frame) start from a sound fill instead: the
  frame painted quickly at a small size (``fill="quick"``) or nearby painted
  colours plus the photo's detail (``fill="local"``). Then a few L-BFGS steps
  at the output size minimise content + style + TV + the temporal loss.
* Passes after the first alternate direction (Ruder et al.'s multi-pass):
  each frame starts from a reliability-weighted average of its last result
  and its neighbour in this pass, warped.

One VGG network serves the whole clip; the paintings' targets are computed
once. Finished frames go to the work folder as they are made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import color, device as devices, image as im, pipeline, schedule
from ..config import StyleConfig
from ..events import Cancel, returns
from ..loop import optimise
from ..objective import Objective
from . import flow as flows
from .config import VideoConfig
from .temporal import Target, TemporalObjective, long_term_weights

#: Long side of the quick paint that fills newly revealed regions (at most a third of the
#: frame's, so it costs about two steps at the output size), and its steps.
QUICK_SIZE, QUICK_STEPS = 128, 20
#: Fill by a quick paint only when more than this share of the frame is untracked.
QUICK_SHARE = 0.002


@dataclass(frozen=True)
class FrameProgress:
    """One finished frame. ``image()`` returns it (1x3xHxW in [0, 1]; read, do not modify)."""

    frame: int  # frames finished so far over all passes, this one included
    frames: int  # frames x passes
    index: int  # this frame's position in the painted range (0-based)
    pass_: int  # 1-based
    passes: int
    elapsed: float  # seconds since painting started
    seconds_per_frame: float  # mean over frames painted in this run (resumed ones excluded)
    resumed: bool  # taken from the work folder, not painted now
    image: Callable[[], torch.Tensor] = field(repr=False, compare=False)


@dataclass
class ClipResult:
    done: int  # frames of work finished (including resumed ones)
    painted: int  # frames painted in this run
    stopped: str | None  # None, "cancelled" or "nonfinite"
    device: str
    bf16: bool
    seconds_per_frame: float


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    return im.to_tensor(Image.fromarray(frame, "RGB"))


class FrameStore(Protocol):
    """Painted frames by (pass, index): the work folder, or a chunk worker's memory."""

    def has(self, pass_: int, index: int) -> bool: ...

    def load(self, pass_: int, index: int) -> dict[str, torch.Tensor]: ...

    def save(self, pass_: int, index: int, x: torch.Tensor, out: torch.Tensor) -> None: ...

    def forget(self, keep: set[tuple[int, int]]) -> None: ...


#: The clip's frames by index: all of them, or (in a chunk worker) the ones it paints; index 0,
#: the reference for size and colour, is always there.
Frames = Sequence[np.ndarray] | Mapping[int, np.ndarray]


class Painter:
    def __init__(self, frames: Frames, styles: Sequence[torch.Tensor], config: StyleConfig,
                 video: VideoConfig, work: FrameStore, *, masks: Sequence[torch.Tensor] | None = None,
                 callback: Callable[[FrameProgress], None] | None = None, cancel: Cancel | None = None) -> None:
        self.frames, self.video, self.work = frames, video, work
        self.callback, self.cancel = callback, cancel
        self.mode = config.preserve_colors
        self.dev = devices.pick(config.device)
        self.bf16 = devices.use_bf16(config.precision, self.dev)
        self.net = pipeline.build_network(config, self.dev)
        h, w = frames[0].shape[:2]
        self.size = (h, w)
        # The network space has no colour handling left to do: prepare() once here, finish() per frame.
        self.config = config.with_options(size=max(h, w), preserve_colors="none")
        self.raw_styles = list(styles)
        self.styles = color.prepare(self.mode, to_tensor(frames[0]), styles)[1]
        self.masks = [im.resize(m, self.size)[:, :1] for m in masks] if masks else None
        self._greys: dict[int, np.ndarray] = {}
        #: Flows (t, other) -> (displacement, reliability) given from outside (a chunk's composed ones).
        self.pairs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._base: Objective | None = None

    # -- pieces ------------------------------------------------------------
    def pair(self, t: int, other: int) -> tuple[np.ndarray, np.ndarray]:
        """The flow from frame t to ``other`` and its reliability (see :func:`flows.pair`)."""
        if (t, other) in self.pairs:
            return self.pairs[t, other]
        for i in (t, other):
            if i not in self._greys:
                self._greys[i] = flows.grey(self.frames[i])
        return flows.pair([self._greys[t], self._greys[other]], 0, 1)

    def forget_greys(self) -> None:
        self._greys.clear()

    def content(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        raw = to_tensor(self.frames[i])
        return raw, color.prepare(self.mode, raw, self.raw_styles[:0])[0]

    def objective(self, net_c: torch.Tensor) -> Objective:
        cfg = self.config
        if self._base is None:
            long = round(max(self.size) * cfg.style_scale)
            s = [pipeline.fit_picture(p, long).to(self.dev) for p in self.styles]
            m = [x.to(self.dev) for x in self.masks] if self.masks else None
            self._base = pipeline.build_objective(self.net, cfg, net_c.to(self.dev), s, bf16=self.bf16, masks=m)
            return self._base
        return self._base.for_content(net_c.to(self.dev), cfg.content_weight)

    def still(self, net_c: torch.Tensor, **options: Any) -> pipeline.PaintResult:
        return pipeline.paint(net_c, self.styles, self.config.with_options(**options), masks=self.masks,
                              cancel=self.cancel, net=self.net)

    def fill(self, net_c: torch.Tensor, warped: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """What untracked pixels start from (see the module's docstring)."""
        if self.video.fill == "quick" and float((c < 0.5).float().mean()) > QUICK_SHARE:
            side = min(QUICK_SIZE, max(32, max(self.size) // 3))
            quick = self.still(net_c, size=side, quality="draft", steps=QUICK_STEPS, start_size=side)
            if not quick.stopped:
                return pipeline.enlarge(quick.image, net_c)
        # Local painted colour: a normalised convolution of the tracked pixels, plus the
        # photo's detail above that blur (as pipeline.enlarge adds it between scales).
        radius = max(2, round(max(self.size) / 24))
        def blur(x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(F.pad(x, [radius] * 4, mode="replicate"), 2 * radius + 1, stride=1)
        weight = blur(c)
        colour = blur(c * warped) / weight.clamp_min(1e-3)
        colour = torch.where(weight > 1e-3, colour, warped.mean((2, 3), keepdim=True))
        return (colour + net_c - blur(net_c)).clamp(0, 1)

    def targets(self, t: int, pass_: int, neighbours: Sequence[int]) -> tuple[list[Target], torch.Tensor]:
        """The temporal targets of frame t (nearest first), and the nearest one's own reliability."""
        warped, masks = [], []
        for s in neighbours:
            d, c = self.pair(t, s)
            warped.append(flows.warp(self.work.load(pass_, s)["x"], d))
            masks.append(torch.from_numpy(c)[None, None])
        weights = long_term_weights(masks) if len(masks) > 1 else masks
        return [Target(w, c) for w, c in zip(warped, weights)], masks[0]

    def finish(self, x: torch.Tensor, raw: torch.Tensor, net_c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.float().cpu()
        if self.masks:
            x = pipeline._keep_photo_outside(x, net_c, self.masks)
        return x, color.finish(self.mode, x, raw)

    # -- frames --------------------------------------------------------------
    def first(self, t: int) -> tuple[torch.Tensor | None, str | None]:
        _, net_c = self.content(t)
        result = self.still(net_c)
        return (None if result.stopped else result.image), result.stopped

    def later(self, t: int, pass_: int, neighbours: Sequence[int], previous: torch.Tensor | None,
              steps: int, extra: Sequence[Target] = ()) -> tuple[torch.Tensor | None, str | None]:
        """Frame t from its painted ``neighbours``; ``extra`` targets (a chunk's right anchor)
        join the temporal loss and pull the start toward them by their weight."""
        _, net_c = self.content(t)
        targets, c = self.targets(t, pass_, neighbours)
        near = targets[0]
        if previous is None:
            start = c * near.warped + (1 - c) * self.fill(net_c, near.warped, c)
        else:  # a later pass: average the frame's last result with its warped neighbour
            start = (previous + c * near.warped) / (1 + c)
        for x in extra:  # the minimiser of the temporal terms alone, the nearest frame weighing 1
            start = (start + x.weight * x.warped) / (1 + x.weight)
        targets = [*targets, *extra]
        objective = TemporalObjective(self.objective(net_c), [Target(x.warped.to(self.dev), x.weight.to(self.dev))
                                                              for x in targets], self.video.temporal_weight)
        cfg = self.config
        result = optimise(objective, start.to(self.dev), steps, optimizer=cfg.optimizer, lr=cfg.learning_rate,
                          cancel=self.cancel, smooth=schedule.smoothing(cfg))
        return (None if result.stopped else result.image), result.stopped

    # -- the clip ------------------------------------------------------------
    def run(self) -> ClipResult:
        n, passes = len(self.frames), self.video.passes
        total, done, painted, spent = n * passes, 0, 0, 0.0
        clock = time.perf_counter()
        stopped: str | None = None
        for p in range(1, passes + 1):
            forward = p % 2 == 1
            order = range(n) if forward else range(n - 1, -1, -1)
            step = -1 if forward else 1  # where this pass's neighbours are
            for k, t in enumerate(order):
                resumed = self.work.has(p, t)
                if not resumed:
                    began = time.perf_counter()
                    if p == 1 and k == 0:
                        x, stopped = self.first(t)
                    elif k == 0:  # a later pass's first frame has no neighbour in this pass
                        x, stopped = self.work.load(p - 1, t)["x"], None
                    else:
                        offsets = self.video.long_term if p == 1 else (1,)
                        near = [t + j * step for j in offsets if 0 <= t + j * step < n]
                        prev = None if p == 1 else self.work.load(p - 1, t)["x"]
                        steps = self.video.frame_steps if p == 1 else self.video.pass_steps
                        x, stopped = self.later(t, p, near, prev, steps)
                    if x is None:
                        return ClipResult(done, painted, stopped, str(self.dev), self.bf16, spent / max(painted, 1))
                    raw, net_c = self.content(t)
                    x, out = self.finish(x, raw, net_c)
                    self.work.save(p, t, x, out)
                    painted += 1
                    spent += time.perf_counter() - began
                done += 1
                # Keep in memory only what later frames may warp from.
                reach = max(self.video.long_term) if p == 1 else 1
                self.work.forget({(p, t + j * step) for j in range(reach + 1)} | {(p - 1, t + step)})
                if self.callback is not None:
                    item = self.work.load(p, t)
                    self.callback(FrameProgress(done, total, t, p, passes, time.perf_counter() - clock,
                                                spent / max(painted, 1), resumed,
                                                image=returns(item["out"])))
        return ClipResult(done, painted, stopped, str(self.dev), self.bf16, spent / max(painted, 1))
