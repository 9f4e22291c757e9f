"""The SQLAlchemy database: one engine, units of work over one transaction each."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pixelpress.adapters.sql.accounts import SqlSessions, SqlUsers
from pixelpress.adapters.sql.library import SqlImages, SqlVariants
from pixelpress.adapters.sql.presets import SqlPresets
from pixelpress.adapters.sql.records import SqlLogs, SqlNotifications
from pixelpress.adapters.sql.work import SqlJobs
from pixelpress.domain.errors import Unavailable


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling breaks savepoints and rollbacks; we begin ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READONLY = "pixelpress_readonly"


def _sqlite_begin(conn: Any) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then writes
    # can fail at once with SQLITE_BUSY when another writer got there first. Readers begin
    # deferred, so under WAL they read side by side instead of queueing for that lock.
    conn.exec_driver_sql("BEGIN" if conn.info.get(READONLY) else "BEGIN IMMEDIATE")


def create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class SqlUnitOfWork:
    users: SqlUsers
    sessions: SqlSessions
    images: SqlImages
    variants: SqlVariants
    jobs: SqlJobs
    logs: SqlLogs
    notifications: SqlNotifications
    presets: SqlPresets

    def __init__(self, engine: AsyncEngine, *, readonly: bool = False) -> None:
        self._engine = engine
        self._readonly = readonly
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            self._conn = await self._engine.connect()
            # Per checkout: pooled connections carry their info dict from one use to the next.
            (await self._conn.get_raw_connection()).info[READONLY] = self._readonly
            await self._conn.begin()
        except (OperationalError, DBAPIError, OSError) as exc:
            raise Unavailable("The database is unavailable.", dependency="database") from exc
        self.users = SqlUsers(self._conn)
        self.sessions = SqlSessions(self._conn)
        self.images = SqlImages(self._conn)
        self.variants = SqlVariants(self._conn)
        self.jobs = SqlJobs(self._conn)
        self.logs = SqlLogs(self._conn)
        self.notifications = SqlNotifications(self._conn)
        self.presets = SqlPresets(self._conn)
        return self

    async def commit(self) -> None:
        assert self._conn is not None
        try:
            await self._conn.commit()
        except (OperationalError, InterfaceError, OSError) as exc:
            raise Unavailable("The database is unavailable.", dependency="database") from exc

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        except (OperationalError, DBAPIError, OSError):
            pass  # the connection is gone; so is its transaction
        finally:
            with contextlib.suppress(OperationalError, DBAPIError, OSError):
                await self._conn.close()
            self._conn = None
        if isinstance(exc, OperationalError | InterfaceError | OSError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            raise Unavailable("The database is unavailable.", dependency="database") from exc


class SqlDatabase:
    def __init__(self, url: URL) -> None:
        """`url`: SQLite or PostgreSQL, naming its async driver (`sqlite+aiosqlite`,
        `postgresql+asyncpg`)."""
        self.engine = create_engine(url)

    def unit_of_work(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, readonly=readonly)

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError, OSError) as exc:
            raise Unavailable("The database is unavailable.", dependency="database") from exc

    async def close(self) -> None:
        await self.engine.dispose()
