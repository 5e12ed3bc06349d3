"""The studio's pictures painted on Ray: ``impasto serve --ray-address ADDR`` (imported only then).

The studio keeps its queue, its files and its pages; only the painting moves:
a worker actor on the cluster paints each job from bytes with the batch's own
job function (:func:`impasto.batch_run.paint_task`, VGG-19 built once per
worker), joined and placed by :class:`impasto.ray_engine.RayEngine`. The
actor is threaded (``max_concurrency``) so that while ``paint`` runs, the
studio can call ``progress`` (polled: the latest step's numbers, the picture
every so often) and ``stop`` (sets the run's :class:`Cancel`: the run stops
after its step and returns its best picture, as a local run does).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import ray
import torch

from .batch_run import Failed, Task, WorkerState, paint_task
from .config import StyleConfig
from .errors import InputError
from .events import Cancel, Notice, Progress, returns
from .pipeline import PaintResult
from .ray_engine import RayEngine

#: How often the studio asks the worker for progress, and sends the picture at most.
POLL_S = 0.25
PICTURE_EVERY_S = 1.0
#: Calls a worker serves at once: one paint, plus progress and stop while it runs.
CONCURRENCY = 4


@ray.remote(max_concurrency=CONCURRENCY)  # type: ignore[call-overload]
class StudioPainter:
    """One worker: a network kept between jobs, and the running job's latest progress."""

    def __init__(self, number: int, warm: StyleConfig | None) -> None:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        torch.set_num_threads(max(1, int(cpus)))
        node = ray.get_runtime_context().get_node_id()[:6]
        self.state = WorkerState(f"worker {number} (node {node})")
        self.lock = threading.Lock()
        self.cancels: dict[str, Cancel] = {}
        self.latest: dict[str, Progress] = {}
        if warm is not None:
            self.state.network(warm)

    def ready(self) -> tuple[str, int]:
        return self.state.name, os.getpid()

    def paint(self, key: str, task: Task, content: bytes, *styles: bytes) -> Any:
        with self.lock:
            cancel = self.cancels.setdefault(key, Cancel())  # a stop may have come first

        def on_event(event: Progress) -> None:
            with self.lock:
                self.latest[key] = event

        try:
            return paint_task(task, content, styles, None, self.state, cancel, callback=on_event)
        finally:
            with self.lock:
                self.cancels.pop(key, None)

    def progress(self, key: str, with_picture: bool) -> dict[str, Any] | None:
        """The latest step's numbers and, if asked, its best picture as uint8 HxWx3 (small to send)."""
        with self.lock:
            event = self.latest.get(key)
        if event is None:
            return None
        data = {f.name: getattr(event, f.name) for f in fields(event) if f.name != "image"}
        if with_picture:
            data["picture"] = event.image()[0].float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
        return data

    def stop(self, key: str) -> None:
        with self.lock:
            self.cancels.setdefault(key, Cancel()).set()

    def forget(self, key: str) -> None:
        with self.lock:
            self.latest.pop(key, None)
            self.cancels.pop(key, None)


class RayStudioEngine:
    """The studio's engine (see :class:`impasto.web.jobs.Engine`) on one Ray worker."""

    def __init__(self, address: str | None, notice: Callable[[str], None] | None = None) -> None:
        self.ray = RayEngine(address, workers=1, actor=StudioPainter, notice=notice)
        self.actor = self.ray.actors[0]
        self.name = f"Ray: {self.ray.names[0]}"
        self._jobs = 0

    def paint(self, content: str, styles: list[str], config: StyleConfig, *,
              callback: Callable[[Progress | Notice], None], cancel: Cancel, max_pixels: int) -> PaintResult:
        """Read the inputs here (workers share no files), paint there, follow it from here."""
        try:
            data = Path(content).read_bytes()
            paintings = [Path(s).read_bytes() for s in styles]
        except OSError as exc:
            raise InputError(f"{'content' if exc.filename == content else 'style'} {exc.filename}: "
                             f"{'file not found' if isinstance(exc, FileNotFoundError) else exc.strerror}") from None
        self._jobs += 1
        key = f"job{self._jobs}"
        # Names are the server's paths: the studio turns them into the user's names in messages.
        digests = tuple(hashlib.sha256(p).hexdigest() for p in paintings)  # a worker decodes each once
        task = Task(0, config, content, tuple(styles), digests, max_pixels)
        ref = self.actor.paint.remote(key, task, data, *paintings)
        stopping, sent, last_picture = False, -1, 0.0
        image: Callable[[], torch.Tensor] | None = None
        try:
            while True:
                done, _ = ray.wait([ref], timeout=POLL_S)
                if cancel.is_set() and not stopping:
                    self.actor.stop.remote(key)
                    stopping = True
                want = time.monotonic() - last_picture >= PICTURE_EVERY_S or bool(done)
                update = ray.get(self.actor.progress.remote(key, want))
                if update is not None and update["step"] != sent:
                    sent = update["step"]
                    picture = update.pop("picture", None)
                    if picture is not None:
                        last_picture = time.monotonic()
                        image = returns(torch.from_numpy(picture.copy()).permute(2, 0, 1)[None].float() / 255)
                    if image is not None:  # between pictures, the numbers move on with the last one
                        callback(Progress(**update, image=image))
                if done:
                    break
            outcome = ray.get(ref)
        finally:
            self.actor.forget.remote(key)
        if isinstance(outcome, Failed):
            raise InputError(outcome.error)
        return PaintResult(image=outcome.image, loss=float("nan"), steps=outcome.steps, stopped=outcome.stopped,
                           device=outcome.device, bf16=outcome.bf16, alpha=outcome.alpha)

    def close(self) -> None:
        self.ray.close()
