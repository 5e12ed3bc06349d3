"""Tiny synthetic clips for the video tests: a photo panned by a known shift."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "impasto" / "examples"


def panned(n: int = 4, w: int = 48, h: int = 32, shift: int = 3) -> list[np.ndarray]:
    """Frames of the Tübingen photo, the camera moving right by ``shift`` px a frame."""
    big = np.asarray(Image.open(EXAMPLES / "tubingen.jpg").convert("RGB").resize((w + shift * n + 8, h + 8)))
    return [np.ascontiguousarray(big[4:4 + h, 4 + shift * i:4 + shift * i + w]) for i in range(n)]


def write_folder(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"frame{i + 1:03d}.png")
    return folder


def write_mp4(path: Path, frames: list[np.ndarray], *, pts: list[int] | None = None,
              time_base: Fraction = Fraction(1, 12800), audio: bool = False) -> Path:
    """An H.264 MP4 of ``frames`` (timestamps ``pts`` in ``time_base``), with an AAC tone if asked."""
    import av

    pts = pts if pts is not None else [i * 512 for i in range(len(frames))]
    with av.open(str(path), "w") as box:
        v = box.add_stream("libx264", rate=Fraction(25))
        v.time_base = v.codec_context.time_base = time_base
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = "yuv420p"
        a = box.add_stream("aac", rate=44100) if audio else None
        for f, t in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts, frame.time_base = t, time_base
            for p in v.encode(frame):
                box.mux(p)
        for p in v.encode():
            box.mux(p)
        if a is not None:
            seconds = float((pts[-1] - pts[0]) * time_base) + 0.1
            done = 0
            while done < seconds * 44100:
                tone = np.sin(np.arange(done, done + 1024) * 2 * np.pi * 440 / 44100).astype(np.float32)
                af = av.AudioFrame.from_ndarray(0.2 * tone[None], format="fltp", layout="mono")
                af.sample_rate, af.pts = 44100, done
                done += 1024
                for p in a.encode(af):
                    box.mux(p)
            for p in a.encode():
                box.mux(p)
    return path


def pair_flicker(painted: list, frames: list[np.ndarray]) -> dict[int, float]:
    """Flicker of each frame pair (t - 1, t), by t (impasto.video.temporal.flicker on the pair)."""
    from impasto.video import temporal

    return {t: temporal.flicker([painted[t - 1], painted[t]], [frames[t - 1], frames[t]])
            for t in range(1, len(frames))}
