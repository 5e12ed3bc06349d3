import os
import signal

import pytest

av = pytest.importorskip("av")
pytest.importorskip("cv2")
from impasto.cli import main, video as cli_video
from video_clips import EXAMPLES, panned, write_mp4

STYLE = str(EXAMPLES / "starry_night.jpg")


@pytest.fixture()
def keep_signals():
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGINT, saved[0])
    signal.signal(signal.SIGTERM, saved[1])


def frames_in(path):
    with av.open(str(path)) as box:
        return sum(1 for _ in box.decode(video=0)), bool(box.streams.audio)


def test_ctrl_c_writes_a_playable_clip_exits_130_and_the_same_command_continues(tmp_path, capsys, monkeypatch,
                                                                                  keep_signals):
    src = write_mp4(tmp_path / "in.mp4", panned(3, w=48, h=32, shift=2), audio=True)
    out = tmp_path / "out.mp4"
    args = ["video", str(src), STYLE, "-o", str(out), "--size", "48", "--steps", "4", "--frame-steps", "2",
            "--fill", "local", "-q"]
    real = cli_video.FrameBar.__call__

    def interrupt_after_first(self, event):
        real(self, event)
        if getattr(event, "frame", 0) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the real handler: it sets the run's Cancel flag

    monkeypatch.setattr(cli_video.FrameBar, "__call__", interrupt_after_first)
    assert main(args) == 130
    assert frames_in(out) == (1, True)
    monkeypatch.setattr(cli_video.FrameBar, "__call__", real)
    assert main(args) == 0  # the interrupted run's own output may be replaced without --overwrite
    assert frames_in(out) == (3, True)
    assert main(args) == 2  # a finished clip is not replaced without --overwrite
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "frames 0:3, 3 done" in text and "in.mp4" in text and "temporal_weight" in text
