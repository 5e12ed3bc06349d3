import pytest
import torch

pytest.importorskip("av")
pytest.importorskip("cv2")
import impasto
from impasto import image as im
from impasto.video import temporal
from video_clips import EXAMPLES, panned, write_folder

STYLE = str(EXAMPLES / "starry_night.jpg")
TINY = {"size": 48, "steps": 8, "frame_steps": 4}


def test_temporal_loss_is_zero_where_untrusted_and_grows_with_the_change():
    x = torch.rand(1, 3, 8, 8)
    w = torch.rand(1, 3, 8, 8)
    none = temporal.Target(w, torch.zeros(1, 1, 8, 8))
    full = temporal.Target(w, torch.ones(1, 1, 8, 8))
    assert float(temporal.temporal_loss(x, [none])) == 0
    assert float(temporal.temporal_loss(w, [full])) == 0
    assert float(temporal.temporal_loss(x, [full])) == pytest.approx(float(((x - w) ** 2).mean()))
    near, far = torch.ones(1, 1, 2, 2), torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    _, older = temporal.long_term_weights([near * torch.tensor([[[[0.0, 1], [1, 0]]]]), far])
    assert older.tolist() == [[[[1.0, 0.0], [0.0, 1.0]]]]  # only where the nearer frame did not see


def test_the_temporal_loss_lowers_flicker_against_frames_painted_alone(tmp_path):
    frames = panned(3, w=48, h=32, shift=2)
    clip = write_folder(tmp_path / "clip", frames)
    alone = [im.to_tensor(impasto.stylize(_pil(f), STYLE,
                                          size=48, steps=8)) for f in frames]
    events = []
    result = impasto.stylize_video(clip, STYLE, tmp_path / "out/", fill="local", callback=events.append, **TINY)
    painted = [e.image() for e in events if isinstance(e, impasto.FrameProgress)]
    assert result.written == 3 and len(painted) == 3 and painted[0].shape[-2:] == (32, 48)
    steady, jumpy = temporal.flicker(painted, frames), temporal.flicker(alone, frames)
    assert steady < jumpy / 3, (steady, jumpy)
    # Every frame is painted, not left as the photo: far from the input everywhere it moved.
    for p, f in zip(painted, frames):
        assert float((p - im.to_tensor(_pil(f))).abs().mean()) > 0.05


def _pil(frame):
    from PIL import Image

    return Image.fromarray(frame)


def test_later_frames_get_their_presets_preconditioner_as_stills_do(tmp_path, monkeypatch):
    from impasto.schedule import SMOOTH_LEVELS
    from impasto.video import paint

    seen = []
    real = paint.optimise

    def spy(*args, **kw):
        seen.append(kw["smooth"])
        return real(*args, **kw)

    monkeypatch.setattr(paint, "optimise", spy)
    clip = write_folder(tmp_path / "clip", panned(2, w=48, h=32, shift=2))
    for quality in ("draft", "standard"):
        impasto.stylize_video(clip, STYLE, tmp_path / quality, fill="local", quality=quality, **TINY)
    assert seen == [0, SMOOTH_LEVELS]  # the first frame of each is a still (pipeline.paint)
