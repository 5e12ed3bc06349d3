"""A clip in chunks painted in parallel, with no seam: keyframes first, chunks anchored at both ends.

* Keyframes (anchors) every ``chunk_frames`` frames: the first is painted as a
  still; each later one from the previous anchor warped across the chunk (the
  flow between the two keyframes) plus the temporal loss. A chain, so the
  anchors agree with one another where the motion can be tracked.
* Each chunk is then painted forward from its left anchor as the sequential
  painter would, with one more temporal target: the right anchor warped into
  the frame, weighted u / (1 - u) (u: how far into the chunk the frame is) by
  its reliability, so the chunk arrives where the next one starts. Its start
  leans the same way.
* A chunk needs only its two anchors: it is painted as soon as they exist,
  while the anchor chain runs ahead on another worker.
* Once every frame is painted, each later anchor is painted once more (a "seam"
  task, kept as pass 2 in the work folder) from its first picture toward both
  painted neighbours warped into it. An anchor is a separate optimisation, so its
  fine texture is its own: however hard a chunk is pulled toward it, the pair into
  it (or out of it) jumps. Smoothed, it sits between its neighbours like any frame.

Measured on a synthetic 256 px pan and zoom (``bench/video.py --chunks``, chunks
of 8, 25 frames, default steps): seam / inside flicker 1.87x chained and pulled,
1.64x with anchors given 3x a frame's steps, 0.80x with the seams smoothed too
(RESULTS.md has the table). Workers get frames as arrays and anchors as tensors
and return painted frames; the driver (:func:`paint`) keeps the work folder, so a
rerun continues. No Ray here: an engine is passed in (:class:`LocalEngine` paints
in this process; :mod:`impasto.ray_video` on Ray).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import torch

from ..config import StyleConfig
from ..errors import ImpastoError
from ..events import Cancel, returns
from .chunk_worker import ChunkWorker, Done, Setup, Task, pull_weight
from .config import VideoConfig
from .paint import ClipResult, FrameProgress
from .work import WorkFolder

#: Chunk length when workers are asked for and ``chunk_frames`` is not given.
DEFAULT_CHUNK_FRAMES = 12
#: Two of the design's three parts, switchable only to measure what each brings (bench/video.py
#: --chunks): keyframes painted from the previous one (else each alone, as a still), and the seams
#: smoothed once both sides are painted. The third, the pull to the right keyframe, is
#: chunk_worker.PULL.
CHAINED, SMOOTH = True, True
#: Where a keyframe smoothed into its neighbours is kept in the work folder (the clip is
#: assembled from the latest pass of each frame).
SEAM_PASS = 2


class Engine(Protocol):
    """Runs tasks on workers. ``start`` once, then ``submit`` while ``slots()`` > 0, and
    ``wait`` for finished tasks (an empty list after a short while if none finished)."""

    def start(self, setup: Setup, cancel: Cancel) -> None: ...

    def slots(self) -> int: ...

    def submit(self, task: Task) -> None: ...

    def wait(self) -> list[Done]: ...

    def close(self) -> None: ...


class LocalEngine:
    """One worker in this process: the same result as on Ray, one task at a time."""

    def __init__(self) -> None:
        self.worker: ChunkWorker | None = None
        self.queue: list[Task] = []

    def start(self, setup: Setup, cancel: Cancel) -> None:
        self.worker = ChunkWorker(setup, cancel=cancel)

    def slots(self) -> int:
        return 0 if self.queue else 1

    def submit(self, task: Task) -> None:
        self.queue.append(task)

    def wait(self) -> list[Done]:
        assert self.worker is not None, "start() first"
        return [self.worker.run(self.queue.pop(0))] if self.queue else []

    def close(self) -> None:
        self.worker, self.queue = None, []


def anchors(n: int, chunk_frames: int) -> list[int]:
    return list(range(0, n, chunk_frames))


def seams(n: int, chunk_frames: int) -> list[int]:
    """Frames t whose pair (t-1, t) crosses a seam: each keyframe after the first."""
    return anchors(n, chunk_frames)[1:]


class _Plan:
    """Which tasks are left and which can run, from the frames in the work folder."""

    def __init__(self, frames: Sequence[np.ndarray], chunk_frames: int, work: WorkFolder) -> None:
        self.frames, self.work = frames, work
        self.n = len(frames)
        self.keys = anchors(self.n, chunk_frames)
        self.have = {t for t in range(self.n) if work.has(1, t)}
        self.seams = self.keys[1:] if SMOOTH else []  # keyframes to smooth once all is painted
        self.smoothed = {t for t in self.seams if work.has(SEAM_PASS, t)}
        self.sent: set[str] = set()

    def _x(self, t: int) -> torch.Tensor:
        return self.work.load(1, t)["x"]

    def _task(self, key: str, paint: Sequence[int], left: int | None, right: int | None = None,
              ramp_from: int = 0) -> Task:
        ends = [i for i in (left, right) if i is not None]
        span = range(min([*ends, *paint]), max([*ends, *paint]) + 1)  # long flows go frame by frame
        return Task(key, tuple(paint), {i: self.frames[i] for i in span},
                    {i: self._x(i) for i in [*ends, *(t for t in paint if t in self.have)]}, left, right,
                    ramp_from)

    def ready(self) -> list[Task]:
        """Tasks whose ends are painted, anchors first (the chain is the critical path)."""
        out: list[Task] = []
        for j, a in enumerate(self.keys):
            key = f"anchor {a}"
            if a in self.have or key in self.sent:
                continue
            if j == 0:
                out.append(self._task(key, [a], None))
            elif not CHAINED:
                out.append(self._task(key, [a], None))
            elif self.keys[j - 1] in self.have:
                out.append(self._task(key, [a], self.keys[j - 1]))
        for j, a in enumerate(self.keys):
            right = self.keys[j + 1] if j + 1 < len(self.keys) else None
            stop = right if right is not None else self.n
            key = f"chunk {a}"
            if key in self.sent or a not in self.have or (right is not None and right not in self.have):
                continue
            left = a
            while left + 1 < stop and left + 1 in self.have:  # resume after the frames already painted
                left += 1
            todo = [t for t in range(left + 1, stop) if t not in self.have]
            if todo:
                out.append(self._task(key, todo, left, right, a))
        if len(self.have) == self.n:  # every frame painted: smooth the seams
            for a in self.seams:
                key = f"seam {a}"
                if a not in self.smoothed and key not in self.sent:
                    right = a + 1 if a + 1 < self.n else None
                    out.append(self._task(key, [a], a - 1, right))
        return out


def paint(frames: Sequence[np.ndarray], styles: Sequence[torch.Tensor], config: StyleConfig,
          video: VideoConfig, work: WorkFolder, engine: Engine, *, masks: Sequence[torch.Tensor] | None = None,
          callback: Callable[[FrameProgress], None] | None = None, cancel: Cancel | None = None) -> ClipResult:
    """Paint the frames missing from ``work`` on ``engine`` (started here, closed at the end)."""
    cancel = cancel or Cancel()
    plan = _Plan(frames, video.chunk_frames or DEFAULT_CHUNK_FRAMES, work)
    n, clock = plan.n, time.perf_counter()
    total = n + len(plan.seams)  # every frame, then each keyframe after the first smoothed once more
    done, painted = 0, 0
    device, bf16, stopped = "cpu", False, None

    def emit(t: int, pass_: int, resumed: bool) -> None:
        if callback is not None:
            item = work.load(pass_, t)
            spent = time.perf_counter() - clock
            callback(FrameProgress(done, total, t, 1, 1, spent, spent / max(painted, 1), resumed,
                                   image=returns(item["out"])))
        work.forget(set())

    for t in sorted(plan.have):
        done += 1
        emit(t, 1, True)
    for t in sorted(plan.smoothed):
        done += 1
        emit(t, SEAM_PASS, True)
    if done == total:
        return ClipResult(done, 0, None, device, bf16, 0.0)
    engine.start(Setup(list(styles), config, video, frames[0], list(masks) if masks else None), cancel)
    try:
        flying = 0
        while not cancel.is_set() and stopped is None:
            for task in plan.ready():
                if not engine.slots():
                    break
                engine.submit(task)
                plan.sent.add(task.key)
                flying += 1
            if not flying:
                break
            for result in engine.wait():
                flying -= 1
                plan.sent.discard(result.key)  # resent if it stopped short (its frames so far are kept)
                device, bf16 = result.device, result.bf16
                for t, x, out in result.frames:
                    pass_ = SEAM_PASS if result.key.startswith("seam") else 1
                    work.save(pass_, t, x, out)
                    (plan.smoothed if pass_ == SEAM_PASS else plan.have).add(t)
                    done, painted = done + 1, painted + 1
                    emit(t, pass_, False)
                if result.stopped == "failed":
                    raise ImpastoError(f"{result.key} of the clip failed on {result.worker}: {result.error}")
                stopped = stopped or result.stopped
    finally:
        engine.close()
    if stopped is None and cancel.is_set() and done < total:
        stopped = "cancelled"
    spf = (time.perf_counter() - clock) / max(painted, 1)
    return ClipResult(done, painted, stopped, device, bf16, spf)


__all__ = ["DEFAULT_CHUNK_FRAMES", "ChunkWorker", "Done", "Engine", "LocalEngine", "Setup", "Task", "anchors",
           "paint", "pull_weight", "seams"]
