"""The repositories of users and their sessions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.adapters.sql.common import insert_entity
from pixelpress.adapters.sql.tables import (
    auth_sessions,
    images,
    jobs,
    logs,
    notifications,
    users,
    variants,
)
from pixelpress.domain.models import AuthSession, Page, PageOf, Role, User


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
