"""Pictures in the studio: a job painted by an engine, its PNG written with its recipe.

An engine paints one still job and returns a :class:`~impasto.pipeline.PaintResult`:
:class:`LocalEngine` on the studio's worker thread, or
:class:`impasto.ray_studio.RayStudioEngine` on a Ray worker (imported only
for ``impasto serve --ray-address``). Either way this process writes the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .. import output, recipe as recipes
from ..api import run
from ..config import StyleConfig
from ..errors import InputError, is_out_of_memory
from ..events import Cancel, Notice, Progress
from ..pipeline import PaintResult
from .errors import one_line, user_names


class Engine(Protocol):
    """What paints a still job: ``paint`` returns a PaintResult (or raises InputError)."""

    name: str

    def paint(self, content: str, styles: list[str], config: StyleConfig, *,
              callback: Callable[[Progress | Notice], None], cancel: Cancel, max_pixels: int) -> PaintResult: ...

    def close(self) -> None: ...


class LocalEngine:
    """Paint in this process, on the worker thread."""

    name = "this process"

    def paint(self, content: str, styles: list[str], config: StyleConfig, *,
              callback: Callable[[Progress | Notice], None], cancel: Cancel, max_pixels: int) -> PaintResult:
        return run(content, styles, config=config, callback=callback, cancel=cancel, max_pixels=max_pixels)

    def close(self) -> None:
        pass


def paint(job: Any, results: Path, engine: Engine, callback: Callable[[Progress | Notice], None],
          max_pixels: int) -> dict[str, Any]:
    """Paint ``job`` on ``engine`` into ``results/ID.png``; returns the job's changed fields."""
    config = job.config
    assert config is not None
    styles = [s["path"] for s in job.styles]
    try:
        result = engine.paint(job.content["path"], styles, config, callback=callback, cancel=job.cancel,
                              max_pixels=max_pixels)
    except (InputError, ValueError, TypeError) as exc:
        return {"status": "failed", "error": user_names(one_line(exc), [job.content, *job.styles])}
    except (MemoryError, RuntimeError) as exc:
        if is_out_of_memory(exc):
            return {"status": "failed", "error": "out of memory: try a smaller size"}
        raise
    changes: dict[str, Any] = {"status": "cancelled" if job.cancel.is_set() else "done",
                               "stopped": result.stopped, "device": result.device, "step": result.steps}
    if result.stopped == "nonfinite":
        changes["notices"] = job.notices + [
            f"the loss became NaN or infinite after {result.steps} steps; kept the last good picture"]
    if result.steps > 0:  # a job cancelled before its first step has nothing worth keeping
        name = f"{job.id}.png"
        meta = recipes.build(config, job.content["path"], styles, device=result.device,
                             bf16=result.bf16, steps=result.steps, stopped=result.stopped)
        output.save(result.image, results / name, recipe=meta, alpha=result.alpha)
        changes["result"] = name
    return changes
