"""The recipe stored in every output: enough to explain and re-run a picture."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import StyleConfig
from .output import sha256


def _describe(path: str | os.PathLike[str], digests: Mapping[str, str]) -> dict[str, str]:
    p = Path(path)
    digest = digests.get(str(path))
    return {"name": p.name, "path": str(p.resolve()), "sha256": digest or sha256(p)}


def build(config: StyleConfig, content: str, styles: Sequence[str], *,
          masks: Sequence[str] = (), device: str, bf16: bool, steps: int,
          stopped: str | None, digests: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``digests`` (path as given -> SHA-256) spares re-reading inputs whose bytes the
    caller already hashed: a batch hashes the very bytes its workers painted."""
    d = digests or {}
    inputs: dict[str, Any] = {"content": _describe(content, d), "styles": [_describe(s, d) for s in styles]}
    if masks:
        inputs["masks"] = [_describe(m, d) for m in masks]
    if config.init not in ("content", "noise"):
        inputs["init"] = _describe(config.init, d)
    return {"impasto": __version__, "options": config.to_dict(), "inputs": inputs,
            "weights": config.weights, "seed": config.seed, "device": device,
            "bf16": bf16, "steps_run": steps, "stopped": stopped}


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
