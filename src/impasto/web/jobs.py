"""The studio's job queue: one worker thread paints one job at a time.

One at a time because a run already uses the whole CPU or GPU: two at once
would each take twice as long and could run out of memory. Everything else
(submitting, cancelling, reading progress, encoding previews) happens on the
web server's threads under one lock, so nothing here blocks on a run.

Each job's metadata is also written as JSON under ``data_dir/jobs`` at every
change of status, so the list of past results survives a restart. Nothing in
this module knows about HTTP.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import image as im, output, recipe as recipes
from ..api import run
from ..config import StyleConfig
from ..errors import InputError, is_out_of_memory
from ..events import Cancel, Notice, Progress

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
    # Runtime only (not persisted): the run's settings, its stop flag, the latest preview.
    config: StyleConfig | None = field(default=None, repr=False)
    cancel: Cancel = field(default_factory=Cancel, repr=False)
    preview: Callable[[], Any] | None = field(default=None, repr=False)
    preview_step: int = 0

    RUNTIME = ("config", "cancel", "preview", "preview_step")

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
        del data["result"]  # a server file name; the picture is at /api/jobs/{id}/image
        return data


class QueueFull(Exception):
    """Too many jobs are waiting; the caller should try again later."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else exc.__class__.__name__


def _user_names(text: str, job: Job) -> str:
    """Messages from the core name files by path: show the user's names, never the server's paths."""
    for item in [job.content, *job.styles]:
        text = text.replace(item["path"], item["label"])
    return text


class JobQueue:
    """Jobs by id, a FIFO of waiting ids, and the worker thread that runs them."""

    def __init__(self, data_dir: Path, *, max_pixels: int = im.DEFAULT_MAX_PIXELS,
                 max_waiting: int = 100) -> None:
        self.data_dir = Path(data_dir)
        self.results = self.data_dir / "results"
        self.records = self.data_dir / "jobs"
        for folder in (self.results, self.records):
            folder.mkdir(parents=True, exist_ok=True)
        self.max_pixels = max_pixels
        self.max_waiting = max_waiting
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
            record = job.record()
            self._lock.notify_all()
        self._persist(record)
        return position

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a waiting job at once, or ask the running one to stop (it keeps its best picture)."""
        record = None
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status == "queued":
                self._waiting.remove(job_id)
                job.status, job.finished = "cancelled", time.time()
                record = job.record()
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
        """A small JPEG of the result, made once, for the list of past results."""
        path = self.result_path(job_id)
        if path is None:
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
                record = job.record()
            self._persist(record)
            try:
                changes = self._paint(job)
            except BaseException as exc:  # never let one job kill the worker
                log.exception("job %s failed", job.id)
                changes = {"status": "failed", "error": f"unexpected error: {exc.__class__.__name__}: "
                                                        f"{_one_line(exc)}"}
            with self._lock:
                for key, value in changes.items():
                    setattr(job, key, value)
                job.finished = time.time()
                job.preview, job.eta = None, None
                job.config = None  # the run is over; keep memory small
                self._running = None
                self._preview_cache.pop(job.id, None)
                record = job.record()
            self._persist(record)

    def _paint(self, job: Job) -> dict[str, Any]:
        config = job.config
        assert config is not None

        def on_event(event: Progress | Notice) -> None:
            with self._lock:
                if isinstance(event, Notice):
                    if len(job.notices) < MAX_NOTICES:
                        job.notices.append(_user_names(event.message, job))
                    return
                job.step, job.total, job.loss = event.step, event.total, event.loss
                job.elapsed = event.elapsed
                job.eta = event.eta
                # Keep the snapshot callable, not pixels: encoding happens only when a page asks.
                job.preview, job.preview_step = event.image, event.step

        styles = [s["path"] for s in job.styles]
        try:
            result = run(job.content["path"], styles, config=config, callback=on_event,
                         cancel=job.cancel, max_pixels=self.max_pixels)
        except (InputError, ValueError, TypeError) as exc:
            return {"status": "failed", "error": _user_names(_one_line(exc), job)}
        except (MemoryError, RuntimeError) as exc:
            if is_out_of_memory(exc):
                return {"status": "failed", "error": "out of memory: try a smaller size"}
            raise
        changes: dict[str, Any] = {"status": "cancelled" if job.cancel.is_set() else "done",
                                   "stopped": result.stopped, "device": result.device,
                                   "step": result.steps}
        if result.stopped == "nonfinite":
            changes["notices"] = job.notices + [
                f"the loss became NaN or infinite after {result.steps} steps; kept the last good picture"]
        if result.steps > 0:  # a job cancelled before its first step has nothing worth keeping
            name = f"{job.id}.png"
            meta = recipes.build(config, job.content["path"], styles, device=result.device,
                                 bf16=result.bf16, steps=result.steps, stopped=result.stopped)
            output.save(result.image, self.results / name, recipe=meta, alpha=result.alpha)
            changes["result"] = name
        return changes

    # --- persistence ---------------------------------------------------------------------

    def _persist(self, record: dict[str, Any]) -> None:
        path = self.records / f"{record['id']}.json"
        text = json.dumps(record, sort_keys=True)
        try:
            output.atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        except OSError:  # a full disk should not stop the studio; the job itself is in memory
            log.exception("could not write %s", path)

    def _load(self) -> None:
        """Past jobs from an earlier run of the server; unfinished ones cannot resume."""
        names = set(Job.__dataclass_fields__) - set(Job.RUNTIME)
        for path in sorted(self.records.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                job = Job(**{k: v for k, v in data.items() if k in names})
            except (OSError, ValueError, TypeError):
                log.warning("ignoring unreadable job record %s", path)
                continue
            if path.stem != job.id:
                continue
            if job.status not in FINISHED:
                job.status, job.finished = "failed", time.time()
                job.error = "the server stopped before this job finished; paint it again"
                self._persist(job.record())
            self._jobs[job.id] = job
