"""The studio's web app (FastAPI) and ``impasto serve``.

Routes are thin: :mod:`.forms` validates requests, :mod:`.jobs` runs them.
Every error reaches the client as JSON ``{"detail": "one line"}``; a bad
request never leaves state behind (uploads of a refused job are deleted).
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__, device as devices
from . import forms
from .forms import BadRequest
from .jobs import FINISHED, JobQueue

STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_UPLOAD_MB = 25
DEFAULT_MAX_PIXELS = 50_000_000  # a 50 MP photo; far below what would exhaust memory while decoding
DEFAULT_MAX_SIZE = 2048
EVENT_POLL_S = 0.2  # also the fastest an event stream sends: at most 5 updates a second
KEEPALIVE_S = 15.0


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes, before it fills the disk.

    The rest of the body is read and dropped so the client gets the 413 instead of a reset connection.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict:
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
               max_waiting: int = 100) -> FastAPI:
    """The studio app; uploads, results and job records live under ``data_dir``."""
    data = Path(data_dir)
    uploads = data / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    jobs = JobQueue(data, max_pixels=max_pixels, max_waiting=max_waiting)
    max_bytes = int(max_upload_mb * 1_000_000)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await run_in_threadpool(jobs.close)

    app = FastAPI(title="impasto studio", version=__version__, lifespan=lifespan,
                  description="Paint a photo in the style of one or more paintings. "
                  "Submit a job, follow its progress as server-sent events, fetch the picture.")
    app.state.jobs = jobs
    app.add_middleware(BodyLimit, limit=max_bytes * (forms.MAX_STYLES + 1) + 1_000_000)
    _error_handlers(app, max_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    limits = {"max_upload_mb": max_upload_mb, "max_pixels": max_pixels, "max_size": max_size,
              "max_styles": forms.MAX_STYLES, "max_steps": forms.MAX_STEPS}
    thumbs: dict[str, bytes] = {}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/health", summary="Is the studio up, and how busy is it")
    def health() -> dict[str, Any]:
        device = devices.pick("auto")
        return {"ok": True, "version": __version__, "device": device.type, **jobs.counts()}

    @app.get("/api/options", summary="The options a job takes, the limits, the bundled pictures")
    def options() -> dict[str, Any]:
        return {"options": forms.describe_options(max_size), "limits": limits,
                "examples": [{"name": name, "url": f"/api/examples/{name}",
                              **{k: v for k, v in entry.items() if k != "file"}}
                             for name, entry in forms.EXAMPLES.items()]}

    @app.get("/api/examples/{name}", summary="A small preview of a bundled picture")
    def example_thumb(name: str) -> Response:
        entry = forms.EXAMPLES.get(name)
        if entry is None:
            raise BadRequest(404, f"no bundled picture named {name[:40]!r}")
        if name not in thumbs:
            with Image.open(forms.EXAMPLES_DIR / entry["file"]) as img:
                small = img.convert("RGB")
            small.thumbnail((320, 320), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            small.save(buffer, format="JPEG", quality=85)
            thumbs[name] = buffer.getvalue()
        return Response(thumbs[name], media_type="image/jpeg",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.post("/api/jobs", status_code=202, summary="Submit a job",
              openapi_extra=forms.form_schema(max_size), responses=_ERRORS)
    async def submit(request: Request) -> dict[str, Any]:
        """Multipart form: a photo (``content`` file or ``content_example``), one or more paintings
        (``style`` files and/or ``style_example`` names; files first when weighting them with
        ``style_weights``), and any options. Answers with the new job's id and queue position."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raise BadRequest(415, "send the job as multipart/form-data (fields: content, style, options)")
        form = await request.form(max_files=forms.MAX_STYLES + 1, max_fields=60, max_part_size=64_000)
        try:
            return await run_in_threadpool(forms.create_job, form, jobs, uploads, max_bytes=max_bytes,
                                          max_pixels=max_pixels, max_size=max_size)
        finally:
            await form.close()

    @app.get("/api/jobs", summary="Every job of this studio, newest first")
    def list_jobs() -> dict[str, Any]:
        return {"jobs": jobs.views()}

    @app.get("/api/jobs/{job_id}", summary="A job's status, progress and options", responses=_ERRORS)
    def get_job(job_id: str) -> dict[str, Any]:
        return _view(jobs, job_id)

    @app.get("/api/jobs/{job_id}/events", summary="A job's progress as server-sent events",
             response_class=StreamingResponse, responses=_ERRORS)
    async def events(job_id: str) -> StreamingResponse:
        """``text/event-stream``; each event's data is the job as JSON (as ``GET /api/jobs/{id}``),
        sent when it changes; the stream ends after the job finishes."""
        _view(jobs, job_id)
        return StreamingResponse(_stream(jobs, job_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/api/jobs/{job_id}/image", summary="The latest preview (JPEG) or the result (PNG)",
             responses=_ERRORS)
    def image(job_id: str, download: bool = False, thumb: bool = False) -> Response:
        """While running: the best picture so far. When done or cancelled: the PNG, with its
        recipe inside; ``download=true`` names it as an attachment, ``thumb=true`` gives a small JPEG."""
        view = _view(jobs, job_id)
        path = jobs.result_path(job_id)
        if path is not None:
            if thumb:
                return FileResponse(jobs.thumbnail(job_id), media_type="image/jpeg")
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

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job", responses=_ERRORS)
    def cancel(job_id: str) -> dict[str, Any]:
        """A waiting job is cancelled at once; a running one stops after its current step and keeps
        its best picture so far (``cancelling`` is true until it has)."""
        view = _view(jobs, job_id)
        if view["status"] in FINISHED:
            raise BadRequest(409, f"job {job_id} is already {view['status']}")
        return jobs.cancel(job_id) or view

    return app


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"example": {"detail": "what went wrong"}}}}
    for code, text in ((404, "no such job"), (409, "not possible in the job's state"),
                       (413, "upload too large"), (415, "not multipart"), (422, "bad field or value"),
                       (503, "queue full"))}


def _view(jobs: JobQueue, job_id: str) -> dict[str, Any]:
    view = jobs.view(job_id)
    if view is None:
        raise BadRequest(404, f"no job {job_id[:40]!r}")
    return view


async def _stream(jobs: JobQueue, job_id: str):
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


def make_server(app: FastAPI, host: str, port: int) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server and its bound socket (bound here so errors and port 0 are ours to handle)."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3)
    jobs: JobQueue = app.state.jobs

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            jobs.close(timeout=0)  # end event streams and the running job now, not after a timeout
            super().handle_exit(sig, frame)

    return Server(config), sock


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a background thread (tests, notebooks); yields its base URL."""
    server, sock = make_server(app, host, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        yield _url(sock)
    finally:
        app.state.jobs.close(timeout=0)
        server.should_exit = True
        thread.join(10)
        app.state.jobs.close()
        sock.close()


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 8000, data_dir: str | Path = "impasto-studio",
          **limits: Any) -> int:
    """``impasto serve``: run the studio until Ctrl-C; returns the exit status."""
    data = Path(data_dir).expanduser().resolve()
    for name, value in limits.items():
        if not (isinstance(value, (int, float)) and value > 0):
            print(f"impasto: --{name.replace('_', '-')} must be a positive number")
            return 2
    try:
        data.mkdir(parents=True, exist_ok=True)
        app = create_app(data, **limits)
    except OSError as exc:
        print(f"impasto: cannot use data folder {data}: {exc.strerror or exc}")
        return 2
    try:
        server, sock = make_server(app, host, port)
    except (OSError, socket.gaierror) as exc:
        app.state.jobs.close()
        print(f"impasto: cannot listen on {host}:{port}: {exc.strerror or exc}")
        return 2
    bound = sock.getsockname()[0]
    print(f"impasto studio {__version__}: open {_url(sock)} in a browser (Ctrl-C stops it)")
    if ipaddress.ip_address(bound).is_loopback:
        print("listening on loopback only: other machines cannot reach this studio")
    else:
        print(f"warning: listening on {bound}: anyone who can reach this machine can use the studio "
              "(there is no password)")
    print(f"uploads and results are kept in {data}", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled gracefully
        pass
    finally:
        app.state.jobs.close()
        sock.close()
    return 0
