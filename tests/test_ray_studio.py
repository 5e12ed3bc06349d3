"""The studio's queue on Ray (``impasto serve --ray-address``): a one-node cluster on loopback,
started once for the module (Ray's start costs 10-25 s here) and always shut down."""

from __future__ import annotations

import json
import time

import pytest

ray = pytest.importorskip("ray", reason="the studio on Ray needs the ray extra: pip install 'impasto[ray]'")
pytest.importorskip("fastapi", reason="the studio needs the web extra: pip install 'impasto[web]'")
httpx = pytest.importorskip("httpx", reason="the API tests need httpx (the test extra)")
from ray.cluster_utils import Cluster  # noqa: E402

from impasto.recipe import read_recipe  # noqa: E402
from impasto.web.server import create_app, running  # noqa: E402


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.wait_for_nodes()
        data = tmp_path_factory.mktemp("ray-studio")
        with running(create_app(data, ray_address=cluster.address)) as url:
            yield httpx.Client(base_url=url, timeout=60), data
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def submit(http, **options):
    data = {"content_example": "tubingen", "style_example": "starry_night", "size": "64",
            "start_size": "64", **options}
    response = http.post("/api/jobs", data=data)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_a_job_is_painted_by_a_ray_worker_with_its_progress_on_the_page(studio):
    http, data = studio
    assert http.get("/api/health").json()["engine"].startswith("Ray: worker 1")
    job_id = submit(http, steps="30")
    events = []
    with http.stream("GET", f"/api/jobs/{job_id}/events", timeout=120) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            assert len(events) < 500
    job = events[-1]
    assert job["status"] == "done", job["error"]
    assert job["step"] == 30 and job["image"] == "result"
    steps = [e["step"] for e in events if e["status"] == "running" and e["step"]]
    assert steps and steps == sorted(steps) and len(set(steps)) >= 2, steps  # progress came through
    assert any(e["image"] == "preview" for e in events if e["status"] == "running")
    picture = http.get(f"/api/jobs/{job_id}/image")
    assert picture.headers["content-type"] == "image/png"
    saved = data / "check.png"
    saved.write_bytes(picture.content)
    assert read_recipe(saved)["steps_run"] == 30


def test_cancel_stops_the_ray_worker_and_keeps_its_best_picture(studio):
    http, _ = studio
    job_id = submit(http, steps="3000")
    for _ in range(1200):
        job = http.get(f"/api/jobs/{job_id}").json()
        if job["step"] >= 2:
            break
        time.sleep(0.1)
    preview = http.get(f"/api/jobs/{job_id}/image")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert http.delete(f"/api/jobs/{job_id}").json()["cancelling"] is True
    for _ in range(600):
        job = http.get(f"/api/jobs/{job_id}").json()
        if job["status"] != "running":
            break
        time.sleep(0.1)
    assert job["status"] == "cancelled" and 2 <= job["step"] < 3000 and job["image"] == "result"
    # The worker is free again: the next job runs to the end.
    after = submit(http, steps="2")
    for _ in range(600):
        job = http.get(f"/api/jobs/{after}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
