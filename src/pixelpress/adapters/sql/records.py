"""Repositories of what happened: the log service's entries and the notifications."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.adapters.sql.common import insert_entity
from pixelpress.adapters.sql.tables import logs, notifications
from pixelpress.domain.models import (
    LogEntry,
    LogFilter,
    LogLevel,
    Notification,
    NotificationStatus,
    NotificationType,
    Page,
    PageOf,
)


def _log(row: Row[Any]) -> LogEntry:
    m = dict(row._mapping)
    m["level"] = LogLevel(m["level"])
    return LogEntry(**m)


def _notification(row: Row[Any]) -> Notification:
    m = dict(row._mapping)
    m["type"] = NotificationType(m["type"])
    m["status"] = NotificationStatus(m["status"])
    return Notification(**m)


class SqlLogs:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, entry: LogEntry) -> None:
        await insert_entity(self._c, logs, entry)

    async def get(self, log_id: str) -> LogEntry | None:
        row = (await self._c.execute(select(logs).where(logs.c.id == log_id))).first()
        return _log(row) if row else None

    async def list_page(self, where: LogFilter, page: Page) -> PageOf[LogEntry]:
        conditions: list[Any] = []
        if where.user_id is not None:
            conditions.append(logs.c.user_id == where.user_id)
        if where.level is not None:
            conditions.append(logs.c.level == where.level)
        if where.since is not None:
            conditions.append(logs.c.timestamp >= where.since)
        if where.until is not None:
            conditions.append(logs.c.timestamp <= where.until)
        if where.image_id is not None:
            conditions.append(logs.c.image_id == where.image_id)
        count = select(func.count()).select_from(logs).where(*conditions)
        total = (await self._c.execute(count)).scalar_one()
        query = (
            select(logs)
            .where(*conditions)
            .order_by(logs.c.timestamp.desc(), logs.c.id.desc())
            .offset(page.offset)
            .limit(page.size)
        )
        rows = (await self._c.execute(query)).all()
        return PageOf(items=[_log(r) for r in rows], page=page, total=total)


class SqlNotifications:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, notification: Notification) -> None:
        await insert_entity(self._c, notifications, notification)

    async def get(self, notification_id: str) -> Notification | None:
        query = select(notifications).where(notifications.c.id == notification_id)
        row = (await self._c.execute(query)).first()
        return _notification(row) if row else None

    async def latest(self, user_id: str) -> Notification | None:
        query = (
            select(notifications)
            .where(notifications.c.user_id == user_id)
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
            .limit(1)
        )
        row = (await self._c.execute(query)).first()
        return _notification(row) if row else None

    async def list_page(self, user_id: str, page: Page) -> PageOf[Notification]:
        where = notifications.c.user_id == user_id
        count = select(func.count()).select_from(notifications).where(where)
        total = (await self._c.execute(count)).scalar_one()
        query = (
            select(notifications)
            .where(where)
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
            .offset(page.offset)
            .limit(page.size)
        )
        rows = (await self._c.execute(query)).all()
        return PageOf(items=[_notification(r) for r in rows], page=page, total=total)

    async def update(self, notification: Notification) -> None:
        values = asdict(notification)
        del values["id"]
        await self._c.execute(
            update(notifications).where(notifications.c.id == notification.id).values(**values)
        )

    async def lost(self, *, before: datetime) -> list[str]:
        n = notifications.c
        query = select(n.id).where(
            n.status == NotificationStatus.PENDING,
            func.coalesce(n.next_attempt_at, n.created_at) < before,
        )
        return list((await self._c.execute(query)).scalars())
