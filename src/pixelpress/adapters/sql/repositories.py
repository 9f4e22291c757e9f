"""The repositories of ports.py over one SQLAlchemy connection (one unit of work)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Row,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.adapters.sql.tables import (
    auth_sessions,
    images,
    jobs,
    logs,
    notifications,
    users,
    variants,
)
from pixelpress.domain.errors import Conflict
from pixelpress.domain.models import (
    CRASH_MESSAGE,
    WORKER_CRASHED,
    AuthSession,
    Claim,
    ClaimOutcome,
    Image,
    ImageFilter,
    ImageFormat,
    ImageOrder,
    Job,
    JobStatus,
    Page,
    PageOf,
    Role,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import OutputFormat, parse_canonical


async def insert_entity(
    conn: AsyncConnection, table: Table, entity: Any, values: dict[str, Any] | None = None
) -> None:
    """Inserts a dataclass (or `values`, its columns, where they differ from its fields); a
    unique-constraint violation becomes a domain Conflict."""
    try:
        async with conn.begin_nested():
            await conn.execute(insert(table).values(**(values or asdict(entity))))
    except IntegrityError as exc:
        raise Conflict(f"This {table.name[:-1]} already exists.") from exc


def _user(row: Row[Any]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        username=m["username"],
        email=m["email"],
        password_hash=m["password_hash"],
        role=Role(m["role"]),
        created_at=m["created_at"],
        last_login=m["last_login"],
        disabled=m["disabled"],
        notify_email=m["notify_email"],
        webhook_url=m["webhook_url"],
        webhook_secret=m["webhook_secret"],
    )


def _image(row: Row[Any]) -> Image:
    m = dict(row._mapping)
    m["format"] = ImageFormat(m["format"])
    return Image(**m)


def _variant(row: Row[Any]) -> Variant:
    m = dict(row._mapping)
    m["status"] = VariantStatus(m["status"])
    m["format"] = OutputFormat(m["format"])
    m["spec"] = parse_canonical(m["spec"])
    return Variant(**m)


def _variant_row(variant: Variant) -> dict[str, Any]:
    """The variant's columns: its spec in canonical form (what its hash is of)."""
    values = {f.name: getattr(variant, f.name) for f in fields(variant)}
    values["spec"] = variant.spec.canonical()
    return values


def _job(row: Row[Any]) -> Job:
    m = dict(row._mapping)
    m["status"] = JobStatus(m["status"])
    return Job(**m)


class SqlUsers:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, user: User) -> None:
        await insert_entity(self._c, users, user)

    async def get(self, user_id: str) -> User | None:
        row = (await self._c.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def find_by_login(self, login: str) -> User | None:
        key = login.strip().lower()
        query = select(users).where(or_(func.lower(users.c.username) == key, users.c.email == key))
        row = (await self._c.execute(query)).first()
        return _user(row) if row else None

    async def exists(self, *, username: str, email: str) -> tuple[bool, bool]:
        query = select(users.c.username, users.c.email).where(
            or_(func.lower(users.c.username) == username.lower(), users.c.email == email.lower())
        )
        rows = (await self._c.execute(query)).all()
        return (
            any(r.username.lower() == username.lower() for r in rows),
            any(r.email == email.lower() for r in rows),
        )

    async def update(self, user: User) -> None:
        values = asdict(user)
        del values["id"]
        await self._c.execute(update(users).where(users.c.id == user.id).values(**values))

    async def list_page(self, page: Page) -> PageOf[User]:
        total = (await self._c.execute(select(func.count()).select_from(users))).scalar_one()
        query = (
            select(users)
            .order_by(users.c.created_at, users.c.id)
            .offset(page.offset)
            .limit(page.size)
        )
        rows = (await self._c.execute(query)).all()
        return PageOf(items=[_user(r) for r in rows], page=page, total=total)

    async def delete(self, user_id: str) -> None:
        owned = select(images.c.id).where(images.c.owner_id == user_id)
        await self._c.execute(delete(jobs).where(jobs.c.image_id.in_(owned)))
        await self._c.execute(delete(variants).where(variants.c.image_id.in_(owned)))
        await self._c.execute(delete(images).where(images.c.owner_id == user_id))
        for table in (auth_sessions, notifications, logs):
            await self._c.execute(delete(table).where(table.c.user_id == user_id))
        await self._c.execute(delete(users).where(users.c.id == user_id))

    async def count(self) -> int:
        return int((await self._c.execute(select(func.count()).select_from(users))).scalar_one())


class SqlSessions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, session: AuthSession) -> None:
        await insert_entity(self._c, auth_sessions, session)

    async def get(self, session_id: str) -> AuthSession | None:
        query = select(auth_sessions).where(auth_sessions.c.id == session_id)
        row = (await self._c.execute(query)).first()
        return AuthSession(**row._mapping) if row else None

    async def rotate(self, session_id: str, *, expected_jti: str, new_jti: str) -> bool:
        result = await self._c.execute(
            update(auth_sessions)
            .where(
                auth_sessions.c.id == session_id,
                auth_sessions.c.current_refresh_jti == expected_jti,
                auth_sessions.c.revoked_at.is_(None),
            )
            .values(current_refresh_jti=new_jti)
        )
        return result.rowcount == 1

    async def revoke(self, session_id: str, at: datetime) -> None:
        await self._c.execute(
            update(auth_sessions)
            .where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def active_user(self, session_id: str, *, now: datetime) -> User | None:
        query = (
            select(users)
            .join(auth_sessions, auth_sessions.c.user_id == users.c.id)
            .where(
                auth_sessions.c.id == session_id,
                auth_sessions.c.revoked_at.is_(None),
                auth_sessions.c.expires_at > now,
            )
        )
        row = (await self._c.execute(query)).first()
        return _user(row) if row else None


_NAME = func.lower(images.c.filename)
_IMAGE_ORDER: dict[ImageOrder, tuple[ColumnElement[Any], ...]] = {
    # The id breaks ties, so pages never overlap nor skip an image.
    ImageOrder.NEWEST: (images.c.created_at.desc(), images.c.id.desc()),
    ImageOrder.OLDEST: (images.c.created_at.asc(), images.c.id.asc()),
    ImageOrder.NAME: (_NAME.asc(), images.c.id.asc()),
    ImageOrder.NAME_DESC: (_NAME.desc(), images.c.id.desc()),
}


class SqlImages:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, image: Image) -> None:
        await insert_entity(self._c, images, image)

    async def get(self, image_id: str, *, lock: bool = False) -> Image | None:
        query = select(images).where(images.c.id == image_id)
        if lock:
            # FOR SHARE on PostgreSQL; SQLite has no row locks (and needs none: a writing unit
            # of work holds the whole database from its BEGIN IMMEDIATE).
            query = query.with_for_update(read=True)
        row = (await self._c.execute(query)).first()
        return _image(row) if row else None

    async def find_by_filename(self, owner_id: str, filename: str) -> Image | None:
        query = (
            select(images)
            .where(images.c.owner_id == owner_id, images.c.filename == filename)
            .order_by(images.c.created_at.desc())
            .limit(1)
        )
        row = (await self._c.execute(query)).first()
        return _image(row) if row else None

    async def list_page(
        self, owner_id: str | None, page: Page, where: ImageFilter = ImageFilter()
    ) -> PageOf[Image]:
        conditions: list[ColumnElement[bool]] = []
        if owner_id is not None:
            conditions.append(images.c.owner_id == owner_id)
        if where.filename:
            conditions.append(images.c.filename.icontains(where.filename, autoescape=True))
        count = select(func.count()).select_from(images).where(*conditions)
        total = (await self._c.execute(count)).scalar_one()
        query = (
            select(images)
            .where(*conditions)
            .order_by(*_IMAGE_ORDER[where.order])
            .offset(page.offset)
            .limit(page.size)
        )
        rows = (await self._c.execute(query)).all()
        return PageOf(items=[_image(r) for r in rows], page=page, total=total)

    async def replace(self, image: Image) -> None:
        values = asdict(image)
        del values["id"]
        await self._c.execute(delete(jobs).where(jobs.c.image_id == image.id))
        await self._c.execute(delete(variants).where(variants.c.image_id == image.id))
        await self._c.execute(update(images).where(images.c.id == image.id).values(**values))

    async def ids_of_owner(self, owner_id: str) -> list[str]:
        query = select(images.c.id).where(images.c.owner_id == owner_id)
        return list((await self._c.execute(query)).scalars())

    async def totals(self) -> tuple[int, int]:
        """(number of images, bytes of originals stored)."""
        query = select(func.count(), func.coalesce(func.sum(images.c.size), 0))
        count, size = (await self._c.execute(query.select_from(images))).one()
        variant_bytes = select(func.coalesce(func.sum(variants.c.size), 0))
        extra = (await self._c.execute(variant_bytes.select_from(variants))).scalar_one()
        return int(count), int(size) + int(extra)

    async def delete(self, image_id: str) -> None:
        # Explicit children first: foreign-key cascades are a backstop, not the plan.
        await self._c.execute(delete(jobs).where(jobs.c.image_id == image_id))
        await self._c.execute(delete(variants).where(variants.c.image_id == image_id))
        await self._c.execute(delete(images).where(images.c.id == image_id))


# What a rendering decides about a variant; its id, key and spec stay those of the first row.
_OUTCOME = ("status", "width", "height", "size", "flattened")


@lru_cache(maxsize=2)
def _variant_upsert(dialect: str) -> Insert:
    upsert = postgresql.insert(variants) if dialect == "postgresql" else sqlite.insert(variants)
    return upsert.on_conflict_do_update(
        index_elements=[variants.c.image_id, variants.c.spec_hash],
        set_={k: upsert.excluded[k] for k in _OUTCOME},
    )


class SqlVariants:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, variant: Variant) -> None:
        await insert_entity(self._c, variants, variant, _variant_row(variant))

    async def get(self, variant_id: str) -> Variant | None:
        row = (await self._c.execute(select(variants).where(variants.c.id == variant_id))).first()
        return _variant(row) if row else None

    async def find(self, image_id: str, spec_hash: str) -> Variant | None:
        query = select(variants).where(
            variants.c.image_id == image_id, variants.c.spec_hash == spec_hash
        )
        row = (await self._c.execute(query)).first()
        return _variant(row) if row else None

    async def find_many(self, image_id: str, spec_hashes: list[str]) -> dict[str, Variant]:
        query = select(variants).where(
            variants.c.image_id == image_id, variants.c.spec_hash.in_(spec_hashes)
        )
        return {row.spec_hash: _variant(row) for row in (await self._c.execute(query)).all()}

    async def save(self, variant: Variant) -> None:
        # One statement, built once per dialect: the hot path of every on-the-fly render.
        await self._c.execute(_variant_upsert(self._c.dialect.name), _variant_row(variant))

    async def list_for_images(self, image_ids: list[str]) -> dict[str, list[Variant]]:
        query = (
            select(variants)
            .where(variants.c.image_id.in_(image_ids))
            .order_by(variants.c.created_at, variants.c.id)
        )
        found: dict[str, list[Variant]] = {image_id: [] for image_id in image_ids}
        for row in (await self._c.execute(query)).all():
            found[row.image_id].append(_variant(row))
        return found

    async def update(self, variant: Variant) -> None:
        values = _variant_row(variant)
        del values["id"]
        await self._c.execute(update(variants).where(variants.c.id == variant.id).values(**values))


class SqlJobs:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, job: Job) -> None:
        await insert_entity(self._c, jobs, job)

    async def get(self, job_id: str) -> Job | None:
        row = (await self._c.execute(select(jobs).where(jobs.c.id == job_id))).first()
        return _job(row) if row else None

    async def list_for_images(self, image_ids: list[str]) -> dict[str, list[Job]]:
        query = (
            select(jobs)
            .where(jobs.c.image_id.in_(image_ids))
            .order_by(jobs.c.created_at, jobs.c.id)
        )
        found: dict[str, list[Job]] = {image_id: [] for image_id in image_ids}
        for row in (await self._c.execute(query)).all():
            found[row.image_id].append(_job(row))
        return found

    async def claim(
        self, job_id: str, *, now: datetime, lease_until: datetime, max_attempts: int
    ) -> Claim:
        # One atomic UPDATE ... RETURNING each: safe on SQLite (no SKIP LOCKED) and PostgreSQL.
        expired = and_(jobs.c.status == JobStatus.PROCESSING, jobs.c.lease_until < now)
        crashed = (
            update(jobs)
            .where(jobs.c.id == job_id, expired, jobs.c.attempts >= max_attempts)
            .values(
                status=JobStatus.FAILED,
                code=WORKER_CRASHED,
                error=CRASH_MESSAGE,
                finished_at=now,
                lease_until=None,
            )
            .returning(*jobs.c)
        )
        if row := (await self._c.execute(crashed)).first():
            return Claim(ClaimOutcome.CRASHED, _job(row))
        take = (
            update(jobs)
            .where(jobs.c.id == job_id, or_(jobs.c.status == JobStatus.QUEUED, expired))
            .values(
                status=JobStatus.PROCESSING,
                started_at=now,
                lease_until=lease_until,
                attempts=jobs.c.attempts + 1,
            )
            .returning(*jobs.c)
        )
        if row := (await self._c.execute(take)).first():
            return Claim(ClaimOutcome.CLAIMED, _job(row))
        current = await self.get(job_id)
        if current is None or current.status.finished:
            return Claim(ClaimOutcome.GONE, current)
        return Claim(ClaimOutcome.BUSY, current)

    async def renew(self, job_id: str, *, attempt: int, lease_until: datetime) -> bool:
        result = await self._c.execute(
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.status == JobStatus.PROCESSING,
                jobs.c.attempts == attempt,
            )
            .values(lease_until=lease_until)
        )
        return bool(result.rowcount == 1)

    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        now: datetime,
        error: str | None = None,
        code: str | None = None,
    ) -> None:
        await self._c.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(status=status, finished_at=now, error=error, code=code, lease_until=None)
        )

    async def requeue(self, job_id: str, error: str) -> None:
        await self._c.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(status=JobStatus.QUEUED, started_at=None, lease_until=None, error=error)
        )

    async def expire_leases(self, *, started_before: datetime) -> int:
        result = await self._c.execute(
            update(jobs)
            .where(jobs.c.status == JobStatus.PROCESSING, jobs.c.started_at < started_before)
            .values(lease_until=started_before)
        )
        return int(result.rowcount)

    async def count_by_status(self) -> dict[JobStatus, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        found = {JobStatus(s): int(n) for s, n in (await self._c.execute(query)).all()}
        return {status: found.get(status, 0) for status in JobStatus}

    async def unfinished(self, *, now: datetime) -> list[str]:
        query = (
            select(jobs.c.id)
            .where(
                or_(
                    jobs.c.status == JobStatus.QUEUED,
                    and_(jobs.c.status == JobStatus.PROCESSING, jobs.c.lease_until < now),
                )
            )
            .order_by(jobs.c.created_at)
        )
        return list((await self._c.execute(query)).scalars())
