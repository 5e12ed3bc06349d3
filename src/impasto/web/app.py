"""The studio's FastAPI app: one studio's state, its routes, its error replies, its body limit.

Every error reaches the client as JSON ``{"detail": "one line"}``; a bad
request never leaves state behind (uploads of a refused job are deleted).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .._version import __version__
from .errors import BadRequest
from .forms import Uploads
from .jobs import Engine, JobQueue
from .routes import STATIC, Studio, build_router
from .settings import (
    DECODE_WAIT_S,
    DEFAULT_MAX_DECODING,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIZE,
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_MAX_VIDEO_MB,
    DEFAULT_MAX_WAITING,
    MAX_STYLES,
)

Message = MutableMapping[str, Any]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes, before it fills the disk.

    The rest of the body is read and dropped so the client gets the 413 instead of a reset connection.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    while message.get("more_body"):
                        message = await receive()
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)


def create_app(data_dir: str | Path, *, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
               max_pixels: int = DEFAULT_MAX_PIXELS, max_size: int = DEFAULT_MAX_SIZE,
               max_waiting: int = DEFAULT_MAX_WAITING, max_video_mb: float = DEFAULT_MAX_VIDEO_MB,
               max_frames: int = DEFAULT_MAX_FRAMES, max_decoding: int = DEFAULT_MAX_DECODING,
               decode_wait_s: float = DECODE_WAIT_S, ray_address: str | None = None,
               engine: Engine | None = None) -> FastAPI:
    """The studio app; uploads, results and job records live under ``data_dir``.

    ``ray_address`` paints pictures on that Ray cluster (``impasto.ray_studio``, imported only
    then); ``engine`` is any other :class:`~impasto.web.jobs.Engine` (tests).
    """
    data = Path(data_dir)
    uploads = data / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    if engine is None and ray_address:
        from ..ray_studio import RayStudioEngine  # Ray only when asked for

        engine = RayStudioEngine(ray_address)
    jobs = JobQueue(data, max_pixels=max_pixels, max_waiting=max_waiting, engine=engine)
    limits = Uploads(max_bytes=int(max_upload_mb * 1e6), max_video_bytes=int(max_video_mb * 1e6),
                     max_pixels=max_pixels, max_size=max_size, max_frames=max_frames,
                     decoding=threading.BoundedSemaphore(max_decoding), decode_wait_s=decode_wait_s)
    studio = Studio(jobs, uploads, max_upload_mb=max_upload_mb, max_video_mb=max_video_mb, upload=limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(jobs.close)

    app = FastAPI(title="impasto studio", version=__version__, lifespan=lifespan,
                  description="Paint a photo in the style of one or more paintings. "
                  "Submit a job, follow its progress as server-sent events, fetch the picture.")
    app.state.jobs = jobs
    app.state.studio = studio
    body = max(limits.max_bytes * (MAX_STYLES + 1), limits.max_video_bytes + limits.max_bytes * MAX_STYLES)
    app.add_middleware(BodyLimit, limit=body + 1_000_000)
    _error_handlers(app, limits.max_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(build_router(max_size))
    return app


def _error_handlers(app: FastAPI, max_bytes: int) -> None:
    def detail(status: int, message: str) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return detail(exc.status, exc.message)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return detail(413, f"the request is too large (each file may be up to {max_bytes / 1e6:g} MB)")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()]
        return detail(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return detail(exc.status_code, str(exc.detail))
