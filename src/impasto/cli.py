"""The ``impasto`` command.

Flags for every :class:`StyleConfig` field are generated from the dataclass,
so help texts and defaults cannot drift from the API. Exit codes: 0 done,
1 unexpected failure, 2 bad usage or input, 130 interrupted (best picture
so far written).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from . import __version__
from .config import StyleConfig
from .errors import ImpastoError, is_out_of_memory

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Flags whose spelling differs from the field name, or that take a short form.
_FLAG_NAMES = {"preserve_colors": ["--preserve-colors", "--preserve-colours"]}


class UsageError(ImpastoError):
    """Bad command line: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as everywhere else
        raise UsageError(message)


def _flag(name: str) -> list[str]:
    return _FLAG_NAMES.get(name, ["--" + name.replace("_", "-")])


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`StyleConfig` field, typed and documented from it."""
    group = parser.add_argument_group("style options (see impasto.StyleConfig)")
    for f in fields(StyleConfig):
        default = f.default if f.default is not MISSING else None
        help_text = f.metadata.get("help", "")
        if "default:" not in help_text:
            help_text += f" (default: {_show(default)})"
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        if isinstance(default, tuple):
            kwargs["nargs"] = "+"
            kwargs["type"] = float if f.name.endswith("weights") else str
            kwargs["metavar"] = "X"
        else:
            kwargs["type"] = f.metadata.get("type", type(default))
            if "choices" in f.metadata:
                kwargs["choices"] = f.metadata["choices"]
        if "choices" in f.metadata and "nargs" in kwargs:
            kwargs["metavar"] = "LAYER"
        group.add_argument(*_flag(f.name), **kwargs)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value)) if value else "none"
    return str(value)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="impasto",
        description="Paint a photo in the style of one or more paintings "
        "(Gatys, Ecker & Bethge). Other commands: 'impasto info PICTURE', "
        "'impasto redo PICTURE -o NEW', 'impasto serve', 'impasto video CLIP PAINTING -o OUT.mp4'.",
    )
    parser.add_argument("content", help="the photo")
    parser.add_argument("styles", nargs="+", metavar="style", help="one or more paintings")
    parser.add_argument("-o", "--output", default=None,
                        help="where to write the picture (.png .jpg .webp .tif); default: "
                        "CONTENT-STYLE.png in the current folder, never overwriting")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--mask", action="append", default=None, metavar="MASK",
                        help="greyscale mask: style where white, photo where black; "
                        "give once per style to paint regions in different styles")
    parser.add_argument("--save-every", type=int, default=0, metavar="N",
                        help="also write the picture every N steps (OUTPUT-stepN.png), "
                        "usable later with --init")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="quality of JPEG/WebP output (default: 95)")
    parser.add_argument("--tiff16", action="store_true", help="write TIFF output with 16 bits per channel")
    parser.add_argument("--max-pixels", type=int, default=100_000_000,
                        help="refuse inputs larger than this many pixels, against decompression bombs "
                        "(default: 100000000)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")
    parser.add_argument("--version", action="version", version=f"impasto {__version__}")
    add_config_arguments(parser)
    return parser


def config_from(args: argparse.Namespace) -> StyleConfig:
    names = {f.name for f in fields(StyleConfig)}
    try:
        return StyleConfig(**{k: v for k, v in vars(args).items() if k in names})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("info", "redo", "serve"):
            from . import cli_tools

            return cli_tools.main(argv)
        if argv and argv[0] == "video":
            from . import cli_video

            return cli_video.main(argv[1:])
        from .cli_paint import paint_command

        return paint_command(build_parser().parse_args(argv))
    except ImpastoError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `impasto info X | head`): not an error. Point stdout
        # at /dev/null so Python's flush at exit does not complain a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if is_out_of_memory(exc):
            _error(OUT_OF_MEMORY)
            return EXIT_FAIL
        return _unexpected(exc)


OUT_OF_MEMORY = "out of memory: try a smaller --size, or --tile-size 512 (same picture, less memory)"


def _unexpected(exc: Exception) -> int:
    """A bug: say so in one line; IMPASTO_DEBUG=1 shows the traceback."""
    if os.environ.get("IMPASTO_DEBUG"):
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    _error(f"unexpected error: {exc.__class__.__name__}: {first} (set IMPASTO_DEBUG=1 for details)")
    return EXIT_FAIL


def _error(message: str) -> None:
    print(f"impasto: error: {message}", file=sys.stderr)


def install_interrupt_handlers(on_interrupt) -> None:
    """First SIGINT/SIGTERM asks the run to stop and keep its picture; a second one aborts."""
    def handler(signum, frame):
        if getattr(handler, "fired", False):
            raise KeyboardInterrupt
        handler.fired = True
        on_interrupt(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
