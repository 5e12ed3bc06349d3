"""What every command shares: exit codes, usage errors, the parser, option flags, interrupts.

Flags for every :class:`StyleConfig` field are generated from
:func:`impasto.options.option_specs`, so help texts and defaults cannot drift
from the API. Exit codes: 0 done, 1 unexpected failure, 2 bad usage or
input, 130 interrupted (best picture so far written).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import fields
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from tqdm import tqdm

from ..config import StyleConfig

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
from ..errors import ImpastoError
from ..options import option_specs

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
C = TypeVar("C", bound="DataclassInstance")

OUT_OF_MEMORY = "out of memory: try a smaller --size, or --tile-size 512 (same picture, less memory)"

# Flags whose spelling differs from the field name, or that take a short form.
_FLAG_NAMES = {"preserve_colors": ["--preserve-colors", "--preserve-colours"]}


class UsageError(ImpastoError):
    """Bad command line: reported in one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as everywhere else
        raise UsageError(message)


def _flag(name: str) -> list[str]:
    return _FLAG_NAMES.get(name, ["--" + name.replace("_", "-")])


def add_config_arguments(parser: argparse.ArgumentParser, cls: type = StyleConfig,
                         skip: Collection[str] = ()) -> None:
    """One flag per field of an options dataclass (:class:`StyleConfig` by default),
    typed and documented from it; ``skip`` names fields a command offers another way."""
    group = parser.add_argument_group(f"{'style' if cls is StyleConfig else 'video'} options "
                                      f"(see impasto.{cls.__name__})")
    for spec in option_specs(cls):
        if spec.name in skip:
            continue
        # argparse fills help texts in with %: an option's own % must be doubled.
        help_text = spec.help.replace("%", "%%")
        if "default:" not in help_text:
            help_text += f" (default: {_show(spec.default)})"
        kwargs: dict[str, Any] = {"dest": spec.name, "default": argparse.SUPPRESS, "help": help_text,
                                  "type": spec.type}
        if spec.many:
            kwargs["nargs"] = "+"
            kwargs["metavar"] = "LAYER" if spec.choices else "X"
        elif spec.choices:
            kwargs["choices"] = spec.choices
        group.add_argument(*_flag(spec.name), **kwargs)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value)) if value else "none"
    return str(value)


def config_from(args: argparse.Namespace) -> StyleConfig:
    """The :class:`StyleConfig` from the parsed flags; bad values are usage errors."""
    return options_from(args, StyleConfig)


def options_from(args: argparse.Namespace, cls: type[C], **extra: Any) -> C:
    """The options dataclass ``cls`` from the parsed flags (plus ``extra``); bad values are usage errors."""
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in vars(args).items() if k in names}, **extra)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class Bar:
    """A tqdm progress bar on stderr with notices written above it; subclasses feed it events.

    No bar with ``quiet``, nor when stderr is not a terminal (``disable=None``: logs and CI,
    where carriage-return updates are noise); notices then go on their own lines.
    """

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None

    def open(self, total: int, unit: str, bar_format: str) -> None:
        if self.bar is None and not self.quiet:
            self.bar = tqdm(total=total, unit=unit, dynamic_ncols=True, file=sys.stderr, disable=None,
                            bar_format=bar_format)

    def say(self, message: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(f"impasto: {message}", file=sys.stderr)  # keeps the bar intact
        else:
            print(f"impasto: {message}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def error(message: str) -> None:
    print(f"impasto: error: {message}", file=sys.stderr)


def unexpected(exc: Exception) -> int:
    """A bug: say so in one line; IMPASTO_DEBUG=1 shows the traceback."""
    if os.environ.get("IMPASTO_DEBUG"):
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    error(f"unexpected error: {exc.__class__.__name__}: {first} (set IMPASTO_DEBUG=1 for details)")
    return EXIT_FAIL


@contextlib.contextmanager
def interrupt_handlers(on_interrupt: Callable[[int], None]) -> Iterator[None]:
    """Inside: the first SIGINT/SIGTERM asks the run to stop and keep its work; a second aborts.

    The handlers that were there before come back on leaving, so a command run in-process
    (tests, a notebook, the studio's process) does not leave Ctrl-C pointing at a finished run.
    """
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if fired:
            raise KeyboardInterrupt
        fired = True
        on_interrupt(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
