"""The ports of the work done beside storage: images processed, notifications sent, passwords
hashed, tokens issued, time told and metrics kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pixelpress.domain.models import Ingested, JobStatus, Placeholder, Rendered

if TYPE_CHECKING:
    from pixelpress.domain.faces import Faces, Focus
    from pixelpress.domain.spec import TransformSpec


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


# --- CPU work ------------------------------------------------------------------------------------


class ImageProcessor(Protocol):
    """pyvips behind a bounded thread pool; every method is safe to await on the event loop."""

    async def ingest(self, path: Path) -> Ingested:
        """Validates an uploaded file from its bytes and readies it for storage.

        Raises InvalidInput (code `invalid_image`) for empty, corrupt or truncated files,
        UnsupportedMedia for anything but JPEG, PNG, WebP, GIF, AVIF, TIFF, and TooLarge when
        the declared dimensions or frame count pass the limits (checked before any decode)."""
        ...

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        """A BlurHash and the dominant colour, from a tiny thumbnail of the image."""
        ...

    async def render(
        self,
        source: bytes | Path,
        spec: TransformSpec,
        *,
        watermark: bytes | None = None,
        focus: Focus | None = None,
        master: bool = False,
    ) -> Rendered:
        """Applies `spec` in the documented order; output is upright, sRGB, metadata stripped.
        Raises Unprocessable when the final output passes the limits. `focus`: the faces a
        cover crop with face gravity centres on (fractions of the upright source); without it
        such a crop is cut as gravity `auto`. `master`: a rendition, Pixelpress's own source
        for later renders (never served): written for a small memory peak over a few bytes."""
        ...


class FaceDetector(Protocol):
    """Finds faces, on a small copy of the picture, off the event loop."""

    async def detect(self, source: bytes | Path) -> Faces:
        """The faces in `source` (an accepted image), in pixels of the upright source, with
        its upright size; largest first. Raises InvalidInput (`invalid_image`) when it cannot
        be read."""
        ...


# --- notifications ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    message_id: str


class EmailSender(Protocol):
    async def send(self, email: Email) -> None:
        """Raises Unavailable when the mail server cannot be reached (worth retrying)."""
        ...


@dataclass(frozen=True)
class WebhookResult:
    status: int | None
    """The HTTP status, or None when nothing came back (refused, timed out)."""
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500 or self.status in (408, 429)


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookResult:
        """POSTs once, without following redirects. Raises Forbidden (code `unsafe_url`),
        sending nothing, when any address the host resolves to is not a public one."""
        ...

    async def check_url(self, url: str) -> None:
        """The same check, without sending: for URLs as they are registered."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one should be upgraded, e.g. bcrypt to argon2)."""
        ...

    async def dummy_verify(self) -> None:
        """Spends the time of one verification, so unknown users cost the same as known ones."""
        ...


class TokenService(Protocol):
    def issue(
        self,
        user_id: str,
        session_id: str,
        *,
        refresh_jti: str,
        refresh_ttl: timedelta | None = None,
    ) -> tuple[str, str, int]:
        """(access token, refresh token, access lifetime in seconds)."""
        ...

    def read_access(self, token: str) -> tuple[str, str]:
        """(user id, session id); raises Unauthenticated for anything but a valid access token."""
        ...

    def read_refresh(self, token: str) -> tuple[str, str, str]:
        """(user id, session id, refresh jti); raises Unauthenticated likewise."""
        ...


# --- observability ------------------------------------------------------------------------------


class Metrics(Protocol):
    """What the service counts and times, said as it happens; and the exposition a scraper reads.
    One per process (each process exposes its own)."""

    def request_served(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """An HTTP answer, by method, route template (never a raw path) and status."""
        ...

    def job_ran(self, outcome: JobStatus, seconds: float) -> None:
        """A job run to its end (load, render, store), by how it ended."""
        ...

    def jobs_counted(self, counts: dict[JobStatus, int]) -> None:
        """The jobs by state, as the database counts them now (those queued are the queue's
        depth)."""
        ...

    def cache_looked_up(self, *, hit: bool) -> None: ...
    def image_rendered(self, seconds: float) -> None:
        """One rendering by the image processor (decode, operations, encode)."""
        ...

    def dependency_checked(self, dependency: str, *, up: bool) -> None:
        """Whether `dependency` (database, storage, queue, cache) answered its last check."""
        ...

    def render(self) -> tuple[bytes, str]:
        """The exposition of everything recorded, and its media type."""
        ...
