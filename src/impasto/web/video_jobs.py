"""Clips in the studio: an upload checked before it is queued, painted by :func:`impasto.stylize_video`.

A video job is a :class:`~impasto.web.jobs.Job` of kind ``"video"``: its
content is the clip, its progress counts frames (``step``/``total``), its
preview is the latest painted frame, and its result is an MP4 (H.264, the
clip's timing and audio kept, the recipe inside) plus a poster JPEG of the
last frame for the page and the list of past results. The clip's limits
(upload size, frames, pixels) are the studio's, set on ``impasto serve``.
Nothing here knows about HTTP beyond :class:`BadRequest`.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import image as im
from ..errors import InputError, is_out_of_memory
from ..events import Notice
from ..video import FrameProgress, VideoConfig, io as video_io, stylize_video
from .errors import BadRequest, one_line, user_names

#: The clip options a web user may set (the rest are the server's or need a path).
VIDEO_OPTIONS = ("frame_steps", "temporal_weight", "start", "end")
#: Extensions a stored clip may keep (PyAV reads the content, not the name; this is for people).
CLIP_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".gif")
#: Long side the clip is decoded at when checked on upload: enough to count frames, cheap to resize.
CHECK_SIDE = 16
_CLI_HINT = "(raise it with --max-frames, or choose a part with --frames START:END)"


def suffix(filename: str | None) -> str:
    ext = Path(filename or "").suffix.lower()
    return ext if ext in CLIP_SUFFIXES else ".clip"


def parse_video(values: dict[str, str], max_frames: int) -> VideoConfig:
    """The clip's VideoConfig from form fields; every problem is a 422 naming the option."""
    options: dict[str, Any] = {"max_frames": max_frames}
    for name, raw in values.items():
        if raw.strip() == "":
            continue
        try:
            value: float | int = float(raw) if name == "temporal_weight" else int(raw.strip())
        except ValueError:
            noun = "a number" if name == "temporal_weight" else "an integer"
            raise BadRequest(422, f"{name}={raw[:40]!r} is invalid: must be {noun}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(422, f"{name}={raw[:40]!r} is invalid: must be a finite number")
        options[name] = value
    try:
        return VideoConfig(**options)
    except (TypeError, ValueError) as exc:
        raise BadRequest(422, one_line(exc)) from None


def check_clip(path: Path, shown: str, video: VideoConfig, max_pixels: int) -> int:
    """Decode the clip (small) to refuse a bad one before it is queued; returns its frame count."""
    def tiny(w: int, h: int) -> tuple[int, int]:
        scale = CHECK_SIDE / max(w, h)
        return max(1, round(h * scale)), max(1, round(w * scale))

    try:
        clip = video_io.read(path, tiny, start=video.start, end=video.end, max_frames=video.max_frames,
                             max_pixels=max_pixels)
    except InputError as exc:
        message = one_line(exc).replace(str(path), shown).replace("input ", "clip ", 1)
        if "over the limit" in message:
            message = message.replace(_CLI_HINT, "(choose a part with start and end)")
            raise BadRequest(413, message) from None
        raise BadRequest(422, message) from None
    return len(clip.frames)


def options(video: VideoConfig) -> dict[str, Any]:
    """The effective value of every web clip option, shown with the job."""
    data = video.to_dict()
    return {name: data[name] for name in VIDEO_OPTIONS}


def progress(event: FrameProgress) -> dict[str, Any]:
    """A finished frame as the job's progress fields: frames count as steps."""
    left = event.frames - event.frame
    return {"step": event.frame, "total": event.frames, "elapsed": event.elapsed, "loss": None,
            "eta": event.seconds_per_frame * left if event.seconds_per_frame > 0 else None}


def paint(job: Any, results: Path, callback: Callable[[FrameProgress | Notice], None],
          max_pixels: int) -> dict[str, Any]:
    """Paint ``job``'s clip into ``results/ID.mp4``; returns the job's changed fields."""
    inputs = [job.content, *job.styles]
    out = results / f"{job.id}.mp4"
    last: list[FrameProgress] = []

    def on_event(event: FrameProgress | Notice) -> None:
        if isinstance(event, FrameProgress):
            last[:] = [event]
        callback(event)

    try:
        result = stylize_video(job.content["path"], [s["path"] for s in job.styles], out, config=job.config,
                               video=job.video, callback=on_event, cancel=job.cancel, max_pixels=max_pixels)
    except (InputError, ValueError, TypeError) as exc:
        return {"status": "failed", "error": user_names(one_line(exc), inputs).replace("input ", "clip ", 1)}
    except (MemoryError, RuntimeError) as exc:
        if is_out_of_memory(exc):
            return {"status": "failed", "error": "out of memory: try a smaller size"}
        raise
    finally:  # the studio never resumes a clip: its finished frames need not be kept
        for work in results.glob(f".{out.name}.impasto-*"):
            shutil.rmtree(work, ignore_errors=True)
    changes: dict[str, Any] = {"status": "cancelled" if job.cancel.is_set() else "done",
                               "stopped": result.stopped, "device": result.recipe.get("device"),
                               "step": result.written}
    if result.stopped == "nonfinite":
        changes["notices"] = job.notices + [
            f"the loss became NaN or infinite after {result.written} frames; kept the frames before it"]
    if result.written > 0:
        changes["result"] = out.name
        if last:
            im.to_pil(last[0].image()).save(results / f"{job.id}.poster.jpg", format="JPEG", quality=90)
    return changes
