"""Domain errors. They carry meaning (a stable code, a sentence, details), never HTTP status codes;
api/errors.py holds the one table that maps each class to a status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    code = "error"
    message = "The request could not be completed."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: Any = None
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.details = details
        super().__init__(self.message)


class InvalidInput(DomainError):
    """The input is malformed: wrong type, unknown field, unreadable bytes."""

    code = "invalid_input"
    message = "The request is not valid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Any = None,
    ) -> None:
        if field is not None and details is None:
            details = [{"field": field, "message": message or type(self).message}]
        super().__init__(message, code=code, details=details)


class Unprocessable(InvalidInput):
    """The input parses but makes no sense (a crop outside the image, an output too large)."""

    code = "unprocessable"
    message = "The request parses but cannot be carried out."


class Unauthenticated(DomainError):
    code = "not_authenticated"
    message = "Authentication is required."


class Forbidden(DomainError):
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(DomainError):
    code = "not_found"
    message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    message = "This conflicts with an existing resource."


class UnsupportedMedia(DomainError):
    code = "unsupported_media_type"
    message = "This file type is not accepted."


class TooLarge(DomainError):
    code = "too_large"
    message = "The input is over a limit."


class RateLimited(DomainError):
    code = "rate_limited"
    message = "Rate limit exceeded. Please try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    code = "service_unavailable"
    message = "A dependency is unavailable. Please try again shortly."

    def __init__(
        self, message: str | None = None, *, dependency: str | None = None, retry_after: int = 5
    ) -> None:
        super().__init__(message, details={"dependency": dependency} if dependency else None)
        self.retry_after = retry_after
