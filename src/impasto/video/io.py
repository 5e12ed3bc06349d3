"""Clips in and out: decode with PyAV (any container, or a folder of numbered
images), encode H.264 MP4 with the input's timestamps and audio, or numbered PNGs.

Frames inside the video package are HxWx3 uint8 arrays at the painting size
until they become tensors in paint.py (through :func:`impasto.image.to_tensor`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .. import image as im, output
from ..errors import InputError
from ._deps import need

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}
#: Demuxers that read one still picture: a photo is not a clip.
_STILL_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "tiff_pipe", "bmp_pipe"}
RECIPE_TAG = "comment"  # an MP4 tag FFmpeg's muxer keeps (as ©cmt)


#: (width, height) -> (height, width) of the painted frame.
Fit = Callable[[int, int], tuple[int, int]]


@dataclass
class Clip:
    """Decoded frames at the painting size, with what is needed to write them back."""

    source: Path
    frames: list[np.ndarray]  # HxWx3 uint8
    pts: list[int]  # presentation times in ``time_base`` units, one per frame
    time_base: Fraction
    rate: Fraction  # average frame rate (for the encoder's nominal rate)
    source_size: tuple[int, int]  # (w, h) as decoded
    has_audio: bool = False
    start: int = 0  # index in the source of frames[0]
    notices: list[str] = field(default_factory=list)


def _numbered(folder: Path) -> list[Path]:
    def number(p: Path) -> int:
        digits = re.findall(r"\d+", p.stem)
        return int(digits[-1]) if digits else -1

    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: (number(p), p.name))


def _check_count(count: int, start: int, end: int, max_frames: int, name: str) -> tuple[int, int]:
    if count == 0:
        raise InputError(f"input {name}: no frames in it")
    stop = min(end, count) if end else count
    if start >= stop:
        raise InputError(f"input {name}: has {count} frames, none in the range {start}:{end or ''}")
    if stop - start > max_frames:
        raise InputError(f"input {name}: {stop - start} frames is over the limit of {max_frames} "
                         "(raise it with --max-frames, or choose a part with --frames START:END)")
    return start, stop


def read(source: str | Path, fit: Callable[[int, int], tuple[int, int]], *, start: int = 0, end: int = 0,
         max_frames: int = 1000, max_pixels: int = im.DEFAULT_MAX_PIXELS, fps: float = 25.0) -> Clip:
    """Frames ``start`` to ``end`` (0: the last) of a clip, resized to ``fit(w, h) -> (h, w)``."""
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise InputError(f"input {name}: file not found")
    if path.is_dir():
        return _read_folder(path, fit, start, end, max_frames, max_pixels, fps)
    if path.stat().st_size == 0:
        raise InputError(f"input {name}: file is empty")
    return _read_container(path, fit, start, end, max_frames, max_pixels)


def _to_size(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if rgb.shape[:2] == size:
        return np.ascontiguousarray(rgb)
    # Frames handed over by Ray are read-only views; torch wants a writable array (copied only then).
    t = im.resize(torch.from_numpy(np.require(rgb, requirements=("C", "W"))).permute(2, 0, 1)[None].float() / 255,
                  size)
    return t[0].permute(1, 2, 0).mul(255).round().clamp(0, 255).byte().numpy()


def _read_folder(folder: Path, fit: Fit, start: int, end: int, max_frames: int, max_pixels: int,
                 fps: float) -> Clip:
    files = _numbered(folder)
    if not files:
        raise InputError(f"input {folder}: a folder with no numbered images in it")
    start, stop = _check_count(len(files), start, end, max_frames, str(folder))
    frames: list[np.ndarray] = []
    size = None
    for f in files[start:stop]:
        loaded = im.load(f, max_pixels=max_pixels, label="frame")
        if size is None:
            w, h = loaded.rgb.size
            size = fit(w, h)
            source_size = (w, h)
        frames.append(_to_size(np.asarray(loaded.rgb), size))
    rate = Fraction(fps).limit_denominator(1001)
    tb = 1 / rate
    return Clip(folder, frames, list(range(len(frames))), tb, rate, source_size, start=start)


def _open(path: Path) -> Any:
    av = need("av")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise InputError(f"input {path}: not a video file PyAV/FFmpeg can read") from None


def _read_container(path: Path, fit: Fit, start: int, end: int, max_frames: int, max_pixels: int) -> Clip:
    av = need("av")
    with _open(path) as box:
        if box.format.name in _STILL_FORMATS:
            raise InputError(f"input {path}: a still picture, not a clip (paint it with 'impasto INPUT PAINTING')")
        if not box.streams.video:
            raise InputError(f"input {path}: has no video stream")
        stream = box.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        if w * h > max_pixels:
            raise InputError(f"input {path}: {w}x{h} px frames are over the limit of {max_pixels:,} pixels "
                             "(raise it with --max-pixels if the file is trusted)")
        has_audio = bool(box.streams.audio)
        try:  # count frames from the packets alone (no decoding) to refuse long clips early
            count = sum(1 for p in box.demux(stream) if p.size)
        except av.error.FFmpegError:
            raise InputError(f"input {path}: damaged video stream") from None
        start, stop = _check_count(count, start, end, max_frames, str(path))
        box.seek(0)
        frames: list[np.ndarray] = []
        pts: list[int] = []
        size = None
        try:
            for i, frame in enumerate(box.decode(stream)):
                if i >= stop:
                    break
                if frame.width * frame.height > max_pixels:
                    raise InputError(f"input {path}: a {frame.width}x{frame.height} px frame is over "
                                     f"the limit of {max_pixels:,} pixels")
                if i < start:
                    continue
                if size is None:
                    size = fit(frame.width, frame.height)
                    w, h = frame.width, frame.height
                frames.append(_to_size(frame.to_ndarray(format="rgb24"), size))
                pts.append(frame.pts if frame.pts is not None else (pts[-1] + 1 if pts else 0))
        except av.error.FFmpegError as exc:
            raise InputError(f"input {path}: the video stream cannot be decoded ({exc.__class__.__name__})") from None
        if not frames:
            raise InputError(f"input {path}: the video stream cannot be decoded (no frames came out)")
        tb = stream.time_base or Fraction(1, 25)
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    if len(set(pts)) != len(pts) or pts != sorted(pts):  # broken timestamps: evenly spaced instead
        step = max(1, round(1 / (rate * tb)))
        pts = [pts[0] + i * step for i in range(len(frames))]
    return Clip(path, frames, pts, Fraction(tb), Fraction(rate), (w, h), has_audio, start)


def write_mp4(path: Path, frames: Iterable[np.ndarray], clip: Clip, recipe: dict[str, Any] | None,
              *, crf: int = 18) -> bool:
    """Encode ``frames`` as H.264 with ``clip``'s timestamps, copying its audio; atomically.

    Returns whether audio was copied (a codec MP4 cannot hold is left out).
    """
    result = {"audio": False}
    output.atomic_write(Path(path), lambda tmp: result.update(audio=_encode(tmp, frames, clip, recipe, crf)))
    return result["audio"]


def _encode(tmp: Path, frames: Iterable[np.ndarray], clip: Clip, recipe: dict[str, Any] | None, crf: int) -> bool:
    av = need("av")
    first = clip.pts[0]
    with av.open(str(tmp), "w", format="mp4") as box:
        if recipe is not None:  # before the header is written, or the muxer ignores it
            box.metadata[RECIPE_TAG] = json.dumps(recipe, sort_keys=True)
        v = box.add_stream("libx264", rate=clip.rate)
        v.time_base = clip.time_base
        v.codec_context.time_base = clip.time_base  # else the encoder re-times frames to 1/rate
        v.pix_fmt = "yuv420p"
        v.options = {"crf": str(crf)}
        audio = _audio_streams(box, clip)
        for i, arr in enumerate(frames):
            if i == 0:
                v.height, v.width = arr.shape[:2]
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts = clip.pts[i] - first
            frame.time_base = clip.time_base
            for packet in v.encode(frame):
                box.mux(packet)
            last = i
        for packet in v.encode():
            box.mux(packet)
        if audio is not None:
            src, src_stream, out_stream = audio
            t0 = float(first * clip.time_base)
            t1 = float((clip.pts[last] - first) * clip.time_base) + t0 + float(1 / clip.rate)
            _copy_audio(src, src_stream, out_stream, box, t0, t1)
            src.close()
    return audio is not None


def _audio_streams(box: Any, clip: Clip) -> tuple[Any, Any, Any] | None:
    if not clip.has_audio or clip.source.is_dir():
        return None
    av = need("av")
    src = av.open(str(clip.source))
    stream = src.streams.audio[0]
    try:
        out = box.add_stream_from_template(stream)
    except (av.error.FFmpegError, ValueError):
        src.close()
        return None
    return src, stream, out


def _copy_audio(src: Any, stream: Any, out: Any, box: Any, t0: float, t1: float) -> None:
    """Remux the audio packets of [t0, t1) without re-encoding, shifted to start at 0."""
    tb = stream.time_base
    shift = round(t0 / tb)
    for packet in src.demux(stream):
        if packet.dts is None or packet.pts is None:  # the demuxer's flush packet
            continue
        t = float(packet.pts * tb)
        if t < t0 or t >= t1:
            continue
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = out
        box.mux(packet)


def write_pngs(folder: Path, frames: Iterable[torch.Tensor], recipe: dict[str, Any] | None,
               start: int = 0) -> list[Path]:
    """Numbered PNG frames (frame_000001.png...), each written atomically with the recipe."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"frame_{start + i + 1:06d}.png"
        output.save(frame, path, recipe=recipe)
        paths.append(path)
    return paths


def read_recipe(path: Path) -> dict[str, Any] | None:
    """The recipe stored in an MP4 written by :func:`write_mp4`, or None."""
    av = need("av")
    try:
        with av.open(str(path)) as box:
            text = box.metadata.get(RECIPE_TAG)
    except av.error.FFmpegError:
        return None
    try:
        recipe = json.loads(text) if text else None
    except ValueError:
        return None
    return recipe if isinstance(recipe, dict) and "impasto" in recipe else None


def as_array(image: torch.Tensor) -> np.ndarray:
    """A painted 1x3xHxW tensor as the encoder's HxWx3 uint8 (through PIL's rounding, as PNGs)."""
    return np.asarray(im.to_pil(image))


def pil(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr, "RGB")
