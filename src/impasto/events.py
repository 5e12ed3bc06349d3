"""Progress is data: the small event objects a run sends to its callback, and its stop flag.

:class:`Progress` each step, :class:`Notice` for things the user should know
that are not errors; :class:`Cancel` is the flag a caller sets to stop a run
(checked once per step); :class:`RunClock` counts steps and time over all
scales of one run. Nothing here prints or knows about a user interface.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


class Cancel:
    """A flag another thread (a signal handler, a web request) sets to stop a run."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class Progress:
    """One step's report. ``image()`` returns the best image so far (NCHW; read, do not modify)."""

    step: int  # steps done so far, over all scales
    #: Steps planned over all scales. Exact with a fixed step count (``--steps``); when scales stop
    #: on a plateau it is the most the run can still take (steps done + every unfinished scale's
    #: cap), so it only shrinks, at the step where a scale stops early.
    total: int
    scale: int  # 1-based index of the current scale
    scales: int
    size: tuple[int, int]  # (h, w) of the current scale
    loss: float
    content: float
    style: float
    tv: float
    best: float
    elapsed: float  # seconds since the run started
    image: Callable[[], torch.Tensor] = field(repr=False, compare=False)
    #: Estimated seconds left (None when the run has no plan of its work, e.g. a bare loop).
    #: Like ``total``, an upper bound when scales stop on a plateau: it drops when one does.
    eta: float | None = None
    #: On a scale's last step, why it ended: "plateau" (its loss stopped improving), "cap" (the
    #: preset's most steps for the scale), "steps" (the exact count asked for); None before.
    ended: str | None = None


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (e.g. an input was upsampled)."""

    message: str


@dataclass
class RunClock:
    """Shared between scales so events count steps and time over the whole run.

    ``work`` (optional) is the work done after each planned step, cumulative; a
    step costs about its scale's pixel count, so fine scales' steps weigh more
    and the time left is not just elapsed time per step times steps left.
    """

    total: int
    scales: int
    start: float = field(default_factory=time.perf_counter)
    done: int = 0
    work: list[float] = field(default_factory=list)

    @classmethod
    def for_plan(cls, plan: list[tuple[int, int]]) -> RunClock:
        """A clock for a plan of (long side, steps) per scale, with its work per step."""
        done, work = 0.0, []
        for long_side, steps in plan:
            for _ in range(steps):
                done += long_side * long_side
                work.append(done)
        return cls(total=sum(n for _, n in plan), scales=len(plan), work=work)

    def skip(self, steps: int) -> None:
        """Drop ``steps`` planned steps right after the current one (a scale that stopped early)."""
        steps = max(0, min(steps, self.total - self.done))
        if not steps:
            return
        self.total -= steps
        work = self.work
        if work and len(work) >= self.done + steps:
            before = work[self.done - 1] if self.done else 0.0
            cut = work[self.done + steps - 1] - before
            self.work = work[:self.done] + [w - cut for w in work[self.done + steps:]]

    def eta(self, step: int, elapsed: float) -> float | None:
        """Seconds left after ``step`` steps in ``elapsed`` seconds, from the work still to do."""
        work = self.work
        if not work or step <= 0 or step > len(work):
            return None
        return max(0.0, elapsed * (work[-1] - work[step - 1]) / work[step - 1])


def returns(value: torch.Tensor) -> Callable[[], torch.Tensor]:
    """A callable giving ``value``: events hand out images lazily (read, do not modify)."""
    return lambda: value
