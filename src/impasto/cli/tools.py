"""``impasto info``, ``impasto redo`` and ``impasto serve``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import output, recipe as recipes
from ..errors import InputError
from ..web import settings
from .common import EXIT_OK, Parser
from .paint import execute


def _read(picture: str) -> dict[str, Any]:
    path = Path(picture)
    if not path.is_file():
        raise InputError(f"{picture}: file not found")
    try:
        if path.suffix.lower() == ".mp4":  # a painted clip: the recipe is in the MP4's metadata
            from ..video.io import read_recipe

            recipe = read_recipe(path)
        else:
            recipe = recipes.read_recipe(path)
    except InputError:
        raise
    except Exception:
        raise InputError(f"{picture}: not a picture impasto can read") from None
    if recipe is None:
        raise InputError(f"{picture}: no impasto recipe inside (was it made by impasto?)")
    return recipe


def info(args: argparse.Namespace) -> int:
    recipe = _read(args.picture)
    if args.json:
        print(json.dumps(recipe, indent=2, sort_keys=True))
        return EXIT_OK
    inputs = recipe.get("inputs", {})
    work = (f"frames {recipe['frames'][0]}:{recipe['frames'][1]}, {recipe.get('frames_done')} done"
            if recipe.get("kind") == "video" else f"{recipe.get('steps_run')} steps")
    print(f"made by impasto {recipe.get('impasto')} on {recipe.get('device')}"
          f"{' (bf16)' if recipe.get('bf16') else ''}, {work}"
          f"{', stopped: ' + recipe['stopped'] if recipe.get('stopped') else ''}")
    content = inputs.get("content", {})
    print(f"content: {content.get('path')}  sha256 {content.get('sha256', '')[:16]}")
    for s in inputs.get("styles", []):
        print(f"style:   {s.get('path')}  sha256 {s.get('sha256', '')[:16]}")
    for m in inputs.get("masks", []):
        print(f"mask:    {m.get('path')}  sha256 {m.get('sha256', '')[:16]}")
    for key, value in sorted({**recipe.get("options", {}), **recipe.get("video", {})}.items()):
        print(f"  {key} = {value}")
    return EXIT_OK


def redo(args: argparse.Namespace) -> int:
    recipe = _read(args.picture)
    if recipe.get("kind") == "video":
        raise InputError(f"{args.picture}: a painted clip; run 'impasto video' again with its options")
    try:
        config = recipes.config_of(recipe)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{args.picture}: its recipe has options this version cannot use ({exc})") from None
    for problem in recipes.changed_inputs(recipe):
        print(f"impasto: warning: {problem}", file=sys.stderr)
    inputs = recipe["inputs"]
    styles = [s["path"] for s in inputs["styles"]]
    masks = [m["path"] for m in inputs.get("masks", [])]
    if "init" in inputs:  # the start picture where it was, not its path as typed in another folder
        config = config.with_options(init=inputs["init"]["path"])
    writing = recipe.get("writing", {})
    tiff = output.format_for(Path(args.output)) == "TIFF"
    return execute(config, inputs["content"]["path"], styles, output_arg=args.output, masks=masks,
                   overwrite=args.overwrite, quiet=args.quiet,
                   jpeg_quality=int(writing.get("jpeg_quality", 95)),
                   tiff16=bool(writing.get("tiff16", False)) and tiff,
                   max_pixels=int(writing.get("max_pixels", 0)))


def serve(args: argparse.Namespace) -> int:
    try:
        from ..web.server import serve as run_server
    except ImportError as exc:
        raise InputError(f"the studio needs the web extra: pip install 'impasto[web]' ({exc.name} missing)") from None
    return run_server(host=args.host, port=args.port, data_dir=args.data_dir, ray_address=args.ray_address,
                      max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels, max_size=args.max_size,
                      max_video_mb=args.max_video_mb, max_frames=args.max_frames, max_decoding=args.max_decoding)


def main(argv: list[str]) -> int:
    parser = Parser(prog="impasto", description="impasto's other commands")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="print the recipe stored in a picture")
    p.add_argument("picture")
    p.add_argument("--json", action="store_true", help="the whole recipe as JSON")
    p.set_defaults(func=info)
    p = sub.add_parser("redo", help="make a picture again from its recipe")
    p.add_argument("picture")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=redo)
    p = sub.add_parser("serve", help="start the local web studio")
    p.add_argument("--host", default=settings.DEFAULT_HOST, help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=settings.DEFAULT_PORT)
    p.add_argument("--data-dir", default=settings.DEFAULT_DATA_DIR, help="where uploads and results live")
    p.add_argument("--max-upload-mb", type=float, default=settings.DEFAULT_MAX_UPLOAD_MB,
                   help=f"largest accepted upload (default: {settings.DEFAULT_MAX_UPLOAD_MB})")
    p.add_argument("--max-pixels", type=int, default=settings.DEFAULT_MAX_PIXELS,
                   help=f"largest accepted picture in pixels (default: {settings.DEFAULT_MAX_PIXELS})")
    p.add_argument("--max-size", type=int, default=settings.DEFAULT_MAX_SIZE,
                   help=f"largest output size a job may ask for (default: {settings.DEFAULT_MAX_SIZE})")
    p.add_argument("--max-video-mb", type=float, default=settings.DEFAULT_MAX_VIDEO_MB,
                   help=f"largest accepted clip upload (default: {settings.DEFAULT_MAX_VIDEO_MB})")
    p.add_argument("--max-frames", type=int, default=settings.DEFAULT_MAX_FRAMES,
                   help=f"most frames of a clip a job may paint (default: {settings.DEFAULT_MAX_FRAMES})")
    p.add_argument("--max-decoding", type=int, default=settings.DEFAULT_MAX_DECODING,
                   help=f"uploads checked at once; more wait, then get 503 (default: {settings.DEFAULT_MAX_DECODING})")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="paint pictures on this Ray cluster (auto, HOST:PORT or ray://HOST:PORT); needs the ray extra")
    p.set_defaults(func=serve)
    args = parser.parse_args(argv)
    return args.func(args)
