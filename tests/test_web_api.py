"""The studio's REST API, over HTTP against the real app served by uvicorn on loopback.

Jobs are tiny (48 px, a few steps, one scale) so each runs in about a second on 2 CPU cores.
Every wait is bounded in time and in number of requests.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the studio needs the web extra: pip install 'impasto[web]'")
httpx = pytest.importorskip("httpx", reason="the API tests need httpx (the test extra)")

from PIL import Image  # noqa: E402

from impasto.config import StyleConfig  # noqa: E402
from impasto.recipe import read_recipe  # noqa: E402
from impasto.web.server import create_app, running, serve  # noqa: E402

FAST = {"size": "48", "steps": "3", "start_size": "48"}
SLOW = {"size": "64", "steps": "2000", "start_size": "64"}  # runs until cancelled
ID = re.compile(r"^[0-9a-f]{32}$")


def png(img: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


class Studio:
    """A running app plus a client, and helpers that wait with bounds."""

    def __init__(self, url: str, data: Path, photo: bytes, painting: bytes) -> None:
        self.url, self.data = url, data
        self.http = httpx.Client(base_url=url, timeout=30)
        self.photo, self.painting = photo, painting

    def submit(self, options: dict | None = None, **extra) -> httpx.Response:
        files = [("content", ("photo.png", self.photo, "image/png")),
                 ("style", ("painting.jpg", self.painting, "image/jpeg"))]
        return self.http.post("/api/jobs", files=files, data={**FAST, **(options or {}), **extra})

    def job(self, job_id: str) -> dict:
        response = self.http.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, job_id: str, until, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if until(job):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never got there: {job}")

    def finish(self, job_id: str, timeout: float = 60.0) -> dict:
        return self.wait(job_id, lambda j: j["status"] in ("done", "failed", "cancelled"), timeout)

    def healthy(self) -> bool:
        return self.http.get("/api/health").json()["ok"] is True


@pytest.fixture()
def studio_factory(tmp_path, photo, painting):
    stack = []

    def make(**limits) -> Studio:
        data = tmp_path / f"data{len(stack)}"
        ctx = running(create_app(data, **limits))
        url = ctx.__enter__()
        stack.append(ctx)
        return Studio(url, data, png(photo), png(painting, "JPEG"))

    yield make
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@pytest.fixture()
def studio(studio_factory) -> Studio:
    return studio_factory()


def test_a_job_runs_to_done_and_its_png_carries_the_recipe(studio):
    response = studio.submit({"style_weight": "20", "preserve_colors": "luminance"})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert ID.match(job_id) and response.json()["status"] == "queued"
    job = studio.finish(job_id)
    assert job["status"] == "done" and job["error"] is None
    assert job["step"] == job["total"] == 3 and job["loss"] > 0 and job["device"] == "cpu"
    assert job["content"] == "photo.png" and job["styles"] == ["painting.jpg"]
    assert job["options"]["size"] == 48 and job["options"]["style_weight"] == 20.0
    assert job["options"]["preserve_colors"] == "luminance" and job["image"] == "result"

    picture = studio.http.get(f"/api/jobs/{job_id}/image", params={"download": "true"})
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.headers["content-disposition"].startswith("attachment")
    saved = studio.data / "result.png"
    saved.write_bytes(picture.content)
    with Image.open(saved) as img:
        assert img.format == "PNG" and img.size == (48, 36)  # the 64x48 photo at 48 px
    recipe = read_recipe(saved)
    assert recipe["options"]["size"] == 48 and recipe["steps_run"] == 3

    # Uploads are stored under server-made names only.
    stored = sorted(p.name for p in (studio.data / "uploads").iterdir())
    assert len(stored) == 2 and all(re.match(r"^[0-9a-f]{32}\.(png|jpg)$", n) for n in stored)
    listed = studio.http.get("/api/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [job_id] and listed[0]["options"] == job["options"]


def test_bundled_examples_can_be_picked_by_name(studio):
    response = studio.http.post("/api/jobs", data={"content_example": "tubingen", "style_example": [
        "starry_night", "the_scream"], "style_weights": "3, 1", **FAST})
    assert response.status_code == 202, response.text
    job = studio.finish(response.json()["id"])
    assert job["status"] == "done", job["error"]
    assert job["styles"] == ["The Starry Night", "The Scream"]
    assert job["options"]["style_weights"] == [3.0, 1.0]
    assert list((studio.data / "uploads").iterdir()) == []  # nothing was uploaded or copied


def test_notices_name_the_users_file_never_a_server_path(studio, photo):
    frames = io.BytesIO()
    photo.save(frames, format="GIF", save_all=True, append_images=[photo.rotate(180)])
    response = studio.http.post("/api/jobs", data={**FAST, "style_example": "the_scream"},
                                files=[("content", ("moving.gif", frames.getvalue(), "image/gif"))])
    job = studio.finish(response.json()["id"])
    assert job["status"] == "done", job["error"]
    assert any("moving.gif is animated" in n for n in job["notices"]), job["notices"]
    assert not any(str(studio.data) in n for n in job["notices"])


def test_the_event_stream_reports_progress_until_the_end(studio):
    job_id = studio.submit({"steps": "8"}).json()["id"]
    events = []
    with studio.http.stream("GET", f"/api/jobs/{job_id}/events", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            assert len(events) < 500
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "done" and set(statuses) <= {"queued", "running", "done"}
    steps = [e["step"] for e in events if e["status"] == "running" and e["step"]]
    assert steps and steps == sorted(steps) and events[-1]["step"] == 8
    for key in ("step", "total", "loss", "elapsed", "eta", "position"):
        assert all(key in e for e in events)
    assert any(e["eta"] is not None for e in events if e["status"] == "running")


def test_one_job_at_a_time_positions_and_cancelling_a_waiting_job(studio):
    first = studio.submit(SLOW).json()["id"]
    studio.wait(first, lambda j: j["status"] == "running" and j["step"] >= 1)
    second, third = (studio.submit().json() for _ in range(2))
    assert (second["position"], third["position"]) == (1, 2)
    assert studio.job(third["id"])["position"] == 2

    cancelled = studio.http.delete(f"/api/jobs/{second['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert studio.job(third["id"])["position"] == 1  # moved up
    missing = studio.http.get(f"/api/jobs/{second['id']}/image")
    assert missing.status_code == 404 and "no picture" in missing.json()["detail"]

    # The preview of the running job is served while it runs.
    preview = studio.http.get(f"/api/jobs/{first}/image")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.content)).size == (64, 48)
    running_jobs = [j for j in studio.http.get("/api/jobs").json()["jobs"] if j["status"] == "running"]
    assert [j["id"] for j in running_jobs] == [first]

    stopping = studio.http.delete(f"/api/jobs/{first}").json()
    assert stopping["cancelling"] is True
    job = studio.finish(first)
    assert job["status"] == "cancelled" and 1 <= job["step"] < 2000 and job["image"] == "result"
    kept = studio.http.get(f"/api/jobs/{first}/image")  # the best picture so far is kept
    assert kept.status_code == 200 and Image.open(io.BytesIO(kept.content)).size == (64, 48)
    assert studio.finish(third["id"])["status"] == "done"
    again = studio.http.delete(f"/api/jobs/{first}")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


def test_twenty_jobs_at_once_are_all_queued_and_all_finish(studio):
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda i: studio.submit({"steps": "1", "seed": str(i)}), range(20)))
    assert [r.status_code for r in responses] == [202] * 20
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 20
    deadline, seen_waiting = time.monotonic() + 300, 0
    while time.monotonic() < deadline:
        jobs = studio.http.get("/api/jobs").json()["jobs"]
        running = [j for j in jobs if j["status"] == "running"]
        assert len(running) <= 1
        waiting = sorted(j["position"] for j in jobs if j["status"] == "queued")
        assert waiting == list(range(1, len(waiting) + 1))  # a line without gaps
        seen_waiting = max(seen_waiting, len(waiting))
        if all(j["status"] == "done" for j in jobs) and len(jobs) == 20:
            break
        time.sleep(0.2)
    assert sorted(j["id"] for j in jobs) == sorted(ids)
    assert all(j["status"] == "done" for j in jobs), [j["status"] for j in jobs]
    assert seen_waiting >= 10
    assert len(list((studio.data / "results").glob("*.png"))) == 20


def test_a_failed_job_shows_its_error_and_the_studio_goes_on(studio):
    blocker = studio.submit(SLOW).json()["id"]
    studio.wait(blocker, lambda j: j["status"] == "running")
    before = set((studio.data / "uploads").iterdir())
    doomed = studio.submit().json()["id"]
    for path in set((studio.data / "uploads").iterdir()) - before:
        if path.suffix == ".png":
            path.unlink()  # the photo vanishes while the job waits
    studio.http.delete(f"/api/jobs/{blocker}")
    job = studio.finish(doomed)
    assert job["status"] == "failed"
    assert job["error"] == "content photo.png: file not found"  # one line, the user's name, no server path
    image = studio.http.get(f"/api/jobs/{doomed}/image")
    assert image.status_code == 404 and "failed" in image.json()["detail"]
    assert studio.finish(studio.submit().json()["id"])["status"] == "done"


def noise(w: int, h: int) -> Image.Image:
    return Image.frombytes("RGB", (w, h), os.urandom(w * h * 3))


def bad_requests(s: Studio):
    """(name, request kwargs, status, words the message must contain)."""
    photo = ("photo.png", s.photo, "image/png")
    style = ("style", ("painting.jpg", s.painting, "image/jpeg"))
    truncated = s.photo[: len(s.photo) // 2]
    return [
        ("not an image", dict(files=[("content", ("notes.png", b"hello, not a picture", "image/png")), style],
                              data=FAST), 422, ["notes.png", "not an image"]),
        ("truncated", dict(files=[("content", ("cut.png", truncated, "image/png")), style], data=FAST),
         422, ["cut.png"]),
        ("no style", dict(files=[("content", photo)], data=FAST), 422, ["style"]),
        ("no content", dict(files=[style], data=FAST), 422, ["content"]),
        ("size not a number", dict(files=[("content", photo), style], data={"size": "big"}), 422, ["size"]),
        ("size too large", dict(files=[("content", photo), style], data={"size": "9000"}), 422, ["size"]),
        ("bad choice", dict(files=[("content", photo), style], data={"quality": "ultra"}), 422,
         ["quality", "draft"]),
        ("negative weight", dict(files=[("content", photo), style], data={"style_weight": "-1"}), 422,
         ["style_weight"]),
        ("nan", dict(files=[("content", photo), style], data={"tv_weight": "nan"}), 422, ["tv_weight"]),
        ("steps zero", dict(files=[("content", photo), style], data={"steps": "0"}), 422, ["steps"]),
        ("weights mismatch", dict(files=[("content", photo), style], data={"style_weights": "1,2"}), 422,
         ["style_weights"]),
        ("init path", dict(files=[("content", photo), style], data={"init": "/etc/passwd"}), 422, ["init"]),
        ("unknown field", dict(files=[("content", photo), style], data={"device": "cuda"}), 422, ["device"]),
        ("unknown example", dict(files=[("content", photo)], data={"style_example": "../../etc/passwd"}),
         422, ["unknown example"]),
        ("json body", dict(json={"content_example": "tubingen"}), 415, ["multipart"]),
        ("file over the size limit", dict(files=[("content", ("big.png", png(noise(160, 160)), "image/png")),
                                                 style], data=FAST), 413, ["big.png", "MB"]),
        ("request over the body limit", dict(files=[("content", ("huge.bin", os.urandom(2_000_000),
                                                                 "image/png")), style], data=FAST), 413, ["large"]),
        ("too many pixels", dict(files=[("content", ("wide.png", png(Image.new("RGB", (400, 100))),
                                                     "image/png")), style], data=FAST), 413,
         ["wide.png", "400x100", "limit"]),
    ]


def test_bad_requests_get_a_4xx_json_message_and_leave_the_studio_healthy(studio_factory):
    s = studio_factory(max_upload_mb=0.05, max_pixels=20_000)
    for name, kwargs, status, words in bad_requests(s):
        response = s.http.post("/api/jobs", **kwargs)
        assert response.status_code == status, (name, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, name
        assert all(w.lower() in detail.lower() for w in words), (name, detail)
        assert str(s.data) not in detail, name  # never a server path
        assert s.healthy(), name
    assert list((s.data / "uploads").iterdir()) == []  # refused jobs leave nothing behind
    assert s.http.get("/api/jobs").json()["jobs"] == []
    assert s.finish(s.submit().json()["id"])["status"] == "done"


def test_unknown_jobs_and_wrong_states_are_json_errors(studio):
    for method, path in (("GET", "/api/jobs/nope"), ("GET", "/api/jobs/nope/events"),
                         ("GET", "/api/jobs/nope/image"), ("DELETE", "/api/jobs/nope"),
                         ("GET", "/api/examples/..%2F..%2Fetc%2Fpasswd")):
        response = studio.http.request(method, path)
        assert response.status_code == 404 and response.json()["detail"], path
    blocker = studio.submit(SLOW).json()["id"]
    waiting = studio.submit().json()["id"]
    early = studio.http.get(f"/api/jobs/{waiting}/image", params={"download": "true"})
    assert early.status_code == 409 and "not finished" in early.json()["detail"]
    assert studio.http.get(f"/api/jobs/{waiting}/image").status_code == 404
    for job_id in (waiting, blocker):
        studio.http.delete(f"/api/jobs/{job_id}")
    assert studio.finish(blocker)["status"] == "cancelled"


def test_options_page_and_openapi_come_from_styleconfig(studio):
    options = studio.http.get("/api/options").json()
    by_name = {o["name"]: o for o in options["options"]}
    fields = StyleConfig.__dataclass_fields__
    assert by_name["quality"]["choices"] == list(fields["quality"].metadata["choices"])
    assert by_name["style_weight"]["help"] == fields["style_weight"].metadata["help"]
    assert by_name["size"]["default"] == StyleConfig().size and "device" not in by_name
    assert {e["name"] for e in options["examples"]} >= {"tubingen", "starry_night"}
    thumb = studio.http.get("/api/examples/starry_night")
    assert thumb.headers["content-type"] == "image/jpeg" and max(Image.open(io.BytesIO(thumb.content)).size) == 320

    schema = studio.http.get("/openapi.json").json()
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/events",
            "/api/jobs/{job_id}/image"} <= set(schema["paths"])
    assert {"get", "post"} <= set(schema["paths"]["/api/jobs"])
    assert "delete" in schema["paths"]["/api/jobs/{job_id}"]
    body = schema["paths"]["/api/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["quality"]["enum"] == ["draft", "standard", "high"]
    assert body["properties"]["content"]["format"] == "binary"
    assert studio.http.get("/docs").status_code == 200

    page = studio.http.get("/")
    assert page.status_code == 200 and 'id="paint"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert studio.http.get(asset).status_code == 200


def test_past_results_survive_a_restart(tmp_path, photo, painting):
    data = tmp_path / "data"
    with running(create_app(data)) as url:
        s = Studio(url, data, png(photo), png(painting, "JPEG"))
        done = s.submit().json()["id"]
        assert s.finish(done)["status"] == "done"
        blocker = s.submit(SLOW).json()["id"]
        s.wait(blocker, lambda j: j["status"] == "running")
        left = s.submit().json()["id"]  # still waiting when the server stops
    with running(create_app(data)) as url:
        s = Studio(url, data, png(photo), png(painting, "JPEG"))
        jobs = {j["id"]: j for j in s.http.get("/api/jobs").json()["jobs"]}
        assert set(jobs) == {done, blocker, left}
        assert jobs[done]["status"] == "done" and jobs[done]["options"]["size"] == 48
        assert jobs[blocker]["status"] == "cancelled"  # stopping the server stops its job
        assert jobs[left]["status"] == "failed" and "server stopped" in jobs[left]["error"]
        image = s.http.get(f"/api/jobs/{done}/image")
        assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (48, 36)


def test_impasto_serve_binds_loopback_says_so_and_stops_on_ctrl_c(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "impasto.cli", "serve", "--port", "0",
                             "--data-dir", str(tmp_path / "studio"), "--max-upload-mb", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout.readline() for _ in range(3)))
        reader.start()
        reader.join(60)
        text = "".join(lines)
        url = re.search(r"http://127\.0\.0\.1:\d+/", text)
        assert url and "loopback only" in text, text
        health = None
        for _ in range(100):
            try:
                health = httpx.get(url.group(0) + "api/health", timeout=2).json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health and health["ok"]
        limits = httpx.get(url.group(0) + "api/options", timeout=5).json()["limits"]
        assert limits["max_upload_mb"] == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_reports_a_busy_port_in_one_line(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert serve(host="127.0.0.1", port=port, data_dir=tmp_path / "studio") == 2
    out = capsys.readouterr().out.strip()
    assert out.startswith("impasto: cannot listen on 127.0.0.1:") and "\n" not in out
