"""``impasto video INPUT PAINTING... -o OUTPUT.mp4``: paint a clip, frame by frame, without flicker."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..events import Cancel, Notice
from ..video import FrameProgress, VideoConfig, stylize_video
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Bar,
    Parser,
    UsageError,
    add_config_arguments,
    config_from,
    interrupt_handlers,
    options_from,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="impasto video", description="Paint a clip in the style of one or more paintings, "
                     "without flicker (Ruder et al.'s temporal consistency). Rerunning the same command "
                     "continues an interrupted run.")
    parser.add_argument("input", help="the clip: a video file (mp4, mov, mkv, webm, gif...) or a folder of "
                        "numbered images")
    parser.add_argument("styles", nargs="+", metavar="painting", help="one or more paintings")
    parser.add_argument("-o", "--output", required=True,
                        help="OUTPUT.mp4 (H.264, the input's timing and audio kept), or FOLDER/ for numbered PNGs")
    parser.add_argument("--frames", default=None, metavar="START:END",
                        help="paint only frames START (0-based) up to END (excluded); either may be empty")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--mask", action="append", default=None, metavar="MASK",
                        help="greyscale mask (same for every frame): style where white; once per painting")
    parser.add_argument("--max-pixels", type=int, default=100_000_000,
                        help="refuse frames or paintings larger than this many pixels (default: 100000000)")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep the work folder of finished frames after the clip is done")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="paint the clip in chunks (--chunk-frames) on N workers of a Ray instance "
                        "started on this machine (or of the cluster at --ray-address); 0 (the default): "
                        "in this process, frame after frame")
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="paint the chunks on a Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                        "(with --workers 0: as many workers as fit)")
    parser.add_argument("--cpus-per-worker", type=float, default=0, metavar="C",
                        help="CPUs (torch threads) per worker (default: this machine's CPUs shared among "
                        "--workers; on a cluster 1 with GPUs, else 2)")
    parser.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                        help="GPUs per worker (default: 1 where the cluster has GPUs, else 0)")
    add_config_arguments(parser, VideoConfig, skip=("start", "end"))  # given as --frames START:END
    add_config_arguments(parser)
    return parser


def frame_range(text: str | None) -> dict[str, int]:
    if text is None:
        return {}
    start, sep, end = text.partition(":")
    try:
        out = {"start": int(start) if start.strip() else 0, "end": int(end) if end.strip() else 0}
    except ValueError:
        out = {}
    if not sep or not out or out["start"] < 0 or out["end"] < 0 or (out["end"] and out["end"] <= out["start"]):
        raise UsageError(f"--frames {text}: expected START:END with 0 <= START < END, e.g. 0:48 or 10:")
    return out


class FrameBar(Bar):
    """Frame k/N, seconds per frame and time left, from the painter's events."""

    def __call__(self, event: FrameProgress | Notice) -> None:
        if isinstance(event, Notice):
            self.say(event.message)
            return
        self.open(event.frames, "frame", "{desc} {percentage:3.0f}%|{bar}| frame {n}/{total} [{elapsed}<{remaining}]")
        if self.bar is not None:
            where = f"pass {event.pass_}/{event.passes} " if event.passes > 1 else ""
            self.bar.set_description_str(f"{where}{event.seconds_per_frame:.1f} s/frame", refresh=False)
            self.bar.update(event.frame - self.bar.n)


def make_engine(args: argparse.Namespace, video: VideoConfig, say: Callable[[str], None]) -> Any:
    """None (in this process) or the Ray engine; Ray is imported only here, only when asked for."""
    if args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    if not args.workers and not args.ray_address:
        return None
    if video.passes > 1:
        raise UsageError("a clip painted by workers is painted in one pass: drop --passes")
    try:
        from ..ray_video import RayVideoEngine
    except ImportError:
        raise UsageError("--workers and --ray-address need Ray: pip install 'impasto[ray]'") from None
    return RayVideoEngine(args.ray_address, workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                          gpus_per_worker=args.gpus_per_worker, notice=say)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = config_from(args)
    video = options_from(args, VideoConfig, **frame_range(args.frames))
    if args.max_pixels < 1:
        raise UsageError("--max-pixels must be positive")
    bar = FrameBar(args.quiet)
    engine = make_engine(args, video, bar.say)
    config.check_counts(len(args.styles), len(args.mask or []), masks_named="--mask")
    cancel = Cancel()
    try:
        with interrupt_handlers(lambda signum: cancel.set()):
            result = stylize_video(args.input, args.styles, args.output, config=config, video=video,
                                   callback=bar, cancel=cancel, masks=args.mask or None,
                                   max_pixels=args.max_pixels, overwrite=args.overwrite,
                                   keep_work=args.keep_work, engine=engine)
    finally:
        bar.close()
    if result.stopped == "nonfinite":
        bar.say(f"the loss became NaN or infinite; wrote the {result.written} frames finished before it "
                f"to {result.output}")
        return 1
    if result.stopped == "cancelled":
        if result.written:
            bar.say(f"interrupted: wrote the {result.written} finished frames to {result.output}; run the same "
                    "command again to continue")
        else:
            bar.say("interrupted before the first frame was finished: nothing written")
        return EXIT_INTERRUPTED
    print(f"wrote {result.output} ({result.written} frames, {result.seconds_per_frame:.1f} s/frame"
          f"{', audio kept' if result.audio else ''})")
    return EXIT_OK
