"""Video benchmark: flicker, time per frame and style error of the ways to paint a clip.

    .venv/bin/python bench/video.py                      # 16 frames at 384 px (about an hour on 2 cores)
    .venv/bin/python bench/video.py --size 64 --frames 4 --frame-steps 3 --steps 6   # a smoke run
    .venv/bin/python bench/video.py --chunks --size 256 --frames 25 --chunk-frames 8  # chunks on Ray

Clips: a synthetic one with known motion (the bundled Tübingen photo panned
right and slowly zoomed in, so every revealed region is known), and, with
``--clip PATH``, a real one. Variants, all with this project's default still
options (StyleConfig) unless given:
* alone: every frame painted as a still picture (the still pipeline's whole schedule),
* warped: each frame starts from the previous painted frame warped (temporal weight 0),
* temporal: warped start + the temporal loss (the default of ``impasto video``),
* multipass: the same with --passes 3.
Flicker is Ruder et al.'s measure (impasto.video.temporal.flicker, 0-255 units,
input's own flow, reliable pixels only); style error is bench/score.py's, at the
clip's size, of the middle and the last frame, relative to the same frame painted alone.

``--chunks``: the clip in chunks of ``--chunk-frames`` (impasto.video.chunks) against painting it in
order: flicker on the frame pairs that cross a seam and on those inside chunks, and s/frame (wall time,
workers' start included), for the design's parts switched off in this process (keyframes painted alone,
no pull to the right keyframe) and for the default on a local Ray with 1 worker (all CPUs) and 2
workers (half each). Target: seam flicker at most 1.5x that inside.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from score import Scorer

import impasto
from impasto import image as im
from impasto.video import api as vapi, io as vio, temporal

PHOTO = ROOT / "src/impasto/examples/tubingen.jpg"
PAINTING = ROOT / "src/impasto/examples/starry_night.jpg"


def synthetic(folder: Path, n: int, size: int) -> Path:
    """A pan (2% of the width a frame) with a slow zoom (1% a frame) over the photo."""
    photo = Image.open(PHOTO).convert("RGB")
    w0, h0 = photo.size
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        scale = 0.7 / (1 + 0.01 * i)
        cw, ch = w0 * scale, h0 * scale * 0.75
        x0 = 0.02 * w0 * i
        y0 = (h0 - ch) / 2
        crop = photo.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch)))
        crop.resize((size, round(size * ch / cw)), Image.Resampling.LANCZOS).save(folder / f"f{i:04d}.png")
    return folder


def paint_alone(frames: list[np.ndarray], options: dict) -> tuple[list[torch.Tensor], float]:
    out, start = [], time.perf_counter()
    for f in frames:
        out.append(impasto.run(Image.fromarray(f), str(PAINTING), **options).image)
    return out, (time.perf_counter() - start) / len(frames)


def paint_clip(clip: Path, options: dict, video: dict, work: Path) -> tuple[list[torch.Tensor], float]:
    events: list = []
    start = time.perf_counter()
    impasto.stylize_video(clip, str(PAINTING), work / f"{len(list(work.iterdir()))}/", callback=events.append,
                          **options, **video)
    wall = time.perf_counter() - start
    final = {}
    for e in events:
        if isinstance(e, impasto.FrameProgress):
            final[e.index] = e.image()
    return [final[i] for i in sorted(final)], wall / len(final)


def seam_and_inside(painted: list[torch.Tensor], frames: list[np.ndarray], chunk: int) -> tuple[float, float, float]:
    """Mean flicker of the pairs across a seam (t - 1 | keyframe t), of all other pairs, and of the
    pairs just after a keyframe (counted inside, shown apart: a keyframe can jump on either side)."""
    from impasto.video import chunks

    pairs = {t: temporal.flicker([painted[t - 1], painted[t]], [frames[t - 1], frames[t]])
             for t in range(1, len(frames))}
    seams = set(chunks.seams(len(frames), chunk))
    seam = [v for t, v in pairs.items() if t in seams]
    after = [v for t, v in pairs.items() if t - 1 in seams]
    inside = [v for t, v in pairs.items() if t not in seams]
    return sum(seam) / max(len(seam), 1), sum(inside) / max(len(inside), 1), sum(after) / max(len(after), 1)


def chunk_bench(args: argparse.Namespace, options: dict, base: dict) -> list[str]:
    import os

    import ray

    from impasto.ray_engine import _our_path
    from impasto.ray_video import RayVideoEngine
    from impasto.video import chunk_worker, chunks

    k, cpus = args.chunk_frames, os.cpu_count() or 1
    lines = ["| variant | seam flicker | inside flicker | seam / inside | just after a seam | all pairs | s/frame |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        clip = synthetic(Path(tmp) / "synthetic", args.frames, args.size)
        frames = vio.read(clip, vapi.even_fit(args.size), end=args.frames).frames
        work = Path(tmp) / "work"
        work.mkdir()

        def row(name: str, video: dict) -> None:
            painted, spf = paint_clip(clip, options, {**base, **video, "end": args.frames}, work)
            seam, inside, after = seam_and_inside(painted, frames, k)
            lines.append(f"| {name} | {seam:.1f} | {inside:.1f} | {seam / max(inside, 1e-9):.2f} | {after:.1f} | "
                         f"{temporal.flicker(painted, frames):.1f} | {spf:.2f} |")
            print(lines[-1], file=sys.stderr, flush=True)  # as it goes: the whole table takes a while
            if args.strips:
                strip = np.concatenate([vio.as_array(p) for p in painted], 1)
                Image.fromarray(strip).save(Path(args.strips) / f"{len(lines) - 2}.png")

        if args.only_default:  # a quick look while tuning: the default, in this process
            row("chunks: chained + pull (default), in this process", {"chunk_frames": k})
            return lines
        row(f"in order, in this process ({torch.get_num_threads()} threads)", {})
        variants = [(True, True, False, "chunks: chained + pull, seams not smoothed"),
                    (True, True, True, "chunks: chained + pull + seams smoothed (default), in this process")]
        if args.ablations:
            variants[:0] = [(False, False, False, "chunks: keyframes alone, no pull, not smoothed"),
                            (True, False, False, "chunks: keyframes chained, no pull, not smoothed")]
        for chained, pull, smooth, name in variants:
            chunks.CHAINED, chunk_worker.PULL, chunks.SMOOTH = chained, pull, smooth
            row(name, {"chunk_frames": k})
        chunks.CHAINED = chunk_worker.PULL = chunks.SMOOTH = True
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": _our_path()}})
        try:
            for workers in (1, 2):
                engine = RayVideoEngine(workers=workers, cpus_per_worker=max(1, cpus // workers))
                row(f"chunks on local Ray, {workers} worker(s) x {max(1, cpus // workers)} CPU",
                    {"chunk_frames": k, "engine": engine})
        finally:
            ray.shutdown()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--clip", default=None, help="also a real clip (any video file or folder of frames)")
    parser.add_argument("--skip-synthetic", action="store_true", help="with --clip: only the real clip")
    parser.add_argument("--steps", type=int, default=None, help="still steps (default: the preset's)")
    parser.add_argument("--frame-steps", type=int, default=None, help="steps per later frame (default: VideoConfig's)")
    parser.add_argument("--chunks", action="store_true",
                        help="chunked painting: seam vs inside flicker, 1 vs 2 workers")
    parser.add_argument("--chunk-frames", type=int, default=8, help="with --chunks: frames a chunk")
    parser.add_argument("--ablations", action="store_true",
                        help="with --chunks: also keyframes painted alone, and chunks without the pull")
    parser.add_argument("--only-default", action="store_true",
                        help="with --chunks: only the default chunked painting, in this process (for tuning)")
    parser.add_argument("--strips", default=None, help="with --chunks: write each variant's frames side by side here")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    options: dict = {"size": args.size}
    if args.steps:
        options["steps"] = args.steps
    base: dict = {"frame_steps": args.frame_steps} if args.frame_steps else {}
    if args.chunks:
        title = (f"# chunked video benchmark {datetime.date.today()} on {platform.processor() or platform.machine()}, "
                 f"{torch.get_num_threads()} threads; command: {' '.join(sys.argv)}")
        print("\n".join([title, "", *chunk_bench(args, options, base)]))
        return
    variants = {"warped": {**base, "temporal_weight": 0.0}, "temporal": dict(base),
                "multipass": {**base, "passes": 3}}
    title = (f"# video benchmark {datetime.date.today()} on {platform.processor() or platform.machine()}, "
             f"{torch.get_num_threads()} threads; command: {' '.join(sys.argv)}")
    lines = [title, "",
             "| clip | variant | flicker | s/frame | s/frame vs still | style error mid/last vs alone |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        clips = {} if args.clip and args.skip_synthetic else {
            "synthetic pan+zoom": synthetic(Path(tmp) / "synthetic", args.frames, args.size)}
        if args.clip:
            clips["real: " + Path(args.clip).name] = Path(args.clip)
        for name, clip in clips.items():
            decoded = vio.read(clip, vapi.even_fit(args.size), end=args.frames)
            frames = decoded.frames
            h, w = frames[0].shape[:2]
            scorer = Scorer(str(PHOTO), str(PAINTING), size=max(h, w))
            alone, still_spf = paint_alone(frames, {**options, "size": max(h, w)})
            mid, last = len(frames) // 2, len(frames) - 1
            ref = [scorer.parts(im.to_pil(alone[k]))[1] for k in (mid, last)]
            rows = {"alone": (alone, still_spf)}
            work = Path(tmp) / "work"
            work.mkdir(exist_ok=True)
            for variant, video in variants.items():
                rows[variant] = paint_clip(clip, options, {**video, "end": args.frames}, work)
            for variant, (painted, spf) in rows.items():
                errs = [scorer.parts(im.to_pil(painted[k]))[1] / r for k, r in zip((mid, last), ref)]
                lines.append(f"| {name} {w}x{h}, {len(frames)} frames | {variant} | "
                             f"{temporal.flicker(painted, frames):.1f} | {spf:.2f} | {spf / still_spf:.2f} | "
                             f"{errs[0]:.2f} / {errs[1]:.2f} |")
                Image.fromarray(vio.as_array(painted[last])).save(Path(tmp) / f"{variant}.png")
            input_flicker = temporal.flicker([im.to_tensor(Image.fromarray(f)) for f in frames], frames)
            lines.append(f"| {name} | the input itself | {input_flicker:.1f} | | | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
