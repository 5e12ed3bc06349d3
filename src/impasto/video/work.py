"""The work folder: finished frames kept beside the output so a run can resume.

Its name carries a digest of the recipe (options, inputs' SHA-256, frame
range, version), so rerunning the same command finds its frames, and a changed
command starts a folder of its own instead of reusing stale ones. Each frame
is written atomically (temporary file, then rename): a frame on disk is whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch


def key_of(recipe: dict[str, Any]) -> str:
    text = json.dumps(recipe, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def folder_for(output: Path, key: str) -> Path:
    output = Path(output)
    return output.parent / f".{output.name.rstrip('/') or 'frames'}.impasto-{key}"


class WorkFolder:
    """Painted frames by (pass, frame index): the network-space picture and the finished one."""

    def __init__(self, output: Path, key: str) -> None:
        self.path = folder_for(output, key)
        self.key = key
        self._cache: dict[tuple[int, int], dict[str, torch.Tensor]] = {}

    def _file(self, pass_: int, index: int) -> Path:
        return self.path / f"p{pass_}-{index:06d}.pt"

    def has(self, pass_: int, index: int) -> bool:
        return (pass_, index) in self._cache or self._file(pass_, index).is_file()

    def load(self, pass_: int, index: int) -> dict[str, torch.Tensor]:
        if (pass_, index) not in self._cache:
            self._cache[(pass_, index)] = torch.load(self._file(pass_, index), weights_only=True)
        return self._cache[(pass_, index)]

    def save(self, pass_: int, index: int, x: torch.Tensor, out: torch.Tensor) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        item = {"x": x.detach().float().cpu().contiguous(), "out": out.detach().float().cpu().contiguous()}
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=self.path)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(item, fh)
            os.replace(tmp, self._file(pass_, index))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._cache[(pass_, index)] = item

    def forget(self, keep: set[tuple[int, int]]) -> None:
        """Drop cached frames not in ``keep`` (they stay on disk)."""
        for k in list(self._cache):
            if k not in keep:
                del self._cache[k]

    def latest(self, index: int, passes: int) -> torch.Tensor | None:
        """The finished picture of a frame from the last pass that reached it, or None."""
        for p in range(passes, 0, -1):
            if self.has(p, index):
                return self.load(p, index)["out"]
        return None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
