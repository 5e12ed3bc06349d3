"""Running a planned batch: the job function, the in-process engine, the driver loop.

The driver (this module's :func:`run`) does all file I/O: it reads each input
file's bytes once, hands bytes (never paths) to an engine's workers, and
writes every finished picture atomically with its recipe. Workers need no
shared filesystem. Engines (this module's :class:`LocalEngine`, or
:class:`impasto.ray_engine.RayEngine`) turn ``(Task, Inputs)`` pairs into
:class:`Painted` or :class:`Failed` outcomes; results and failures are data.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from . import device as devices, image as im, output, recipe as recipes
from .batch import Job, Plan
from .config import StyleConfig
from .errors import ImpastoError, is_out_of_memory
from .events import Cancel, Progress
from .features import VGGFeatures
from .pipeline import build_network, paint


@dataclass(frozen=True)
class Task:
    """What a worker needs besides the bytes: small, picklable, no paths to open."""

    index: int
    config: StyleConfig
    content_name: str
    style_names: tuple[str, ...]
    style_keys: tuple[str, ...]  # SHA-256 of each painting: a worker decodes each once
    max_pixels: int = im.DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class Inputs:
    content: bytes
    styles: tuple[bytes, ...]
    init: bytes | None
    digests: dict[str, str]  # path as given -> SHA-256 of these very bytes


@dataclass
class Painted:
    index: int
    image: torch.Tensor  # 1x3xHxW in [0, 1], CPU
    alpha: Any  # the photo's alpha (PIL "L") or None
    device: str
    bf16: bool
    steps: int
    stopped: str | None
    worker: str
    seconds: float


@dataclass
class Failed:
    index: int
    error: str
    worker: str = ""


Outcome = Painted | Failed


# ---- events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobDone:
    job: Job
    worker: str
    seconds: float  # the worker's time painting it
    steps: int


@dataclass(frozen=True)
class JobFailed:
    job: Job
    error: str
    worker: str = ""


@dataclass(frozen=True)
class JobSkipped:
    job: Job
    reason: str


Event = JobDone | JobFailed | JobSkipped


@dataclass
class Summary:
    total: int
    done: int = 0
    skipped: int = 0
    failed: list[JobFailed] = field(default_factory=list)
    interrupted: int = 0  # jobs not painted because the batch was cancelled
    cancelled: bool = False
    wall: float = 0.0
    per_worker: Counter[str] = field(default_factory=Counter)


# ---- the job function (runs in a worker) ----------------------------------------------------

class WorkerState:
    """What a worker keeps between jobs: the network(s) and decoded paintings."""

    def __init__(self, name: str = "local", max_paintings: int = 32) -> None:
        self.name = name
        self.nets: dict[tuple, VGGFeatures] = {}
        self.paintings: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.max_paintings = max_paintings

    def network(self, config: StyleConfig) -> VGGFeatures:
        dev = devices.pick(config.device)
        key = (config.weights, tuple(config.content_layers) + tuple(config.style_layers),
               config.pooling, str(dev))
        if key not in self.nets:
            self.nets[key] = build_network(config, dev)
        return self.nets[key]

    def painting(self, key: str, data: bytes, name: str, max_pixels: int) -> torch.Tensor:
        if key not in self.paintings:
            self.paintings[key] = im.to_tensor(im.load(data, max_pixels, "style", name).rgb)
            if len(self.paintings) > self.max_paintings:
                self.paintings.popitem(last=False)
        self.paintings.move_to_end(key)
        return self.paintings[key]


def paint_task(task: Task, content: bytes, styles: Sequence[bytes], init: bytes | None,
               state: WorkerState, cancel: Cancel | None = None,
               callback: Callable[[Progress], None] | None = None) -> Outcome:
    """Paint one job from bytes. A bad input or a failure of this job is returned as
    :class:`Failed` (never raised), so it fails alone and is not retried. ``callback``
    gets the run's :class:`Progress` events (the studio on Ray shows them)."""
    start = time.perf_counter()
    try:
        loaded = im.load(content, task.max_pixels, "content", task.content_name)
        photo = im.to_tensor(loaded.rgb)
        paintings = [state.painting(k, b, n, task.max_pixels)
                     for k, b, n in zip(task.style_keys, styles, task.style_names)]
        init_tensor = (im.to_tensor(im.load(init, task.max_pixels, "init image", task.config.init).rgb)
                       if init is not None else None)
        result = paint(photo, paintings, task.config, init_image=init_tensor, cancel=cancel,
                       net=state.network(task.config), callback=callback)
    except ImpastoError as exc:
        return Failed(task.index, str(exc), state.name)
    except Exception as exc:  # noqa: BLE001 - this job's own failure (a bug, memory): fails alone
        why = "out of memory (try a smaller size or --tile-size 512)" if is_out_of_memory(exc) else (
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return Failed(task.index, why, state.name)
    return Painted(task.index, result.image, loaded.alpha, result.device, result.bf16, result.steps,
                   result.stopped, state.name, time.perf_counter() - start)


# ---- engines --------------------------------------------------------------------------------

class Engine(Protocol):
    def run(self, work: Iterable[tuple[Task, Inputs]], cancel: Cancel) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


class LocalEngine:
    """The same job function, in this process, one job at a time (``--workers 0``)."""

    def __init__(self, warm: StyleConfig | None = None) -> None:
        self.state = WorkerState("in-process")
        if warm is not None:
            self.state.network(warm)

    def run(self, work: Iterable[tuple[Task, Inputs]], cancel: Cancel) -> Iterator[Outcome]:
        for task, inputs in work:
            if cancel.is_set():
                return
            yield paint_task(task, inputs.content, inputs.styles, inputs.init, self.state, cancel)

    def close(self) -> None:
        self.state.nets.clear()


# ---- the driver -----------------------------------------------------------------------------

class Reader:
    """Reads input files for the workers: paintings once per batch, a photo once for all
    its styles (jobs come photo-major), each file's bytes hashed as read."""

    def __init__(self, keep: int = 8) -> None:
        self.paintings: dict[str, tuple[bytes, str]] = {}
        self.recent: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self.keep = keep

    def _read(self, path: str, cache: dict[str, tuple[bytes, str]] | None = None) -> tuple[bytes, str]:
        key = str(Path(path).resolve())
        store = self.paintings if cache is None else cache
        if key not in store:
            data = Path(path).read_bytes()
            store[key] = (data, hashlib.sha256(data).hexdigest())
            if store is self.recent and len(self.recent) > self.keep:
                self.recent.popitem(last=False)
        return store[key]

    def inputs(self, job: Job) -> tuple[Inputs, tuple[str, ...]]:
        content, c_sha = self._read(job.content, self.recent)
        styles = [self._read(p) for p in job.styles]
        init = self._read(job.init, self.recent) if job.init else None
        digests = {job.content: c_sha, **{p: s[1] for p, s in zip(job.styles, styles)}}
        if job.init and init:
            digests[job.init] = init[1]
        inputs = Inputs(content, tuple(s[0] for s in styles), init[0] if init else None, digests)
        return inputs, tuple(s[1] for s in styles)


def run(plan: Plan, engine: Engine, *, callback: Callable[[Event], None] | None = None,
        cancel: Cancel | None = None, max_pixels: int = 0) -> Summary:
    """Paint ``plan.todo`` on ``engine``, writing each picture as it arrives.

    Every job ends as exactly one event: :class:`JobDone`, :class:`JobFailed`
    or :class:`JobSkipped` (jobs left when ``cancel`` is set get none and are
    counted in ``Summary.interrupted``; their outputs are not written).
    """
    cancel = cancel or Cancel()
    emit = callback or (lambda event: None)
    start = time.perf_counter()
    summary = Summary(total=len(plan.todo) + len(plan.skipped))
    for job, reason in plan.skipped:
        summary.skipped += 1
        emit(JobSkipped(job, reason))
    reader = Reader()
    digests: dict[int, dict[str, str]] = {}

    def fail(job: Job, error: str, worker: str = "") -> None:
        event = JobFailed(job, error, worker)
        summary.failed.append(event)
        emit(event)

    def work() -> Iterator[tuple[Task, Inputs]]:
        for index, job in enumerate(plan.todo):
            if cancel.is_set():
                return
            try:
                inputs, keys = reader.inputs(job)
            except OSError as exc:
                fail(job, f"cannot read an input: {exc.strerror or exc} ({exc.filename})")
                continue
            digests[index] = inputs.digests
            yield Task(index, job.config, Path(job.content).name, tuple(Path(s).name for s in job.styles),
                       keys, max_pixels or im.DEFAULT_MAX_PIXELS), inputs

    for outcome in engine.run(work(), cancel):
        job = plan.todo[outcome.index]
        if isinstance(outcome, Failed):
            fail(job, outcome.error, outcome.worker)
        elif outcome.stopped != "cancelled":  # a cancelled picture is unfinished: not written
            _write(job, outcome, digests.pop(outcome.index), summary, emit, fail)
    summary.cancelled = cancel.is_set()
    summary.interrupted = len(plan.todo) - summary.done - len(summary.failed)
    summary.wall = time.perf_counter() - start
    return summary


def _write(job: Job, painted: Painted, digests: dict[str, str], summary: Summary,
           emit: Callable[[Event], None], fail: Callable[..., None]) -> None:
    meta = recipes.build(job.config, job.content, list(job.styles), device=painted.device,
                         bf16=painted.bf16, steps=painted.steps, stopped=painted.stopped, digests=digests)
    try:
        output.save(painted.image, job.output, recipe=meta, alpha=painted.alpha)
    except (OSError, ImpastoError) as exc:
        fail(job, f"cannot write {job.output}: {exc}", painted.worker)
        return
    if painted.stopped == "nonfinite":  # written (the last good picture), but reported
        fail(job, f"the loss became NaN or infinite after {painted.steps} steps; kept the last good "
                  f"picture in {job.output}", painted.worker)
        return
    summary.done += 1
    summary.per_worker[painted.worker] += 1
    emit(JobDone(job, painted.worker, painted.seconds, painted.steps))
