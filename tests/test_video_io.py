import warnings
from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")
from impasto.cli import main
from impasto.video import io
from video_clips import EXAMPLES, panned, write_folder, write_mp4

STYLE = str(EXAMPLES / "starry_night.jpg")


def same(w: int, h: int) -> tuple[int, int]:
    return h, w


def test_variable_frame_timing_survives_a_round_trip(tmp_path):
    frames = panned(5)
    pts = [0, 512, 1536, 2048, 3584]  # uneven gaps
    src = write_mp4(tmp_path / "in.mp4", frames, pts=pts)
    clip = io.read(src, same)
    assert clip.pts == pts and clip.time_base == Fraction(1, 12800)
    io.write_mp4(tmp_path / "out.mp4", clip.frames, clip, {"impasto": "test"})
    back = io.read(tmp_path / "out.mp4", same)
    assert back.pts == pts and back.time_base == clip.time_base
    assert np.abs(back.frames[2].astype(int) - clip.frames[2]).mean() < 4
    assert io.read_recipe(tmp_path / "out.mp4") == {"impasto": "test"}


def test_audio_is_copied_and_a_range_keeps_its_timing(tmp_path):
    src = write_mp4(tmp_path / "in.mp4", panned(6), audio=True)
    clip = io.read(src, same, start=2, end=5)
    assert len(clip.frames) == 3 and clip.start == 2 and clip.has_audio
    assert io.write_mp4(tmp_path / "out.mp4", clip.frames, clip, None)
    with av.open(str(tmp_path / "out.mp4")) as box:
        assert box.streams.audio and box.streams.audio[0].codec_context.name == "aac"
        packets = [p for p in box.demux(box.streams.audio[0]) if p.size]
        assert packets and float(packets[0].pts * packets[0].time_base) < 0.05
    assert io.read(tmp_path / "out.mp4", same).pts == [0, 512, 1024]


def test_a_folder_of_numbered_images_is_a_clip_in_number_order(tmp_path):
    frames = panned(3)
    folder = write_folder(tmp_path / "f", frames)
    (folder / "frame010.png").write_bytes((folder / "frame001.png").read_bytes())  # 10 sorts after 3
    clip = io.read(folder, same, fps=12)
    assert len(clip.frames) == 4 and clip.rate == 12
    assert np.array_equal(clip.frames[3], clip.frames[0])


@pytest.mark.parametrize("case", ["not_video", "still", "empty_folder", "undecodable", "pixels", "frames",
                                  "extension", "same", "range"])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, case):
    good = write_mp4(tmp_path / "in.mp4", panned(4))
    out = tmp_path / "out.mp4"
    args = [str(good), STYLE, "-o", str(out)]
    if case == "not_video":
        (tmp_path / "notes.mp4").write_text("hello, not a video\n" * 20)
        args[0] = str(tmp_path / "notes.mp4")
    elif case == "still":
        args[0] = str(EXAMPLES / "tubingen.jpg")
    elif case == "empty_folder":
        (tmp_path / "none").mkdir()
        args[0] = str(tmp_path / "none")
    elif case == "undecodable":
        data = bytearray(good.read_bytes())
        start = data.find(b"mdat") + 8
        data[start:] = bytes(len(data) - start)  # the frames zeroed: the header is fine, the stream is not
        (tmp_path / "broken.mp4").write_bytes(bytes(data))
        args[0] = str(tmp_path / "broken.mp4")
    elif case == "pixels":
        args += ["--max-pixels", "1000"]
    elif case == "frames":
        args += ["--max-frames", "2"]
    elif case == "extension":
        args[3] = str(tmp_path / "out.avi")
    elif case == "same":
        args[3] = str(good)
    elif case == "range":
        args += ["--frames", "3:1"]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["video", *args, "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("impasto: error:") and "\n" not in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if case == "frames":
        assert "--max-frames" in err


def test_a_read_only_frame_is_resized_without_a_warning_and_left_as_it_was():
    # Frames that come back from Ray's object store are read-only views.
    rgb = np.arange(8 * 12 * 3, dtype=np.uint8).reshape(8, 12, 3)
    rgb.flags.writeable = False
    before = rgb.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = io._to_size(rgb, (4, 6))
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert np.array_equal(rgb, before)
