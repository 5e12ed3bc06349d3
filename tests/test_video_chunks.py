"""A clip in chunks (video/chunks.py), painted in this process: the seams are smoothed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("av")
pytest.importorskip("cv2")

import impasto
from impasto import image as im
from impasto.video import chunks, work as works
from video_clips import EXAMPLES, pair_flicker, panned, write_folder

STYLE = str(EXAMPLES / "starry_night.jpg")
N, K = 9, 4  # keyframes 0, 4, 8: seams between frames 3|4 and 7|8; frame 8 is the clip's last
OPTIONS = {"size": 64, "steps": 24, "frame_steps": 6, "fill": "local", "chunk_frames": K}


def paint(tmp_path: Path, frames: list[np.ndarray], name: str, events: list | None = None):
    result = impasto.stylize_video(write_folder(tmp_path / "clip", frames), STYLE, tmp_path / f"{name}/",
                                   callback=None if events is None else events.append, **OPTIONS)
    painted = [im.to_tensor(Image.open(p).convert("RGB")) for p in sorted((tmp_path / name).glob("frame_*.png"))]
    return result, painted


def test_keyframes_are_smoothed_into_their_painted_neighbours(tmp_path, monkeypatch):
    frames = panned(N, w=64, h=48, shift=2)
    monkeypatch.setattr(chunks, "SMOOTH", False)
    _, rough = paint(tmp_path, frames, "rough")
    monkeypatch.setattr(chunks, "SMOOTH", True)
    events: list = []
    result, smooth = paint(tmp_path, frames, "smooth", events)

    assert result.painted == N + 2  # every frame, then keyframes 4 and 8 once more
    progress = [e for e in events if isinstance(e, impasto.FrameProgress)]
    assert [e.index for e in progress][-2:] == [4, 8] and progress[-1].frame == progress[-1].frames == N + 2
    for t in range(N):  # only the keyframes after the first change
        same = bool((smooth[t] == rough[t]).all())
        assert same == (t not in (4, 8)), t
    # A keyframe painted apart from its chunk jumps on one side or the other (into it, or out of
    # it into the next chunk); smoothed into both neighbours, the two pairs around it settle.
    before, after = pair_flicker(rough, frames), pair_flicker(smooth, frames)
    print({t: f"{before[t]:.1f} -> {after[t]:.1f}" for t in before})
    around = [t for a in chunks.seams(N, K) for t in (a, a + 1) if t < N]
    assert sum(after[t] for t in around) < 0.9 * sum(before[t] for t in around)
    seam = [after[t] for t in chunks.seams(N, K)]
    inside = [v for t, v in after.items() if t not in chunks.seams(N, K)]
    assert sum(seam) / len(seam) <= 1.5 * sum(inside) / len(inside)


def test_a_rerun_after_the_frames_smooths_only_the_seams_left(tmp_path, monkeypatch):
    frames = panned(N, w=48, h=32, shift=2)
    clip = write_folder(tmp_path / "clip", frames)
    cancel = impasto.Cancel()
    tiny = {**OPTIONS, "size": 48, "steps": 8, "frame_steps": 3}

    def stop_after_the_first_seam(event):
        if isinstance(event, impasto.FrameProgress) and event.frame == N + 1:
            cancel.set()

    out = tmp_path / "out.mp4"
    first = impasto.stylize_video(clip, STYLE, out, callback=stop_after_the_first_seam, cancel=cancel, **tiny)
    assert first.stopped == "cancelled" and first.painted == N + 1
    folder = works.folder_for(out, first.recipe["work"])
    assert sorted(p.name for p in folder.glob("p2-*.pt")) == ["p2-000004.pt"]
    events: list = []
    second = impasto.stylize_video(clip, STYLE, out, callback=events.append, **tiny)
    assert (second.stopped, second.painted) == (None, 1)
    assert [e.index for e in events if isinstance(e, impasto.FrameProgress) and not e.resumed] == [8]
