"""impasto: paint a photo in the style of a painting (Gatys, Ecker & Bethge)."""

__version__ = "0.1.0"  # first, so submodules can import it during package start-up

from .api import run, stylize  # noqa: E402
from .config import StyleConfig  # noqa: E402
from .errors import ImpastoError, InputError  # noqa: E402
from .loop import Cancel, Notice, Progress  # noqa: E402
from .video import FrameProgress, VideoConfig, VideoResult, stylize_video  # noqa: E402
from .weights import Weights  # noqa: E402

__all__ = ["Cancel", "FrameProgress", "ImpastoError", "InputError", "Notice", "Progress", "StyleConfig",
           "VideoConfig", "VideoResult", "Weights", "run", "stylize", "stylize_video", "__version__"]
