"""repair rows holding text that cannot be encoded (lone surrogates, NUL)

Before text was checked at the door, a JSON escape such as "\\ud800" could reach a variant's spec
or a log entry's context; every answer that read such a row back failed (UTF-8 cannot encode a
lone surrogate), listings included. Variants of such specs never rendered: they go with their
jobs. Log contexts keep their entries with the bad characters replaced by U+FFFD.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BAD = re.compile("[\x00\ud800-\udfff]")


def _flawed(value: Any) -> bool:
    if isinstance(value, str):
        return BAD.search(value) is not None
    if isinstance(value, dict):
        return any(_flawed(k) or _flawed(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_flawed(v) for v in value)
    return False


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        return BAD.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_mended(k): _mended(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mended(v) for v in value]
    return value


def _suspects(conn: sa.Connection, table: str, column: str) -> list[tuple[str, Any]]:
    """Rows whose JSON text holds an escape that may decode to a flawed string."""
    query = sa.text(
        f"SELECT id, CAST({column} AS TEXT) FROM {table} "  # noqa: S608 - names are ours
        f"WHERE CAST({column} AS TEXT) LIKE '%\\u%' ESCAPE '!'"
    )
    found = []
    for row_id, raw in conn.execute(query):
        value = json.loads(raw) if raw is not None else None
        if _flawed(value):
            found.append((row_id, value))
    return found


def upgrade() -> None:
    conn = op.get_bind()
    for variant_id, _ in _suspects(conn, "variants", "spec"):
        conn.execute(sa.text("DELETE FROM jobs WHERE variant_id = :id"), {"id": variant_id})
        conn.execute(sa.text("DELETE FROM variants WHERE id = :id"), {"id": variant_id})
    logs = sa.table("logs", sa.column("id", sa.String), sa.column("context", sa.JSON))
    for log_id, context in _suspects(conn, "logs", "context"):
        conn.execute(logs.update().where(logs.c.id == log_id).values(context=_mended(context)))


def downgrade() -> None:
    """Nothing to undo: the removed rows could never be read back."""
