"""A clip's chunks on Ray (``impasto video --workers N`` or ``--ray-address ADDR``).

Imported only when asked for; the video package itself never imports Ray.
What is painted, and in what order, is :mod:`impasto.video.chunks`'s; this
module only starts (or joins) Ray, creates one actor per worker holding
VGG-19 and the paintings' targets (:class:`impasto.video.chunk_worker.ChunkWorker`),
and hands each idle worker the next task that is ready. Tasks carry frames as
arrays and anchors as tensors (no shared filesystem); the driver writes every
frame. If a worker's process or node dies mid-chunk, Ray restarts the actor
and re-runs the chunk (``max_task_retries``); the chunk's frames reach the
driver once, when the retried call returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import ray
import torch

from .events import Cancel
from .ray_engine import TASK_RETRIES, connect, plan_workers, start_actors
from .video.chunk_worker import ChunkWorker, Done, Setup, Task

WAIT_S = 0.5


@ray.remote
class ChunkActor:
    """One worker: its network and the paintings' targets live as long as the actor."""

    def __init__(self, number: int, setup: Setup) -> None:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        torch.set_num_threads(max(1, int(cpus)))
        node = ray.get_runtime_context().get_node_id()[:6]
        self.worker = ChunkWorker(setup, f"worker {number} (node {node})")

    def ready(self) -> tuple[str, int]:
        return self.worker.name, os.getpid()

    def run(self, task: Task) -> Done:
        return self.worker.run(task)


class RayVideoEngine:
    """Start a local Ray (no ``address``) or join a cluster; one actor per worker.

    ``workers`` 0: as many as fit. With ``workers`` and no ``cpus_per_worker``,
    the cluster's CPUs are shared among them. Single use: ``start`` creates the
    actors, ``close`` stops them and leaves Ray if ``start`` joined it.
    """

    def __init__(self, address: str | None = None, *, workers: int = 0, cpus_per_worker: float = 0,
                 gpus_per_worker: float | None = None, notice: Callable[[str], None] | None = None) -> None:
        self.address, self.workers = address, workers
        self.cpus_per_worker, self.gpus_per_worker = cpus_per_worker, gpus_per_worker
        self.notice = notice
        self.owned = False
        self.actors: list[Any] = []
        self.names: list[str] = []
        self.pids: list[int] = []
        self.free: list[int] = []  # actor numbers without a task
        self.flying: dict[Any, tuple[int, Task]] = {}  # result ref -> (actor number, task)

    def start(self, setup: Setup, cancel: Cancel) -> None:
        self.owned = connect(self.address)
        try:
            cpus = self.cpus_per_worker
            if self.workers and not cpus:
                cpus = max(1.0, float(int(ray.cluster_resources().get("CPU", 1) // self.workers)))
            count, cpus, gpus, note = plan_workers(self.workers, cpus, self.gpus_per_worker)
            if note and self.notice:
                self.notice(note)
            shared = ray.put(setup)  # the paintings go to the object store once
            self.actors, self.names, self.pids = start_actors(ChunkActor, count, cpus, gpus, shared)
        except BaseException:
            self.close()
            raise
        self.free = list(range(count))
        self.cpus_per_worker, self.gpus_per_worker = cpus, gpus
        if self.notice:
            self.notice(f"{count} worker(s) ready ({cpus:g} CPU{f', {gpus:g} GPU' if gpus else ''} each)")

    def slots(self) -> int:
        return len(self.free)

    def submit(self, task: Task) -> None:
        number = self.free.pop(0)
        self.flying[self.actors[number].run.remote(task)] = (number, task)

    def wait(self) -> list[Done]:
        if not self.flying:
            return []
        ready, _ = ray.wait(list(self.flying), num_returns=1, timeout=WAIT_S)
        out = []
        for ref in ready:
            number, task = self.flying.pop(ref)
            self.free.append(number)
            try:
                out.append(ray.get(ref))
            except ray.exceptions.RayError as exc:
                out.append(Done(task.key, [], "failed", self.names[number],
                                error=f"its worker died {TASK_RETRIES + 1} times ({exc.__class__.__name__})"))
        return out

    def close(self) -> None:
        """Stop the workers (chunks in flight are dropped) and leave Ray if ``start`` joined it."""
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors, self.flying, self.free = [], {}, []
        if self.owned and ray.is_initialized():
            ray.shutdown()
        self.owned = False
