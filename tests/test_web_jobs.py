"""The studio's queue under concurrency: job records never go back in time, uploads are decoded a
few at a time, and without --ray-address nothing imports Ray.

Interleavings are forced with events (no timing assumptions): each test holds one thread at the
racy point until the other has done what it would do on a slow machine.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the studio needs the web extra: pip install 'impasto[web]'")
httpx = pytest.importorskip("httpx", reason="the API tests need httpx (the test extra)")

from impasto.web import forms  # noqa: E402
from impasto.web.jobs import Job, JobQueue  # noqa: E402
from impasto.web.records import Records  # noqa: E402
from impasto.web.server import create_app, running  # noqa: E402

FAST = {"size": "48", "steps": "1", "start_size": "48"}


def png(img, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def test_an_older_snapshot_never_overwrites_a_newer_one(tmp_path):
    records = Records(tmp_path)
    assert records.write(2, {"id": "a", "status": "cancelled"})
    assert not records.write(1, {"id": "a", "status": "queued"})  # late, stale: dropped
    assert json.loads((tmp_path / "a.json").read_text())["status"] == "cancelled"
    assert records.write(3, {"id": "a", "status": "done"})
    assert [r["status"] for r in records.read()] == ["done"]


def test_a_late_queued_write_cannot_undo_a_cancel(tmp_path, monkeypatch):
    """Thread A submits and is slow to write its 'queued' record; meanwhile B cancels the job and
    writes 'cancelled'. A's write lands last: the record on disk (and after a restart) must say cancelled."""
    monkeypatch.setattr(JobQueue, "_work", lambda self: None)  # no worker: the job stays queued
    jobs = JobQueue(tmp_path)
    persist = JobQueue._persist
    cancelled_written = threading.Event()

    def slow_persist(self, snapshot):
        if snapshot[1]["status"] == "queued":
            assert cancelled_written.wait(10), "the cancel never wrote its record"
        persist(self, snapshot)
        if snapshot[1]["status"] == "cancelled":
            cancelled_written.set()

    monkeypatch.setattr(JobQueue, "_persist", slow_persist)
    job = Job(id="a" * 32, content={"path": "p.png", "label": "p.png"},
              styles=[{"path": "s.png", "label": "s.png"}], options={})
    submitter = threading.Thread(target=jobs.submit, args=(job,))
    submitter.start()
    for _ in range(1000):
        if jobs.view(job.id) is not None:
            break
        threading.Event().wait(0.01)
    assert jobs.cancel(job.id)["status"] == "cancelled"
    submitter.join(10)
    assert not submitter.is_alive()
    assert json.loads((tmp_path / "jobs" / f"{job.id}.json").read_text())["status"] == "cancelled"
    jobs.close()
    monkeypatch.setattr(JobQueue, "_persist", persist)
    again = JobQueue(tmp_path)
    try:
        assert again.view(job.id)["status"] == "cancelled" and again.view(job.id)["error"] is None
    finally:
        again.close()


@pytest.fixture()
def uploads(photo, painting):
    return [("content", ("photo.png", png(photo), "image/png")),
            ("style", ("painting.jpg", png(painting, "JPEG"), "image/jpeg"))]


def test_uploads_are_decoded_no_more_than_the_bound_at_once(tmp_path, monkeypatch, uploads):
    active, most, lock = 0, 0, threading.Lock()
    arrived = threading.Barrier(2, timeout=1)  # without a bound, two decoders meet here
    check = forms._check_pixels

    def counting(*args, **kwargs):
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            arrived.wait()  # a second decoder at once would pass; with a bound of 1 this times out
        except threading.BrokenBarrierError:
            pass
        try:
            return check(*args, **kwargs)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(forms, "_check_pixels", counting)
    with running(create_app(tmp_path / "data", max_decoding=1, decode_wait_s=60)) as url:
        http = httpx.Client(base_url=url, timeout=60)
        with ThreadPoolExecutor(max_workers=3) as pool:
            answers = list(pool.map(lambda i: http.post("/api/jobs", files=uploads, data=FAST), range(3)))
        assert [a.status_code for a in answers] == [202] * 3, [a.text for a in answers]
        for a in answers:
            http.delete(f"/api/jobs/{a.json()['id']}")
    assert most == 1


def test_a_request_that_finds_every_decoding_slot_taken_gets_503(tmp_path, monkeypatch, uploads):
    holding, release = threading.Event(), threading.Event()
    check = forms._check_pixels

    def blocking(*args, **kwargs):
        if not holding.is_set():  # the first decoder keeps its slot until told
            holding.set()
            assert release.wait(30)
        return check(*args, **kwargs)

    monkeypatch.setattr(forms, "_check_pixels", blocking)
    data = tmp_path / "data"
    with running(create_app(data, max_decoding=1, decode_wait_s=0.2)) as url:
        http = httpx.Client(base_url=url, timeout=60)
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(http.post, "/api/jobs", files=uploads, data=FAST)
            assert holding.wait(30)
            busy = http.post("/api/jobs", files=uploads, data=FAST)
            release.set()
            assert first.result().status_code == 202
        assert busy.status_code == 503
        detail = busy.json()["detail"]
        assert "busy" in detail and "\n" not in detail
        assert len(list((data / "uploads").iterdir())) == 2  # only the first job's files are kept
        assert http.get("/api/health").json()["ok"]


def test_without_a_ray_address_nothing_imports_ray(tmp_path):
    code = ("import sys; from impasto.cli import tools; from impasto.web.server import create_app; "
            f"app = create_app({str(tmp_path)!r}); app.state.jobs.close(); "
            "assert 'ray' not in sys.modules, 'ray was imported'; print(app.state.jobs.engine.name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "this process"
