"""The paint command: its flags, checks before work, progress bar, safe writing, interrupts."""

from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path
from typing import Any

from .. import output, recipe as recipes
from .._version import __version__
from ..api import run
from ..config import StyleConfig
from ..errors import InputError
from ..events import Cancel, Notice, Progress
from ..image import DEFAULT_MAX_PIXELS
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Bar,
    Parser,
    UsageError,
    add_config_arguments,
    config_from,
    interrupt_handlers,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="impasto",
        description="Paint a photo in the style of one or more paintings "
        "(Gatys, Ecker & Bethge). Other commands: 'impasto info PICTURE', "
        "'impasto redo PICTURE -o NEW', 'impasto serve', 'impasto batch', 'impasto video CLIP PAINTING -o OUT.mp4'.",
    )
    parser.add_argument("content", help="the photo")
    parser.add_argument("styles", nargs="+", metavar="style", help="one or more paintings")
    parser.add_argument("-o", "--output", default=None,
                        help="where to write the picture (.png .jpg .webp .tif); default: "
                        "CONTENT-STYLE.png in the current folder, never overwriting")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--mask", action="append", default=None, metavar="MASK",
                        help="greyscale mask: style where white, photo where black; "
                        "give once per style to paint regions in different styles")
    parser.add_argument("--save-every", type=int, default=0, metavar="N",
                        help="also write the picture every N steps (OUTPUT-stepNNNN.png): what stopping "
                        "then would give; --init SNAPSHOT resumes at its size")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="quality of JPEG/WebP output (default: 95)")
    parser.add_argument("--tiff16", action="store_true", help="write TIFF output with 16 bits per channel")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="refuse inputs larger than this many pixels, against decompression bombs "
                        f"(default: {DEFAULT_MAX_PIXELS})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")
    parser.add_argument("--version", action="version", version=f"impasto {__version__}")
    add_config_arguments(parser)
    return parser


def default_output(content: str, style: str) -> Path:
    """CONTENT-STYLE.png in the current folder, with -2, -3... so nothing is overwritten."""
    stem = f"{Path(content).stem}-{Path(style).stem}"
    candidate = Path(f"{stem}.png")
    n = 2
    while candidate.exists():
        candidate = Path(f"{stem}-{n}.png")
        n += 1
    return candidate


def check_output(out: Path, inputs: list[str], overwrite: bool) -> None:
    """Refuse, before any work, an output that would clobber an input or an existing file."""
    output.format_for(out)
    resolved = out.resolve()
    for source in inputs:
        if Path(source).exists() and Path(source).resolve() == resolved:
            raise InputError(f"output {out} is one of the inputs: choose another name")
    if out.is_dir():
        raise InputError(f"output {out} is a directory")
    if out.exists() and not overwrite:
        raise InputError(f"output {out} exists: pass --overwrite to replace it")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"output folder {folder} is not writable")


def intermediate_path(out: Path, step: int) -> Path:
    return out.with_name(f"{out.stem}-step{step:04d}.png")


def check_snapshots(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, to write --save-every snapshots over earlier ones."""
    earlier = sorted(out.parent.glob(f"{glob.escape(out.stem)}-step[0-9][0-9][0-9][0-9].png"))
    if earlier and not overwrite:
        raise InputError(f"snapshots such as {earlier[0]} exist: pass --overwrite to replace them, "
                         "or choose another output name")


class Reporter(Bar):
    """Turns loop events into a progress bar, notices and --save-every files."""

    def __init__(self, out: Path, save_every: int, quiet: bool, recipe_base: dict[str, Any]) -> None:
        super().__init__(quiet)
        self.out, self.save_every, self.recipe_base = out, save_every, recipe_base

    def __call__(self, event: Progress | Notice) -> None:
        if isinstance(event, Notice):
            self.say(event.message)
            return
        self.open(event.total, "step",
                  "{desc} {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate_fmt}]")
        if self.bar is not None:
            if self.bar.total != event.total:  # a scale stopped on a plateau: fewer steps are left
                self.bar.total = event.total
            h, w = event.size
            self.bar.set_description_str(
                f"scale {event.scale}/{event.scales} {w}x{h} loss {event.loss:.4g}", refresh=False)
            self.bar.update(event.step - self.bar.n)
        if self.save_every and event.step % self.save_every == 0:
            path = intermediate_path(self.out, event.step)
            output.save(event.image(), path, recipe=self.recipe_base)


def paint_command(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.save_every < 0:
        raise UsageError("--save-every must be 0 or a positive number of steps")
    if not 1 <= args.jpeg_quality <= 100:
        raise UsageError("--jpeg-quality must be between 1 and 100")
    if args.max_pixels < 1:
        raise UsageError("--max-pixels must be positive")
    if args.tiff16 and (not args.output or output.format_for(Path(args.output)) != "TIFF"):
        raise UsageError(f"--tiff16 is for TIFF output: give -o NAME.tif (not {args.output or 'the default .png'})")
    return execute(config, args.content, args.styles, output_arg=args.output, masks=args.mask or [],
                   overwrite=args.overwrite, save_every=args.save_every, quiet=args.quiet,
                   jpeg_quality=args.jpeg_quality, tiff16=args.tiff16, max_pixels=args.max_pixels)


def execute(config: StyleConfig, content: str, styles: list[str], *, output_arg: str | None,
            masks: list[str], overwrite: bool = False, save_every: int = 0, quiet: bool = False,
            jpeg_quality: int = 95, tiff16: bool = False, max_pixels: int = 0) -> int:
    out = Path(output_arg) if output_arg else default_output(content, styles[0])
    inputs = [content, *styles, *masks] + ([config.init_path] if config.init_path is not None else [])
    check_output(out, inputs, overwrite)
    if save_every:
        check_snapshots(out, overwrite)
    config.check_counts(len(styles), len(masks), "--mask")
    cancel = Cancel()
    interrupted: list[int] = []

    def on_interrupt(signum: int) -> None:
        interrupted.append(signum)
        cancel.set()

    writing = {"jpeg_quality": jpeg_quality, "tiff16": tiff16, "max_pixels": max_pixels or DEFAULT_MAX_PIXELS}
    reporter = Reporter(out, save_every, quiet, recipes.base(config))
    try:
        with interrupt_handlers(on_interrupt):
            result = run(content, styles, config=config, callback=reporter, cancel=cancel,
                         masks=masks or None, max_pixels=max_pixels)
    finally:
        reporter.close()
    meta = recipes.build(config, content, styles, masks=masks, device=result.device, bf16=result.bf16,
                         steps=result.steps, stopped=result.stopped, writing=writing)
    output.save(result.image, out, recipe=meta, quality=jpeg_quality, bits16=tiff16,
                alpha=result.alpha)
    if result.stopped == "nonfinite":
        reporter.say(f"the loss became NaN or infinite after {result.steps} steps; "
                     f"kept the last good picture: {out}")
        return 1
    if result.stopped == "cancelled" or interrupted:
        reporter.say(f"interrupted after {result.steps} steps; best picture so far written to {out}")
        return EXIT_INTERRUPTED
    print(f"wrote {out}")
    return EXIT_OK
