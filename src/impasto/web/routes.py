"""The studio's HTTP routes: thin, each one a function; the form and the queue do the work.

Every handler reads the studio it serves (queue, folders, limits) from the
app's state through :func:`studio`, so one set of routes serves any number of
apps. :func:`build_router` assembles them; the job form's OpenAPI schema
depends on the studio's largest size, so the router is built per app.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import device as devices
from .._version import __version__
from . import examples, forms
from .errors import BadRequest
from .jobs import FINISHED, JobQueue
from .settings import MAX_STEPS, MAX_STYLES

STATIC = Path(__file__).resolve().parent / "static"
EVENT_POLL_S = 0.2  # also the fastest an event stream sends: at most 5 updates a second
KEEPALIVE_S = 15.0


@dataclass(frozen=True)
class Studio:
    """What the routes of one app share: its queue, its uploads folder and its limits."""

    jobs: JobQueue
    uploads: Path
    max_upload_mb: float
    max_video_mb: float
    upload: forms.Uploads

    @property
    def max_size(self) -> int:
        return self.upload.max_size

    def limits(self) -> dict[str, Any]:
        video = all(importlib.util.find_spec(m) is not None for m in ("av", "cv2"))
        return {"max_upload_mb": self.max_upload_mb, "max_pixels": self.upload.max_pixels,
                "max_size": self.max_size, "max_styles": MAX_STYLES, "max_steps": MAX_STEPS,
                "max_video_mb": self.max_video_mb, "max_frames": self.upload.max_frames, "video": video}


def studio(request: Request) -> Studio:
    return request.app.state.studio


StudioDep = Annotated[Studio, Depends(studio)]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"example": {"detail": "what went wrong"}}}}
    for code, text in ((404, "no such job"), (409, "not possible in the job's state"),
                       (413, "upload too large"), (415, "not multipart"), (422, "bad field or value"),
                       (503, "queue full"))}


def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def health(s: StudioDep) -> dict[str, Any]:
    device = devices.pick("auto")
    return {"ok": True, "version": __version__, "device": device.type, "engine": s.jobs.engine.name,
            **s.jobs.counts()}


def options(s: StudioDep) -> dict[str, Any]:
    return {"options": forms.describe_options(s.max_size), "limits": s.limits(),
            "examples": examples.catalogue()}


def example_thumb(name: str) -> Response:
    return Response(examples.thumbnail(name), media_type="image/jpeg",
                    headers={"Cache-Control": "public, max-age=86400"})


async def submit(request: Request, s: StudioDep) -> dict[str, Any]:
    """Multipart form: a photo (``content`` file or ``content_example``) or a video (``clip`` file),
    one or more paintings (``style`` files and/or ``style_example`` names; files first when weighting
    them with ``style_weights``), and any options (for a clip also ``frame_steps``,
    ``temporal_weight``, ``start``, ``end``). Answers with the new job's id and queue position."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise BadRequest(415, "send the job as multipart/form-data (fields: content, style, options)")
    form = await request.form(max_files=MAX_STYLES + 1, max_fields=60, max_part_size=64_000)
    try:
        return await run_in_threadpool(forms.create_job, form, s.jobs, s.uploads, s.upload)
    finally:
        await form.close()


def list_jobs(s: StudioDep) -> dict[str, Any]:
    return {"jobs": s.jobs.views()}


def get_job(job_id: str, s: StudioDep) -> dict[str, Any]:
    return _view(s.jobs, job_id)


async def events(job_id: str, s: StudioDep) -> StreamingResponse:
    """``text/event-stream``; each event's data is the job as JSON (as ``GET /api/jobs/{id}``),
    sent when it changes; the stream ends after the job finishes."""
    _view(s.jobs, job_id)
    return StreamingResponse(_stream(s.jobs, job_id), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def image(job_id: str, s: StudioDep, download: bool = False, thumb: bool = False) -> Response:
    """While running: the best picture so far (a clip's latest frame). When done or cancelled: the
    PNG, with its recipe inside (a clip's last frame as JPEG; the clip is at ``/video``);
    ``download=true`` names it as an attachment, ``thumb=true`` gives a small JPEG."""
    jobs = s.jobs
    view = _view(jobs, job_id)
    path = jobs.result_path(job_id)
    if path is not None and path.suffix == ".mp4":
        poster = jobs.thumbnail(job_id) if thumb else jobs.results / f"{job_id}.poster.jpg"
        if poster is None or not poster.is_file():
            raise BadRequest(404, f"job {job_id} has no poster frame")
        return FileResponse(poster, media_type="image/jpeg")
    if path is not None:
        if thumb:
            return FileResponse(cast(Path, jobs.thumbnail(job_id)), media_type="image/jpeg")
        return FileResponse(path, media_type="image/png", filename=f"impasto-{job_id[:8]}.png",
                            content_disposition_type="attachment" if download else "inline")
    status = view["status"]
    if status == "failed":
        raise BadRequest(404, f"job {job_id} failed: {view['error']}")
    if status in FINISHED:
        raise BadRequest(404, f"job {job_id} was {status} before its first step: it has no picture")
    if download or thumb:
        raise BadRequest(409, f"job {job_id} is {status}: its picture is not finished yet")
    data = jobs.preview_jpeg(job_id)
    if data is None:
        raise BadRequest(404, f"job {job_id} has no picture yet ({view['status']})")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def video(job_id: str, s: StudioDep, download: bool = False) -> FileResponse:
    """A video job's painted clip: an MP4 (H.264, the clip's timing and audio, the recipe in its
    metadata), with byte ranges for the page's player; ``download=true`` names it as an attachment."""
    view = _view(s.jobs, job_id)
    path = s.jobs.result_path(job_id)
    if path is None or path.suffix != ".mp4":
        if view["kind"] != "video":
            raise BadRequest(404, f"job {job_id} is a picture, not a clip: see /api/jobs/{job_id}/image")
        if view["status"] in FINISHED:
            raise BadRequest(404, f"job {job_id} was {view['status']} before its first frame: it has no clip"
                             if view["status"] != "failed" else f"job {job_id} failed: {view['error']}")
        raise BadRequest(409, f"job {job_id} is {view['status']}: its clip is not finished yet")
    return FileResponse(path, media_type="video/mp4", filename=f"impasto-{job_id[:8]}.mp4",
                        content_disposition_type="attachment" if download else "inline")


def cancel(job_id: str, s: StudioDep) -> dict[str, Any]:
    """A waiting job is cancelled at once; a running one stops after its current step and keeps
    its best picture so far (``cancelling`` is true until it has)."""
    view = _view(s.jobs, job_id)
    if view["status"] in FINISHED:
        raise BadRequest(409, f"job {job_id} is already {view['status']}")
    return s.jobs.cancel(job_id) or view


def build_router(max_size: int) -> APIRouter:
    """The studio's routes, in the order they are matched and documented."""
    r = APIRouter()
    r.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    r.add_api_route("/api/health", health, methods=["GET"], summary="Is the studio up, and how busy is it")
    r.add_api_route("/api/options", options, methods=["GET"],
                    summary="The options a job takes, the limits, the bundled pictures")
    r.add_api_route("/api/examples/{name}", example_thumb, methods=["GET"],
                    summary="A small preview of a bundled picture")
    r.add_api_route("/api/jobs", submit, methods=["POST"], status_code=202, summary="Submit a job",
                    openapi_extra=forms.form_schema(max_size), responses=ERRORS)
    r.add_api_route("/api/jobs", list_jobs, methods=["GET"], summary="Every job of this studio, newest first")
    r.add_api_route("/api/jobs/{job_id}", get_job, methods=["GET"],
                    summary="A job's status, progress and options", responses=ERRORS)
    r.add_api_route("/api/jobs/{job_id}/events", events, methods=["GET"],
                    summary="A job's progress as server-sent events", response_class=StreamingResponse,
                    responses=ERRORS)
    r.add_api_route("/api/jobs/{job_id}/image", image, methods=["GET"],
                    summary="The latest preview (JPEG) or the result (PNG)", responses=ERRORS)
    r.add_api_route("/api/jobs/{job_id}/video", video, methods=["GET"], response_class=FileResponse,
                    summary="A video job's painted clip (MP4)", responses=ERRORS)
    r.add_api_route("/api/jobs/{job_id}", cancel, methods=["DELETE"], summary="Cancel a job", responses=ERRORS)
    return r


def _view(jobs: JobQueue, job_id: str) -> dict[str, Any]:
    view = jobs.view(job_id)
    if view is None:
        raise BadRequest(404, f"no job {job_id[:40]!r}")
    return view


async def _stream(jobs: JobQueue, job_id: str) -> AsyncIterator[str]:
    """Send the job whenever it changes (polled: progress is made on another thread)."""
    yield "retry: 2000\n\n"
    last, quiet = None, 0.0
    while True:
        view = jobs.view(job_id)
        if view is None:
            return
        if view != last:
            yield f"data: {json.dumps(view)}\n\n"
            last, quiet = view, 0.0
        if view["status"] in FINISHED or jobs.closed.is_set():
            return
        await asyncio.sleep(EVENT_POLL_S)
        quiet += EVENT_POLL_S
        if quiet >= KEEPALIVE_S:  # a comment line keeps proxies and browsers from timing out
            yield ": keep-alive\n\n"
            quiet = 0.0
