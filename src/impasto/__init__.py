"""impasto: paint a photo in the style of a painting (Gatys, Ecker & Bethge)."""

# First, before anything imports torch: heap.py tunes the C heap for large tensors at import.
from . import heap  # noqa: F401
from ._version import __version__
from .api import run, stylize
from .config import StyleConfig
from .errors import ImpastoError, InputError
from .events import Cancel, Notice, Progress
from .video import FrameProgress, VideoConfig, VideoResult, stylize_video
from .weights import Weights

__all__ = ["Cancel", "FrameProgress", "ImpastoError", "InputError", "Notice", "Progress", "StyleConfig",
           "VideoConfig", "VideoResult", "Weights", "run", "stylize", "stylize_video", "__version__"]
