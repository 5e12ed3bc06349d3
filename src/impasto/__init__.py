"""impasto: paint a photo in the style of a painting (Gatys, Ecker & Bethge)."""

from ._version import __version__
from .api import run, stylize
from .config import StyleConfig
from .errors import ImpastoError, InputError
from .events import Cancel, Notice, Progress
from .weights import Weights

__all__ = ["Cancel", "ImpastoError", "InputError", "Notice", "Progress", "StyleConfig", "Weights",
           "run", "stylize", "__version__"]
