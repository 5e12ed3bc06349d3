"""Image I/O: the one place where files and PIL images meet tensors.

Inside the package an image is a float32 NCHW tensor, RGB, values in
[0, 1]. :func:`to_tensor` and :func:`to_pil` are the only conversions.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import InputError

#: Largest accepted input, in pixels (Pillow's own bomb check is only a warning below 2x this).
DEFAULT_MAX_PIXELS = 100_000_000
MIN_SIDE = 8
MAX_ASPECT = 16.0

ImageLike = "str | os.PathLike[str] | Image.Image"


@dataclass(frozen=True)
class Loaded:
    """A decoded input: RGB image, its alpha if it had one, and what was noticed."""

    rgb: Image.Image
    alpha: Image.Image | None
    notices: tuple[str, ...] = ()


def load(source: str | os.PathLike[str] | Image.Image | bytes | bytearray | memoryview,
         max_pixels: int = DEFAULT_MAX_PIXELS, label: str = "image", name: str | None = None) -> Loaded:
    """Open a path, PIL image or a file's bytes and normalise it to 8-bit sRGB RGB.

    EXIF orientation is applied, ICC profiles are converted to sRGB, any mode
    (greyscale, palette, CMYK, 16-bit, with alpha) becomes RGB. Alpha is
    composited on white and also returned so a caller can re-apply it.
    Problems raise :class:`InputError` with one line naming the file (``name``
    names bytes: a batch worker gets a file's bytes, not its path).
    """
    if isinstance(source, Image.Image):
        return _normalise(source, label, ())
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "(bytes)"
        if len(source) == 0:
            raise InputError(f"{label} {name}: file is empty")
        return _decode(io.BytesIO(source), name, label, max_pixels)
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise InputError(f"{label} {name}: file not found")
    if path.is_dir():
        raise InputError(f"{label} {name}: is a directory, not an image")
    if path.stat().st_size == 0:
        raise InputError(f"{label} {name}: file is empty")
    return _decode(path, name, label, max_pixels)


def _decode(source: Path | io.BytesIO, name: str, label: str, max_pixels: int) -> Loaded:
    notices: list[str] = []
    try:
        img = _open_header(source)
        w, h = img.size
        if w * h > max_pixels:
            raise InputError(
                f"{label} {name}: {w}x{h} px is over the limit of {max_pixels:,} pixels "
                "(raise it with --max-pixels if the file is trusted)"
            )
        if getattr(img, "n_frames", 1) > 1:
            notices.append(f"{label} {name} is animated: using its first frame")
            img.seek(0)
        img.load()
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{label} {name}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as exc:  # a plugin's own check (e.g. a GIF frame)
        raise InputError(f"{label} {name}: {_short(exc)}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{label} {name}: damaged or truncated image ({_short(exc)})") from None
    return _normalise(img, f"{label} {name}", tuple(notices))


def _open_header(source: Path | io.BytesIO) -> Image.Image:
    """Open a file or bytes lazily (header only), without Pillow's global pixel limit.

    ``Image.open`` checks the declared size against the process-wide
    ``Image.MAX_IMAGE_PIXELS``; our limit is per call (``max_pixels``, set by
    the user), and changing that global around each call is not thread-safe
    (the studio decodes in several threads). So the format is identified the
    way ``Image.open`` does it, through Pillow's plugin registry, and the
    caller checks the size before decoding anything.
    """
    Image.init()
    if isinstance(source, io.BytesIO):
        prefix = source.getvalue()[:16]
    else:
        with open(source, "rb") as fh:
            prefix = fh.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        verdict = accept(prefix) if accept is not None else True
        if isinstance(verdict, str) or not verdict:  # a string says why it is not this format
            continue
        try:
            if isinstance(source, io.BytesIO):
                source.seek(0)
                return factory(source, "")
            return factory(str(source))  # type: ignore[call-arg, arg-type]  # given a path, the image owns (and closes) its file
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # not this format after all
    raise UnidentifiedImageError("cannot identify image file")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:120]


def _normalise(img: Image.Image, label: str, notices: tuple[str, ...]) -> Loaded:
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block should not stop the picture
        pass
    img = _to_srgb(img)
    alpha = None
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema() == (255, 255):
            alpha = None
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba).convert("RGB")
    elif img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping at 255.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise InputError(f"{label}: {w}x{h} px is too small (each side needs at least {MIN_SIDE} px)")
    if max(w, h) / min(w, h) > MAX_ASPECT:
        raise InputError(f"{label}: aspect ratio {w}x{h} is more extreme than {MAX_ASPECT:g}:1")
    return Loaded(img, alpha, notices)


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        mode = img.mode
        if mode not in ("RGB", "RGBA", "CMYK", "L"):
            img = img.convert("RGBA" if "A" in mode else "RGB")
            mode = img.mode
        out_mode = "RGBA" if mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(img, src, dst, outputMode=out_mode)
        return converted if converted is not None else img
    except Exception:  # unreadable or mismatched profile: keep the pixels as they are
        return img


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> float32 1x3xHxW in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: torch.Tensor) -> Image.Image:
    """float 1x3xHxW (any device, any float dtype) -> 8-bit PIL RGB, clamped to [0, 1]."""
    arr = image.detach()[0].float().clamp(0, 1).mul(255).round().byte()
    return Image.fromarray(arr.permute(1, 2, 0).cpu().numpy(), "RGB")


def to_uint16(image: torch.Tensor) -> np.ndarray:
    """float 1x3xHxW -> HxWx3 uint16 array, for 16-bit output."""
    arr = image.detach()[0].float().clamp(0, 1).mul(65535).round()
    return arr.permute(1, 2, 0).cpu().numpy().astype(np.uint16)


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the long side ``long_side`` and the aspect ratio kept."""
    scale = long_side / max(width, height)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(image: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """Resize NCHW to (h, w): antialiased bicubic when shrinking, bicubic when enlarging."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    out = F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=shrinking)
    return out.clamp(0, 1)


def thumbnail_jpeg(path: str | os.PathLike[str], side: int = 320, quality: int = 85) -> bytes:
    """A small JPEG (long side at most ``side`` px) of the picture at ``path``, for lists and pickers."""
    with Image.open(path) as img:
        small = img.convert("RGB")
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
