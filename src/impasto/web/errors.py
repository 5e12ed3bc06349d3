"""The studio's one request error: a status and a one-line message, no web framework needed."""


class BadRequest(Exception):
    """A problem with the request, told to the user as ``{"detail": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
