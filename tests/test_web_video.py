"""Clips in the studio, over HTTP against the real app: upload, per-frame progress, the MP4 back.

The clip is tiny (3 frames of 48x32, the Tübingen photo panned) and painted at 48 px with few steps.
"""

from __future__ import annotations

import io
import json
import threading

import pytest

pytest.importorskip("fastapi", reason="the studio needs the web extra: pip install 'impasto[web]'")
httpx = pytest.importorskip("httpx", reason="the API tests need httpx (the test extra)")
av = pytest.importorskip("av", reason="clips need the video extra: pip install 'impasto[video]'")
pytest.importorskip("cv2", reason="clips need the video extra: pip install 'impasto[video]'")

from PIL import Image  # noqa: E402

from impasto.cli import main  # noqa: E402
from impasto.video import FrameProgress, io as video_io  # noqa: E402
from impasto.web import video_jobs  # noqa: E402
from impasto.web.server import create_app, running  # noqa: E402
from video_clips import panned, write_mp4  # noqa: E402

FAST = {"size": "48", "steps": "3", "start_size": "48", "frame_steps": "1"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return write_mp4(tmp_path_factory.mktemp("clip") / "pan.mp4", panned(3, 48, 32)).read_bytes()


def submit(http: httpx.Client, clip: bytes, name: str = "pan.mp4", **data: str) -> httpx.Response:
    return http.post("/api/jobs", files=[("clip", (name, clip, "video/mp4"))],
                     data={"style_example": "starry_night", **FAST, **data})


def test_a_clip_is_painted_frame_by_frame_and_comes_back_as_an_mp4(tmp_path, clip, monkeypatch):
    # Each frame waits until the event stream has shown it (no race between painting and polling).
    shown = {k: threading.Event() for k in range(1, 4)}
    paint = video_jobs.stylize_video

    def handshake(*args, callback, **kwargs):
        def on_event(event):
            callback(event)
            if isinstance(event, FrameProgress):
                assert shown[event.frame].wait(30), f"frame {event.frame} never reached the page"
        return paint(*args, callback=on_event, **kwargs)

    monkeypatch.setattr(video_jobs, "stylize_video", handshake)
    data = tmp_path / "data"
    with running(create_app(data)) as url:
        http = httpx.Client(base_url=url, timeout=60)
        assert http.get("/api/options").json()["limits"]["video"] is True
        response = submit(http, clip)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        events = []
        with http.stream("GET", f"/api/jobs/{job_id}/events", timeout=120) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if events[-1]["status"] == "running" and events[-1]["step"] in shown:
                        shown[events[-1]["step"]].set()
                assert len(events) < 500
        job = events[-1]
        assert job["status"] == "done", job["error"]
        assert job["kind"] == "video" and job["video"] is True and job["content"] == "pan.mp4"
        assert job["step"] == job["total"] == 3 and job["options"]["frame_steps"] == 1
        frames = [e["step"] for e in events if e["status"] == "running" and e["step"]]
        assert sorted(set(frames)) == [1, 2, 3] and frames == sorted(frames)  # frame by frame
        assert any(e["image"] == "preview" for e in events if e["status"] == "running")  # the latest frame

        mp4 = http.get(f"/api/jobs/{job_id}/video")
        assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
        assert mp4.headers["accept-ranges"] == "bytes"  # the page's player seeks in ranges
        part = http.get(f"/api/jobs/{job_id}/video", headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        saved = tmp_path / "painted.mp4"
        saved.write_bytes(mp4.content)
        with av.open(str(saved)) as box:
            decoded = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
        assert len(decoded) == 3 and decoded[0].shape == (32, 48, 3)
        assert video_io.read_recipe(saved)["kind"] == "video"
        download = http.get(f"/api/jobs/{job_id}/video", params={"download": "true"})
        assert download.headers["content-disposition"].startswith("attachment")

        poster = http.get(f"/api/jobs/{job_id}/image")  # the last painted frame
        assert poster.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(poster.content)).size == (48, 32)
        assert http.get(f"/api/jobs/{job_id}/image", params={"thumb": "true"}).status_code == 200
        assert not list((data / "results").glob(".*impasto-*"))  # no work folder left behind
    with running(create_app(data)) as url:  # and it is still there after a restart
        http = httpx.Client(base_url=url, timeout=60)
        assert http.get(f"/api/jobs/{job_id}").json()["video"] is True
        assert http.get(f"/api/jobs/{job_id}/video").status_code == 200


def test_bad_clips_get_a_one_line_json_error_and_leave_nothing(tmp_path, clip, photo):
    still = io.BytesIO()
    photo.save(still, format="PNG")
    data = tmp_path / "data"
    with running(create_app(data, max_frames=2, max_video_mb=0.5)) as url:
        http = httpx.Client(base_url=url, timeout=60)
        cases = [
            (submit(http, b"hello, not a video", "notes.mp4"), 422, ["notes.mp4", "not a video"]),
            (submit(http, clip[: len(clip) // 3], "cut.mp4"), 422, ["cut.mp4"]),
            (submit(http, still.getvalue(), "photo.png"), 422, ["photo.png", "still picture"]),
            (submit(http, clip), 413, ["pan.mp4", "3 frames", "limit of 2", "start and end"]),
            (submit(http, b"\0" * 600_000, "big.mp4"), 413, ["big.mp4", "0.5 MB"]),
            (submit(http, clip, frame_steps="0"), 422, ["frame_steps"]),
            (http.post("/api/jobs", data={"content_example": "tubingen", "style_example": "starry_night",
                                          "temporal_weight": "5"}), 422, ["temporal_weight", "clip"]),
        ]
        for response, status, words in cases:
            assert response.status_code == status, (words, response.text)
            detail = response.json()["detail"]
            assert "\n" not in detail and str(data) not in detail, detail
            assert all(w in detail for w in words), (words, detail)
        assert list((data / "uploads").iterdir()) == []
        assert http.get("/api/jobs").json()["jobs"] == []
        part = submit(http, clip, start="1")  # a part of the clip within the limit is fine
        assert part.status_code == 202, part.text
        http.delete(f"/api/jobs/{part.json()['id']}")


def test_serve_takes_the_clip_limits_and_a_ray_address(monkeypatch):
    seen = {}
    monkeypatch.setattr("impasto.web.server.serve", lambda **kwargs: seen.update(kwargs) or 0)
    assert main(["serve", "--max-video-mb", "12", "--max-frames", "40", "--max-decoding", "3",
                 "--ray-address", "127.0.0.1:6379"]) == 0
    assert (seen["max_video_mb"], seen["max_frames"], seen["max_decoding"]) == (12, 40, 3)
    assert seen["ray_address"] == "127.0.0.1:6379"
    assert main(["serve"]) == 0 and seen["ray_address"] is None
