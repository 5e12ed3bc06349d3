"""Options of a video run that a still picture does not have.

The still options (size, style weights, colour preservation...) stay in
:class:`impasto.StyleConfig`; these are the clip's own, in one frozen
dataclass whose ``metadata["help"]`` also gives the CLI its flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..options import Options, option

FILLS = ("quick", "local")


@dataclass(frozen=True)
class VideoConfig(Options):
    """How a clip is painted. Defaults trade a little quality for speed on a laptop CPU."""

    temporal_weight: float = option(
        200.0, "weight of the temporal loss (mean squared change from the previous painted frame "
        "warped by the motion, over reliably tracked pixels, in [0, 1] pixel units); "
        "same meaning for any clip and size; 0 turns it off")
    frame_steps: int = option(10, "L-BFGS steps for each frame after the first, at the output size "
                      "(the first frame gets the full still schedule)")
    passes: int = option(1, "passes over the clip, alternating direction; more passes even out "
                       "the clip (Ruder et al.'s multi-pass)")
    pass_steps: int = option(6, "L-BFGS steps per frame in each pass after the first")
    long_term: tuple[int, ...] = option(
        (1,), "earlier frames each frame is tied to (1 = the previous one; e.g. 1 2 4 keeps "
        "regions that reappear after an occlusion consistent)", type=int)
    fill: str = option(
        "quick", "what newly revealed pixels start from: quick (the frame painted quickly at a "
        "small size) or local (nearby painted colours plus the photo's detail)", choices=FILLS)
    chunk_frames: int = option(
        0, "split the clip into chunks of this many frames painted in parallel (--workers, "
        "--ray-address), each anchored at both ends to keyframes painted first; 0: one chunk, "
        "painted in order (with workers: 12)")
    start: int = option(0, "first frame to paint (0-based)")
    end: int = option(0, "frame to stop before (0: the end of the clip)")
    fps: float = option(25.0, "frame rate of a folder of numbered images (ignored for video files)")
    max_frames: int = option(1000, "refuse clips with more frames than this (after --frames)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "long_term", tuple(sorted({int(j) for j in self.long_term})))

        def need(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: {allowed}")

        need(isinstance(self.temporal_weight, (int, float)) and math.isfinite(self.temporal_weight)
             and self.temporal_weight >= 0, "temporal_weight", "must be a finite number >= 0")
        for name, low in (("frame_steps", 1), ("passes", 1), ("pass_steps", 1), ("start", 0), ("end", 0),
                          ("max_frames", 1), ("chunk_frames", 0)):
            value = getattr(self, name)
            need(isinstance(value, int) and not isinstance(value, bool) and value >= low, name,
                 f"must be an integer >= {low}")
        need(not self.end or self.end > self.start, "end", "must be 0 or after start")
        need(len(self.long_term) > 0 and all(1 <= j <= 64 for j in self.long_term), "long_term",
             "must be frame offsets between 1 and 64")
        need(self.chunk_frames != 1, "chunk_frames", "must be 0 (no chunks) or at least 2")
        need(not self.chunk_frames or self.passes == 1, "passes",
             "chunked clips (chunk_frames) are painted in one pass")
        need(self.fill in FILLS, "fill", f"allowed: {', '.join(FILLS)}")
        need(isinstance(self.fps, (int, float)) and 0 < self.fps <= 1000, "fps",
             "must be between 0 and 1000")
