"""Rows for the repository contracts: entities built in one line, and a few stored at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pixelpress.domain.ids import new_id
from pixelpress.domain.models import (
    Image,
    ImageFormat,
    Job,
    JobStatus,
    LogEntry,
    LogLevel,
    Notification,
    NotificationStatus,
    NotificationType,
    Role,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import OutputFormat, parse_spec
from pixelpress.ports import Database

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LEASE_LENGTH = timedelta(seconds=20)
LEASE = NOW + LEASE_LENGTH


def user(name: str = "alice", minutes: int = 0) -> User:
    return User(
        new_id(), name, f"{name}@example.com", "hash", Role.USER, NOW + timedelta(minutes=minutes)
    )


def image(owner: User, minutes: int = 0, filename: str = "a.jpg", size: int = 100) -> Image:
    return Image(
        new_id(),
        owner.id,
        filename,
        ImageFormat.JPEG,
        10,
        10,
        size,
        "h" * 64,
        "k",
        NOW + timedelta(minutes=minutes),
    )


def variant(
    of: Image, spec_hash: str = "hash1", minutes: int = 0, size: int | None = None
) -> Variant:
    made = Variant(
        new_id(),
        of.id,
        spec_hash,
        parse_spec({"rotate": 90}),
        f"images/{of.id}/variants/{spec_hash}.jpeg",
        OutputFormat.JPEG,
        VariantStatus.PENDING,
        NOW + timedelta(minutes=minutes),
    )
    made.size = size
    return made


def job(of: Variant, owner: User, minutes: int = 0) -> Job:
    return Job(
        new_id(), of.image_id, of.id, owner.id, JobStatus.QUEUED, NOW + timedelta(minutes=minutes)
    )


def log_entry(
    owner: User | None,
    minutes: int = 0,
    level: LogLevel = LogLevel.INFO,
    image_id: str | None = None,
) -> LogEntry:
    at = NOW + timedelta(minutes=minutes)
    return LogEntry(
        new_id(),
        level,
        f"entry at {minutes}",
        at,
        at,
        user_id=owner.id if owner else None,
        image_id=image_id,
        context={"n": minutes, "nested": {"ok": True}},
    )


def notification(owner: User, minutes: int = 0) -> Notification:
    return Notification(
        new_id(),
        owner.id,
        NotificationType.EMAIL,
        f"message {minutes}",
        NotificationStatus.PENDING,
        NOW + timedelta(minutes=minutes),
    )


@dataclass(frozen=True)
class Seeded:
    """A user with an image, one variant of it and the job rendering that variant."""

    user: User
    image: Image
    variant: Variant
    job: Job


async def seed_job(db: Database, name: str = "alice") -> Seeded:
    u = user(name)
    i = image(u)
    v = variant(i)
    j = job(v, u)
    async with db.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.images.add(i)
        await uow.variants.add(v)
        await uow.jobs.add(j)
        await uow.commit()
    return Seeded(u, i, v, j)
