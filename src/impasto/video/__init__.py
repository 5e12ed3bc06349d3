"""Painting clips: temporally consistent style transfer (Ruder, Dosovitskiy & Brox 2016).

A room beside the still pipeline that reuses it. PyAV and OpenCV (the
``impasto[video]`` extra) are imported only when a clip is read or painted.
"""

from .api import VideoResult, stylize_video
from .config import VideoConfig
from .paint import FrameProgress

__all__ = ["FrameProgress", "VideoConfig", "VideoResult", "stylize_video"]
