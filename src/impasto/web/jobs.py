"""The studio's job queue: one worker thread paints one job at a time.

One at a time because a run already uses the whole CPU or GPU: two at once
would each take twice as long and could run out of memory. Everything else
(submitting, cancelling, reading progress, encoding previews) happens on the
web server's threads under one lock, so nothing here blocks on a run.

Each job's metadata is also written as JSON under ``data_dir/jobs`` at every
change of status (:mod:`.records`: a snapshot taken under the lock, and a late
write of an older snapshot never wins), so the list of past results survives a
restart. Pictures are painted by an engine: :class:`LocalEngine` in this
process, or :class:`impasto.ray_studio.RayStudioEngine` on a Ray cluster;
clips by :mod:`.video_jobs`, in this process. Nothing here knows about HTTP.
"""

from __future__ import annotations

import copy
import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import image as im, output
from ..config import StyleConfig
from ..events import Cancel, Notice, Progress
from ..video import FrameProgress, VideoConfig
from . import still_jobs, video_jobs
from .errors import one_line, user_names
from .records import Records
from .still_jobs import Engine, LocalEngine

log = logging.getLogger("impasto.studio")

FINISHED = ("done", "failed", "cancelled")
MAX_NOTICES = 20
THUMB_SIDE = 320


@dataclass
class Job:
    """One painting request. ``content``/``styles`` are {"path", "label"}: server paths, display names."""

    id: str
    content: dict[str, str]
    styles: list[dict[str, str]]
    options: dict[str, Any]
    created: float = field(default_factory=time.time)
    status: str = "queued"
    started: float | None = None
    finished: float | None = None
    step: int = 0
    total: int = 0
    loss: float | None = None
    elapsed: float = 0.0
    eta: float | None = None
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    stopped: str | None = None
    device: str | None = None
    result: str | None = None  # file name under data_dir/results
    kind: str = "picture"  # or "video": content is a clip, steps are frames, the result an MP4
    # Runtime only (not persisted): the run's settings, its stop flag, the latest preview.
    config: StyleConfig | None = field(default=None, repr=False)
    video: VideoConfig | None = field(default=None, repr=False)
    cancel: Cancel = field(default_factory=Cancel, repr=False)
    preview: Callable[[], Any] | None = field(default=None, repr=False)
    preview_step: int = 0

    RUNTIME = ("config", "video", "cancel", "preview", "preview_step")

    def record(self) -> dict[str, Any]:
        """The persisted fields, copied (callers read them outside the lock)."""
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
                if f.name not in self.RUNTIME}

    def public(self, position: int | None) -> dict[str, Any]:
        """What the API shows: no server paths, only labels."""
        data = self.record()
        data["content"] = self.content["label"]
        data["styles"] = [s["label"] for s in self.styles]
        data["position"] = position
        data["cancelling"] = self.status == "running" and self.cancel.is_set()
        data["image"] = "result" if self.result else ("preview" if self.preview else None)
        data["image_version"] = "final" if self.result else self.preview_step
        # The result's server file name stays here; the picture (a clip's poster) is at
        # /api/jobs/{id}/image, a clip at /api/jobs/{id}/video.
        data["video"] = bool(self.result and self.result.endswith(".mp4"))
        del data["result"]
        return data


class QueueFull(Exception):
    """Too many jobs are waiting; the caller should try again later."""


class JobQueue:
    """Jobs by id, a FIFO of waiting ids, and the worker thread that runs them."""

    def __init__(self, data_dir: Path, *, max_pixels: int = im.DEFAULT_MAX_PIXELS,
                 max_waiting: int = 100, engine: Engine | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.results = self.data_dir / "results"
        self.results.mkdir(parents=True, exist_ok=True)
        self.records = Records(self.data_dir / "jobs")
        self.engine: Engine = engine or LocalEngine()
        self.max_pixels = max_pixels
        self.max_waiting = max_waiting
        self._version = 0  # numbers the records' snapshots (taken under the lock)
        self.closed = threading.Event()  # also tells event streams to end
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[str] = deque()
        self._running: Job | None = None
        self._encoding = threading.Lock()
        self._preview_cache: dict[str, tuple[int, bytes]] = {}
        self._load()
        self._worker = threading.Thread(target=self._work, name="impasto-worker", daemon=True)
        self._worker.start()

    # --- reading -------------------------------------------------------------------------

    def get(self, job_id: str) -> tuple[Job, int | None] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else (job, self._position(job_id))

    def view(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.public(self._position(job_id))

    def views(self) -> list[dict[str, Any]]:
        """Every job, newest first."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)
            return [j.public(self._position(j.id)) for j in jobs]

    def counts(self) -> dict[str, Any]:
        with self._lock:
            return {"waiting": len(self._waiting),
                    "running": self._running.id if self._running else None,
                    "jobs": len(self._jobs)}

    def _position(self, job_id: str) -> int | None:
        """1-based place in the waiting line (1: runs next), None when not waiting."""
        try:
            return self._waiting.index(job_id) + 1
        except ValueError:
            return None

    # --- changing ------------------------------------------------------------------------

    def submit(self, job: Job) -> int:
        """Queue ``job``; returns its position. Raises QueueFull when the line is too long."""
        with self._lock:
            if self.closed.is_set():
                raise QueueFull("the studio is shutting down")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self._waiting)} jobs are already waiting; try again later")
            self._jobs[job.id] = job
            self._waiting.append(job.id)
            position = len(self._waiting)
            record = self._snapshot(job)
            self._lock.notify_all()
        self._persist(record)
        return position

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a waiting job at once, or ask the running one to stop (it keeps its best picture)."""
        record: tuple[int, dict[str, Any]] | None = None
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status == "queued":
                self._waiting.remove(job_id)
                job.status, job.finished = "cancelled", time.time()
                record = self._snapshot(job)
            elif job.status == "running":
                job.cancel.set()
            view = job.public(self._position(job_id))
        if record is not None:
            self._persist(record)
        return view

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking jobs, stop the running one, and wait for the worker to finish."""
        with self._lock:
            self.closed.set()
            if self._running is not None:
                self._running.cancel.set()
            self._lock.notify_all()
        self._worker.join(timeout)
        if not self._worker.is_alive():
            self.engine.close()

    # --- images --------------------------------------------------------------------------

    def preview_jpeg(self, job_id: str) -> bytes | None:
        """The running job's best picture so far, encoded only when asked for and once per step."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.preview is None:
                return None
            step, snapshot = job.preview_step, job.preview
        with self._encoding:
            cached = self._preview_cache.get(job_id)
            if cached is not None and cached[0] == step:
                return cached[1]
            buffer = io.BytesIO()
            im.to_pil(snapshot()).save(buffer, format="JPEG", quality=90)
            data = buffer.getvalue()
            self._preview_cache = {job_id: (step, data)}  # only the running job needs one
            return data

    def result_path(self, job_id: str) -> Path | None:
        with self._lock:
            job = self._jobs.get(job_id)
            name = job.result if job is not None else None
        path = self.results / name if name else None
        return path if path is not None and path.is_file() else None

    def thumbnail(self, job_id: str) -> Path | None:
        """A small JPEG of the result (a clip's poster), made once, for the list of past results."""
        path = self.result_path(job_id)
        if path is None:
            return None
        if path.suffix == ".mp4":
            path = self.results / f"{job_id}.poster.jpg"
            if not path.is_file():
                return None
        thumb = self.results / f"{job_id}.thumb.jpg"
        if not thumb.is_file():
            data = im.thumbnail_jpeg(path, THUMB_SIDE)
            output.atomic_write(thumb, lambda tmp: tmp.write_bytes(data))
        return thumb

    # --- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self.closed.is_set():
                    self._lock.wait()
                if self.closed.is_set():
                    return
                job = self._jobs[self._waiting.popleft()]
                job.status, job.started = "running", time.time()
                self._running = job
                record = self._snapshot(job)
            self._persist(record)
            try:
                changes = self._clip(job) if job.kind == "video" else self._paint(job)
            except BaseException as exc:  # never let one job kill the worker
                log.exception("job %s failed", job.id)
                changes = {"status": "failed", "error": f"unexpected error: {exc.__class__.__name__}: "
                                                        f"{one_line(exc)}"}
            with self._lock:
                for key, value in changes.items():
                    setattr(job, key, value)
                job.finished = time.time()
                job.preview, job.eta = None, None
                job.config = None  # the run is over; keep memory small
                self._running = None
                self._preview_cache.pop(job.id, None)
                record = self._snapshot(job)
            self._persist(record)

    def _events(self, job: Job) -> Callable[[Progress | FrameProgress | Notice], None]:
        """The run's callback: progress into the job, under the lock."""
        def on_event(event: Progress | FrameProgress | Notice) -> None:
            with self._lock:
                if isinstance(event, Notice):
                    if len(job.notices) < MAX_NOTICES:
                        job.notices.append(user_names(event.message, [job.content, *job.styles]))
                    return
                if isinstance(event, FrameProgress):
                    for key, value in video_jobs.progress(event).items():
                        setattr(job, key, value)
                    job.preview, job.preview_step = event.image, event.frame
                    return
                job.step, job.total, job.loss = event.step, event.total, event.loss
                job.elapsed = event.elapsed
                job.eta = event.eta
                # Keep the snapshot callable, not pixels: encoding happens only when a page asks.
                job.preview, job.preview_step = event.image, event.step
        return on_event

    def _clip(self, job: Job) -> dict[str, Any]:
        return video_jobs.paint(job, self.results, self._events(job), self.max_pixels)

    def _paint(self, job: Job) -> dict[str, Any]:
        return still_jobs.paint(job, self.results, self.engine, self._events(job), self.max_pixels)

    # --- persistence ---------------------------------------------------------------------

    def _snapshot(self, job: Job) -> tuple[int, dict[str, Any]]:
        """The job's record and a number that orders it after every earlier one (hold the lock)."""
        self._version += 1
        return self._version, job.record()

    def _persist(self, snapshot: tuple[int, dict[str, Any]]) -> None:
        self.records.write(*snapshot)

    def _load(self) -> None:
        """Past jobs from an earlier run of the server; unfinished ones cannot resume."""
        names = set(Job.__dataclass_fields__) - set(Job.RUNTIME)
        for data in self.records.read():
            try:
                job = Job(**{k: v for k, v in data.items() if k in names})
            except TypeError:
                log.warning("ignoring unreadable job record %s", data.get("id"))
                continue
            if job.status not in FINISHED:
                job.status, job.finished = "failed", time.time()
                job.error = "the server stopped before this job finished; paint it again"
                self._persist(self._snapshot(job))
            self._jobs[job.id] = job
