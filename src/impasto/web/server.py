"""Serving the studio: ``impasto serve``, and a background server for tests and notebooks.

:func:`create_app` (in :mod:`.app`) makes the app; this module binds the
socket, runs uvicorn and shuts the queue down cleanly.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from .._version import __version__
from ..errors import ImpastoError
from .app import create_app
from .jobs import JobQueue
from .settings import DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT

__all__ = ["create_app", "make_server", "running", "serve"]


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


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, data_dir: str | Path = DEFAULT_DATA_DIR,
          ray_address: str | None = None, **limits: Any) -> int:
    """``impasto serve``: run the studio until Ctrl-C; returns the exit status."""
    data = Path(data_dir).expanduser().resolve()
    for name, value in limits.items():
        if not (isinstance(value, (int, float)) and value > 0):
            print(f"impasto: --{name.replace('_', '-')} must be a positive number")
            return 2
    try:
        data.mkdir(parents=True, exist_ok=True)
        if ray_address:
            print(f"joining the Ray cluster at {ray_address}...", flush=True)
        app = create_app(data, ray_address=ray_address, **limits)
    except OSError as exc:
        print(f"impasto: cannot use data folder {data}: {exc.strerror or exc}")
        return 2
    except ImportError as exc:
        print(f"impasto: --ray-address needs the ray extra: pip install 'impasto[ray]' ({exc.name} missing)")
        return 2
    except ImpastoError as exc:
        print(f"impasto: {exc}")
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
    print(f"uploads and results are kept in {data}; pictures are painted in {app.state.jobs.engine.name}",
          flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled gracefully
        pass
    finally:
        app.state.jobs.close()
        sock.close()
    return 0
