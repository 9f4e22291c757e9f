"""The ports of persistence: a repository per aggregate, the unit of work that holds them, and
the database that opens units of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pixelpress.domain.models import (
    AuthSession,
    Claim,
    Image,
    ImageFilter,
    Job,
    JobStatus,
    LogEntry,
    LogFilter,
    Notification,
    Page,
    PageOf,
    User,
    Variant,
)
from pixelpress.domain.presets import Preset

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


class PresetRepository(Protocol):
    async def add(self, preset: Preset) -> None:
        """Conflict when its owner (or the global scope) has a preset of that name."""
        ...

    async def get(self, owner_id: str | None, name: str) -> Preset | None:
        """The owner's preset of that name (`owner_id` None: the global one)."""
        ...

    async def list_for(self, owner_id: str) -> list[Preset]:
        """The owner's presets and the global ones, by name (the owner's first)."""
        ...

    async def update(self, preset: Preset) -> None: ...
    async def delete(self, preset_id: str) -> None: ...
    async def link(self, preset_ids: Sequence[str], image_id: str, spec_hash: str) -> None:
        """Records that the image's variant of that spec (which exists) was made through these
        presets; linking twice changes nothing."""
        ...

    async def purge_variants(self, preset_id: str) -> list[Variant]:
        """Removes the variants made through the preset (their rows and jobs) and returns them:
        their stored objects and cache entries are the caller's to remove."""
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
    @property
    def presets(self) -> PresetRepository: ...

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
