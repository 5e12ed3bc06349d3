"""The ``impasto`` command: ``impasto PHOTO PAINTING...`` paints; ``video`` paints a clip
(:mod:`.video`), ``batch`` many pictures (:mod:`.batch`); ``info``, ``redo`` and ``serve``
are the other commands (:mod:`.tools`). Everything shared lives in :mod:`.common`; nothing
here is imported by the rest of the package.
"""

from __future__ import annotations

import os
import sys

from ..errors import ImpastoError, is_out_of_memory
from .common import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_USAGE, OUT_OF_MEMORY, error, unexpected

TOOLS = ("info", "redo", "serve")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "batch":
            from . import batch

            return batch.main(argv[1:])
        if argv and argv[0] == "video":
            from . import video

            return video.main(argv[1:])
        if argv and argv[0] in TOOLS:
            from . import tools

            return tools.main(argv)
        from . import paint

        return paint.paint_command(paint.build_parser().parse_args(argv))
    except ImpastoError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `impasto info X | head`): not an error. Point stdout
        # at /dev/null so Python's flush at exit does not complain a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if is_out_of_memory(exc):
            error(OUT_OF_MEMORY)
            return EXIT_FAIL
        return unexpected(exc)
