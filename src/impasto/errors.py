"""Exceptions that carry a message meant for the user.

The CLI prints their text as one line and exits with status 2; anything else
is a bug and exits with status 1.
"""


class ImpastoError(Exception):
    """Base class of every error impasto raises on purpose."""


class InputError(ImpastoError, ValueError):
    """A file, path or value the user gave cannot be used."""


class NonFiniteLoss(ImpastoError, ArithmeticError):
    """The loss became NaN or infinite; the last good picture is kept in ``picture``.

    Raised by :func:`impasto.stylize`, which returns only a picture and so has no other
    way to say the run broke off; :func:`impasto.run` reports it as ``stopped="nonfinite"``.
    """

    def __init__(self, message: str, picture: object = None) -> None:
        super().__init__(message)
        self.picture = picture  # a PIL image: the last picture before the loss broke


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed allocation: Python's MemoryError, or torch's RuntimeError
    (CPU: "can't allocate memory"; CUDA/MPS: "... out of memory", OutOfMemoryError)."""
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text))
