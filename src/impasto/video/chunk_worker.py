"""What a worker does with one task of a chunked clip (:mod:`impasto.video.chunks` decides the
tasks): paint a keyframe from the one before it, a chunk from its left keyframe pulled toward its
right one, or smooth a keyframe into its painted neighbours. No Ray here, no files: frames come
in as arrays and painted frames go back as tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import StyleConfig
from ..events import Cancel
from . import flow as flows
from .config import VideoConfig
from .paint import Painter
from .temporal import Target

#: The right anchor's weight is u / (1 - u), capped here (a chunk of 33 frames reaches it).
MAX_PULL = 32.0
#: The pull toward the right keyframe, switchable only to measure what it brings (bench/video.py).
PULL = True
#: A keyframe is painted from the one a chunk before it, so a chunk's worth of newly seen picture
#: starts from the fill, not from frames painted one after another; it gets this many times a
#: frame's steps so it arrives as settled as its neighbours (else the pairs on both sides of it
#: flicker: measured 1.9x the inside at 256 px with chunks of 8 and the same steps).
ANCHOR_STEPS = 3


@dataclass(frozen=True)
class Setup:
    """What every worker holds for the whole clip (sent once)."""

    styles: list[torch.Tensor]
    config: StyleConfig
    video: VideoConfig
    reference: np.ndarray  # frame 0: the painting size and colour preservation's reference
    masks: list[torch.Tensor] | None = None


@dataclass(frozen=True)
class Task:
    """Paint ``paint`` in order from the painted frame ``left`` (None: the first frame, as a still),
    pulled toward the painted frame ``right`` (if any) from ``ramp_from`` on."""

    key: str
    paint: tuple[int, ...]
    frames: dict[int, np.ndarray]  # HxWx3 uint8: every frame the task paints or starts from
    known: dict[int, torch.Tensor]  # painted frames (network space) it starts from / aims at
    left: int | None
    right: int | None = None
    ramp_from: int = 0


@dataclass
class Done:
    key: str
    frames: list[tuple[int, torch.Tensor, torch.Tensor]]  # (index, network-space x, finished picture)
    stopped: str | None  # None, "cancelled", "nonfinite" or "failed"
    worker: str = ""
    device: str = "cpu"
    bf16: bool = False
    error: str = ""


def pull_weight(t: int, ramp_from: int, right: int) -> float:
    """The right anchor's weight for frame t (the nearest painted frame weighing 1): the
    minimiser of the temporal terms lies u of the way to the anchor, so the chunk's difference
    from it is spread evenly over the chunk's pairs. (Pinning the last frame to the anchor,
    u = 1 there, made the seam worse: 1.74x against 1.64x, 256 px, chunks of 8; a warped copy
    loses the anchor's fine texture.)"""
    u = (t - ramp_from) / (right - ramp_from)
    return min(MAX_PULL, u / (1 - u))


class _Memory:
    """A worker's frame store: only the frames of the task at hand."""

    def __init__(self) -> None:
        self.items: dict[int, dict[str, torch.Tensor]] = {}

    def has(self, pass_: int, index: int) -> bool:
        return index in self.items

    def load(self, pass_: int, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]

    def save(self, pass_: int, index: int, x: torch.Tensor, out: torch.Tensor) -> None:
        self.items[index] = {"x": x, "out": out}

    def forget(self, keep: set[tuple[int, int]]) -> None:
        self.items = {i: v for i, v in self.items.items() if (1, i) in keep}


class ChunkWorker:
    """Paints tasks with one network and the paintings' targets, built once."""

    def __init__(self, setup: Setup, name: str = "in-process", cancel: Cancel | None = None) -> None:
        self.setup, self.name = setup, name
        self.frames: dict[int, np.ndarray] = {0: setup.reference}
        self.store = _Memory()
        self.painter = Painter(self.frames, setup.styles, setup.config, setup.video, self.store,
                               masks=setup.masks, cancel=cancel)

    def run(self, task: Task) -> Done:
        p, video = self.painter, self.setup.video
        self.frames.clear()
        self.frames.update({0: self.setup.reference, **task.frames})
        p.forget_greys()
        p.pairs = self._long_flows(task)
        self.store.items = {i: {"x": x} for i, x in task.known.items()}
        done = Done(task.key, [], None, self.name, str(p.dev), p.bf16)
        for t in task.paint:
            if task.key.startswith("seam"):
                x, stopped = self._seam(t, task)
            elif task.left is None:
                x, stopped = p.first(t)
            else:
                near = [t - j for j in video.long_term if task.left <= t - j and self.store.has(1, t - j)]
                extra = []
                if PULL and task.right is not None and t != task.right:
                    extra.append(self._toward(t, task.right, pull_weight(t, task.ramp_from, task.right)))
                steps = video.frame_steps * (ANCHOR_STEPS if task.key.startswith("anchor") else 1)
                x, stopped = p.later(t, 1, near or [task.left], None, steps, extra)
            if x is None:
                done.stopped = stopped
                break
            raw, net_c = p.content(t)
            x, out = p.finish(x, raw, net_c)
            self.store.save(1, t, x, out)
            done.frames.append((t, x, out))
        return done

    def _toward(self, t: int, other: int, weight: float) -> Target:
        """The painted frame ``other`` warped into frame t, weighted by ``weight`` where the flow is reliable."""
        d, c = self.painter.pair(t, other)
        return Target(flows.warp(self.store.load(1, other)["x"], d), weight * torch.from_numpy(c)[None, None])

    def _seam(self, t: int, task: Task) -> tuple[torch.Tensor | None, str | None]:
        """Keyframe t once both its neighbours are painted: from its first picture toward the
        frame before it warped (and the frame after it, weighing the same)."""
        extra = [self._toward(t, task.right, 1.0)] if task.right is not None else []
        return self.painter.later(t, 1, [t - 1], self.store.load(1, t)["x"], self.setup.video.frame_steps, extra)

    def _long_flows(self, task: Task) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        """Flows over more than one frame, composed: each frame to the right anchor, and
        an anchor to the one before it."""
        grey = {i: flows.grey(f) for i, f in task.frames.items()}
        pairs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        if task.right is not None and task.left is not None:
            span = list(range(task.left, task.right + 1))
            pairs.update({(t, task.right): dc for t, dc in zip(span, flows.chain([grey[i] for i in span]))})
        if task.key.startswith("anchor") and task.left is not None:  # from the previous anchor
            span = list(range(task.paint[0], task.left - 1, -1))
            pairs[(task.paint[0], task.left)] = flows.chain([grey[i] for i in span])[0]
        return pairs
