"""Every port of Pixelpress, as a Protocol in domain words. No library type crosses these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from pixelpress.domain.models import (
    AuthSession,
    Claim,
    Image,
    ImageFilter,
    Ingested,
    Job,
    JobStatus,
    LogEntry,
    LogFilter,
    Notification,
    Page,
    PageOf,
    Placeholder,
    Rendered,
    User,
    Variant,
)

if TYPE_CHECKING:
    from pixelpress.domain.spec import TransformSpec


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


# --- persistence -----------------------------------------------------------------------------


# `add` raises Conflict when a unique key (username, email, image+spec) is taken.


class UserRepository(Protocol):
    async def add(self, user: User) -> None: ...
    async def get(self, user_id: str) -> User | None: ...
    async def find_by_login(self, login: str) -> User | None:
        """A user by username or email (case-insensitive)."""
        ...

    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]:
        """(username taken, email taken)."""
        ...

    async def update(self, user: User) -> None: ...
    async def list_page(self, page: Page) -> PageOf[User]:
        """Oldest first."""
        ...

    async def delete(self, user_id: str) -> None:
        """Removes the user with every row of theirs (images, variants, jobs, sessions, logs,
        notifications). Their stored objects are the caller's to delete."""
        ...

    async def count(self) -> int: ...


class SessionRepository(Protocol):
    async def add(self, session: AuthSession) -> None: ...
    async def get(self, session_id: str) -> AuthSession | None: ...
    async def rotate(self, session_id: str, *, expected_jti: str, new_jti: str) -> bool:
        """Atomically move the session's current refresh token from `expected_jti` to `new_jti`.
        False when the current one is not `expected_jti` (a spent token was presented)."""
        ...

    async def revoke(self, session_id: str, at: datetime) -> None: ...
    async def active_user(self, session_id: str, *, now: datetime) -> User | None:
        """The user of a live (not revoked, not expired) session, or None."""
        ...


class ImageRepository(Protocol):
    async def add(self, image: Image) -> None: ...
    async def get(self, image_id: str, *, lock: bool = False) -> Image | None:
        """`lock`: a writing unit of work keeps the image from being deleted or replaced by
        others until it ends."""
        ...

    async def find_by_filename(self, owner_id: str, filename: str) -> Image | None: ...
    async def list_page(
        self, owner_id: str | None, page: Page, where: ImageFilter = ImageFilter()
    ) -> PageOf[Image]:
        """In `where.order` (newest first by default), filtered by filename; `owner_id` None
        lists every user's images."""
        ...

    async def delete(self, image_id: str) -> None:
        """Removes the image row with its variants and jobs."""
        ...

    async def replace(self, image: Image) -> None:
        """Stores the image's new row and removes its variants and jobs (they were of the old
        bytes)."""
        ...

    async def ids_of_owner(self, owner_id: str) -> list[str]: ...
    async def totals(self) -> tuple[int, int]:
        """(number of images, bytes stored for originals and variants)."""
        ...


class VariantRepository(Protocol):
    async def add(self, variant: Variant) -> None: ...
    async def get(self, variant_id: str) -> Variant | None: ...
    async def find(self, image_id: str, spec_hash: str) -> Variant | None: ...
    async def find_many(self, image_id: str, spec_hashes: list[str]) -> dict[str, Variant]:
        """The image's variants of those specs that exist, by spec hash."""
        ...

    async def save(self, variant: Variant) -> None:
        """Adds `variant`, or when the image already has one of that spec, records on it
        this one's outcome (status, dimensions, size, flattened): one statement, no Conflict."""
        ...

    async def list_for_images(self, image_ids: list[str]) -> dict[str, list[Variant]]:
        """Oldest first, for each image id given."""
        ...

    async def update(self, variant: Variant) -> None: ...


class JobRepository(Protocol):
    async def add(self, job: Job) -> None: ...
    async def get(self, job_id: str) -> Job | None: ...
    async def list_for_images(self, image_ids: list[str]) -> dict[str, list[Job]]:
        """Oldest first, for each image id given."""
        ...

    async def claim(
        self, job_id: str, *, now: datetime, lease_until: datetime, max_attempts: int
    ) -> Claim:
        """Atomically takes a job that is queued, or processing under a lease that has ended
        (its worker died): counts the attempt and leases it until `lease_until`. A job whose
        lease ended after its `max_attempts`-th claim is failed instead (code
        `worker_crashed`): it kills whatever runs it. BUSY while another holds a live lease."""
        ...

    async def renew(self, job_id: str, *, attempt: int, lease_until: datetime) -> bool:
        """Extends the lease of the claim numbered `attempt`; False when that claim is over
        (finished, or taken by another worker after the lease ran out)."""
        ...

    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        now: datetime,
        error: str | None = None,
        code: str | None = None,
    ) -> None: ...
    async def requeue(self, job_id: str, error: str) -> None: ...
    async def expire_leases(self, *, started_before: datetime) -> int:
        """Ends the leases of jobs started before `started_before` (an in-process queue's own
        start: whoever held them is gone). Returns how many."""
        ...

    async def count_by_status(self) -> dict[JobStatus, int]: ...
    async def unfinished(self, *, now: datetime) -> list[str]:
        """Ids of jobs queued, or processing under a lease that has ended: work to publish
        again."""
        ...


class LogRepository(Protocol):
    async def add(self, entry: LogEntry) -> None: ...
    async def get(self, log_id: str) -> LogEntry | None: ...
    async def list_page(self, where: LogFilter, page: Page) -> PageOf[LogEntry]:
        """Newest first."""
        ...


class NotificationRepository(Protocol):
    async def add(self, notification: Notification) -> None: ...
    async def get(self, notification_id: str) -> Notification | None: ...
    async def latest(self, user_id: str) -> Notification | None: ...
    async def list_page(self, user_id: str, page: Page) -> PageOf[Notification]:
        """Newest first."""
        ...

    async def update(self, notification: Notification) -> None: ...
    async def lost(self, *, before: datetime) -> list[str]:
        """Pending notifications whose next step was due before `before` (their hand-off, an
        attempt under way, or a retry) and never happened: lost on the way, or their sender
        died."""
        ...


class UnitOfWork(Protocol):
    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def images(self) -> ImageRepository: ...
    @property
    def variants(self) -> VariantRepository: ...
    @property
    def jobs(self) -> JobRepository: ...
    @property
    def logs(self) -> LogRepository: ...
    @property
    def notifications(self) -> NotificationRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back unless `commit` was called."""
        ...

    async def commit(self) -> None: ...


class Database(Protocol):
    def unit_of_work(self, *, readonly: bool = False) -> UnitOfWork:
        """`readonly`: the caller promises not to write, so readers need not queue behind
        writers (SQLite); writing in it is a bug."""
        ...

    async def ping(self) -> None: ...


# --- blobs, queue, cache, limits ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    """A stored object to answer with: exactly one of `path`, `data` and `chunks`."""

    size: int
    path: Path | None = None
    data: bytes | None = None
    chunks: AsyncIterator[bytes] | None = None


class ObjectStorage(Protocol):
    # `media_type`: what the object is, kept with it where the store can keep it (S3 then serves
    # presigned downloads with it).
    async def put(self, key: str, data: bytes, *, media_type: str | None = None) -> None: ...
    async def put_file(self, key: str, path: Path, *, media_type: str | None = None) -> None:
        """Streams a local file into the store."""
        ...

    async def get(self, key: str) -> bytes:
        """Raises NotFound when there is no such object."""
        ...

    async def read(self, key: str) -> StoredObject:
        """The object as the store best hands it out: a local file's path (to be sent with
        sendfile), or its bytes, or its chunks. Raises NotFound when there is no such object."""
        ...

    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing object is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> None: ...
    async def ping(self) -> None: ...


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


class DownloadLinks(Protocol):
    """Expiring links to stored objects: presigned by the store itself (S3), or our own signed
    `/files/...` links (stores that cannot sign, like local files). The root picks one."""

    async def link(
        self, key: str, *, filename: str, media_type: str, base_url: str
    ) -> DownloadLink:
        """A link to object `key`, served as `media_type` under `filename`. `base_url`: where
        this service answers (for links of our own)."""
        ...

    def genuine(
        self, key: str, *, filename: str, media_type: str, expires: int, signature: str
    ) -> bool:
        """Whether a link of our own is genuine and not expired. (Stores that sign their own
        links never hand out ours: False there.)"""
        ...


Handler = Callable[[str], Awaitable[None]]


class TaskQueue(Protocol):
    """One stream of work, carrying only ids, at least once: the database is the truth about the
    work itself. Pixelpress has two, each with its own consumers: image jobs and notifications."""

    async def publish(self, item_id: str, *, delay: float = 0, key: str | None = None) -> None:
        """Hands the id to a consumer, after `delay` seconds. Raises Unavailable when the broker
        cannot take it now (the caller's database row keeps the work for the sweep). Items of
        one `key` (default: the id) keep their order where the broker orders by key (Kafka)."""
        ...

    async def dead_letter(self, item_id: str, reason: str) -> None:
        """Records an item that failed for good where operators look for such things."""
        ...

    async def start(self, handler: Handler | None) -> None:
        """Connects (or keeps trying in the background, when the broker is down); with a
        handler, also consumes, running at most the queue's concurrency at once."""
        ...

    async def stop(self) -> None: ...
    async def ping(self) -> None:
        """Raises Unavailable unless the broker itself answers now."""
        ...


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl: int) -> None: ...
    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        """Sets `key` only if it is absent, atomically (a lock across processes on Redis).
        True when this call set it."""
        ...

    async def delete(self, key: str) -> None: ...
    async def release(self, key: str) -> None:
        """Deletes `key` (a lock) and wakes whoever waits for it, in any process."""
        ...

    async def wait_released(self, key: str, *, within: float) -> None:
        """Returns once `key` is gone (released, or expired), or after `within` seconds."""
        ...

    async def delete_prefix(self, prefix: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    """Seconds until the window frees a slot."""


class RateLimiter(Protocol):
    async def hit(
        self, bucket: str, key: str, *, limit: int, per_seconds: int
    ) -> RateLimitResult: ...


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
    ) -> Rendered:
        """Applies `spec` in the documented order; output is upright, sRGB, metadata stripped.
        Raises Unprocessable when the final output passes the limits."""
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
    def delivered(self) -> bool:
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
