"""The recipe stored in every output: enough to explain and re-run a picture.

One room for it: building it, reading it back from a file, hashing the inputs
and comparing them with the files now on disk, and turning its options back
into a :class:`StyleConfig`. :mod:`impasto.output` writes it into the picture.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from ._version import __version__
from .config import StyleConfig

#: Where the recipe lives in a file: this PNG text key, or the EXIF ImageDescription tag.
RECIPE_KEY = "impasto"
EXIF_DESCRIPTION = 0x010E


def sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(path: str | os.PathLike[str], digests: Mapping[str, str]) -> dict[str, str]:
    p = Path(path)
    digest = digests.get(str(path))
    return {"name": p.name, "path": str(p.resolve()), "sha256": digest or sha256(p)}


def base(config: StyleConfig) -> dict[str, Any]:
    """The part known before a run: version and options (e.g. for intermediate pictures)."""
    return {"impasto": __version__, "options": config.to_dict()}


def build(config: StyleConfig, content: str, styles: Sequence[str], *,
          masks: Sequence[str] = (), device: str, bf16: bool, steps: int,
          stopped: str | None, digests: Mapping[str, str] | None = None,
          writing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``digests`` (path as given -> SHA-256) spares re-reading inputs whose bytes the
    caller already hashed: a batch hashes the very bytes its workers painted. ``writing``
    records how the file was written (JPEG quality, 16-bit TIFF, input pixel limit) so
    ``impasto redo`` writes its copy the same way."""
    d = digests or {}
    inputs: dict[str, Any] = {"content": _describe(content, d), "styles": [_describe(s, d) for s in styles]}
    if masks:
        inputs["masks"] = [_describe(m, d) for m in masks]
    if config.init_path is not None:
        inputs["init"] = _describe(config.init_path, d)
    return {**base(config), "inputs": inputs,
            "weights": config.weights, "seed": config.seed, "device": device,
            "bf16": bf16, "steps_run": steps, "stopped": stopped, **({"writing": dict(writing)} if writing else {})}


def read_recipe(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The recipe stored in a picture written by :func:`impasto.output.save`, or None."""
    with Image.open(path) as img:
        text = getattr(img, "text", {}).get(RECIPE_KEY) if img.format == "PNG" else None
        if text is None:
            text = img.getexif().get(EXIF_DESCRIPTION)
    if not text:
        return None
    try:
        recipe = json.loads(text)
    except (TypeError, ValueError):
        return None
    return recipe if isinstance(recipe, dict) and "impasto" in recipe else None


def config_of(recipe: dict[str, Any]) -> StyleConfig:
    """The recipe's options as a StyleConfig; TypeError/ValueError when this version cannot use them."""
    options: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                               for k, v in recipe.get("options", {}).items()}
    return StyleConfig(**options)


def changed_inputs(recipe: dict[str, Any]) -> list[str]:
    """Inputs that are missing or whose SHA-256 differs from the recipe's."""
    inputs = recipe.get("inputs", {})
    entries = [inputs.get("content")] + list(inputs.get("styles", [])) + list(inputs.get("masks", []))
    if "init" in inputs:
        entries.append(inputs["init"])
    problems = []
    for entry in entries:
        if not entry:
            continue
        p = Path(entry["path"])
        if not p.is_file():
            problems.append(f"{entry['path']} is missing")
        elif sha256(p) != entry["sha256"]:
            problems.append(f"{entry['path']} has changed since the picture was made")
    return problems
