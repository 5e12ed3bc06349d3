import numpy as np
import pytest
from PIL import Image

pytest.importorskip("av")
pytest.importorskip("cv2")
import impasto
from video_clips import EXAMPLES, panned, write_folder

STYLE = str(EXAMPLES / "starry_night.jpg")
TINY = {"size": 48, "steps": 4, "frame_steps": 2, "fill": "local"}


def pngs(folder):
    return [np.asarray(Image.open(p)) for p in sorted(folder.glob("frame_*.png"))]


def test_a_cancelled_run_resumes_after_its_last_finished_frame_and_matches_an_uninterrupted_one(tmp_path):
    clip = write_folder(tmp_path / "clip", panned(3, w=48, h=32, shift=2))
    whole = impasto.stylize_video(clip, STYLE, f"{tmp_path}/whole/", **TINY)
    assert whole.written == 3 and whole.stopped is None

    cancel = impasto.Cancel()

    def stop_after_two(event):
        if isinstance(event, impasto.FrameProgress) and event.frame == 2:
            cancel.set()

    out = f"{tmp_path}/part/"
    first = impasto.stylize_video(clip, STYLE, out, callback=stop_after_two, cancel=cancel, **TINY)
    assert (first.stopped, first.written, first.painted) == ("cancelled", 2, 2)
    assert len(pngs(tmp_path / "part")) == 2  # the finished frames are written, playable
    work = list(tmp_path.glob(".part.impasto-*"))
    assert len(work) == 1 and len(list(work[0].glob("p1-*.pt"))) == 2

    events = []
    # A changed command must not reuse these frames: it gets a folder of its own.
    second = impasto.stylize_video(clip, STYLE, out, callback=events.append, overwrite=False, **TINY)
    assert (second.stopped, second.written, second.painted) == (None, 3, 1)
    assert [e.resumed for e in events if isinstance(e, impasto.FrameProgress)] == [True, True, False]
    assert not list(tmp_path.glob(".part.impasto-*"))  # removed once the clip is done
    for a, b in zip(pngs(tmp_path / "part"), pngs(tmp_path / "whole"), strict=True):
        assert np.array_equal(a, b)


def test_the_work_folder_is_keyed_by_the_recipe(tmp_path):
    from impasto.video import work

    base = {"options": {"size": 48}, "inputs": {"content": {"sha256": "a"}}}
    changed = {"options": {"size": 64}, "inputs": {"content": {"sha256": "a"}}}
    out = tmp_path / "clip.mp4"
    assert work.folder_for(out, work.key_of(base)) != work.folder_for(out, work.key_of(changed))
    assert work.folder_for(out, work.key_of(base)) == work.folder_for(out, work.key_of(dict(base)))
