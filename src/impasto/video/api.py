"""``impasto.stylize_video``: a clip in, a painted clip (or numbered PNGs) out."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .. import device as devices, image as im, pipeline, recipe as recipes
from ..api import Source, _as_list
from ..config import StyleConfig
from ..errors import InputError
from ..events import Cancel, Notice
from . import chunks, io
from .config import VideoConfig
from .paint import FrameProgress, Painter
from .work import WorkFolder, key_of

VIDEO_SUFFIXES = (".mp4",)


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int  # frames in the range asked for
    written: int  # frames in the output (fewer when stopped early)
    painted: int  # frames painted in this run (the rest came from the work folder)
    stopped: str | None  # None, "cancelled" or "nonfinite"
    seconds_per_frame: float
    audio: bool  # whether the input's audio was copied
    recipe: dict


def output_kind(path: str | os.PathLike[str]) -> str:
    """"mp4" or "frames": a folder of numbered PNGs (a path ending in /, an existing folder,
    or a name without an extension)."""
    text = os.fspath(path)
    p = Path(text)
    if text.endswith(("/", os.sep)) or p.is_dir() or not p.suffix:
        return "frames"
    if p.suffix.lower() in VIDEO_SUFFIXES:
        return "mp4"
    raise InputError(f"output {text}: unknown extension; use .mp4, or a folder ending in / for PNG frames")


def _describe(path: Path) -> dict[str, str]:
    if path.is_dir():  # a folder of frames: a digest of its frames' digests
        digest = hashlib.sha256()
        for f in io._numbered(path):
            digest.update(f.name.encode() + recipes.sha256(f).encode())
        return {"name": path.name, "path": str(path.resolve()), "sha256": digest.hexdigest()}
    return {"name": path.name, "path": str(path.resolve()), "sha256": recipes.sha256(path)}


def _existing_recipe(out: Path, kind: str) -> dict | None:
    try:
        if kind == "mp4":
            return io.read_recipe(out) if out.is_file() else None
        first = out / "frame_000001.png"
        return recipes.read_recipe(first) if first.is_file() else None
    except (OSError, ValueError):  # unreadable: treated as not ours
        return None


def _check_output(out: Path, kind: str, input_path: Path, styles: Sequence[str], key: str,
                  overwrite: bool) -> None:
    resolved = out.resolve()
    for source in [input_path, *map(Path, styles)]:
        if source.exists() and source.resolve() == resolved:
            raise InputError(f"output {out} is one of the inputs: choose another name")
    if kind == "mp4" and out.is_dir():
        raise InputError(f"output {out} is a directory")
    exists = out.is_file() if kind == "mp4" else any(out.glob("frame_*.png")) if out.is_dir() else False
    # Only an interrupted run of this same recipe may be replaced without asking: resuming finishes it.
    previous = _existing_recipe(out, kind) or {} if exists else {}
    resumable = previous.get("work") == key and previous.get("stopped") is not None
    if exists and not overwrite and not resumable:
        raise InputError(f"output {out} exists: pass --overwrite to replace it")
    folder = out.parent if kind == "mp4" else out
    while not folder.exists() and kind == "frames":
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"output folder {folder} is not writable")


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    still = {f.name for f in fields(StyleConfig)}
    video = {f.name for f in fields(VideoConfig)}
    unknown = sorted(set(options) - still - video)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}")
    return ({k: v for k, v in options.items() if k in still}, {k: v for k, v in options.items() if k in video})


def even_fit(long_side: int) -> Callable[[int, int], tuple[int, int]]:
    """(h, w) for the painting: the still pipeline's size, rounded down to even sides (H.264's 4:2:0)."""
    def fit(w: int, h: int) -> tuple[int, int]:
        fh, fw = pipeline.fit_for_network(w, h, long_side)
        return max(16, fh - fh % 2), max(16, fw - fw % 2)
    return fit


def stylize_video(
    input: str | os.PathLike[str],
    style: Source | Sequence[Source],
    output: str | os.PathLike[str],
    *,
    config: StyleConfig | None = None,
    video: VideoConfig | None = None,
    callback: Callable[[FrameProgress | Notice], None] | None = None,
    cancel: Cancel | None = None,
    masks: Sequence[Source] | None = None,
    max_pixels: int = 0,
    overwrite: bool = True,
    keep_work: bool = False,
    engine: chunks.Engine | None = None,
    **options: Any,
) -> VideoResult:
    """Paint the clip ``input`` in the style of ``style`` and write ``output``.

    ``input``: a video file PyAV decodes (mp4, mov, mkv, webm, gif...) or a
    folder of numbered images. ``output``: an .mp4 (H.264, the input's frame
    timing and audio kept, the recipe in its metadata) or a folder ending in /
    for numbered PNGs. ``options`` are :class:`StyleConfig` or
    :class:`VideoConfig` fields. Finished frames are kept in a work folder
    beside the output, so calling again with the same arguments continues where
    a cancelled run stopped; it is removed when the clip is done (unless
    ``keep_work``). ``callback`` gets a :class:`FrameProgress` per frame (and
    :class:`Notice` events); setting ``cancel`` stops after the current frame's
    step and writes the frames finished so far. With ``overwrite=False`` an
    existing output is refused unless an interrupted run of the same recipe
    wrote it.

    ``engine`` (e.g. :class:`impasto.ray_video.RayVideoEngine`) paints the clip
    in chunks of ``chunk_frames`` (default 12) on its workers, anchored to
    keyframes so that no seam shows (:mod:`impasto.video.chunks`);
    ``chunk_frames`` without an engine paints the same chunks in this process.
    """
    still, vid = _split(options)
    config = (config or StyleConfig()).with_options(**still)
    video = (video or VideoConfig()).with_options(**vid)
    if engine is not None and not video.chunk_frames:
        if video.passes > 1:
            raise InputError("a clip painted by workers is painted in one pass: drop --passes")
        video = video.with_options(chunk_frames=chunks.DEFAULT_CHUNK_FRAMES)
    out = Path(output)
    kind = output_kind(output)
    source = Path(input)
    style_list = _as_list(style)
    if not style_list:
        raise ValueError("at least one style image is needed")
    max_pixels = max_pixels or im.DEFAULT_MAX_PIXELS
    paintings = [im.to_tensor(im.load(s, max_pixels=max_pixels, label="style").rgb) for s in style_list]
    mask_tensors = None
    config.check_counts(len(style_list), len(masks or []))
    if masks:
        mask_tensors = [im.to_tensor(im.load(m, max_pixels=max_pixels, label="mask").rgb).mean(1, keepdim=True)
                        for m in masks]
    clip = io.read(source, even_fit(config.size), start=video.start, end=video.end,
                   max_frames=video.max_frames, max_pixels=max_pixels, fps=video.fps)
    n = len(clip.frames)
    named = [s for s in [*style_list, *(masks or [])] if isinstance(s, (str, os.PathLike))]
    base = {**recipes.base(config), "kind": "video", "video": video.to_dict(),
            "inputs": {"content": _describe(source), "styles": [_describe(Path(s)) for s in style_list
                                                                 if isinstance(s, (str, os.PathLike))],
                       "masks": [_describe(Path(m)) for m in (masks or []) if isinstance(m, (str, os.PathLike))]},
            "weights": config.weights, "seed": config.seed, "frames": [clip.start, clip.start + n]}
    if len(named) != len(style_list) + len(masks or []):  # PIL images: digest their pixels instead
        base["inputs"]["pixels"] = hashlib.sha256(b"".join(p.numpy().tobytes() for p in paintings)).hexdigest()
    key = key_of(base)
    _check_output(out, kind, source, [str(s) for s in style_list if isinstance(s, (str, os.PathLike))], key,
                  overwrite)
    work = WorkFolder(out, key)
    if callback is not None and clip.source_size[0] * clip.source_size[1] > 0:
        h, w = clip.frames[0].shape[:2]
        callback(Notice(f"{n} frames at {w}x{h} px"))
    warning = devices.bf16_warning(config.precision, devices.pick(config.device))
    if callback is not None and warning:
        callback(Notice(warning))
    if video.chunk_frames:
        result = chunks.paint(clip.frames, paintings, config, video, work, engine or chunks.LocalEngine(),
                              masks=mask_tensors, callback=callback, cancel=cancel)
    else:
        result = Painter(clip.frames, paintings, config, video, work, masks=mask_tensors,
                         callback=callback, cancel=cancel).run()
    finished = []
    for i in range(n):
        frame = work.latest(i, chunks.SEAM_PASS if video.chunk_frames else video.passes)
        if frame is None:
            break
        finished.append(frame)
    recipe = {**base, "work": key, "device": result.device, "bf16": result.bf16,
              "frames_done": len(finished), "stopped": result.stopped}
    audio = False
    if finished:
        if kind == "mp4":
            audio = io.write_mp4(out, (io.as_array(f) for f in finished), clip, recipe)
        else:
            io.write_pngs(out, finished, recipe)
    if result.stopped is None and not keep_work:
        work.remove()
    return VideoResult(out, n, len(finished), result.painted, result.stopped, result.seconds_per_frame,
                       audio, recipe)
