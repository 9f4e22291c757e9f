"""What every SQL repository shares: inserting an entity."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.domain.errors import Conflict


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
