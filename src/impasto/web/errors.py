"""The studio's one request error: a status and a one-line message, no web framework needed."""


class BadRequest(Exception):
    """A problem with the request, told to the user as ``{"detail": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 300 characters), or its class name."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else exc.__class__.__name__


def user_names(text: str, inputs: list[dict[str, str]]) -> str:
    """Messages from the core name files by path: show the user's names, never the server's paths."""
    for item in inputs:
        text = text.replace(item["path"], item["label"])
    return text
