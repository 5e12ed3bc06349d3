"""The optimisation loop: gradient descent on the pixels of one scale.

Progress is data: every step emits a :class:`~impasto.events.Progress` event to
a callback. Cancelling is a flag (:class:`~impasto.events.Cancel`) checked once
per step; the loop then returns the best image so far. Nothing here prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .events import Cancel, Progress, RunClock, returns
from .objective import Parts
from .optim import LBFGS, Adam, history_length
from .stopping import Plateau

#: Default step sizes: L-BFGS's quasi-Newton step is already well scaled; Adam
#: moves pixels in [0, 1], where 0.02 per step is visible yet stable.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}


@dataclass
class ScaleResult:
    image: torch.Tensor
    loss: float
    steps: int
    stopped: str | None  # None, "cancelled" or "nonfinite"
    #: Why the scale ended: "plateau", "cap" (``steps`` reached under a plateau rule),
    #: "steps" (an exact count), "cancelled" or "nonfinite".
    ended: str = "steps"
    history: list = field(default_factory=list)  # L-BFGS curvature pairs, to warm-start the next scale


def optimise(
    objective: Callable[[torch.Tensor], Parts],  # an Objective, or one with extra terms (video)
    init: torch.Tensor,
    steps: int,
    *,
    optimizer: str = "lbfgs",
    lr: float = 0.0,
    clock: RunClock | None = None,
    scale: int = 1,
    callback: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
    warm: list | None = None,
    until: Plateau | None = None,
    smooth: int = 0,
) -> ScaleResult:
    """Run ``steps`` optimiser steps from ``init``; return the lowest-loss image seen.

    With ``until``, ``steps`` is a cap: the scale stops earlier once its loss
    stops improving (see :mod:`impasto.stopping`), and the clock drops the steps
    it did not need. ``smooth``: block levels of L-BFGS's preconditioner
    (:func:`impasto.optim.smooth`; 0, plain L-BFGS); callers pass their preset's
    (:func:`impasto.schedule.smoothing`).
    """
    clock = clock or RunClock(total=steps, scales=1)
    lr = lr or DEFAULT_LR[optimizer]
    # NCHW-contiguous: the optimisers flatten x and its gradient, a free view only in this layout.
    x = init.detach().clone().clamp(0, 1).contiguous().requires_grad_(True)
    best: dict[str, Any] = {"loss": math.inf, "image": x.detach().clone(), "parts": None}
    last: dict[str, Any] = {}

    late = getattr(objective, "late", None)  # terms evaluated after the network's backward pass

    def evaluate(backward: bool = False) -> torch.Tensor:
        parts = objective(x)
        loss = parts.total
        if backward and math.isfinite(float(loss.detach())):
            loss.backward()
        if late is not None:
            extra = late(x)
            if backward and extra.requires_grad:
                extra.backward()
            loss = loss.detach() + extra.detach()
            parts = replace(parts, total=loss, style=parts.style + float(extra.detach()))
        last["parts"] = parts
        value = float(loss.detach())
        last["value"] = value
        if math.isfinite(value) and value < best["loss"]:
            best["loss"], best["image"] = value, x.detach().clone()
        return loss

    def closure() -> torch.Tensor:
        if x.grad is not None:
            x.grad.zero_()  # backward adds into it: no fresh picture-sized block each step
        loss = evaluate(backward=True)
        if not math.isfinite(last["value"]):  # a zero gradient keeps NaNs out of the optimiser's state
            x.grad = torch.zeros_like(x)
        return loss

    if optimizer == "lbfgs":
        # One function evaluation per step and no line search, as in the classic tools:
        # each step is then one forward+backward pass, which keeps steps equal in cost.
        lbfgs = LBFGS(x, lr=lr, history=history_length(x.numel()), smooth=smooth)
        if warm:
            lbfgs.warm(warm)
        opt: LBFGS | Adam = lbfgs
    else:
        opt = Adam(x, lr=lr)

    stopped = None
    ended = "cap" if until is not None else "steps"
    done = 0
    seen: list[float] = []
    for _ in range(steps):
        if cancel is not None and cancel.is_set():
            stopped = ended = "cancelled"
            break
        opt.step(closure)
        with torch.no_grad():
            # Projected descent: pixels stay in [0, 1], so every image scored is one we
            # could save, and the best one's loss is the loss of the picture we return.
            x.clamp_(0, 1)
        done += 1
        clock.done += 1
        if not math.isfinite(last["value"]):
            stopped = ended = "nonfinite"
            break
        seen.append(last["value"])
        plateau = until is not None and done < steps and until.done(seen)
        if plateau:
            clock.skip(steps - done)
        if callback is not None:
            parts = last["parts"]
            snapshot = best["image"]
            elapsed = time.perf_counter() - clock.start
            callback(Progress(
                step=clock.done, total=clock.total, scale=scale, scales=clock.scales,
                size=(x.shape[-2], x.shape[-1]), loss=last["value"], content=parts.content,
                style=parts.style, tv=parts.tv, best=best["loss"], elapsed=elapsed,
                image=returns(snapshot), eta=clock.eta(clock.done, elapsed),
                ended="plateau" if plateau else (ended if done == steps else None),
            ))
        if plateau:
            ended = "plateau"
            break
    if stopped is None and done:
        # The last step's update has not been scored yet: score it so it can win.
        with torch.no_grad():
            evaluate()
    history = opt.history() if isinstance(opt, LBFGS) else []
    return ScaleResult(best["image"], best["loss"], done, stopped, history=history, ended=ended)
