"""The batch engine on Ray: the only module that imports ``ray`` (import it only when asked).

Ray does the scheduling, placement and fault tolerance; this module only
starts (or joins) Ray, creates one actor per worker, and hands each idle
worker its next job. A worker is an actor that builds VGG-19 once and paints
jobs from bytes (:func:`impasto.batch_run.paint_task`). Each actor reserves
``num_cpus`` (and ``num_gpus``), so a GPU cluster runs one job per GPU, and
sets torch's threads to the CPUs Ray gave it. If a worker's process or node
dies, Ray restarts the actor (rebuilding the network) and re-runs the calls it
held (``max_task_retries``); the driver writes each picture once, when its
result arrives.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import ray
import torch

from .batch_run import Failed, Inputs, Outcome, Task, WorkerState, paint_task
from .config import StyleConfig
from .errors import InputError
from .events import Cancel

#: A job whose worker dies this many times more fails alone (it may be what kills it).
TASK_RETRIES = 2
#: Calls queued per worker, so a worker never waits for the driver to write a picture.
QUEUE_PER_WORKER = 2
READY_TIMEOUT_S = 300.0


@ray.remote
class Painter:
    """One worker: its network and decoded paintings live as long as the actor."""

    def __init__(self, number: int, warm: StyleConfig | None) -> None:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        torch.set_num_threads(max(1, int(cpus)))
        node = ray.get_runtime_context().get_node_id()[:6]
        self.state = WorkerState(f"worker {number} (node {node})")
        if warm is not None:
            self.state.network(warm)

    def ready(self) -> tuple[str, int]:
        return self.state.name, os.getpid()

    def paint(self, task: Task, content: bytes, init: bytes | None, *styles: bytes) -> Outcome:
        return paint_task(task, content, styles, init, self.state)


def _our_path() -> str:
    """PYTHONPATH for local workers: this very impasto first, so a checkout run with
    PYTHONPATH=src never meets another installed version in its workers."""
    here = str(Path(__file__).resolve().parents[1])
    return os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])


def connect(address: str | None) -> bool:
    """Join the cluster at ``address``, or start Ray on this machine (None); True if this call
    started or joined it (the caller then shuts it down), False if Ray was already initialised."""
    if ray.is_initialized():
        return False
    common: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if address:
            ray.init(address=address, **common)
        else:  # "local": never silently join a cluster started earlier on this machine
            ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False,
                     runtime_env={"env_vars": {"PYTHONPATH": _our_path()}}, **common)
    except ConnectionError as exc:
        raise InputError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return True


def plan_workers(workers: int, cpus_per_worker: float, gpus_per_worker: float | None
                  ) -> tuple[int, float, float, str]:
    """How many workers of how many CPUs/GPUs fit on the cluster's nodes."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    gpus = gpus_per_worker if gpus_per_worker is not None else (
        1.0 if any(n.get("GPU", 0) >= 1 for n in nodes) else 0.0)
    if not cpus_per_worker:
        # On GPUs a worker needs a CPU to feed it; on CPUs two threads each is a fair split
        # (parallel pictures beat threads within one), never more than the smallest node has.
        smallest = min((n.get("CPU", 0) for n in nodes if n.get("CPU", 0) >= 1), default=1)
        cpus_per_worker = 1.0 if gpus else float(min(2, int(smallest)))
    fit = 0
    for n in nodes:
        by_cpu = int(n.get("CPU", 0) // cpus_per_worker)
        fit += min(by_cpu, int(n.get("GPU", 0) // gpus)) if gpus else by_cpu
    note = ""
    if fit == 0:
        raise InputError(f"the Ray cluster has no node with {cpus_per_worker:g} CPU(s)"
                         f"{f' and {gpus:g} GPU(s)' if gpus else ''} free for a worker")
    if workers and workers > fit:
        note = f"the Ray cluster has room for {fit} worker(s) of this size: using {fit}, not {workers}"
    return min(workers, fit) if workers else fit, cpus_per_worker, gpus, note


def start_actors(kind: Any, count: int, cpus: float, gpus: float,
                 *args: Any) -> tuple[list[Any], list[str], list[int]]:
    """``count`` workers of the actor class ``kind`` (numbered from 1, given ``args``), restarted
    by Ray if their process dies, with their calls retried; waits until each is ready and
    returns (actors, names, pids)."""
    options = {"num_cpus": cpus, "num_gpus": gpus, "max_restarts": -1, "max_task_retries": TASK_RETRIES}
    actors = [kind.options(**options).remote(i + 1, *args) for i in range(count)]
    ready = ray.get([a.ready.remote() for a in actors], timeout=READY_TIMEOUT_S)
    return actors, [name for name, _ in ready], [pid for _, pid in ready]


class RayEngine:
    """Start a local Ray (no ``address``) or join a cluster, and create the workers.

    ``address``: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``. ``workers`` 0:
    as many as fit. If Ray is already initialised in this process it is used
    as it is and left running. ``actor``: another actor class taking ``(number, warm)``
    (the studio's, :mod:`impasto.ray_studio`); default :class:`Painter`.
    """

    def __init__(self, address: str | None = None, *, workers: int = 0, cpus_per_worker: float = 0,
                 gpus_per_worker: float | None = None, warm: StyleConfig | None = None,
                 notice: Callable[[str], None] | None = None, actor: Any = None) -> None:
        self.owned = connect(address)
        try:
            count, cpus, gpus, note = plan_workers(workers, cpus_per_worker, gpus_per_worker)
            if note and notice:
                notice(note)
            self.actors, self.names, self.pids = start_actors(actor or Painter, count, cpus, gpus, warm)
        except BaseException:
            self.close()
            raise
        self.cpus_per_worker, self.gpus_per_worker = cpus, gpus
        self._style_refs: dict[str, ray.ObjectRef] = {}

    def run(self, work: Iterable[tuple[Task, Inputs]], cancel: Cancel) -> Iterator[Outcome]:
        queue = iter(work)
        free = [a for _ in range(QUEUE_PER_WORKER) for a in self.actors]  # each worker's first job first
        flying: dict[ray.ObjectRef, tuple[int, int]] = {}  # result -> (actor number, job index)
        more = True
        while True:
            while more and free and not cancel.is_set():
                item = next(queue, None)
                if item is None:
                    more = False
                    break
                task, inputs = item
                actor = free.pop(0)
                flying[self._submit(actor, task, inputs)] = (self.actors.index(actor), task.index)
            if cancel.is_set() or not flying:
                return
            ready, _ = ray.wait(list(flying), num_returns=1, timeout=0.5)
            for ref in ready:
                number, index = flying.pop(ref)
                free.append(self.actors[number])
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    yield Failed(index, f"its worker died {TASK_RETRIES + 1} times painting it "
                                        f"({exc.__class__.__name__})", self.names[number])

    def _submit(self, actor: Any, task: Task, inputs: Inputs) -> ray.ObjectRef:
        styles = []
        for key, data in zip(task.style_keys, inputs.styles):
            if key not in self._style_refs:  # each painting goes to the object store once
                self._style_refs[key] = ray.put(data)
            styles.append(self._style_refs[key])
        return actor.paint.remote(task, inputs.content, inputs.init, *styles)

    def close(self) -> None:
        """Stop the workers (jobs in flight are dropped) and leave Ray if we joined it."""
        for actor in getattr(self, "actors", []):
            ray.kill(actor, no_restart=True)
        self.actors = []
        self._style_refs = {}
        if self.owned and ray.is_initialized():
            ray.shutdown()
