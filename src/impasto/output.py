"""Writing pictures: format by extension, recipe metadata, atomic replace.

The recipe (:mod:`impasto.recipe`) travels inside the file: a PNG text chunk,
or the EXIF ImageDescription tag for JPEG, WebP and TIFF.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, PngImagePlugin

from . import image as im
from .errors import InputError
from .recipe import EXIF_DESCRIPTION, RECIPE_KEY

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
           ".tif": "TIFF", ".tiff": "TIFF"}


def format_for(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(
            f"output {path}: unknown extension; use one of {', '.join(sorted(FORMATS))}"
        )
    return fmt


def save(image: torch.Tensor, path: Path, *, recipe: dict[str, Any] | None = None,
         quality: int = 95, bits16: bool = False, alpha: Image.Image | None = None) -> None:
    """Write ``image`` (1x3xHxW in [0, 1]) to ``path`` atomically, format by extension."""
    path = Path(path)
    fmt = format_for(path)
    text = json.dumps(recipe, sort_keys=True) if recipe is not None else None
    if bits16 and fmt == "TIFF":
        atomic_write(path, lambda tmp: _write_tiff16(im.to_uint16(image), tmp, text))
        return
    pil = im.to_pil(image)
    if alpha is not None:
        pil.putalpha(alpha.resize(pil.size, Image.Resampling.LANCZOS))
        if fmt == "JPEG":
            pil = pil.convert("RGB")  # JPEG has no alpha
    kwargs: dict[str, Any] = {}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if text is not None:
            info.add_itxt(RECIPE_KEY, text)
        kwargs["pnginfo"] = info
    elif text is not None:
        exif = Image.Exif()
        exif[EXIF_DESCRIPTION] = text
        kwargs["exif"] = exif.tobytes()
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
    if fmt == "JPEG":
        kwargs["subsampling"] = 0  # 4:4:4: painted strokes are all fine colour detail
    atomic_write(path, lambda tmp: pil.save(tmp, format=fmt, **kwargs))


def _write_tiff16(arr: np.ndarray, path: Path, description: str | None) -> None:
    """16-bit RGB TIFF (Pillow cannot write 16-bit RGB) through tifffile, the well-kept library
    for exactly this; the recipe goes in the ImageDescription tag, as for 8-bit TIFFs."""
    import tifffile  # only needed here: no import cost for PNG/JPEG runs

    # metadata=None: no tifffile JSON in the description, so the recipe is the only one there.
    tifffile.imwrite(path, arr, photometric="rgb", description=description, metadata=None)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` then rename into place, so a reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes the file private (0600); give it the mode a plain open() would,
        # or keep the mode of the file being replaced.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
