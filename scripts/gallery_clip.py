"""The README's clip: a pan over the bundled photo painted frame by frame and with impasto video.

    .venv/bin/python scripts/gallery_clip.py            # docs/gallery/clip-*.webp, a few minutes on 2 cores

Writes two animated WebPs side by side in one file (left: every frame painted alone as a
still; right: `impasto video`, warped start + temporal loss) and prints the flicker of each
(Ruder et al.'s measure, 0-255 units, on reliably tracked pixels; the input's own: its noise).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from video import PAINTING, paint_alone, paint_clip, synthetic  # noqa: E402

from impasto import image as im  # noqa: E402
from impasto.video import api as vapi, io as vio, temporal  # noqa: E402

FRAMES, SIZE, FPS = 16, 256, 8


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        clip = synthetic(Path(tmp) / "clip", FRAMES, SIZE)
        frames = vio.read(clip, vapi.even_fit(SIZE), end=FRAMES).frames
        start = time.perf_counter()
        alone, alone_spf = paint_alone(frames, {"size": SIZE})
        work = Path(tmp) / "work"
        work.mkdir()
        video, video_spf = paint_clip(clip, {"size": SIZE}, {"end": FRAMES}, work)
        pairs = []
        for a, v in zip(alone, video):
            left, right = vio.as_array(a), vio.as_array(v)
            gap = np.full((left.shape[0], 8, 3), 255, np.uint8)
            pairs.append(Image.fromarray(np.concatenate([left, gap, right], 1)))
        out = ROOT / "docs/gallery/clip-alone-vs-video.webp"
        pairs[0].save(out, save_all=True, append_images=pairs[1:], duration=1000 // FPS, loop=0, quality=80)
        f_alone, f_video = temporal.flicker(alone, frames), temporal.flicker(video, frames)
        f_input = temporal.flicker([im.to_tensor(Image.fromarray(f)) for f in frames], frames)
        print(f"wrote {out} ({FRAMES} frames at {SIZE} px, painting {PAINTING.name}) in "
              f"{time.perf_counter() - start:.0f} s")
        print(f"flicker: frames painted alone {f_alone:.1f} ({alone_spf:.1f} s/frame), "
              f"impasto video {f_video:.1f} ({video_spf:.1f} s/frame), the input itself {f_input:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
