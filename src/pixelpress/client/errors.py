"""Exceptions of the client: every refusal of the service is one, carrying its error envelope
(`{"error", "code", "details", "statusCode"}`) as `message`, `code`, `details` and `status`."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class PixelpressError(Exception):
    """The base of every error the client raises. `status` is the HTTP status (0 when no answer
    came), `code` the envelope's stable machine-readable code."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "error",
        details: Any = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details
        self.retry_after = retry_after
        """Seconds the service asked us to wait (429 and 503), when it said."""
        self.request_id = request_id
        """The service's X-Request-ID of the refused request: quote it in a bug report."""

    def __str__(self) -> str:
        return (
            f"{self.message} ({self.code})"
            if self.status == 0
            else (f"{self.status} {self.code}: {self.message}")
        )

    def envelope(self) -> dict[str, Any]:
        """The error as the service wrote it (what `--json` prints)."""
        return {
            "error": self.message,
            "code": self.code,
            "details": self.details,
            "statusCode": self.status,
        }


class TransportError(PixelpressError):
    """No answer: the connection failed or timed out (status 0)."""


class ClientError(PixelpressError):
    """A 4xx: the request was refused; sending it again unchanged will not help."""


class InvalidRequestError(ClientError):
    """400 (malformed) or 422 (parses but makes no sense); `details` names the fields."""


class AuthenticationError(ClientError):
    """401: no valid credentials (and refreshing them did not help)."""


class PermissionDeniedError(ClientError):
    """403: authenticated, but not allowed."""


class NotFoundError(ClientError):
    """404: it does not exist, or it is not yours."""


class ConflictError(ClientError):
    """409: for example a username or an email already taken."""


class TooLargeError(ClientError):
    """413: over a byte, pixel, edge or frame limit; `details` states the limit."""


class UnsupportedMediaError(ClientError):
    """415: not an accepted image type; `details` lists the accepted ones."""


class RateLimitedError(ClientError):
    """429, after the retries the client was allowed (see `retry_after`)."""


class ServerError(PixelpressError):
    """A 5xx. A 500 is a bug of the service: report it with `request_id`."""


class UnavailableError(ServerError):
    """503, after the retries the client was allowed: a dependency of the service is down."""


class JobFailedError(PixelpressError):
    """A job this client waited for ended `failed`; `job` is its last state."""

    def __init__(self, job: Any) -> None:
        super().__init__(
            job.error or "The job failed.", code=getattr(job, "code", None) or "job_failed"
        )
        self.job = job


class WaitTimeoutError(PixelpressError):
    """A job did not finish within the time the caller gave."""


_BY_STATUS: dict[int, type[PixelpressError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
    415: UnsupportedMediaError,
    422: InvalidRequestError,
    429: RateLimitedError,
    503: UnavailableError,
}


def error_class(status: int) -> type[PixelpressError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ClientError


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def from_response(response: httpx.Response) -> PixelpressError:
    """The exception for a refused request: from its envelope, or (an answer from something in
    front of the service, such as a proxy's HTML page) from its status line."""
    status = response.status_code
    message, code, details = response.reason_phrase or f"HTTP {status}", f"http_{status}", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message = body["error"]
        code = str(body.get("code") or code)
        details = body.get("details")
    return error_class(status)(
        message,
        status=status,
        code=code,
        details=details,
        retry_after=retry_after(response),
        request_id=response.headers.get("x-request-id"),
    )
