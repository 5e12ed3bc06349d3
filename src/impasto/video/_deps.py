"""The video extra's libraries, imported only when a clip is painted."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import InputError

_HINT = "video needs the video extra: pip install 'impasto[video]'"


def need(name: str) -> ModuleType:
    """``av`` or ``cv2``, or one line naming the extra to install."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise InputError(f"{_HINT} ({name} is missing)") from None
