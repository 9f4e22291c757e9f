"""The log service: entries clients send, and notable events Pixelpress records itself."""

from __future__ import annotations

from datetime import datetime

from pixelpress.domain.errors import InvalidInput, NotFound
from pixelpress.domain.ids import new_id
from pixelpress.domain.keys import block_logged_key
from pixelpress.domain.models import LogEntry, LogFilter, LogLevel, Page, PageOf, Role, User
from pixelpress.ports import Cache, Clock, Database, UnitOfWork

MAX_MESSAGE = 4000
MAX_CONTEXT = 16_384
LOG_NOT_FOUND = "Log entry not found."


async def record_event(
    uow: UnitOfWork,
    level: LogLevel,
    message: str,
    *,
    clock: Clock,
    user_id: str | None = None,
    image_id: str | None = None,
    context: dict[str, object] | None = None,
) -> None:
    """A system event (failed login, job failure, admin action, rate-limit block), inside the
    caller's transaction."""
    now = clock.now()
    await uow.logs.add(
        LogEntry(
            id=new_id(),
            level=level,
            message=message[:MAX_MESSAGE],
            timestamp=now,
            created_at=now,
            user_id=user_id,
            image_id=image_id,
            source="system",
            context=context,
        )
    )


async def record(
    db: Database,
    level: LogLevel,
    message: str,
    *,
    clock: Clock,
    user_id: str | None = None,
    context: dict[str, object] | None = None,
) -> None:
    """A system event in a transaction of its own."""
    async with db.unit_of_work() as uow:
        await record_event(uow, level, message, clock=clock, user_id=user_id, context=context)
        await uow.commit()


async def create_log(
    *,
    user: User,
    level: LogLevel,
    message: str,
    timestamp: datetime | None,
    image_id: str | None,
    context: dict[str, object] | None,
    context_size: int,
    db: Database,
    clock: Clock,
) -> LogEntry:
    if not message.strip() or len(message) > MAX_MESSAGE:
        raise InvalidInput(f"The message must be 1 to {MAX_MESSAGE} characters.", field="message")
    if context_size > MAX_CONTEXT:
        raise InvalidInput(f"The context is larger than {MAX_CONTEXT} bytes.", field="context")
    if timestamp is not None and timestamp.tzinfo is None:
        raise InvalidInput("The timestamp needs a time zone (or Z).", field="timestamp")
    now = clock.now()
    entry = LogEntry(
        id=new_id(),
        level=level,
        message=message,
        timestamp=timestamp or now,
        created_at=now,
        user_id=user.id,
        image_id=image_id,
        source="client",
        context=context,
    )
    async with db.unit_of_work() as uow:
        await uow.logs.add(entry)
        await uow.commit()
    return entry


async def get_log(log_id: str, *, user: User, db: Database) -> LogEntry:
    async with db.unit_of_work(readonly=True) as uow:
        entry = await uow.logs.get(log_id)
    if entry is None or not (user.role is Role.ADMIN or entry.user_id == user.id):
        raise NotFound(LOG_NOT_FOUND, code="log_not_found")
    return entry


async def list_logs(*, user: User, where: LogFilter, page: Page, db: Database) -> PageOf[LogEntry]:
    """Admins see every entry; a user sees their own."""
    if user.role is not Role.ADMIN:
        where = LogFilter(
            user_id=user.id,
            level=where.level,
            since=where.since,
            until=where.until,
            image_id=where.image_id,
        )
    async with db.unit_of_work(readonly=True) as uow:
        return await uow.logs.list_page(where, page)


async def record_rate_limit_block(
    caller: str, bucket: str, *, db: Database, cache: Cache, clock: Clock, window: int = 60
) -> None:
    """Records that `caller` hit the `bucket` limit, once per window: a flood of refused
    requests must not become a flood of writes."""
    key = block_logged_key(bucket, caller)
    if await cache.get(key) is not None:
        return
    await cache.set(key, b"1", ttl=window)
    user_id = caller.removeprefix("user:") if caller.startswith("user:") else None
    await record(
        db,
        LogLevel.WARNING,
        f"Rate limit reached in the {bucket} bucket.",
        clock=clock,
        user_id=user_id,
        context={"caller": caller, "bucket": bucket},
    )
