"""A clip in chunks on a local Ray with two 1-CPU workers (started once for the module)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("av")
pytest.importorskip("cv2")
ray = pytest.importorskip("ray")

import impasto
from impasto import image as im
from impasto.cli import main
from impasto.video import chunks, temporal, work as works
from video_clips import EXAMPLES, pair_flicker, panned, write_folder

STYLE = str(EXAMPLES / "starry_night.jpg")
N, K = 9, 4  # keyframes 0, 4, 8: seams between frames 3|4 and 7|8
#: For the tests of the machinery (not of the pictures): smaller and fewer steps.
TINY = {"size": 48, "steps": 8, "frame_steps": 3, "fill": "local", "chunk_frames": K}


@pytest.fixture(scope="module")
def local_ray():
    from impasto.ray_engine import _our_path

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING",
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": _our_path()}})
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    frames = panned(N, w=64, h=48, shift=2)
    return write_folder(tmp_path_factory.mktemp("clip"), frames), frames


def engine():
    from impasto.ray_video import RayVideoEngine

    return RayVideoEngine(workers=2)


def seam_and_inside(painted, frames) -> tuple[float, float]:
    pairs = pair_flicker(painted, frames)
    seam = [pairs[t] for t in chunks.seams(N, K)]
    inside = [pairs[t] for t in range(1, N) if t not in chunks.seams(N, K)]
    return sum(seam) / len(seam), sum(inside) / len(inside)


def test_the_command_paints_every_frame_on_two_workers_with_no_visible_seam(local_ray, clip, tmp_path, capsys):
    source, frames = clip
    out = tmp_path / "out"
    code = main(["video", str(source), STYLE, "-o", f"{out}/", "--workers", "2", "--size", "64", "--steps", "24",
                 "--frame-steps", "6", "--fill", "local", "--chunk-frames", str(K)])
    assert code == 0, capsys.readouterr()
    assert "2 worker(s) ready (1 CPU each)" in capsys.readouterr().err
    assert ray.is_initialized()  # the module's Ray, not the command's: left running
    written = sorted(out.glob("frame_*.png"))
    assert [p.name for p in written] == [f"frame_{i:06d}.png" for i in range(1, N + 1)]
    painted = [im.to_tensor(Image.open(p).convert("RGB")) for p in written]
    for p, f in zip(painted, frames):  # painted, not the photo
        assert float((p - im.to_tensor(Image.fromarray(f))).abs().mean()) > 0.05
    seam, inside = seam_and_inside(painted, frames)
    # Chunks that start from keyframes painted alone flicker at the seam ~50x more (bench/video.py --chunks).
    print(f"seam {seam:.1f} inside {inside:.1f}")
    assert seam <= 1.5 * inside, (seam, inside)
    assert inside < temporal.flicker(painted[:1] + [im.to_tensor(Image.fromarray(frames[1]))], frames[:2]) / 10
    assert not list(tmp_path.glob(".out.impasto-*"))  # the work folder is gone once the clip is done


def test_a_worker_killed_mid_chunk_costs_a_retry_and_every_frame_is_written_once(local_ray, clip, tmp_path,
                                                                               monkeypatch):
    source, _ = clip
    saves: Counter[tuple[int, int]] = Counter()
    real_save = works.WorkFolder.save

    def counting_save(self, pass_, index, x, out):
        saves[pass_, index] += 1
        return real_save(self, pass_, index, x, out)

    monkeypatch.setattr(works.WorkFolder, "save", counting_save)
    eng = engine()
    killed: list[str] = []
    finished = threading.Event()

    def kill_a_worker_painting_a_chunk():
        while not finished.is_set() and not killed:
            for number, task in list(eng.flying.values()):
                if task.key.startswith("chunk"):
                    time.sleep(0.5)  # well inside the chunk's painting
                    os.kill(eng.pids[number], signal.SIGKILL)
                    killed.append(task.key)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker_painting_a_chunk, daemon=True)
    killer.start()
    try:
        result = impasto.stylize_video(source, STYLE, tmp_path / "out/", engine=eng, **{**TINY, "frame_steps": 8})
    finally:
        finished.set()
        killer.join()
    assert killed, "no chunk was seen in flight"
    seams = chunks.seams(N, K)  # keyframes 4 and 8, smoothed once all frames are painted
    assert (result.stopped, result.written, result.painted) == (None, N, N + len(seams))
    assert sorted(saves) == [(1, t) for t in range(N)] + [(chunks.SEAM_PASS, t) for t in seams]
    assert set(saves.values()) == {1}
    assert len(list((tmp_path / "out").glob("frame_*.png"))) == N


def test_a_cancelled_chunked_run_resumes_with_the_missing_frames_only(local_ray, clip, tmp_path):
    source, _ = clip
    cancel = impasto.Cancel()

    def stop_after_a_chunk(event):
        if isinstance(event, impasto.FrameProgress) and event.frame >= 4:
            cancel.set()

    out = tmp_path / "out.mp4"
    first = impasto.stylize_video(source, STYLE, out, engine=engine(), callback=stop_after_a_chunk,
                                  cancel=cancel, **TINY)
    assert first.stopped == "cancelled" and 4 <= first.painted < N
    folder = works.folder_for(out, first.recipe["work"])
    kept = {p.name: p.stat().st_mtime_ns for p in folder.glob("p1-*.pt")}
    assert len(kept) == first.painted

    events: list = []
    second = impasto.stylize_video(source, STYLE, out, engine=engine(), callback=events.append, overwrite=False,
                                   **TINY)
    seams = chunks.seams(N, K)
    assert (second.stopped, second.written, second.painted) == (None, N, N + len(seams) - first.painted)
    progress = [e for e in events if isinstance(e, impasto.FrameProgress)]
    assert sorted(e.index for e in progress) == sorted([*range(N), *seams])
    assert sum(e.resumed for e in progress) == first.painted
    assert impasto.video.io.read_recipe(out)["frames_done"] == N
