"""The studio's defaults and limits: plain constants, no web framework.

Here so that ``impasto serve --help`` and the server share one number for
each (the CLI may import this module without the ``web`` extra installed).
"""

DEFAULT_HOST = "127.0.0.1"  # loopback only: the studio has no password
DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = "impasto-studio"
DEFAULT_MAX_UPLOAD_MB = 25
DEFAULT_MAX_PIXELS = 50_000_000  # a 50 MP photo; far below what would exhaust memory while decoding
DEFAULT_MAX_SIZE = 2048
DEFAULT_MAX_WAITING = 100
MAX_STYLES = 5
MAX_STEPS = 5000
DEFAULT_MAX_VIDEO_MB = 200  # a clip upload: a minute of 1080p H.264 at a phone's bit rate
DEFAULT_MAX_FRAMES = 300  # frames of a clip the studio paints (about 12 s at 25 fps)
#: Uploads decoded at once in request threads (each may hold a 50 MP picture or a clip's
#: frames in memory); a request waits this long for a turn, then gets 503.
DEFAULT_MAX_DECODING = 2
DECODE_WAIT_S = 10.0
