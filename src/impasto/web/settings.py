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
